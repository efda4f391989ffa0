"""Raw export readers: one registry, chosen per file by its extension."""

from __future__ import annotations

from daybreak_sdtm.raw.read import (
    READERS,
    SRC_FILE,
    SRC_ROW,
    find_form,
    read_form,
    reader,
)

__all__ = ["READERS", "SRC_FILE", "SRC_ROW", "find_form", "read_form", "reader"]
