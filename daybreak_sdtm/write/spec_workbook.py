"""The spec workbook (``spec export``): the define's metadata in the Pinnacle 21 define template's sheets.

Written with XlsxWriter from the rows ``define.tables`` makes of the define, so the workbook says
what define.xml says. Text is written as text (a label starting with ``=`` is not a formula),
whole numbers as numbers; the file is written beside its place and renamed into it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from daybreak_sdtm.define.tables import SHEETS, Tables
from daybreak_sdtm.errors import WriteError

# Column widths (characters) of the wider columns; the others are 14 wide.
WIDTHS = {"Label": 40, "Description": 80, "Name": 36, "Value": 30, "Structure": 40, "Key Variables": 36, "Title": 40}


def _write_sheet(book: Any, name: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    bold = book.add_format({"bold": True, "bg_color": "#FF9900"})
    ws = book.add_worksheet(name)
    ws.write_row(0, 0, columns, bold)
    ws.freeze_panes(1, 0)
    for col, column in enumerate(columns):
        ws.set_column(col, col, WIDTHS.get(column, 14))
    for r, row in enumerate(rows, start=1):
        for col, column in enumerate(columns):
            value = row.get(column, "")
            if isinstance(value, int):
                ws.write_number(r, col, value)
            elif value != "":
                ws.write_string(r, col, str(value))
    ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)


def write_spec_workbook(tables: Tables, path: Path) -> None:
    """Write the sheets (Study, Datasets, Variables ... Documents) to ``path``, replacing it whole."""
    import xlsxwriter  # type: ignore[import-untyped]

    partial = path.with_name(f".{path.name}.partial")
    try:
        book = xlsxwriter.Workbook(str(partial), {"strings_to_numbers": False, "strings_to_formulas": False})
        try:
            for name, columns in SHEETS.items():
                _write_sheet(book, name, columns, tables.get(name, []))
        finally:
            book.close()
        os.replace(partial, path)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write the spec workbook ({exc.strerror or exc})") from None
    finally:
        if partial.exists():
            partial.unlink()
