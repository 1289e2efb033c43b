"""Password hashing for staff accounts, and the one strength rule we enforce."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

# scrypt with N = 2**16: twice Werkzeug's default cost (N = 2**15), so about 0.2 s and 64 MiB
# per hash. Accounts are few and logins rare, while a leaked table is worth a lot to an attacker
# (these accounts issue strict-accountability documents).
HASH_METHOD = "scrypt:65536:8:1"
MIN_PASSWORD_LENGTH = 10
# scrypt's cost does not grow with the input, but a form should not accept a novel either.
MAX_PASSWORD_LENGTH = 1024
# "aaaaaaaaaa" and "1212121212" pass a length rule and nothing else.
MIN_DISTINCT_CHARACTERS = 4


def hash_password(plain: str) -> str:
    """A salted scrypt hash in Werkzeug's `method$salt$hash` format."""
    return generate_password_hash(plain, method=HASH_METHOD, salt_length=16)


def verify_password(stored: str, plain: str) -> bool:
    """True when `plain` matches the stored hash; False, never an exception, for a malformed one."""
    if stored.count("$") != 2:
        # Placeholders such as "x" or "!" mark accounts that cannot sign in with a password.
        return False
    try:
        return check_password_hash(stored, plain)
    except ValueError:
        return False


def password_needs_rehash(stored: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash at next sign-in)."""
    return not stored.startswith(HASH_METHOD + "$")


def check_password_strength(plain: str) -> str | None:
    """None when the password is acceptable, else the reason in English for the user."""
    if len(plain) < MIN_PASSWORD_LENGTH:
        return f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(plain) > MAX_PASSWORD_LENGTH:
        return f"A password may have at most {MAX_PASSWORD_LENGTH} characters."
    if plain.strip() != plain:
        # Leading or trailing blanks are almost always a copy-paste accident, lost on retyping.
        return "A password may not start or end with a space."
    if len(set(plain)) < MIN_DISTINCT_CHARACTERS:
        return f"A password needs at least {MIN_DISTINCT_CHARACTERS} different characters."
    return None
