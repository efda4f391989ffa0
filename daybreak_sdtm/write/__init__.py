"""Writers: the only modules that write files."""

from __future__ import annotations

from daybreak_sdtm.write.package import publish
from daybreak_sdtm.write.xpt import write_xpt, xpt_problems

__all__ = ["publish", "write_xpt", "xpt_problems"]
