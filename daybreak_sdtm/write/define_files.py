"""Write define.xml and define.html into a package folder, from its XPT files and the specs.

The define is built from the XPT files as written (read back), so the lengths, labels and
datasets it states are those of the files next to it; it is schema-validated before anything
is written, and both files replace their predecessors atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from daybreak_sdtm.define import Define, build_define, read_package
from daybreak_sdtm.errors import WriteError
from daybreak_sdtm.spec import StudySpec
from daybreak_sdtm.standards import Standards
from daybreak_sdtm.write.define_html import define_html
from daybreak_sdtm.write.define_xml import define_xml, validate_define

DEFINE_XML, DEFINE_HTML = "define.xml", "define.html"


def render_define(package_dir: Path, study: StudySpec, standards: Standards, created: dt.datetime) -> tuple[Define, bytes, bytes]:
    """The define of a package folder and its two renderings; raises DefineSchemaError if the XML is invalid."""
    define = build_define(study, standards, read_package(package_dir), created)
    xml = define_xml(define)
    validate_define(xml, str(package_dir / DEFINE_XML))
    return define, xml, define_html(define)


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` next to ``path`` and rename it into place, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_define(package_dir: Path, study: StudySpec, standards: Standards, created: dt.datetime) -> Define:
    """(Re)generate define.xml and define.html in ``package_dir``; nothing is written if the define is invalid."""
    define, xml, html = render_define(package_dir, study, standards, created)
    _replace_file(package_dir / DEFINE_XML, xml)
    _replace_file(package_dir / DEFINE_HTML, html)
    return define
