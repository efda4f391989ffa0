"""Where CT releases live: bundled in ``specs/ct/<date>/`` or imported into the user store.

The user store is ``$DAYBREAK_SDTM_HOME``, else ``$XDG_DATA_HOME/daybreak-sdtm``, else
``~/.local/share/daybreak-sdtm``. ``ct import`` copies an NCI EVS release file into
``<store>/ct/<date>/`` (gzip-compressed); compiled copies of every release, bundled or
imported, are kept in ``<store>/cache/``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from daybreak_sdtm.errors import StandardsError

CT_FILE = "SDTM Terminology.txt"
CT_FILES = (CT_FILE, CT_FILE + ".gz")
_DATE = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


def store_home() -> Path:
    """The user store folder (it need not exist yet)."""
    home = os.environ.get("DAYBREAK_SDTM_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    data = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(data).expanduser() if data else Path.home() / ".local" / "share") / "daybreak-sdtm"


@dataclass(frozen=True)
class CtRelease:
    """One SDTM CT release the tool can use."""

    date: str
    source: Path  # the NCI EVS file, .txt or .txt.gz
    origin: str  # "bundled" or "imported"


def _release_file(folder: Path) -> Path | None:
    for name in CT_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def _releases_in(root: Path, origin: str) -> dict[str, CtRelease]:
    found: dict[str, CtRelease] = {}
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            source = _release_file(folder) if folder.is_dir() and _DATE.fullmatch(folder.name) else None
            if source is not None:
                found[folder.name] = CtRelease(folder.name, source, origin)
    return found


def ct_releases(specs_root: Path, home: Path | None = None) -> dict[str, CtRelease]:
    """Every CT release by date; a release imported for a date that is also bundled is the one used."""
    bundled = _releases_in(specs_root / "ct", "bundled")
    imported = _releases_in((home or store_home()) / "ct", "imported")
    return dict(sorted({**bundled, **imported}.items()))


def bundled_dates(specs_root: Path) -> list[str]:
    """The dates of the releases bundled with the tool."""
    return sorted(_releases_in(specs_root / "ct", "bundled"))


def find_release(specs_root: Path, date: str, home: Path | None = None) -> CtRelease:
    """The release of ``date``; an unknown date is an error naming the releases there are."""
    releases = ct_releases(specs_root, home)
    if date in releases:
        return releases[date]
    bundled = bundled_dates(specs_root)
    imported = sorted(_releases_in((home or store_home()) / "ct", "imported"))
    raise StandardsError(
        f"CT package {date!r} is neither bundled nor imported (bundled: {', '.join(bundled) or 'none'}; "
        f"imported: {', '.join(imported) or 'none'}); import an NCI EVS release with "
        f"'daybreak-sdtm ct import \"SDTM Terminology {date}.txt\"'"
    )


def compiled_path(release: CtRelease, home: Path | None = None) -> Path:
    """Where the compiled copy of a release is kept (one per source file)."""
    key = hashlib.sha256(str(release.source.resolve()).encode("utf-8")).hexdigest()[:16]
    return (home or store_home()) / "cache" / f"ct-{release.date}-{key}.bin"


def release_date(path: Path, date: str | None = None) -> str:
    """The release date given, else the one in the file name ("SDTM Terminology 2025-03-28.txt")."""
    text = date
    if text is None:
        found = _DATE.findall(path.name)
        if len(found) != 1:
            raise StandardsError(
                f"{path}: the file name gives no release date (like 'SDTM Terminology 2025-03-28.txt'); "
                f"name it with --date YYYY-MM-DD"
            )
        text = found[0]
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise StandardsError(f"release date {text!r} is not a calendar date (YYYY-MM-DD)") from None
    if not _DATE.fullmatch(text):
        raise StandardsError(f"release date {text!r} is not written YYYY-MM-DD")
    return text


def store_release(source: Path, date: str, home: Path | None = None) -> CtRelease:
    """Copy an NCI file into ``<store>/ct/<date>/`` (gzip-compressed), replacing an earlier import."""
    folder = (home or store_home()) / "ct" / date
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".import-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as raw, source.open("rb") as src:
                if src.read(2) == b"\x1f\x8b":
                    src.seek(0)
                    shutil.copyfileobj(src, raw)
                else:
                    src.seek(0)
                    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
                        shutil.copyfileobj(src, out)
            target = folder / (CT_FILE + ".gz")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        (folder / CT_FILE).unlink(missing_ok=True)
    except OSError as exc:
        raise StandardsError(f"{folder}: cannot store the release ({exc.strerror or exc})") from None
    return CtRelease(date, target, "imported")
