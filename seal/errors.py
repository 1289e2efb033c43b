"""Why a seal was refused: the desk treats a misread scan and a forgery differently."""

from __future__ import annotations


class SealError(Exception):
    """A QR text or a seal key that cannot be used."""


class MalformedSeal(SealError):
    """The text is not a Kuelik seal at all: a misread scan, a truncated code, another QR."""


class ForgedSeal(SealError):
    """A well-formed seal whose signature does not check out under this election's public key."""


class SealKeyError(SealError):
    """A key or salt file that is missing, unreadable, of the wrong kind or too widely readable."""
