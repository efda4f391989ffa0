"""CDISC SDTM Controlled Terminology as NCI EVS publishes it, and its compiled form.

NCI EVS publishes each SDTM CT release as ``SDTM Terminology.txt``: tab-delimited, one header
row, then a codelist row (empty ``Codelist Code``) followed by its terms. ``read_nci`` reads and
checks such a file (plain or gzip-compressed). Reading 13 MB of text on every command would cost
a third of a second, so ``load_terminology`` keeps a compiled copy in the user store: an index of
the codelists plus each codelist's terms as one marshalled block, read only when that codelist is
first asked for. The copy records the source's size and modification time and is rebuilt when
they change (or when this module's format changes).
"""

from __future__ import annotations

import gzip
import hashlib
import marshal
import mmap
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from daybreak_sdtm.errors import Location, StandardsError
from daybreak_sdtm.standards.model import Codelist, CodelistTable, Term

NCI_COLUMNS = (
    "Code",
    "Codelist Code",
    "Codelist Extensible (Yes/No)",
    "Codelist Name",
    "CDISC Submission Value",
    "CDISC Synonym(s)",
    "CDISC Definition",
    "NCI Preferred Term",
)
MAX_REPORTED = 20  # problems listed for a broken file before "... and N more"
# The ISO 3166-1 alpha-3 country codes (SDTMIG DM.COUNTRY) as a codelist of its own.
ISO3166 = "ISO3166"

_MAGIC = b"DAYBREAK-SDTM-CT\n"
_FORMAT = 1  # bump when the compiled layout or what is read from the source changes
_LENGTH = struct.Struct("<Q")

# One term as stored: code, submission value, synonyms, NCI preferred term, definition.
TermRow = tuple[str, str, tuple[str, ...], str, str]
# A codelist as stored: code, name, submission value, extensible, synonyms, definition, NCI preferred term.
CodelistFacts = tuple[str, str, str, bool, tuple[str, ...], str, str]
# A codelist in the compiled index: its facts, then its terms' offset and length in the file and their number.
IndexRow = tuple[str, str, str, bool, tuple[str, ...], str, str, int, int, int]


@dataclass(frozen=True)
class CodelistRow:
    """A codelist row of the NCI file."""

    code: str
    name: str
    submission_value: str
    extensible: bool
    synonyms: tuple[str, ...]
    definition: str
    preferred_term: str
    line: int


@dataclass(frozen=True)
class Terminology:
    """A whole NCI SDTM Terminology file, read and checked."""

    source: Path
    codelists: tuple[CodelistRow, ...]
    terms: dict[str, list[TermRow]]  # codelist code -> its terms, in file order

    @property
    def term_count(self) -> int:
        return sum(len(ts) for ts in self.terms.values())


def _synonyms(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(";") if s.strip())


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StandardsError(f"{path}: cannot read the terminology file ({exc.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise StandardsError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StandardsError(f"{Location(str(path), line)}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None


def read_nci(path: Path) -> Terminology:
    """Read and check an NCI EVS ``SDTM Terminology.txt`` (or ``.txt.gz``).

    Every problem is reported at once with its line: missing columns, rows with the wrong number
    of fields, a codelist whose Extensible is not Yes/No, a term whose codelist the file does not
    define, a codelist defined twice.
    """
    lines = _text(path).splitlines()
    if not lines or not lines[0].strip():
        raise StandardsError(
            f"{Location(str(path), 1)}: empty file; expected the NCI EVS header row ({', '.join(NCI_COLUMNS)})"
        )
    header = [h.strip() for h in lines[0].split("\t")]
    missing = [c for c in NCI_COLUMNS if c not in header]
    if missing:
        raise StandardsError(
            f"{Location(str(path), 1)}: missing column(s) {', '.join(missing)} "
            f"(an NCI EVS SDTM Terminology file is tab-delimited with columns {', '.join(NCI_COLUMNS)})"
        )
    col = {name: header.index(name) for name in NCI_COLUMNS}
    width = len(header)
    problems: list[str] = []
    codelists: dict[str, CodelistRow] = {}
    terms: dict[str, list[TermRow]] = {}
    pending: list[tuple[int, str, TermRow]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != width:
            problems.append(
                f"{Location(str(path), number)}: {len(fields)} tab-separated field(s), the header has {width}"
            )
            continue
        value = {name: fields[i].strip() for name, i in col.items()}
        code, parent = value["Code"], value["Codelist Code"]
        if not code:
            problems.append(f"{Location(str(path), number)}: Code is empty")
            continue
        if not parent:  # a codelist row
            extensible = value["Codelist Extensible (Yes/No)"]
            if extensible not in ("Yes", "No"):
                problems.append(
                    f"{Location(str(path), number)}: codelist {code}: Codelist Extensible (Yes/No) "
                    f"is {extensible!r}, not Yes or No"
                )
                continue
            if code in codelists:
                problems.append(
                    f"{Location(str(path), number)}: codelist {code} is defined again "
                    f"(first at line {codelists[code].line})"
                )
                continue
            codelists[code] = CodelistRow(
                code,
                value["Codelist Name"],
                value["CDISC Submission Value"],
                extensible == "Yes",
                _synonyms(value["CDISC Synonym(s)"]),
                value["CDISC Definition"],
                value["NCI Preferred Term"],
                number,
            )
            terms[code] = []
        else:
            pending.append(
                (
                    number,
                    parent,
                    (
                        code,
                        value["CDISC Submission Value"],
                        _synonyms(value["CDISC Synonym(s)"]),
                        value["NCI Preferred Term"],
                        value["CDISC Definition"],
                    ),
                )
            )
    for number, parent, term in pending:
        if parent in terms:
            terms[parent].append(term)
        else:
            problems.append(
                f"{Location(str(path), number)}: term {term[0]} ({term[1]!r}) names codelist {parent}, "
                f"which the file does not define"
            )
    if not codelists and not problems:
        problems.append(f"{Location(str(path), 2)}: no codelist rows (rows with an empty Codelist Code)")
    if problems:
        shown = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            shown.append(f"{path}: ... and {len(problems) - MAX_REPORTED} more problem(s)")
        raise StandardsError("\n".join(shown))
    return Terminology(path, tuple(sorted(codelists.values(), key=lambda c: c.line)), terms)


def _codelist(facts: CodelistFacts, terms: tuple[TermRow, ...]) -> Codelist:
    code, name, value, extensible, synonyms, definition, preferred = facts
    return Codelist(
        code,
        name,
        value,
        extensible,
        tuple(Term(*t) for t in terms),
        synonyms=synonyms,
        definition=definition,
        preferred_term=preferred,
    )


def iso3166_codelist() -> Codelist:
    """ISO 3166-1 alpha-3 country codes from pycountry: CHN, with CN and the country names as synonyms."""
    import pycountry

    terms = tuple(
        Term(
            country.numeric,
            country.alpha_3,
            tuple(
                dict.fromkeys(
                    s
                    for s in (
                        country.alpha_2,
                        getattr(country, "official_name", ""),
                        getattr(country, "common_name", ""),
                    )
                    if s
                )
            ),
            country.name,
        )
        for country in sorted(pycountry.countries, key=lambda c: c.alpha_3)
    )
    return Codelist(
        ISO3166,
        "ISO 3166-1 alpha-3",
        ISO3166,
        False,
        terms,
        dictionary="ISO 3166",
        dictionary_version=iso3166_version(),
    )


def iso3166_version() -> str:
    """The release of the ISO 3166 data the country codes come from: the pycountry release that
    ships it (a copy of Debian's iso-codes), "" when its metadata is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"pycountry {version('pycountry')}"
    except PackageNotFoundError:  # pycountry imported from a source tree without metadata
        return ""


class CompiledTerminology(CodelistTable):
    """Codelists of a compiled file: the index read at once, each codelist built on first use."""

    def __init__(self, data: mmap.mmap | bytes, index: dict[str, IndexRow], base: int) -> None:
        super().__init__()
        self._index = index
        self._base = base
        self._map = data  # the file as opened: a copy rebuilt meanwhile does not change what is read

    def _codes(self) -> dict[str, IndexRow]:
        return self._index

    def _short_name(self, code: str) -> str:
        return str(self._index[code][2])

    def _blob(self, offset: int, length: int) -> bytes:
        start = self._base + offset
        return bytes(self._map[start : start + length])

    def counts(self) -> tuple[int, int]:
        return len(self._index), sum(row[9] for row in self._index.values())

    def _build(self, code: str) -> Codelist:
        row = self._index[code]  # KeyError for an unknown code, as a Mapping should
        return _codelist(row[:7], marshal.loads(self._blob(row[7], row[8])))


class TerminologyTable(CodelistTable):
    """Codelists of a terminology read in this process (no compiled copy could be written)."""

    def __init__(self, terminology: Terminology) -> None:
        super().__init__()
        self._rows = {c.code: c for c in terminology.codelists}
        self._terms = terminology.terms

    def _codes(self) -> dict[str, CodelistRow]:
        return self._rows

    def counts(self) -> tuple[int, int]:
        return len(self._rows), sum(len(ts) for ts in self._terms.values())

    def _short_name(self, code: str) -> str:
        return self._rows[code].submission_value

    def _build(self, code: str) -> Codelist:
        c = self._rows[code]
        row = (c.code, c.name, c.submission_value, c.extensible, c.synonyms, c.definition, c.preferred_term)
        return _codelist(row, tuple(self._terms[code]))


class WithCountries(CodelistTable):
    """A CT table plus the ISO 3166 country codelist, made (from pycountry) when first asked for."""

    def __init__(self, table: CodelistTable) -> None:
        super().__init__()
        self._table = table
        self._all = {**dict.fromkeys(table), ISO3166: None}

    def _codes(self) -> dict[str, None]:
        return self._all

    def counts(self) -> tuple[int, int]:
        """Codelists and terms of the CT release (the country codes not counted)."""
        return self._table.counts()

    def _short_name(self, code: str) -> str:
        return ISO3166 if code == ISO3166 else self._table._short_name(code)

    def _build(self, code: str) -> Codelist:
        return iso3166_codelist() if code == ISO3166 else self._table[code]


def _stamp(source: Path) -> tuple[int, int]:
    st = source.stat()
    return st.st_size, st.st_mtime_ns


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compile_terminology(terminology: Terminology, target: Path, source: Path | None = None) -> None:
    """Write the compiled form of ``terminology`` to ``target`` (atomically).

    ``source`` is the file the copy stands for (default: the one read), whose size and
    modification time decide when the copy is stale.
    """
    source = source or terminology.source
    size, mtime = _stamp(source)
    blobs: list[bytes] = []
    index: dict[str, IndexRow] = {}
    offset = 0
    for c in terminology.codelists:
        blob = marshal.dumps(tuple(terminology.terms[c.code]))
        index[c.code] = (
            c.code,
            c.name,
            c.submission_value,
            c.extensible,
            c.synonyms,
            c.definition,
            c.preferred_term,
            offset,
            len(blob),
            len(terminology.terms[c.code]),
        )
        blobs.append(blob)
        offset += len(blob)
    header = marshal.dumps(
        {
            "format": _FORMAT,
            "source": str(source),
            "size": size,
            "mtime_ns": mtime,
            "sha256": sha256(source),
            "index": index,
        }
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ct-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + _LENGTH.pack(len(header)) + header)
            for blob in blobs:
                fh.write(blob)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_compiled(path: Path, source: Path | None = None) -> tuple[dict[str, object], CompiledTerminology] | None:
    """The header and codelists of a compiled file; None when missing, unreadable or stale for ``source``."""
    try:
        with path.open("rb") as fh:
            try:
                data: mmap.mmap | bytes = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # no mmap here (or an empty file): read it
                data = fh.read()
        if data[: len(_MAGIC)] != _MAGIC:
            return None
        start = len(_MAGIC) + _LENGTH.size
        (length,) = _LENGTH.unpack(data[len(_MAGIC) : start])
        header = marshal.loads(data[start : start + length])
    except (OSError, ValueError, EOFError, struct.error, TypeError):
        return None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        return None
    if source is not None:
        try:
            if (header.get("size"), header.get("mtime_ns")) != _stamp(source):
                return None
        except OSError:
            return None
    index = header.get("index")
    if not isinstance(index, dict):
        return None
    return header, CompiledTerminology(data, index, start + length)


def load_terminology(source: Path, compiled: Path | None) -> CodelistTable:
    """The codelists of an NCI file (plus ISO 3166), from its compiled copy at ``compiled``.

    A missing or stale copy is rebuilt; where it cannot be written (read-only store), the file
    is read in this process instead.
    """
    if compiled is not None:
        found = read_compiled(compiled, source)
        if found is not None:
            return WithCountries(found[1])
    terminology = read_nci(source)
    if compiled is not None:
        try:
            compile_terminology(terminology, compiled)
        except OSError:
            pass  # not writable: serve from memory
        else:
            found = read_compiled(compiled, source)
            if found is not None:
                return WithCountries(found[1])
    return WithCountries(TerminologyTable(terminology))
