"""The rule table: CDISC CORE rules as rows of ``daybreak_sdtm/checks/rules/*.yaml``, one file per CORE class.

Each row is checked when the table is loaded (at the import of the checks): its fields, its ids,
its severity, the datasets it applies to, its kind and the kind's parameters, each condition's
operator and operand. A mistake is a ``RuleTableError`` naming the file and line of the row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from daybreak_sdtm.checks.registry import CDISC_ID, CORE_ID, FDA_ID
from daybreak_sdtm.checks.rule_kinds import (
    BOOLEAN,
    COLUMN,
    COLUMN_NAME,
    CONDITIONS,
    DATASET,
    DATASET_NAME,
    DATASET_TESTS,
    EVERY_VARIABLE_TESTS,
    KINDS,
    NOTHING,
    NUMBER,
    OPERATORS,
    REGEX,
    SEQUENCE_TESTS,
    TEXT,
    TEXTS,
    VARIABLE,
    VARIABLE_NAME,
    VARIABLES,
    Condition,
    ParamValue,
    Rule,
    Scope,
)
from daybreak_sdtm.errors import DaybreakError
from daybreak_sdtm.findings import Severity

RULES_DIR = Path(__file__).resolve().parent / "rules"
# The files of the table, one per CORE class (STUDY REFERENCE and FINDINGS ABOUT rows are in
# several.yaml, with the rules CORE gives several classes).
FILES = (
    "all.yaml",
    "special_purpose.yaml",
    "trial_design.yaml",
    "interventions.yaml",
    "events.yaml",
    "findings.yaml",
    "relationship.yaml",
    "several.yaml",
)
# The checks the rows are reported under (``check:``; else their kind's).
CHECK_CODES = ("DB114", "DB205", "DB309", "DB412")
FIELDS = (
    "core",
    "sdtmig",
    "cdisc",
    "fda",
    "severity",
    "datasets",
    "without",
    "kind",
    "message",
    "check",
    "fails",
    "passes",
)
# The SDTMIG versions a row may name (CORE's rules are for 3.2, 3.3 and 3.4).
SDTMIG_VERSIONS = ("3.2", "3.3", "3.4")
REQUIRED = ("core", "severity", "datasets", "kind", "message", "fails", "passes")
SCOPE_KEYS = ("domains", "classes", "except")
# What an example holds besides its datasets: where the finding is, variable labels.
EXAMPLE_KEYS = ("at", "labels")


class RuleTableError(DaybreakError):
    """A row of the rule table is malformed: ``file:line: what``."""


def _where(path: Path, node: object, key: str | int | None = None) -> str:
    """``all.yaml:12`` for a node (or one of its keys or items) of a file of the table."""
    line = 0
    if isinstance(node, CommentedMap) and key is not None and key in node:
        line = node.lc.key(key)[0]
    elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
        line = node.lc.item(key)[0]
    elif isinstance(node, (CommentedMap, CommentedSeq)) and node.lc.line is not None:
        line = node.lc.line
    return f"{path}:{line + 1}"


def _fail(path: Path, node: object, key: str | int | None, message: str) -> RuleTableError:
    return RuleTableError(f"{_where(path, node, key)}: {message}")


def _variable(path: Path, node: object, key: str | int | None, value: object) -> str:
    if not isinstance(value, str) or not VARIABLE_NAME.match(value):
        raise _fail(path, node, key, f"{value!r} is not a variable name (--XXX, a name of up to 8 characters, DM.NAME)")
    return value


def _texts(path: Path, node: object, key: str | int | None, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail(path, node, key, f"expected a list of values, got {value!r}")
    return tuple(str(v) for v in value)


def _condition(path: Path, seq: object, i: int, item: object) -> Condition:
    if not isinstance(item, list) or len(item) not in (2, 3):
        raise _fail(path, seq, i, f"a condition is [variable, operator] or [variable, operator, operand], got {item!r}")
    variable = _variable(path, seq, i, item[0])
    name = str(item[1])
    op = OPERATORS.get(name)
    if op is None:
        raise _fail(path, seq, i, f"unknown operator {name!r}; known: {', '.join(sorted(OPERATORS))}")
    if op.operand == NOTHING:
        if len(item) == 3:
            raise _fail(path, seq, i, f"operator {name} takes no operand")
        return Condition(variable, name)
    if len(item) != 3:
        raise _fail(path, seq, i, f"operator {name} takes an operand ({op.operand})")
    operand = item[2]
    if op.operand == VARIABLE:
        return Condition(variable, name, _variable(path, seq, i, operand))
    if op.operand == TEXTS:
        return Condition(variable, name, _texts(path, seq, i, operand))
    if op.operand == COLUMN:
        if not isinstance(operand, str) or not COLUMN_NAME.match(operand):
            raise _fail(path, seq, i, f"operator {name} takes a dataset's variable (TV.VISITNUM), got {operand!r}")
        return Condition(variable, name, operand)
    if op.operand == DATASET:
        if not isinstance(operand, str) or not DATASET_NAME.match(operand):
            raise _fail(path, seq, i, f"operator {name} takes a dataset name, got {operand!r}")
        return Condition(variable, name, operand)
    if op.operand == NUMBER:
        if not isinstance(operand, int) or isinstance(operand, bool):
            raise _fail(path, seq, i, f"operator {name} takes a number, got {operand!r}")
        return Condition(variable, name, operand)
    if op.operand == REGEX:
        try:
            re.compile(str(operand))
        except re.error as exc:
            raise _fail(path, seq, i, f"operator {name}: {operand!r} is not a regular expression ({exc})") from None
    if isinstance(operand, (list, dict)):
        raise _fail(path, seq, i, f"operator {name} takes one value, got {operand!r}")
    return Condition(variable, name, str(operand))


def _param(path: Path, row: CommentedMap, key: str, shape: str) -> ParamValue:
    value = row[key]
    if shape == VARIABLE:
        return _variable(path, row, key, value)
    if shape == VARIABLES:
        if not isinstance(value, list) or not value:
            raise _fail(path, row, key, f"{key}: expected a list of variables, got {value!r}")
        return tuple(_variable(path, value, i, v) for i, v in enumerate(value))
    if shape == CONDITIONS:
        if not isinstance(value, list) or not value:
            raise _fail(path, row, key, f"{key}: expected a list of conditions, got {value!r}")
        return tuple(_condition(path, value, i, c) for i, c in enumerate(value))
    if shape == DATASET:
        if not isinstance(value, str) or not DATASET_NAME.match(value):
            raise _fail(path, row, key, f"{key}: {value!r} is not a dataset name")
        return value
    if shape == TEXTS:
        return _texts(path, row, key, value)
    if shape == NUMBER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(path, row, key, f"{key}: expected a number, got {value!r}")
        return value
    if shape == BOOLEAN:
        if not isinstance(value, bool):
            raise _fail(path, row, key, f"{key}: expected true or false, got {value!r}")
        return value
    if shape == TEXT:
        if isinstance(value, (list, dict)) or value is None:
            raise _fail(path, row, key, f"{key}: expected one value, got {value!r}")
        return str(value)
    raise _fail(path, row, key, f"{key}: parameter of unknown shape {shape}")


def _ids(path: Path, row: CommentedMap, key: str, pattern: object, example: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if value is None:
        value = []
    if not isinstance(value, list) or any(not isinstance(v, str) or not pattern.match(v) for v in value):  # type: ignore[attr-defined]
        raise _fail(path, row, key, f"{key}: expected a list of ids like {example}, got {value!r}")
    return tuple(value)


def _versions(path: Path, row: CommentedMap) -> tuple[str, ...]:
    """``sdtmig:``: the SDTMIG versions the rule is for, as quoted texts (``['3.3', '3.4']``)."""
    value = row.get("sdtmig", [])
    if not isinstance(value, list) or (not value and "sdtmig" in row) or any(v not in SDTMIG_VERSIONS for v in value):
        raise _fail(
            path,
            row,
            "sdtmig",
            f"sdtmig: a list of versions among {', '.join(SDTMIG_VERSIONS)} as texts, got {value!r}",
        )
    return tuple(str(v) for v in value)


def _scope(path: Path, row: CommentedMap) -> Scope:
    value = row["datasets"]
    if value == "all":
        return Scope()
    if not isinstance(value, CommentedMap) or not value or set(value) - set(SCOPE_KEYS):
        raise _fail(path, row, "datasets", f"datasets: 'all' or a mapping of {', '.join(SCOPE_KEYS)}, got {value!r}")
    parts = {k: _texts(path, value, k, value[k]) for k in value}
    return Scope(parts.get("domains", ()), parts.get("classes", ()), parts.get("except", ()))


def _examples(path: Path, row: CommentedMap, key: str, need_at: bool) -> tuple[Mapping[str, object], ...]:
    value = row[key]
    if not isinstance(value, list) or not value:
        raise _fail(path, row, key, f"{key}: expected a list of example packages (dataset: [records])")
    for i, example in enumerate(value):
        if not isinstance(example, CommentedMap):
            raise _fail(path, value, i, f"{key}: an example is a mapping of dataset names to records")
        if need_at and "at" not in example:
            raise _fail(path, value, i, "fails: each example names where its finding is (at: {dataset, variable, row})")
        for name, records in example.items():
            if name not in EXAMPLE_KEYS and (
                not re.match(r"^[A-Z][A-Z0-9]*$", str(name)) or not isinstance(records, list)
            ):
                raise _fail(path, example, name, f"{key}: {name!r} must be a dataset name with a list of records")
    return tuple(value)


def _row(path: Path, rows: CommentedSeq, i: int) -> Rule:
    row = rows[i]
    if not isinstance(row, CommentedMap):
        raise _fail(path, rows, i, "a rule is a mapping (core:, severity:, datasets:, kind: ...)")
    kind_name = str(row.get("kind", ""))
    kind = KINDS.get(kind_name)
    if "kind" in row and kind is None:
        raise _fail(path, row, "kind", f"unknown kind {kind_name!r}; known: {', '.join(sorted(KINDS))}")
    allowed = set(FIELDS) | (set(kind.params) if kind is not None else set())
    for key in row:
        if key not in allowed:
            raise _fail(path, row, key, f"unknown field {key!r} for kind {kind_name or '?'}")
    missing = [k for k in REQUIRED if k not in row] + [
        p for p in sorted(kind.required if kind is not None else ()) if p not in row
    ]
    if missing:
        raise _fail(path, rows, i, f"rule {row.get('core', '?')}: missing {', '.join(missing)}")
    assert kind is not None
    core = str(row["core"])
    if not CORE_ID.match(core):
        raise _fail(path, row, "core", f"{core!r} is not a CORE id (CORE-000123)")
    try:
        severity = Severity.parse(str(row["severity"]))
    except ValueError as exc:
        raise _fail(path, row, "severity", str(exc)) from None
    if severity == Severity.NEVER:
        raise _fail(path, row, "severity", "severity: note, warning or error")
    check = str(row.get("check", kind.check))
    if check not in CHECK_CODES:
        raise _fail(path, row, "check", f"check: one of {', '.join(CHECK_CODES)}, got {check!r}")
    params = {key: _param(path, row, key, shape) for key, shape in kind.params.items() if key in row}
    tests = {"dataset": tuple(DATASET_TESTS), "every_variable": EVERY_VARIABLE_TESTS, "sequence": SEQUENCE_TESTS}.get(
        kind_name
    )
    if tests is not None and params.get("test") not in tests:
        raise _fail(path, row, "test", f"test: one of {', '.join(tests)}")
    without = _param(path, row, "without", VARIABLES) if "without" in row else ()
    assert isinstance(without, tuple)
    return Rule(
        core=core,
        cdisc=_ids(path, row, "cdisc", CDISC_ID, "CG0014"),
        fda=_ids(path, row, "fda", FDA_ID, "FB0922"),
        severity=severity,
        scope=_scope(path, row),
        kind=kind_name,
        params=params,
        message=str(row["message"]),
        check=check,
        where=_where(path, rows, i),
        without=tuple(v for v in without if isinstance(v, str)),
        fails=_examples(path, row, "fails", True),
        passes=_examples(path, row, "passes", False),
        sdtmig=_versions(path, row),
    )


def load_file(path: Path) -> tuple[Rule, ...]:
    """The rules of one file of the table (a YAML list of rows)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="rt", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise RuleTableError(f"{path}: not valid YAML: {exc}") from None
    if doc is None:
        return ()
    if not isinstance(doc, CommentedSeq):
        raise RuleTableError(f"{path}: the file is a list of rules")
    return tuple(_row(path, doc, i) for i in range(len(doc)))


def load_rules(folder: Path = RULES_DIR) -> tuple[Rule, ...]:
    """Every rule of the table, in file order; a CORE id given twice is an error."""
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise RuleTableError(f"{path}: file of the rule table not found")
        for rule in load_file(path):
            if rule.core in seen:
                raise RuleTableError(f"{rule.where}: {rule.core} is also at {seen[rule.core]}")
            seen[rule.core] = rule.where
            rules.append(rule)
    return tuple(rules)


def _plain(rule: Rule) -> Any:
    """A rule as plain values (its examples left out), for the compiled copy."""
    params = tuple(
        (k, tuple((c.variable, c.operator, c.operand) for c in v if isinstance(c, Condition)), True)
        if isinstance(v, tuple) and v and isinstance(v[0], Condition)
        else (k, v, False)
        for k, v in rule.params.items()
    )
    scope = (rule.scope.domains, rule.scope.classes, rule.scope.except_domains)
    return (
        rule.core,
        rule.cdisc,
        rule.fda,
        int(rule.severity),
        scope,
        rule.kind,
        params,
        rule.message,
        rule.check,
        rule.where,
        rule.without,
        rule.sdtmig,
    )


def _unplain(row: Any) -> Rule:
    core, cdisc, fda, severity, scope, kind, params, message, check, where, without, sdtmig = row
    values: dict[str, ParamValue] = {}
    for key, value, conditions in params:
        values[key] = tuple(Condition(*c) for c in value) if conditions else value
    return Rule(
        str(core),
        tuple(cdisc),
        tuple(fda),
        Severity(severity),
        Scope(*scope),
        str(kind),
        values,
        str(message),
        str(check),
        str(where),
        tuple(without),
        sdtmig=tuple(sdtmig),
    )


def _stamp(folder: Path) -> str:
    """What the compiled copy is of: the table's files and the modules that read them."""
    import hashlib

    from daybreak_sdtm.checks import rule_kinds

    digest = hashlib.sha256(_FORMAT.encode("ascii"))
    for path in (*(folder / n for n in FILES), Path(rule_kinds.__file__), Path(__file__)):
        digest.update(str(path).encode("utf-8") + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


_FORMAT = "rules-3"


def compiled_rules(folder: Path = RULES_DIR, home: Path | None = None) -> tuple[Rule, ...]:
    """``load_rules`` through a compiled copy in the user store, remade when a file of the table
    (or the code that reads it) changed: parsing the YAML takes a second, reading the copy a few
    milliseconds. The copy is marshalled plain values, never pickled objects; the examples are
    left out of it (``load_rules`` gives them, for the tests)."""
    import marshal
    import os
    import tempfile

    from daybreak_sdtm.standards.store import store_home

    stamp = _stamp(folder)
    target = (home or store_home()) / "cache" / f"rules-{stamp[:16]}.bin"
    try:
        saved = marshal.loads(target.read_bytes())
        if saved[0] == stamp:
            return tuple(_unplain(r) for r in saved[1])
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        pass
    found = load_rules(folder)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rules-", dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps((stamp, tuple(_plain(r) for r in found))))
        os.replace(tmp, target)
        for old in target.parent.glob("rules-*.bin"):  # copies of earlier tables are never read again
            if old != target:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only store: parse the table each time
    return found


@cache
def rules() -> tuple[Rule, ...]:
    """The package's rule table, loaded once (through its compiled copy)."""
    return compiled_rules()


@cache
def _by_core() -> dict[str, Rule]:
    return {r.core: r for r in rules()}


def rule_of(core: str) -> Rule | None:
    """The row of a CORE id, None when the table has none."""
    return _by_core().get(core)
