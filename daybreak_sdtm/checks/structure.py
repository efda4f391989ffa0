"""DB1xx: the shape of each dataset: variables present, populated, typed, sized, in range, in ASCII.

DB101-DB103, DB105 and DB106 are great-expectations expectations generated from SDTMIG metadata;
DB104 and DB107-DB113 are our own vectorised checks (column metadata, whole-package or byte-level
rules that expectations express slowly or not at all).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from daybreak_sdtm.checks.package import Dataset, Package
from daybreak_sdtm.checks.registry import CheckContext, Implements, check, expectation, no_counterpart
from daybreak_sdtm.checks.roles import DEMOGRAPHICS
from daybreak_sdtm.checks.versions import ADDED, REMOVED, Difference
from daybreak_sdtm.codec import bytes_are
from daybreak_sdtm.findings import Finding, Severity
from daybreak_sdtm.gx import Expect
from daybreak_sdtm.text import non_ascii, text_byte_lengths

MAX_VALUE_BYTES = 200  # FDA Technical Conformance Guide: XPT v5 character values
# Short names are limited to 8 characters and their names/labels to 40, as SDTMIG states for
# --TESTCD/--TEST and for SUPPQUAL's QNAM/QLABEL (XPT v5 names and labels have the same limits).
NAME_LIMITS = {"TESTCD": 8, "TEST": 40}
# IETEST is the criterion's text, up to 200 characters (SDTMIG 3.4 IE and TI; CG0406 excludes IE).
LONG_TEST = frozenset({"IE"})
SUPP_LIMITS = {"QNAM": 8, "QLABEL": 40}
# Short names become variable names when the data are transposed: letters, digits and underscores,
# not starting with a digit (SDTMIG 3.4 section 4.5.3 for --TESTCD); QNAM's letters in upper case.
TESTCD_NAME = (r"^[A-Za-z_][A-Za-z0-9_]*$", "letters, digits and underscores, not starting with a digit")
QNAM_NAME = (r"^[A-Z_][A-Z0-9_]*$", "upper-case letters, digits and underscores, not starting with a digit")
# Value ranges that hold in any study, whatever its protocol says.
NUMERIC_RANGES = {"AGE": (0.0, 130.0), "DOSE": (0.0, None), "SEQ": (1.0, None)}
TOXICITY_GRADES = ["1", "2", "3", "4", "5"]  # CTCAE grades; AETOXGR is Char in SDTMIG


def _suffix(ds: Dataset, name: str) -> str:
    """``AETOXGR`` -> ``TOXGR`` for dataset AE (the generic --TOXGR name)."""
    return name.removeprefix(ds.domain)


@expectation(
    "DB101",
    "structure.required_variables_present",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.1.5 (Core designations: Req)",),
    implements=Implements(cdisc=("CG0014",), core=("CORE-000355",), fda=("SD0056",)),
)
def required_variables_present(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """A dataset holds every variable SDTMIG marks Required (Core = Req).

    Anti-pattern: an AE dataset without AEDECOD.
    Fix: map the variable in the domain's spec; a Required variable may never be dropped.
    Engine: great-expectations ``ExpectTableColumnsToMatchSet(exact_match=False)``, one per dataset.
    """
    names = [v.name for v in ctx.standards.domain_variables(ds.name) if v.core == "Req"]
    yield from _columns_expected(ds, ctx, "DB101", Severity.ERROR, names, "required")


@expectation(
    "DB102",
    "structure.required_variables_populated",
    severity=Severity.ERROR,
    references=("SDTMIG 3.4 section 4.1.5 (Core designations: Req)",),
    implements=Implements(cdisc=("CG0014",), core=("CORE-000356",), fda=("SD0002",)),
)
def required_variables_populated(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Required variables are populated on every record (no blank or missing value).

    Anti-pattern: a USUBJID left blank, an AESEQ with no number.
    Fix: every record needs its Required values; a blank usually means a raw field the spec
    does not read. Engine: great-expectations ``ExpectColumnValuesToNotBeNull`` per variable.
    """
    for meta in ctx.standards.domain_variables(ds.name):
        if meta.core == "Req" and meta.name in ds.frame.columns:
            yield Expect(
                "DB102",
                Severity.ERROR,
                meta.name,
                "ExpectColumnValuesToNotBeNull",
                {"column": meta.name},
                f"required variable {meta.name} is blank",
            )


@expectation(
    "DB103",
    "structure.expected_variables_present",
    severity=Severity.WARNING,
    references=("SDTMIG 3.4 section 4.1.5 (Core designations: Exp)",),
    implements=Implements(cdisc=("CG0016",), core=("CORE-000334",), fda=("SD0057",)),
)
def expected_variables_present(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """A dataset holds every variable SDTMIG marks Expected (Core = Exp), even when all null.

    Anti-pattern: dropping AESTDTC because it was not collected.
    Fix: keep Expected variables as columns (null when not collected) and say why in define.xml.
    Engine: great-expectations ``ExpectTableColumnsToMatchSet(exact_match=False)``.
    """
    names = [v.name for v in ctx.standards.domain_variables(ds.name) if v.core == "Exp"]
    yield from _columns_expected(ds, ctx, "DB103", Severity.WARNING, names, "expected")


def _columns_expected(
    ds: Dataset, ctx: CheckContext, code: str, severity: Severity, names: list[str], core: str
) -> Iterator[Expect]:
    """One column-set expectation for ``names``; a variable the package's declared SDTMIG does not
    have yet (LBLOBXFL for 3.2) gets one of its own whose finding is a note saying why."""
    current: list[tuple[str, Difference | None]] = []
    newer: list[tuple[str, Difference | None]] = []
    for name in names:
        change = ctx.difference(ds, name, ADDED)
        (newer if change is not None else current).append((name, change))
    if current:
        yield Expect(
            code,
            severity,
            "",
            "ExpectTableColumnsToMatchSet",
            {"column_set": [n for n, _ in current], "exact_match": False},
            f"{core} variable {{missing}} is missing",
        )
    for name, change in newer:
        assert change is not None
        yield Expect(
            code,
            Severity.NOTE,
            "",
            "ExpectTableColumnsToMatchSet",
            {"column_set": [name], "exact_match": False},
            f"{core} variable {{missing}} is missing: {change.why}; the package declares SDTMIG "
            f"{ctx.declared_sdtmig}, which does not have it",
        )


@check(
    "DB104",
    "structure.variable_type",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 domain models (Type column: Char or Num)",
        "FDA Technical Conformance Guide (XPT v5)",
    ),
    implements=Implements(cdisc=("CG0012",), core=("CORE-001082",)),
)
def variable_type(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Each variable is stored with the SDTMIG type: Num as numeric, Char as character.

    Anti-pattern: AESEQ stored as text "1", AETOXGR stored as a number.
    Fix: the XPT type must follow the IG type column; for Num, fix the values that are not numbers.
    Our own check, not an expectation: the type is one dtype lookup per column, where
    great-expectations' ``ExpectColumnValuesToBeInTypeList`` spends about 12 ms of configuration
    handling per variable (1.8 s for the 150 variables of the sample package).
    """
    for ds in pkg.datasets.values():
        for col in ds.frame.columns:
            meta = ctx.standards.variable(ds.name, col)  # the IG's or one the domain's class allows
            if meta is None:
                continue
            stored_num = ds.frame[meta.name].dtype != object
            if stored_num != meta.is_numeric:
                stored = "Num" if stored_num else "Char"
                yield ds.finding(
                    "DB104", Severity.ERROR, meta.name, f"{meta.name} is {meta.type} in SDTMIG but stored as {stored}"
                )


@expectation(
    "DB105",
    "structure.value_length",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 section 4.5.3 (--TESTCD at most 8 characters, a name; --TEST at most 40 characters)",
        "SDTMIG 3.4 section 8.4 (QNAM at most 8 characters, a name; QLABEL at most 40 characters)",
    ),
    implements=Implements(
        cdisc=("CG0372", "CG0406", "CG0416", "CG0417"),
        core=("CORE-000199", "CORE-000220", "CORE-000221", "CORE-000222", "CORE-000541"),
        fda=("SD0017", "SD1022", "SD1049"),
    ),
)
def value_length(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Short names hold at most 8 characters and are names; their labels hold at most 40 characters (--TESTCD, --TEST, QNAM, QLABEL).

    A name is letters, digits and underscores, not starting with a digit (it becomes a variable
    name when the data are transposed); QNAM's letters are upper case. --TESTCD is the dataset's
    own, and any other --TESTCD SDTMIG defines for it (TI's IETESTCD); IE's IETEST, the criterion's
    text, may hold up to 200 characters.
    Anti-pattern: RSTESTCD = "OVERALLRESP" (11 characters); LBTESTCD = "HBA1C-%"; QNAM = "1STDOSE"
    or "aeReltis".
    Fix: use the CDISC submission value, or a sponsor short name of at most 8 characters that is
    a name.
    Engine: great-expectations ``ExpectColumnValueLengthsToBeBetween`` and
    ``ExpectColumnValuesToMatchRegex`` per variable.
    """
    limits = {f"{ds.domain}{k}": v for k, v in NAME_LIMITS.items() if not (k == "TEST" and ds.domain in LONG_TEST)}
    names = {f"{ds.domain}TESTCD": TESTCD_NAME}
    for col in ds.frame.columns:
        if col.endswith("TESTCD") and len(col) == 8 and ctx.standards.variable(ds.name, col) is not None:
            limits.setdefault(col, NAME_LIMITS["TESTCD"])
            names.setdefault(col, TESTCD_NAME)
    if ds.is_supp:
        limits.update(SUPP_LIMITS)
        names["QNAM"] = QNAM_NAME
    for name, limit in limits.items():
        if name in ds.frame.columns and ds.frame[name].dtype == object:
            yield Expect(
                "DB105",
                Severity.ERROR,
                name,
                "ExpectColumnValueLengthsToBeBetween",
                {"column": name, "min_value": 1, "max_value": limit},
                f"{name} value {{value!r}} is longer than {limit} characters",
            )
    for name, (regex, what) in names.items():
        if name in ds.frame.columns and ds.frame[name].dtype == object:
            yield Expect(
                "DB105",
                Severity.ERROR,
                name,
                "ExpectColumnValuesToMatchRegex",
                {"column": name, "regex": regex},
                f"{name} value {{value!r}} is not a name: {what}",
            )


@expectation(
    "DB106",
    "structure.value_in_range",
    severity=Severity.ERROR,
    references=(
        "SDTMIG 3.4 DM assumptions (AGE)",
        "SDTMIG 3.4 EX assumptions (EXDOSE)",
        "CTCAE v5.0 (grades 1-5)",
    ),
    implements=Implements(core=("CORE-000308", "CORE-000310"), fda=("FB4001", "FB4002", "SD0014", "SD0084")),
)
def value_in_range(ds: Dataset, ctx: CheckContext) -> Iterator[Expect]:
    """Numbers lie in their possible range: AGE 0-130, doses at least 0, --SEQ at least 1, --TOXGR 1-5.

    Anti-pattern: AGE = -3, EXDOSE = -200, AETOXGR = "7".
    Fix: a value outside its possible range is a data entry or mapping error; correct the source.
    Protocol-specific ranges (eligibility age) are protocol checks (DB601), not this one.
    Engine: great-expectations ``ExpectColumnValuesToBeBetween`` (numeric) and
    ``ExpectColumnValuesToBeInSet`` (the character toxicity grade).
    """
    for name in ds.frame.columns:
        suffix = _suffix(ds, name)
        values = ds.frame[name]
        if suffix in NUMERIC_RANGES and pd.api.types.is_numeric_dtype(values):
            low, high = NUMERIC_RANGES[suffix]
            text = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
            yield Expect(
                "DB106",
                Severity.ERROR,
                name,
                "ExpectColumnValuesToBeBetween",
                {"column": name, "min_value": low, "max_value": high},
                f"{name} = {{value}} is not {text}",
            )
        elif suffix == "TOXGR" and values.dtype == object:
            yield Expect(
                "DB106",
                Severity.ERROR,
                name,
                "ExpectColumnValuesToBeInSet",
                {"column": name, "value_set": TOXICITY_GRADES},
                f"{name} = {{value!r}} is not a toxicity grade 1-5",
            )


@check(
    "DB107",
    "structure.studyid_domain_values",
    severity=Severity.ERROR,
    references=(
        "SDTM v2.0 Identifiers for all classes (STUDYID, DOMAIN)",
        "SDTMIG 3.4 section 8.4 (RDOMAIN)",
    ),
    implements=Implements(
        cdisc=("CG0334", "CG0409", "CG0413"),
        core=("CORE-000172", "CORE-000538", "CORE-000598"),
        fda=("SD0004", "SD1005"),
    ),
)
def studyid_domain_values(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """DOMAIN (RDOMAIN in SUPP--) equals the dataset's domain code, and STUDYID is the study's, everywhere.

    Anti-pattern: DOMAIN = "ae" in AE; a SUPPAE record with RDOMAIN = "CM"; a second STUDYID.
    Fix: DOMAIN is the two-letter code of the dataset; one package holds one study.
    """
    expected_study = ctx.studyid
    if not expected_study:
        dm = pkg.get(DEMOGRAPHICS)
        if dm is not None and "STUDYID" in dm.frame.columns and len(dm.frame):
            expected_study = str(dm.frame["STUDYID"].mode().iat[0])
    for ds in pkg.datasets.values():
        frame = ds.frame
        col = "RDOMAIN" if ds.is_supp else "DOMAIN"
        if col in frame.columns:
            bad = ds.positions_where(col, lambda v: v.ne(ds.domain))  # noqa: B023 (called at once)
            yield from ds.findings(
                "DB107", Severity.ERROR, bad, col, f"{col} must be {ds.domain!r} in dataset {ds.name}"
            )
        if expected_study and "STUDYID" in frame.columns:
            bad = ds.positions_where("STUDYID", lambda v: v.ne(expected_study) & v.ne(""))
            yield from ds.findings(
                "DB107", Severity.ERROR, bad, "STUDYID", f"STUDYID differs from the study's {expected_study!r}"
            )


def _char_columns(ds: Dataset) -> Iterator[str]:
    """The char columns of a dataset; checks judge each distinct value once (``Dataset.positions_where``).

    The factorisation is the dataset's own (``Dataset.codes``), shared by DB108-DB110 and the
    date checks.
    """
    for col in ds.frame.columns:
        if ds.frame[col].dtype == object:
            yield col


@check(
    "DB108",
    "structure.no_surrounding_spaces",
    severity=Severity.WARNING,
    references=("FDA Study Data Technical Conformance Guide (character data)",),
    implements=Implements(core=("CORE-000867",), fda=("FB1501",)),
)
def no_surrounding_spaces(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Character values have no leading spaces (and, in memory, no trailing ones).

    Anti-pattern: AETERM = "  HEADACHE": it sorts and matches differently from "HEADACHE".
    Fix: strip collected text when mapping (assign_* derivations do).
    XPT pads values with trailing blanks, so read back from a file only leading spaces show.
    """
    for ds in pkg.datasets.values():
        for col in _char_columns(ds):
            bad = ds.positions_where(col, lambda distinct: distinct.ne(distinct.str.strip()))
            yield from ds.findings("DB108", Severity.WARNING, bad, col, f"{col} value has leading or trailing spaces")


@check(
    "DB109",
    "structure.ascii_only",
    severity=Severity.ERROR,
    references=("FDA Study Data Technical Conformance Guide (XPT v5: ASCII text only)",),
    implements=no_counterpart(
        "XPT v5's ASCII-only text (FDA Technical Conformance Guide) has no rule in CORE's SDTMIG rules; FDA validator rule SD1029 covers only name and label variables"
    ),
)
def ascii_only(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Character values are plain ASCII, as XPT v5 submissions require.

    Anti-pattern: AETERM = "Naus\u00e9a", a non-breaking space, or curly quotes pasted from a document.
    Fix: transliterate in the EDC or in the spec's map; do not rely on the reader's encoding.
    """
    for ds in pkg.datasets.values():
        for col in _char_columns(ds):
            bad = ds.positions_where(col, non_ascii)  # Arrow's kernel on the distinct values only
            if not len(bad):
                continue
            # The character is named: a long value is shown cut short, maybe before it.
            messages = [f"{col} value is not ASCII: {_first_non_ascii(str(v))}" for v in ds.frame[col].to_numpy()[bad]]
            yield from ds.findings("DB109", Severity.ERROR, bad, col, messages)


def _first_non_ascii(text: str) -> str:
    """The first character of ``text`` outside ASCII, named with its code point and place (1-based)."""
    at = next(i for i, ch in enumerate(text) if not ch.isascii())
    return f"{text[at]!r} (U+{ord(text[at]):04X}) at character {at + 1}"


@check(
    "DB110",
    "structure.value_max_200_bytes",
    severity=Severity.ERROR,
    references=(
        "FDA Study Data Technical Conformance Guide (character values at most 200 bytes)",
        "SDTMIG 3.4 section 4.5.3 (text strings longer than 200 characters)",
    ),
    implements=no_counterpart(
        "the 200-byte limit of XPT v5 character values (FDA Technical Conformance Guide) has no rule in CORE's SDTMIG rules or the FDA validator rules"
    ),
)
def value_max_200_bytes(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Character values take at most 200 bytes; longer text is split into --TEST/SUPP-- per SDTMIG.

    Anti-pattern: a 260-character AETERM.
    Fix: split the text into 200-byte parts as SDTMIG describes (SUPP-- QNAMs AETERM1, ...).
    """
    for ds in pkg.datasets.values():
        for col in _char_columns(ds):
            # Arrow's kernel, distinct values only
            bad = ds.positions_where(col, lambda distinct: text_byte_lengths(distinct) > MAX_VALUE_BYTES)
            yield from ds.findings(
                "DB110", Severity.ERROR, bad, col, f"{col} value is longer than {MAX_VALUE_BYTES} bytes"
            )


@check(
    "DB111",
    "structure.dataset_described",
    severity=Severity.NOTE,
    references=("SDTMIG 3.4 domain models (datasets the IG defines)",),
    implements=no_counterpart("a note on what this tool could check, not a rule of the standard"),
)
def dataset_described(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """A dataset the bundled SDTMIG metadata does not describe is checked only by package-wide rules.

    Not a defect of the data: a note that variable-level checks (DB101-DB106, DB201) did not run
    for it. Fix: for a sponsor domain, declare its class in its spec (``class:``, ``label:``) and
    validate with ``--study``; or accept the note.
    """
    for ds in pkg.datasets.values():
        if ctx.standards.dataset(ds.name) is None:
            yield ds.finding(
                "DB111",
                Severity.NOTE,
                "",
                f"dataset {ds.name} is not in the SDTMIG {ctx.standards.sdtmig_version} metadata used",
            )


@check(
    "DB112",
    "structure.variable_in_sdtmig",
    severity=Severity.WARNING,
    references=(
        "SDTMIG 3.4 section 8.4 (non-standard variables go to SUPP--)",
        "SDTMIG 3.4 section 2.5 (variables of the SDTM general observation classes)",
    ),
    implements=Implements(cdisc=("CG0013", "CG0351"), core=("CORE-000550", "CORE-001079"), fda=("SD0058",)),
)
def variable_in_sdtmig(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Every variable of a standard domain is one SDTMIG defines for it or its SDTM class allows.

    Variables of the domain's general observation class that the IG's table does not list
    (AEDTC in AE, VISITNUM in EX) are allowed (SDTMIG 3.4 section 2.5, SDTM v2.0 section 3.1).
    Anti-pattern: AEIRAE as a column of AE.
    Fix: put sponsor variables in SUPP-- (QNAM = the variable name).
    """
    for ds in pkg.datasets.values():
        if not ctx.standards.domain_variables(ds.name):
            continue
        for col in ds.frame.columns:
            if ctx.standards.variable(ds.name, col) is None:
                change = ctx.difference(ds, col, REMOVED)
                if change is not None:
                    yield ds.finding(
                        "DB112",
                        Severity.NOTE,
                        col,
                        f"{col} is not an SDTMIG {ctx.standards.sdtmig_version} {ds.domain} variable: "
                        f"{change.why}; the package declares SDTMIG {ctx.declared_sdtmig}, which has it",
                    )
                else:
                    yield ds.finding(
                        "DB112",
                        Severity.WARNING,
                        col,
                        f"{col} is not an SDTMIG {ctx.standards.sdtmig_version} {ds.domain} variable",
                    )


@check(
    "DB113",
    "structure.text_encoding",
    severity=Severity.WARNING,
    references=(
        "FDA Study Data Technical Conformance Guide (XPT v5: ASCII text only)",
        "SAS Version 5 transport format (the file does not record its text encoding)",
    ),
    implements=no_counterpart("how an XPT file that records no text encoding was read, not a rule of the data"),
)
def text_encoding(pkg: Package, ctx: CheckContext) -> Iterator[Finding]:
    """Text of an XPT file read without a declared encoding is UTF-8 (ASCII, for a submission).

    An XPT file does not say how its text is encoded. Read without ``--encoding``, a dataset whose
    text is not UTF-8 is read as Windows-1252 (what SAS on Windows writes) and this check names
    each variable where that mattered: file, first record, the bytes and the character they made.
    Anti-pattern: TSVAL = "Alzheimer\\x92s" (a Windows-1252 right single quote, 0x92).
    Fix: pass the package's encoding (``validate --encoding cp1252``) to read it as such, and
    write ASCII text (DB109 reports the characters that are not).
    """
    for ds in pkg.datasets.values():
        for fb in ds.fallbacks:
            what = f"{ds.file or ds.name}: {fb.what}: {bytes_are(fb.raw)} not UTF-8"
            how = (
                f"read as Windows-1252 {fb.char!r} (U+{ord(fb.char[0]):04X}) with the rest of the file"
                if fb.char
                else "read as Windows-1252 with the rest of the file"
            )
            more = f" ({fb.records} record(s) of {fb.variable})" if fb.records > 1 else ""
            message = f"{what}; {how}{more}; pass --encoding cp1252 (or the package's own encoding) to read it as such"
            if fb.record:
                yield from ds.findings("DB113", Severity.WARNING, [fb.record - 1], fb.variable, message)
            else:
                yield ds.finding("DB113", Severity.WARNING, fb.variable, message)
