"""Publish a folder of ours atomically, and never at the cost of anything we did not write.

Every folder a command writes (an SDTM package, a sample export) is filled in a temporary
sibling ``.NAME.XXXX.partial`` and renamed into place. Its ``manifest.json`` says that
daybreak-sdtm wrote it and lists every file with its size and SHA-256; that inventory is what
makes a folder replaceable. An existing ``--out`` is replaced only when it is empty or is a
folder of ours holding exactly the files its manifest lists; anything else (a foreign file, a
file changed since, a read-only folder, the export or the mapping folder itself) is refused
with a message naming the folder and what is in it, and nothing is touched.

A run that is killed leaves at most a ``.NAME.*.partial`` (removed by the next run) or, if it
died between its two renames, the previous package as ``.NAME.*.old`` (put back by the next run
when ``NAME`` is missing, removed otherwise). A live run holds a lock on its temporary folders,
so a second run never removes a first run's work in progress.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daybreak_sdtm import __version__
from daybreak_sdtm.errors import WriteError

MANIFEST_FILE = "manifest.json"
GENERATOR = "daybreak-sdtm"
# What a manifest written before the inventory existed held beside its datasets' SHA-256.
_LEGACY_FILES = frozenset(
    {
        "lineage.csv",
        "reconciliation.json",
        "define.xml",
        "define.html",
        "validation.json",
        "validation.html",
        MANIFEST_FILE,
    }
)
_SHOWN = 8  # entries named in a refusal message
_KIND_NAMES = {"sdtm-package": "an SDTM package", "sample-export": "a sample export"}


@dataclass(frozen=True)
class Protected:
    """A folder ``--out`` must neither be, contain nor sit inside (the export, the mapping specs)."""

    role: str  # "export folder", "mapping folder"
    path: Path


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(folder: Path, files: Sequence[Path]) -> str:
    """One SHA-256 over the names (relative to ``folder``) and contents of ``files``."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(folder).as_posix()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(file_digest(path).encode() + b"\n")
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a folder daybreak-sdtm wrote, or None when it holds none (or someone else's)."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    generator = str(manifest.get("generator", ""))
    legacy = "generator" not in manifest and {"study", "sdtmig", "ct"} <= manifest.keys()
    return manifest if generator.split(" ")[0] == GENERATOR or legacy else None


def inventory(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file below ``folder`` but the manifest: relative path -> size and SHA-256."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST_FILE:
            files[rel] = {"bytes": path.stat().st_size, "sha256": file_digest(path)}
    return files


def write_manifest(folder: Path, metadata: Mapping[str, Any]) -> None:
    """Write ``manifest.json``: who wrote the folder, ``metadata``, and the inventory of every file in it."""
    manifest = {"generator": f"{GENERATOR} {__version__}", **metadata, "files": inventory(folder)}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def update_manifest(folder: Path, names: Sequence[str]) -> None:
    """Record files ``names`` (just rewritten in a folder of ours) in its manifest's inventory."""
    manifest = read_manifest(folder)
    if manifest is None:
        return
    files = dict(manifest["files"])
    for name in names:
        path = folder / name
        files[name] = {"bytes": path.stat().st_size, "sha256": file_digest(path)}
    manifest["files"] = dict(sorted(files.items()))
    tmp = folder / f".{MANIFEST_FILE}.partial"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MANIFEST_FILE)


def _top_entries(folder: Path) -> list[str]:
    """The folder's own entries (not below), folders ending in '/', for messages."""
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())


def _foreign(folder: Path, recorded: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
    """Entries below ``folder`` that are neither recorded nor allowed; a folder holding no recorded file is one entry."""
    foreign: list[str] = []
    pending = [folder]
    while pending:
        here = pending.pop()
        for path in sorted(here.iterdir()):
            rel = path.relative_to(folder).as_posix()
            if path.is_dir() and not path.is_symlink():
                if any(name.startswith(rel + "/") for name in recorded):
                    pending.append(path)
                else:
                    foreign.append(rel + "/")
            elif rel not in recorded and rel not in allowed:
                foreign.append(rel)
    return sorted(foreign)


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _read_only(path: Path) -> bool:
    """No write permission bit set (checked on the bits: root may write anywhere, but must not here)."""
    return not (path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _inside(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_target(out_dir: Path, protected: Sequence[Protected] = (), kind: str = "sdtm-package") -> None:
    """Raise WriteError unless publishing into ``out_dir`` would lose nothing of anyone's.

    Args:
        out_dir: The folder to publish.
        protected: Folders the output must neither be, contain nor sit inside.
        kind: What is published (the manifest's ``kind``): only a folder of the same kind is replaced.
    """
    out = out_dir.resolve()
    for folder in protected:
        where = folder.path.resolve()
        if _inside(out, where) or _inside(where, out):
            relation = "is" if out == where else ("is inside" if _inside(out, where) else "contains")
            raise WriteError(
                f"{out_dir}: refused as the output folder: it {relation} the {folder.role} {folder.path}; "
                "choose a folder of its own for the package"
            )
    blocking = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise WriteError(f"{out_dir}: cannot write here ({blocking} is a file, not a folder)")
    if not out.exists():
        parent = next(p for p in out.parents if p.exists())
        if _read_only(parent):
            raise WriteError(f"{out_dir}: cannot write here: {parent} is read-only")
        return
    if _read_only(out):
        raise WriteError(f"{out_dir}: is read-only; it is not replaced (make it writable, or choose another folder)")
    if _read_only(out.parent):
        raise WriteError(f"{out_dir}: cannot be replaced: its folder {out.parent} is read-only")
    if next(out.iterdir(), None) is None:
        return
    shown = f"{out_dir}" if str(out_dir) == str(out) else f"{out_dir} ({out})"
    manifest = read_manifest(out)
    if manifest is None:
        raise WriteError(
            f"{shown}: is not empty and was not written by daybreak-sdtm (no manifest.json of ours); "
            f"it holds {_listing(_top_entries(out))}. Nothing was changed: choose an empty or new folder"
        )
    if manifest.get("kind", "sdtm-package") != kind:
        other = str(manifest.get("kind"))
        raise WriteError(
            f"{shown}: holds {_KIND_NAMES.get(other, other)} written by daybreak-sdtm, not "
            f"{_KIND_NAMES.get(kind, kind)}; it is not replaced. Choose another folder"
        )
    recorded: Mapping[str, Any] = manifest["files"]
    allowed = _LEGACY_FILES if "generator" not in manifest else frozenset({MANIFEST_FILE})
    foreign = _foreign(out, recorded, allowed)
    if foreign:
        raise WriteError(
            f"{shown}: holds files daybreak-sdtm did not write: {_listing(foreign)}. "
            "Nothing was changed: move them away or choose another folder"
        )
    changed = [
        name
        for name, meta in recorded.items()
        if isinstance(meta, dict) and (out / name).is_file() and (out / name).stat().st_size != meta.get("bytes")
    ]
    if changed:
        raise WriteError(
            f"{shown}: {_listing(changed)} changed since daybreak-sdtm wrote it. "
            "Nothing was changed: move the folder away or choose another one"
        )


def check_define_target(folder: Path, names: Sequence[str]) -> None:
    """Raise WriteError unless ``names`` may be written into ``folder``: never over files of someone else's."""
    folder = folder.absolute()
    existing = folder if folder.exists() else next(p for p in folder.parents if p.exists())
    if not existing.is_dir():
        raise WriteError(f"{folder}: cannot write here ({existing} is a file, not a folder)")
    if _read_only(existing):
        raise WriteError(f"{folder}: is read-only; pass --out DIR to write the define elsewhere")
    manifest = read_manifest(folder) if folder.exists() else None
    recorded = manifest["files"] if manifest else {}
    legacy = manifest is not None and "generator" not in manifest
    foreign = [n for n in names if (folder / n).exists() and n not in recorded and not (legacy and n in _LEGACY_FILES)]
    if foreign:
        raise WriteError(
            f"{folder}: {', '.join(foreign)} exist and were not written by daybreak-sdtm; they are not "
            "replaced. Pass --out DIR to write the define elsewhere"
        )


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a folder while this run works in it (POSIX; elsewhere nothing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back for the two renames that swap a package in (POSIX), so an
    interrupt never falls between them; a signal that came meanwhile is delivered just after."""
    import signal

    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no POSIX signal masks
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _abandoned(folder: Path) -> bool:
    """Whether no live run holds the folder's lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: leftovers stay until removed by hand
        return False
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def clean_leftovers(out_dir: Path) -> list[str]:
    """Remove what killed runs left beside ``out_dir``; put a previous package back if it was left aside.

    Returns what was done, one line each, for the caller to report.
    """
    parent = out_dir.parent
    done: list[str] = []
    if not parent.is_dir():
        return done
    olds = sorted(parent.glob(f".{out_dir.name}.*.old"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in [*parent.glob(f".{out_dir.name}.*.partial"), *olds]:
        if not path.is_dir() or not _abandoned(path):
            continue
        if path.suffix == ".old" and not out_dir.exists() and read_manifest(path) is not None:
            os.replace(path, out_dir)
            done.append(f"{out_dir}: restored the previous package, left aside by an interrupted run")
        else:
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"{path}: removed, left by an interrupted run")
    return done


def publish(
    out_dir: Path, fill: Callable[[Path], None], manifest: Mapping[str, Any], protected: Sequence[Protected] = ()
) -> list[str]:
    """Call ``fill(tmp)``, write the manifest, then put the folder in place of ``out_dir`` in one rename.

    ``out_dir`` is checked first (``check_target``) and again just before it is replaced. A
    failure anywhere leaves ``out_dir`` as it was (absent, or the previous folder). Returns what
    was cleaned up of earlier interrupted runs.
    """
    out_dir = out_dir.absolute()
    kind = str(manifest.get("kind", "sdtm-package"))
    check_target(out_dir, protected, kind)
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        cleaned = clean_leftovers(out_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise WriteError(f"{out_dir}: cannot write here ({exc.strerror})") from None
    try:
        with _locked(tmp):
            fill(tmp)
            write_manifest(tmp, manifest)
            os.chmod(tmp, 0o755)
            check_target(out_dir, protected, kind)  # the folder may have changed while we worked
            if out_dir.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=parent))
                old.rmdir()
                with _locked(out_dir), _signals_held():
                    os.replace(out_dir, old)
                    os.replace(tmp, out_dir)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, out_dir)
    except OSError as exc:
        raise WriteError(f"{out_dir}: cannot write the package ({exc.strerror})") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return cleaned


def copy_files(files: Sequence[Path], source: Path, target: Path) -> None:
    """Copy ``files`` (below ``source``) into ``target``, keeping their relative paths."""
    for path in files:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def copy_named(files: Mapping[str, Path], target: Path) -> None:
    """Copy each file into ``target`` under its name there (name -> file)."""
    for name, path in files.items():
        shutil.copyfile(path, target / name)
