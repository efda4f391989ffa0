"""Define-XML 2.1 metadata of a package, built from the specs, the standards and the written data.

``build_define`` (pure) turns a study spec, the standard metadata and the datasets as read back
from the package into a frozen ``Define`` model; ``daybreak_sdtm.write.define_xml`` and
``daybreak_sdtm.write.define_html`` render that one model, so the XML and its browsable page
cannot disagree.
"""

from __future__ import annotations

from daybreak_sdtm.define.model import Define, DefineError, build_define
from daybreak_sdtm.define.read import read_package

__all__ = ["Define", "DefineError", "build_define", "read_package"]
