"""Getting the bytes of an input, and refusing what is plainly not text.

Every reader starts here: a path, bytes or a binary file object becomes
``(bytes, name)``, where ``name`` is what rejections and errors carry. The
fatal checks every text reader shares (empty, a known binary format, HTML)
look at the first bytes only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from spatial.errors import InputFormatError, ParameterError
from spatial.io.result import Source

BOM: Final = b"\xef\xbb\xbf"
_MAGIC: Final = (
    (b"SQLite format 3\x00", "an SQLite database (a GeoPackage? use fmt=gpkg)"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook? export it as CSV; or unzip it)"),
    (b"\x1f\x8b", "a gzip-compressed file (decompress it first)"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (an Excel .xls workbook? export it as CSV)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xfe", "UTF-16 text (save it as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (save it as UTF-8)"),
    (b"\xff\xd8\xff", "a JPEG image"),
)


def load_source(source: Source, file_name: str | None) -> tuple[bytes, str]:
    """The bytes of ``source`` and the name rejections carry."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), file_name or "<bytes>"
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), file_name or path.name
        except FileNotFoundError:
            raise InputFormatError(f"file not found: {path}", file=file_name or path.name) from None
        except IsADirectoryError:
            raise InputFormatError(f"{path} is a directory, not a file",
                                   file=file_name or path.name) from None
    read = getattr(source, "read", None)
    if read is None:
        raise ParameterError("source", f"expected a path, bytes or a binary file, "
                                       f"not {type(source).__name__}")
    raw = read()
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    label = getattr(source, "name", None)
    return data, file_name or (Path(label).name if isinstance(label, str) and label else "<upload>")


def sniff(data: bytes, name: str, what: str, *, allow_sqlite: bool = False) -> None:
    """Fatal checks every text reader shares: empty, binary, HTML."""
    body = data[3:] if data.startswith(BOM) else data
    if not body or body.isspace():  # (no copy of the body, unlike strip)
        raise InputFormatError(f"{name} is empty", file=name)
    for magic, label in _MAGIC:
        if body.startswith(magic) and not (allow_sqlite and magic.startswith(b"SQLite")):
            raise InputFormatError(f"{name} is {label}, not {what}", file=name)
    if allow_sqlite:
        return
    head = np.frombuffer(body[:8192], dtype=np.uint8)
    control = ((head < 0x20) & (head != 0x09) & (head != 0x0A) & (head != 0x0D)) | (head == 0x7F)
    if (head == 0).any() or control.mean() > 0.01:
        raise InputFormatError(f"{name} is binary data, not {what}", file=name)
    low = body[:512].lstrip().lower()
    if low.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        raise InputFormatError(f"{name} is an HTML/XML page, not {what} (a web page saved "
                               "instead of the file?)", file=name)
