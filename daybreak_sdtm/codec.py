"""Text encodings of raw exports and XPT files: names checked once, undecodable bytes described.

Raw exports are UTF-8 unless the study file (``export: encoding:``) or ``convert --encoding``
declares another encoding; XPT files are read as UTF-8 unless ``validate --encoding`` declares
one (see ``daybreak_sdtm.read_xpt`` for the Windows-1252 fallback of undeclared files).
"""

from __future__ import annotations

import codecs

DEFAULT_ENCODING = "utf-8"
FALLBACK_ENCODING = "cp1252"  # Windows-1252: what SAS on Windows writes, and what most non-UTF-8 XPT files hold
_DISPLAY = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "iso8859-1": "Latin-1 (ISO 8859-1)"}


def codec_name(name: str) -> str:
    """The Python codec name of an encoding name (``UTF8`` -> ``utf-8``, ``windows-1252`` -> ``cp1252``).

    Raises:
        ValueError: the name is no known codec, or names a codec that does not turn bytes into
            text (``rot13``, ``base64``); the message says so and names a few valid ones.
    """
    text = str(name).strip()
    try:
        info = codecs.lookup(text)
    except LookupError:
        raise ValueError(f"unknown encoding {text!r} (e.g. utf-8, cp1252, latin-1)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{text!r} is not a text encoding (e.g. utf-8, cp1252, latin-1)")
    return info.name


def is_utf8(name: str) -> bool:
    """Whether an encoding name is UTF-8 (with or without the byte order mark)."""
    return codecs.lookup(name).name in ("utf-8", "utf-8-sig")


def display_name(name: str) -> str:
    """An encoding as people name it in messages: UTF-8, Windows-1252, or the codec's own name."""
    codec = codecs.lookup(name).name
    return _DISPLAY.get(codec, codec)


def hex_bytes(data: bytes) -> str:
    """Bytes as ``0x92`` or ``0xc3 0x28``, as a message shows them."""
    return " ".join(f"0x{b:02x}" for b in data)


def bytes_are(data: bytes) -> str:
    """``byte 0x92 is`` or ``bytes 0xc3 0x28 are``: the subject of a message about undecodable bytes."""
    return f"byte {hex_bytes(data)} is" if len(data) == 1 else f"bytes {hex_bytes(data)} are"


def first_undecodable(data: bytes, encoding: str) -> UnicodeDecodeError | None:
    """The error decoding ``data`` with ``encoding`` raises first (None when it decodes)."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc
    return None
