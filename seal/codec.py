"""Bytes to QR-friendly text and back, and repair of text typed by a keyboard-wedge scanner.

The alphabet is 0-9 and A-Z only. Every one of those is in the QR code's alphanumeric set (5.5 bits
a character, so the code stays small) and each sits on its own key of a US keyboard, which is what
a wedge scanner imitates: the scanner presses keys, and the operating system's active layout decides
which characters arrive. On a Russian or Kazakh layout the letters arrive as Cyrillic and, on the
Kazakh layout, the digit row as Kazakh letters; CapsLock flips case. Mapping every character back to
the key that produced it recovers the text exactly, because no two characters we use share a key.
"""

from __future__ import annotations

from seal.errors import MalformedSeal

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE = len(ALPHABET)
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
# A leading 0x01 byte keeps leading zero bytes of the payload and fixes the length on decoding.
_SENTINEL = b"\x01"

# US key (unshifted) -> character on the same key in the Russian layout (ЙЦУКЕН).
_RUSSIAN_KEYS = {
    "q": "й", "w": "ц", "e": "у", "r": "к", "t": "е", "y": "н", "u": "г", "i": "ш",
    "o": "щ", "p": "з", "a": "ф", "s": "ы", "d": "в", "f": "а", "g": "п", "h": "р",
    "j": "о", "k": "л", "l": "д", ";": "ж", "z": "я", "x": "ч", "c": "с", "v": "м",
    "b": "и", "n": "т", "m": "ь",
}  # fmt: skip
# The Kazakh layout shares the Russian letter keys but puts letters and punctuation on the digit
# row (Windows KBDKAZ); digits come only from the numeric keypad.
_KAZAKH_DIGIT_ROW = {
    "1": '"', "2": "ә", "3": "і", "4": "ң", "5": "ғ",
    "6": ",", "7": ".", "8": "ү", "9": "ұ", "0": "қ",
}  # fmt: skip
# The one non-alphanumeric character of our texts, the colon after the scheme tag, is Shift+';'.
_KEY_TO_OURS = {";": ":"}


def _build_repair_table() -> dict[int, str]:
    table: dict[str, str] = {}
    for key, typed in (*_RUSSIAN_KEYS.items(), *_KAZAKH_DIGIT_ROW.items()):
        ours = _KEY_TO_OURS.get(key, key.upper())
        table[typed] = ours
        table[typed.upper()] = ours
    return str.maketrans(table)


_REPAIR = _build_repair_table()


def repair_typed_text(text: str) -> str:
    """The text the scanner meant, whatever keyboard layout or CapsLock state typed it."""
    return text.strip().translate(_REPAIR).upper()


def encode(data: bytes) -> str:
    """Bytes as an uppercase base-36 numeral (big-endian, no padding)."""
    number = int.from_bytes(_SENTINEL + data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, _BASE)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def decode(text: str) -> bytes:
    """Inverse of `encode`; MalformedSeal for any text `encode` cannot have produced."""
    if not text:
        raise MalformedSeal("empty seal body")
    number = 0
    for char in text:
        value = _VALUE.get(char)
        if value is None:
            raise MalformedSeal("character outside the seal alphabet")
        number = number * _BASE + value
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    # Only the canonical spelling is accepted, so one payload has exactly one text.
    if not raw.startswith(_SENTINEL) or encode(raw[1:]) != text:
        raise MalformedSeal("seal body is not canonical")
    return raw[1:]
