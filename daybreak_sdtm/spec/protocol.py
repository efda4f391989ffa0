"""``protocol_checks:`` of study.yaml: protocol rules as typed values, every mistake at its file:line:col.

``load_study`` reads them with the rest of the study file (``StudySpec.protocol_checks``); the
checks that evaluate each kind (DB601-DB606) and the meaning of every parameter are in
``daybreak_sdtm/checks/protocol.py``. A rule is data: nothing in it is evaluated here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from daybreak_sdtm.errors import Location, SpecErrors, suggest
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.spec.load import _display, _Reader, load_yaml, plain
from daybreak_sdtm.spec.model import ProtocolRule

SECTION = "protocol_checks"
# kind -> parameter -> (type, required); the types are checked by ``_param_problem``.
KINDS: dict[str, dict[str, tuple[str, bool]]] = {
    "value": {
        "variable": ("var", True),
        "where": ("where", False),
        "min": ("number", False),
        "max": ("number", False),
        "equals": ("number", False),
        "tolerance": ("number", False),
    },
    "count": {
        "domain": ("domain", True),
        "where": ("where", False),
        "distinct": ("name", False),
        "min": ("number", False),
        "max": ("number", False),
    },
    "subject_value": {
        "variable": ("var", True),
        "where": ("where", False),
        "in": ("list", True),
        "required": ("flag", False),
    },
    "only_when": {"domain": ("domain", True), "subject_has": ("selector", True)},
    "date_order": {"first": ("selector", True), "then": ("selector", True)},
    "date_span": {
        "start": ("var", True),
        "end": ("var", True),
        "per": ("name", False),
        "min_days": ("number", False),
        "max_days": ("number", False),
    },
}
SELECTOR_KEYS = ("variable", "where", "in", "pick")
SPAN_PER = ("record", "subject")


def read_protocol_checks(reader: _Reader, top: CommentedMap) -> tuple[ProtocolRule, ...]:
    """The rules under ``protocol_checks:`` of a parsed study file (none when absent).

    Every problem is added to ``reader.errors`` at its position; a rule with a problem in its
    shape (no kind, two kinds, a body that is not a mapping) is left out, the others are kept so
    that the caller reports everything at once.
    """
    if top.get(SECTION) is None:
        return ()
    items = top[SECTION]
    if not isinstance(items, CommentedSeq):
        reader.error(reader.at(top, SECTION), SECTION, "expected a list of rules")
        return ()
    rules: list[ProtocolRule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        rule = _rule(reader, item, reader.at(items, i), i, seen)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def load_protocol(path: Path) -> tuple[ProtocolRule, ...]:
    """The ``protocol_checks:`` of one YAML file on its own, without the rest of a study.

    For rule sets kept apart from a study (and for testing rules); a study's own rules come with
    ``load_study``. Raises ``SpecErrors`` listing every mistake at its file:line:col.
    """
    tree = load_yaml(path)
    reader = _Reader(path)
    top = reader.mapping(tree, Location(_display(path), 1, 1), "<file>")
    rules = read_protocol_checks(reader, top) if top is not None else ()
    if reader.errors:
        raise SpecErrors(reader.errors)
    return rules


def _rule(reader: _Reader, item: Any, where: Location, index: int, seen: set[str]) -> ProtocolRule | None:
    entry = reader.mapping(item, where, SECTION)
    if entry is None:
        return None
    kinds = [str(k) for k in entry if str(k) in KINDS]
    reader.unknown_keys(entry, ("id", "rule", "severity", *KINDS), SECTION)
    rule_id = reader.text(entry, "id", SECTION)
    what = f"{SECTION}.{rule_id or index + 1}"
    if rule_id in seen:
        reader.error(reader.at(entry, "id"), what, f"rule id {rule_id!r} is used twice")
    seen.add(rule_id)
    if len(kinds) != 1:
        reader.error(where, what, f"give exactly one kind: {', '.join(KINDS)}")
        return None
    kind = kinds[0]
    severity = Severity.ERROR
    severity_text = reader.text(entry, "severity", what, required=False)
    if severity_text:
        try:
            severity = Severity.parse(severity_text)
        except ValueError:
            severity = Severity.NEVER
        if severity is Severity.NEVER:  # a threshold, not the severity of a finding
            reader.error(
                reader.at(entry, "severity", value=True), f"{what}.severity", "expected note, warning or error"
            )
            severity = Severity.ERROR
    body = reader.mapping(entry[kind], reader.at(entry, kind, value=True), f"{what}.{kind}")
    if body is None:
        return None
    reader.unknown_keys(body, tuple(KINDS[kind]), f"{what}.{kind}")
    params: dict[str, Any] = {}
    param_where: dict[str, Location] = {}
    for name, (typ, required) in KINDS[kind].items():
        key = f"{what}.{kind}.{name}"
        if name not in body:
            if required:
                reader.error(reader.at(body), key, f"missing required key {name!r}")
            continue
        value, at = body[name], reader.at(body, name, value=True)
        problem = _param_problem(typ, value)
        if problem:
            reader.error(at, key, problem)
            continue
        params[name] = float(str(value)) if typ == "number" else plain(value)
        param_where[name] = at
    if kind == "value" and not {"equals", "min", "max"} & set(body):
        reader.error(reader.at(body), f"{what}.{kind}", "give min, max or equals")
    if kind == "date_span" and params.get("per", "record") not in SPAN_PER:
        reader.error(
            param_where["per"],
            f"{what}.{kind}.per",
            "per is 'record' or 'subject'",
            suggest(str(params["per"]), SPAN_PER),
        )
    description = reader.text(entry, "rule", what, required=False)
    return ProtocolRule(rule_id, kind, description, params, where, severity, param_where)


def _param_problem(typ: str, value: Any) -> str:
    """Why a parameter value is not of its type ("" when it is)."""
    if typ == "number":
        if isinstance(value, (bool, CommentedMap, CommentedSeq)) or value is None:
            return f"expected a number, found {plain(value)!r}"
        try:
            float(str(value))
        except ValueError:
            return f"expected a number, found {value!r}"
        return ""
    if typ == "var":
        text = str(value)
        if isinstance(value, str) and text.count(".") == 1 and all(text.split(".")):
            return ""
        return f"expected DOMAIN.VARIABLE, found {plain(value)!r}"
    if typ in ("domain", "name"):
        return "" if isinstance(value, str) and value.strip() else f"expected a name, found {plain(value)!r}"
    if typ == "flag":
        return "" if isinstance(value, bool) else "expected true or false"
    if typ == "list":
        return "" if isinstance(value, CommentedSeq) else "expected a list of values"
    if typ == "where":
        return "" if isinstance(value, CommentedMap) else "expected a mapping VARIABLE: value or [values]"
    if typ == "selector":
        if not isinstance(value, CommentedMap):
            return "expected a mapping with variable (DOMAIN.VARIABLE), where, in, pick"
        unknown = [str(k) for k in value if str(k) not in SELECTOR_KEYS]
        if unknown:
            return f"unknown key(s) {', '.join(unknown)}; use {', '.join(SELECTOR_KEYS)}"
        if "variable" not in value:
            return "missing required key 'variable'"
        if str(value.get("pick", "first")) not in ("first", "last"):
            return "pick is 'first' or 'last'"
        if "where" in value and not isinstance(value["where"], CommentedMap):
            return "where: expected a mapping VARIABLE: value or [values]"
        if "in" in value and not isinstance(value["in"], CommentedSeq):
            return "in: expected a list of values"
        return _param_problem("var", value["variable"])
    raise ValueError(f"unknown protocol parameter type {typ!r}")
