"""Uploaded vector files made readable by GDAL: sniffing, and zips checked before extracting.

A boundary upload may be a single vector file or a zip holding one (a
shapefile with its side-car files, or a GeoJSON/GeoPackage/KML). Zips are
refused as possible zip bombs from their directory alone (member count,
declared total size, compression ratio), then only the chosen members are
extracted, each stopping at its declared size.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

from spatial.errors import InputFormatError

#: Extensions remap reads, in the order they are tried inside a zip.
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml")
#: Zip-bomb guards, checked on the declared sizes before anything is extracted;
#: extraction then stops at the declared size, so a lying header cannot exceed them.
ZIP_MAX_UNCOMPRESSED = 1024 * 1024 * 1024
ZIP_MAX_RATIO = 200.0
ZIP_MAX_MEMBERS = 1000
#: members smaller than this are not held to the ratio (tiny files compress oddly)
_ZIP_RATIO_FLOOR = 1024 * 1024


def materialise(source: str | Path | IO[bytes] | bytes, name: str, tmp: Path,
                zip_limits: tuple[int, float] = (ZIP_MAX_UNCOMPRESSED, ZIP_MAX_RATIO)
                ) -> str:
    """A path GDAL can open (zips are checked, then their vector file extracted)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InputFormatError(f"{name}: no such file", file=name)
        if path.stat().st_size == 0:
            raise InputFormatError(f"{name}: the file is empty", file=name)
        suffix = path.suffix.lower()
        if suffix not in (*VECTOR_SUFFIXES, ".zip"):
            # an upload saved under its own (unknown) name: recognise it by its bytes
            with path.open("rb") as fh:
                sniffed = _sniff_suffix(fh.read(64))
            if sniffed and sniffed != suffix:
                if sniffed == ".shp":
                    raise InputFormatError(
                        f"{name}: a shapefile upload must be a .zip holding the .shp, .shx, "
                        ".dbf and .prj files", file=name)
                link = tmp / f"upload{sniffed}"
                link.symlink_to(path.resolve())
                path, suffix = link, sniffed
    else:
        data = source if isinstance(source, bytes) else source.read()
        if not data:
            raise InputFormatError(f"{name}: the file is empty", file=name)
        suffix = Path(name).suffix.lower() if _known_suffix(name) else _sniff_suffix(data)
        if suffix == ".shp":
            raise InputFormatError(
                f"{name}: a shapefile upload must be a .zip holding the .shp, .shx, .dbf "
                "and .prj files", file=name)
        path = tmp / f"upload{suffix or '.bin'}"
        path.write_bytes(data)
    if suffix == ".zip" or (not suffix and zipfile.is_zipfile(path)):
        return _zip_member(path, name, tmp, zip_limits)
    return str(path)


def _known_suffix(name: str) -> bool:
    """Whether ``name`` ends in an extension remap recognises (or ``.zip``)."""
    return Path(name).suffix.lower() in (*VECTOR_SUFFIXES, ".zip")


def _sniff_suffix(data: bytes) -> str:
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PK"):
        return ".zip"
    if head.startswith(b"SQLite format 3\x00"):
        return ".gpkg"
    if head.startswith((b"{", b"[")):
        return ".geojson"
    if head.startswith(b"<"):
        return ".kml"
    return ""


def check_zip(zf: zipfile.ZipFile, name: str, max_total: int = ZIP_MAX_UNCOMPRESSED,
              max_ratio: float = ZIP_MAX_RATIO) -> None:
    """Refuse a zip bomb from its directory alone (nothing is decompressed):
    too many members, a total declared size above ``max_total`` bytes, or a
    member (over 1 MiB) compressed more than ``max_ratio`` times."""
    infos = zf.infolist()
    if len(infos) > ZIP_MAX_MEMBERS:
        raise InputFormatError(f"{name}: the zip holds {len(infos)} members, more than "
                               f"{ZIP_MAX_MEMBERS}", file=name)
    total = sum(i.file_size for i in infos)
    if total > max_total:
        raise InputFormatError(
            f"{name}: the zip would expand to {total:,} bytes, more than the limit of "
            f"{max_total:,} (REMAP_ZIP_MAX_UNCOMPRESSED_BYTES)", file=name)
    for i in infos:
        if i.file_size > _ZIP_RATIO_FLOOR and i.file_size > max_ratio * max(i.compress_size, 1):
            raise InputFormatError(
                f"{name}: zip member {i.filename!r} is compressed "
                f"{i.file_size / max(i.compress_size, 1):,.0f} times (limit {max_ratio:g}, "
                "REMAP_ZIP_MAX_RATIO): refused as a possible zip bomb", file=name)


def _extract(zf: zipfile.ZipFile, members: list[str], dest: Path, name: str) -> None:
    """Extract ``members`` under ``dest``; each stops at its declared (checked) size."""
    for m in members:
        parts = Path(m).parts
        if Path(m).is_absolute() or ".." in parts:
            raise InputFormatError(f"{name}: zip member {m!r} has an unsafe path", file=name)
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(m) as src, target.open("wb") as out:
            while chunk := src.read(1024 * 1024):  # zipfile stops at the declared size
                out.write(chunk)


def _zip_member(path: Path, name: str, tmp: Path | None = None,
                limits: tuple[int, float] = (ZIP_MAX_UNCOMPRESSED, ZIP_MAX_RATIO)) -> str:
    """The single vector file (or shapefile folder) of a zip, checked against zip
    bombs and extracted into ``tmp``."""
    dest = (tmp or path.parent) / "unzipped"
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(zf, name, *limits)
            members = [m for m in zf.namelist()
                       if not m.endswith("/") and not Path(m).name.startswith((".", "__MACOSX"))
                       and "__MACOSX" not in m]
            for suffix in VECTOR_SUFFIXES:
                found = sorted(m for m in members if m.lower().endswith(suffix))
                if not found:
                    continue
                if suffix == ".shp":
                    folders = {str(Path(m).parent) for m in found}
                    if len(folders) == 1:
                        folder = folders.pop()
                        _extract(zf, [m for m in members if str(Path(m).parent) == folder],
                                 dest, name)
                        return str(dest if folder == "." else dest / folder)
                if len(found) > 1:
                    raise InputFormatError(
                        f"{name}: the zip holds several {suffix} files ({', '.join(found)}); "
                        "upload one boundary set per file", file=name)
                _extract(zf, [found[0]], dest, name)
                return str(dest / found[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise InputFormatError(f"{name}: not a readable zip file ({exc})", file=name) from exc
    raise InputFormatError(
        f"{name}: the zip holds no vector file ({', '.join(VECTOR_SUFFIXES)}); "
        f"it holds: {', '.join(members[:10]) or 'nothing'}", file=name)
