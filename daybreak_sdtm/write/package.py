"""Publish a package atomically: everything is written to a temporary folder, then renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from daybreak_sdtm.errors import WriteError


def publish(out_dir: Path, fill: Callable[[Path], None]) -> None:
    """Call ``fill(tmp)`` to write the package, then replace ``out_dir`` with it in one rename.

    A failure anywhere leaves ``out_dir`` as it was (absent, or the previous package).
    """
    out_dir = out_dir.absolute()
    parent = out_dir.parent
    blocking = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise WriteError(f"{out_dir}: cannot write the package here ({blocking} is a file, not a folder)")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise WriteError(f"{out_dir}: cannot write the package here ({exc.strerror})") from None
    try:
        fill(tmp)
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            if not out_dir.is_dir():
                raise WriteError(f"{out_dir}: exists and is not a folder")
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=parent))
            old.rmdir()
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
