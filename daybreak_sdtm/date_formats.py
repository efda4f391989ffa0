"""Date and time text: ISO 8601 as SDTMIG uses it, and the formats EDC systems export, declared by pattern.

A pattern is made of the tokens ``DD`` (day, 1 or 2 digits), ``MM`` (month number, 1 or 2
digits), ``MMM`` (English month abbreviation, any case), ``YYYY`` and ``YY`` (year), separated by
any other characters: ``DD-MMM-YYYY`` (the default), ``DD-MMM-YY``, ``MM/DD/YYYY``,
``DD/MM/YYYY``, ``YYYY-MM-DD``, ``M/D/YY`` (``M`` and ``D`` are accepted for ``MM`` and ``DD``).
A day or month may be unknown (``UN``, ``UK``, ``UNK``, ``--``, or left blank between its
separators): the date is then truncated at the first unknown part, never imputed (SDTMIG 3.4
section 4.4.4). ISO 8601 text (``2026-03-05``, ``2026-03``, ``2026``) is always accepted too.

A two-digit year is placed in the hundred years that end with the study's data cut-off year
(or the current year): with a 2026 cut-off, ``27`` is 1927 and ``26`` is 2026.

Times: ``HH:MM``, ``HH:MM:SS`` and 12-hour clocks with ``AM``/``PM`` (``9:05 PM``), all
unambiguous, so no time format is declared.

Nothing is guessed: a value that does not match the declared pattern is an error naming the
patterns it would match (``03/04/2025`` matches both ``MM/DD/YYYY`` and ``DD/MM/YYYY``: the
study must say which).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)
}
DEFAULT_FORMAT = "DD-MMM-YYYY"
# Formats tried, in this order, to say which ones a value that fits none of the declared would match.
KNOWN_FORMATS = (
    "DD-MMM-YYYY",
    "DD-MMM-YY",
    "MM/DD/YYYY",
    "DD/MM/YYYY",
    "YYYY-MM-DD",
    "YYYY/MM/DD",
    "DD.MM.YYYY",
    "MM-DD-YYYY",
    "DD-MM-YYYY",
    "MM/DD/YY",
    "DD/MM/YY",
    "YYYYMMDD",
    "DDMMMYYYY",
)
_UNKNOWN = r"UN|UK|UNK|--|---|\?\?|"
_TOKENS = {  # token -> (group name, regex)
    "YYYY": ("y", r"\d{4}"),
    "YY": ("yy", r"\d{2}"),
    "MMM": ("mon", rf"[A-Za-z]{{3}}|{_UNKNOWN}"),
    "MM": ("m", rf"\d{{1,2}}|{_UNKNOWN}"),
    "M": ("m", rf"\d{{1,2}}|{_UNKNOWN}"),
    "DD": ("d", rf"\d{{1,2}}|{_UNKNOWN}"),
    "D": ("d", rf"\d{{1,2}}|{_UNKNOWN}"),
}
_TOKEN = re.compile(r"YYYY|YY|MMM|MM|M|DD|D")
_ISO_DATE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<mi>[0-5]\d)(?::(?P<s>[0-5]\d))?(?:\s*(?P<ampm>[AaPp])\.?[Mm]\.?)?$")

# ISO 8601 as SDTMIG uses it: right-truncated precision, "-" for a missing middle component
# (2003---15), optional seconds fraction, and intervals start/end.
# Groups are non-capturing: pandas warns (on our output) about capturing groups in str.contains.
_MONTH, _DAY = r"(?:0[1-9]|1[0-2]|-)", r"(?:0[1-9]|[12]\d|3[01]|-)"
_TIME = r"T(?:[01]\d|2[0-3]|-)(?::(?:[0-5]\d|-)(?::[0-5]\d(?:\.\d+)?)?)?"
DATETIME = rf"\d{{4}}(?:-{_MONTH}(?:-{_DAY}(?:{_TIME})?)?)?"
_NUM = r"\d+(?:\.\d+)?"
DURATION = (
    rf"-?P(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
)
DATETIME_RE = rf"^{DATETIME}(?:/{DATETIME})?$"
DURATION_RE = rf"^{DURATION}$"
INTERVAL_RE = rf"^(?:{DATETIME}/{DATETIME}|{DURATION}|{DATETIME}/{DURATION}|{DURATION}/{DATETIME})$"


class DateFormatError(ValueError):
    """A date pattern that cannot be used (no year, a token twice, ...)."""


@dataclass(frozen=True)
class DateFormat:
    """A compiled date pattern."""

    pattern: str
    regex: re.Pattern[str]
    numeric_day_first: bool  # for messages: DD before MM

    @property
    def has_short_year(self) -> bool:
        return "(?P<yy>" in self.regex.pattern


@lru_cache(maxsize=64)
def compile_format(pattern: str) -> DateFormat:
    """The DateFormat of a pattern such as ``MM/DD/YYYY``; DateFormatError when it is not usable."""
    text = pattern.strip()
    parts: list[str] = []
    seen: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        parts.append(re.escape(text[pos : match.start()]))
        group, regex = _TOKENS[match.group()]
        if group in seen:
            raise DateFormatError(f"date format {pattern!r}: {match.group()} twice")
        seen.append(group)
        parts.append(f"(?P<{group}>{regex})")
        pos = match.end()
    parts.append(re.escape(text[pos:]))
    if not ({"y", "yy"} & set(seen)):
        raise DateFormatError(f"date format {pattern!r} has no year (YYYY or YY)")
    if {"m", "mon"} <= set(seen) or {"y", "yy"} <= set(seen):
        raise DateFormatError(f"date format {pattern!r} names the same part twice")
    if not ({"m", "mon"} & set(seen)) or "d" not in seen:
        raise DateFormatError(f"date format {pattern!r} needs a day (DD) and a month (MM or MMM)")
    day_first = "d" in seen and "m" in seen and seen.index("d") < seen.index("m")
    return DateFormat(text, re.compile("^" + "".join(parts) + "$", re.IGNORECASE), day_first)


def check_format(pattern: str) -> str:
    """The pattern, or DateFormatError with what is wrong with it."""
    return compile_format(pattern).pattern


def matching_formats(value: str) -> list[str]:
    """The known formats a text would parse with, as a real calendar date (for messages)."""
    out = []
    for pattern in KNOWN_FORMATS:
        parsed = parse_dates(pd.Series([value], dtype=object), compile_format(pattern), 2000)
        if parsed.iso.iat[0] and not parsed.bad.iat[0] and not parsed.impossible.iat[0]:
            out.append(pattern)
    return out


@dataclass(frozen=True)
class ParsedDates:
    """ISO 8601 texts ("" for blank) and, per value, whether it did not match or is no calendar date."""

    iso: pd.Series
    bad: pd.Series  # text that fits neither the pattern nor ISO 8601
    impossible: pd.Series  # fits, but no such day (31-FEB-2026) or month


def parse_dates(text: pd.Series, fmt: DateFormat, pivot_year: int) -> ParsedDates:
    """Stripped texts -> ISO 8601 dates, partial dates truncated; flags what does not parse.

    Args:
        text: Stripped date texts (distinct values are enough; blanks stay blank).
        fmt: The declared pattern.
        pivot_year: Two-digit years fall in the hundred years ending with this year.
    """
    found = text.str.extract(fmt.regex)
    iso = text.str.extract(_ISO_DATE)
    matched = found.notna().any(axis=1) if len(found.columns) else pd.Series(False, index=text.index)
    is_iso = iso["y"].notna() & ~matched
    if "y" in found:
        year = found["y"]
    else:
        short = pd.to_numeric(found["yy"], errors="coerce")
        century = np.where(
            short <= pivot_year % 100, pivot_year - pivot_year % 100, pivot_year - pivot_year % 100 - 100
        )
        year = pd.Series(
            np.where(short.notna(), (century + short.fillna(0)).astype("int64").astype(str), None),
            index=text.index,
            dtype=object,
        )
    if "mon" in found:
        mon = found["mon"].fillna("").str.upper()
        month = mon.map(MONTHS)
        unknown_month = mon.str.fullmatch(_UNKNOWN, case=False).fillna(False)
        bad_month = matched & month.isna() & ~unknown_month
    else:
        m = found["m"].fillna("")
        digits = m.str.fullmatch(r"\d{1,2}").fillna(False)
        month = m.str.zfill(2).where(digits, None)
        bad_month = pd.Series(False, index=text.index)
    d = found["d"].fillna("")
    day = d.str.zfill(2).where(d.str.fullmatch(r"\d{1,2}").fillna(False), None)

    year = year.where(matched, iso["y"])
    month = month.where(matched, iso["m"])
    day = day.where(matched, iso["d"])
    bad = text.ne("") & ~(matched | is_iso) | bad_month
    year = year.fillna("").where(~bad, "")
    month = month.fillna("").where(year.ne(""), "")
    day = day.fillna("").where(month.ne(""), "")  # no day without its month
    complete = day.ne("")
    full = year + "-" + month + "-" + day
    parsed = pd.to_datetime(full.where(complete, None), format="%Y-%m-%d", errors="coerce")
    impossible = (complete & parsed.isna()) | (month.ne("") & ~month.isin(list(MONTHS.values())))
    iso_text = pd.Series(
        np.where(complete, full, np.where(month.ne(""), year + "-" + month, year)), index=text.index, dtype=object
    )
    return ParsedDates(iso_text, bad, impossible & ~bad)


def parse_times(clock: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Stripped time texts -> ``HH:MM[:SS]`` ("" for blank), and which are not times."""
    parts = clock.str.extract(_CLOCK)
    hour = pd.to_numeric(parts["h"], errors="coerce")
    ampm = parts["ampm"].fillna("").str.upper()
    twelve = ampm.ne("")
    bad_twelve = twelve & ~hour.between(1, 12)
    hour = hour.where(~twelve, (hour % 12) + np.where(ampm.eq("P"), 12, 0))
    bad = clock.ne("") & (parts["h"].isna() | ~hour.between(0, 23) | bad_twelve)
    hh = hour.fillna(0).astype("int64").astype(str).str.zfill(2)
    text = (hh + ":" + parts["mi"] + (":" + parts["s"]).fillna("")).where(~bad & parts["h"].notna(), "")
    return text.fillna("").astype(object), bad


def pivot_year(cutoff: str) -> int:
    """The last year of the two-digit-year window: the data cut-off year, else this year."""
    match = re.match(r"^(\d{4})", cutoff or "")
    return int(match.group(1)) if match else dt.date.today().year
