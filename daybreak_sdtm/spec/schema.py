"""JSON Schemas of study.yaml, of a domain spec and of a trial design file, for editors and CI.

Made from what the loader reads, never written by hand: the keys each part of a spec may hold
(``spec.load``, ``spec.design``), the derivations with their parameters and the kind of each
(``derive``), the protocol rule kinds with their parameters (``spec.protocol``) and the text steps
(``derive.text``). A key the loader refuses, the schema refuses; a derivation registered is one the
schema knows, with its own parameters. The schema knows nothing of the standards or of the export
(codelists, raw columns, the variables of other domains): ``lint`` judges those.

Draft 7, which the YAML language server reads. A YAML 1.2 editor reads ``3.4`` as a number and
``2025-03-28`` as text; the loader takes any scalar as text, so a text key takes either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from daybreak_sdtm import __version__
from daybreak_sdtm.date_formats import KNOWN_FORMATS
from daybreak_sdtm.derive import DERIVATIONS, DerivationDef, Kind, Param
from daybreak_sdtm.derive.registry import ORIGINS
from daybreak_sdtm.derive.text import SIMPLE_STEPS
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.spec import design, load, protocol

JSON = dict[str, Any]
DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMAS = ("study", "domain", "design")  # what ``daybreak-sdtm schema`` prints

TEXT: JSON = {"type": ["string", "number"]}
NAME: JSON = {"type": "string", "minLength": 1}
NAMES: JSON = {"type": "array", "items": NAME, "minItems": 1}
FLAG: JSON = {"type": "boolean"}
NUMBER: JSON = {
    "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"}]
}
WHOLE: JSON = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*-?\d+\s*$"}]}
INTEGER: JSON = {"type": "integer"}  # as YAML reads it: ``spec.design._number`` takes no text
SCALAR: JSON = {"type": ["string", "number", "boolean", "null"]}
FILTER: JSON = {
    "type": "object",
    "description": "VARIABLE: value or [values]",
    "additionalProperties": {"anyOf": [SCALAR, {"type": "array", "items": SCALAR}]},
}
FORM: JSON = {"type": "string", "pattern": load._FORM_NAME.pattern, "description": "a form of the export, by name"}
DOMAIN_VAR: JSON = {"type": "string", "pattern": r"^[^.\s]+\.[^.\s]+$", "description": "DOMAIN.VARIABLE"}


def _any_case(word: str) -> str:
    """A regex of ``word`` in any case: ECMA 262 (which editors' JSON Schema patterns are) has no ``(?i)``."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _described(schema: JSON, description: str) -> JSON:
    return {**schema, "description": description} if description else schema


def closed(
    keys: Iterable[str], schemas: Mapping[str, JSON] | None = None, required: Iterable[str] = (), description: str = ""
) -> JSON:
    """An object of exactly the loader's ``keys``, each of its schema in ``schemas`` (text by default).

    A schema for a key the loader does not read is a mistake of this module, found when the
    schema is made (and so by the tests), not a key an editor would offer.
    """
    allowed = tuple(keys)
    given = dict(schemas or {})
    stray = [k for k in (*given, *required) if k not in allowed]
    if stray:
        raise RuntimeError(f"schema names {stray}, which the loader does not read (it reads {allowed})")
    out: JSON = {
        "type": "object",
        "properties": {k: given.get(k, TEXT) for k in allowed},
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(dict.fromkeys(required))
    return _described(out, description)


def _list_of(item: JSON, description: str = "") -> JSON:
    return _described({"type": "array", "items": item}, description)


def _text_step() -> JSON:
    """One step of a ``transform:`` (``derive.text.parse_step``)."""
    return {
        "anyOf": [
            {"enum": list(SIMPLE_STEPS)},
            closed(["extract"], {"extract": {"type": "string"}}, ["extract"], "the first group (or match) of a regex"),
            closed(
                ["substring"],
                {"substring": {"anyOf": [WHOLE, {"type": "array", "items": WHOLE, "minItems": 1, "maxItems": 2}]}},
                ["substring"],
                "[START, LENGTH], 1-based",
            ),
            closed(["split", "part"], {"split": NAME, "part": WHOLE}, ["split"], "the part-th piece (1-based)"),
            closed(
                ["replace"],
                {"replace": {"type": "array", "items": [{"type": "string"}, SCALAR], "minItems": 2, "maxItems": 2}},
                ["replace"],
                "[REGEX, WITH]",
            ),
        ]
    }


def kind_schema(kind: Kind) -> JSON:
    """What a derivation parameter of ``kind`` holds, as ``spec.check.resolve_variable`` takes it."""
    raw: JSON = {"type": "string"}
    schemas: dict[Kind, JSON] = {
        Kind.RAW: raw,
        Kind.RAWS: {"anyOf": [raw, {"type": "array", "items": raw, "minItems": 1}]},
        Kind.TEMPLATE: TEXT,
        Kind.VAR: NAME,
        Kind.VARS: NAMES,
        Kind.DATE_VAR: NAME,
        Kind.DATE_FORMAT: {"type": "string", "examples": list(KNOWN_FORMATS)},
        Kind.VALUE: TEXT,
        Kind.NUMBER: NUMBER,
        Kind.MAP: {"type": "object", "additionalProperties": {"type": ["string", "number", "null"]}},
        Kind.TEXT_STEPS: {"anyOf": [_text_step(), {"type": "array", "items": _text_step()}]},
        Kind.CODELIST: {"anyOf": [TEXT, {"type": "array", "items": TEXT, "minItems": 1}]},  # one or several codelists
        Kind.WHERE: FILTER,
        Kind.DOMAIN: NAME,
        Kind.FLAG: FLAG,
    }
    if kind not in schemas:
        raise RuntimeError(f"no schema for derivation parameters of kind {kind.name}")
    return schemas[kind]


def _param(name: str, param: Param) -> JSON:
    doc = f"{param.kind.value}; {param.doc}" if param.doc else param.kind.value
    return _described(kind_schema(param.kind), f"{name}: {doc}{'' if param.required else ' (optional)'}")


# The keys of a variable that describe it (``spec.load.VARIABLE_META_KEYS``) and of a qualifier
# (``SUPP_KEYS``); ``derivation`` is each derivation's own.
_META: dict[str, JSON] = {
    "origin": {"type": "string", "examples": list(ORIGINS), "description": "define.xml origin type"},
    "method": _described(TEXT, "the method text define.xml gives (default: the derivation's sentence)"),
    "comment": _described(TEXT, "a comment define.xml gives"),
    "where": _described(FILTER, "the records this case is for (value-level metadata)"),
    "transliterate": _described(FLAG, "non-ASCII text made ASCII"),
    "dictionary": _described(TEXT, "the external dictionary the values are coded with"),
    "label": _described(TEXT, "QLABEL"),
    "evaluator": _described(TEXT, "QEVAL"),
}
WHEN: JSON = _described(
    {**FILTER, "description": "RAW_COLUMN: value or [values]"}, "records this derivation is for (RAW_COLUMN: value)"
)


def _meta(keys: Iterable[str]) -> dict[str, JSON]:
    return {k: _META.get(k, TEXT) for k in keys if k != "derivation"}


def _derivation_case(name: str, deriv: DerivationDef, meta: Mapping[str, JSON], required: Iterable[str]) -> JSON:
    """If ``derivation:`` is ``name``: its parameters, ``when`` and the variable's own keys, nothing else."""
    taken = [p for p in deriv.params if p in (*load.VARIABLE_META_KEYS, *load.SUPP_KEYS, "when")]
    if taken:  # the loader would read them as the variable's own keys, never as parameters
        raise RuntimeError(f"derivation {name!r} has parameter(s) {taken} named as a variable's own keys")
    params = {p: _param(p, param) for p, param in deriv.params.items()}
    properties = {"derivation": {"const": name}, **params, "when": WHEN, **meta}
    then: JSON = {"properties": properties, "additionalProperties": False}
    needed = [*required, *(p for p, param in deriv.params.items() if param.required)]
    if needed:
        then["required"] = needed
    return {"if": {"properties": {"derivation": {"const": name}}, "required": ["derivation"]}, "then": then}


def _summary(deriv: DerivationDef) -> str:
    return deriv.doc.splitlines()[0] if deriv.doc else ""


def variable_entry(meta_keys: Iterable[str], required: Iterable[str] = ()) -> JSON:
    """A variable (or qualifier) given as a mapping: a registered derivation and its parameters."""
    meta = _meta(meta_keys)
    names = sorted(DERIVATIONS)
    return {
        "type": "object",
        "required": ["derivation", *required],
        "properties": {
            "derivation": {
                "enum": names,
                "enumDescriptions": [_summary(DERIVATIONS[n]) for n in names],
                "description": "a registered derivation (daybreak-sdtm list-derivations)",
            }
        },
        "allOf": [_derivation_case(n, DERIVATIONS[n], meta, required) for n in names],
    }


def _variable() -> JSON:
    """``NAME: derivation``, ``NAME: {derivation: ..., params}``, or value-level cases (a list of mappings)."""
    bare = sorted(n for n, d in DERIVATIONS.items() if not any(p.required for p in d.params.values()))
    entry = variable_entry(load.VARIABLE_META_KEYS)
    return {
        "anyOf": [
            {"enum": bare, "description": "a derivation that needs no parameter"},
            entry,
            {"type": "array", "items": entry, "minItems": 1, "description": "value-level cases, each with where:"},
        ]
    }


def _source() -> JSON:
    join = closed(load.JOIN_KEYS, {"form": FORM, "on": {"anyOf": [NAME, NAMES]}}, ["form"])
    unpivot = closed(load.UNPIVOT_KEYS, {"values": {"type": "object"}, "columns": {"type": "object"}})
    exclude = closed(load.EXCLUDE_KEYS, {"when": FILTER}, ["reason"])
    return closed(
        load.SOURCE_KEYS,
        {
            "form": FORM,
            "join": _list_of(join, "forms joined on columns both hold"),
            "unpivot": _list_of(unpivot, "variants: one record per variant and raw record"),
            "exclude": _list_of(exclude, "raw records left out, with the reason"),
        },
        ["form"],
    )


def domain_schema() -> JSON:
    """The schema of one domain spec (``spec.load.load_domain``)."""
    source = _source()
    body = closed(
        load.DOMAIN_KEYS,
        {
            "domain": NAME,
            "keys": {"anyOf": [NAME, NAMES]},
            "source": {"anyOf": [source, {"type": "array", "items": source, "minItems": 1}]},
            "variables": {"type": "object", "additionalProperties": _variable()},
            "supplemental": {
                "type": "object",
                "additionalProperties": variable_entry(load.VARIABLE_META_KEYS + load.SUPP_KEYS, ["label"]),
            },
        },
        ["domain", "source", "variables"],
    )
    return _document(body, "domain spec")


def _epoch_start() -> JSON:
    start = closed(load.EPOCH_START_KEYS, {"first": NAME, "day_after": NAME, "where": FILTER})
    one = [{"required": [how]} for how in load.EPOCH_STARTS]
    return {"anyOf": [_described(NAME, "DOMAIN.VARIABLE: the subject's value"), {**start, "oneOf": one}]}


def _rule_param(name: str, typ: str) -> JSON:
    """A protocol rule parameter of type ``typ`` (``spec.protocol._param_problem``)."""
    if name == "per":
        return {"enum": list(protocol.SPAN_PER)}
    selector = closed(
        protocol.SELECTOR_KEYS,
        {"variable": DOMAIN_VAR, "where": FILTER, "in": {"type": "array"}, "pick": {"enum": ["first", "last"]}},
        ["variable"],
    )
    schemas = {
        "number": NUMBER,
        "var": DOMAIN_VAR,
        "domain": NAME,
        "name": NAME,
        "flag": FLAG,
        "list": {"type": "array"},
        "where": FILTER,
        "selector": selector,
    }
    if typ not in schemas:
        raise RuntimeError(f"no schema for protocol parameters of type {typ!r}")
    return schemas[typ]


def _protocol_rule() -> JSON:
    kinds: dict[str, JSON] = {}
    for kind, params in protocol.KINDS.items():
        body = closed(
            params, {p: _rule_param(p, typ) for p, (typ, _) in params.items()}, [p for p, (_, r) in params.items() if r]
        )
        if kind == "value":  # give min, max or equals
            body["anyOf"] = [{"required": [k]} for k in ("min", "max", "equals")]
        kinds[kind] = body
    severities = [str(s) for s in Severity if s is not Severity.NEVER]
    spelt = "|".join(_any_case(s) for s in severities)
    severity = {"anyOf": [{"enum": severities}, {"type": "string", "pattern": rf"^\s*({spelt})\s*$"}]}  # Severity.parse
    rule = closed(("id", "rule", "severity", *protocol.KINDS), {"severity": severity, **kinds}, ["id"])
    rule["oneOf"] = [{"required": [k]} for k in protocol.KINDS]
    return _described(rule, f"one protocol rule of exactly one kind: {', '.join(protocol.KINDS)}")


def _series() -> JSON:
    """A repeated visit's VISITNUM or VISITDY: a number (``design._number`` takes no text), or ``{start, step}``."""
    number: JSON = {"type": "number"}
    return {"anyOf": [number, closed(design.SERIES_KEYS, dict.fromkeys(design.SERIES_KEYS, number))]}


def design_body() -> JSON:
    """The ``trial_design:`` mapping (``spec.design``), in study.yaml or a file of its own."""
    tsval = {"anyOf": [TEXT, closed(design.COMPUTED, dict.fromkeys(design.COMPUTED, DOMAIN_VAR))]}
    element = closed(design.ELEMENT_KEYS, {"start": _epoch_start()}, ["ETCD", "ELEMENT", "TESTRL"])
    arm_element = closed(design.ARM_ELEMENT_KEYS, required=["ETCD", "EPOCH"])
    arm = closed(design.ARM_KEYS, {"elements": _list_of(arm_element)}, ["ARMCD", "ARM", "elements"])
    visit = closed(
        design.VISIT_KEYS,
        {
            "VISITNUM": _series(),
            "VISITDY": _series(),
            "repeat": closed(design.REPEAT_KEYS, dict.fromkeys(design.REPEAT_KEYS, INTEGER), ["from", "to"]),
            "window": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        },
        ["VISIT", "TVSTRL", "VISITNUM"],
    )
    source = closed(design.VISIT_SOURCE_KEYS, {"from": DOMAIN_VAR, "end": DOMAIN_VAR, "date": DOMAIN_VAR})
    source["oneOf"] = [{"required": ["from"]}, {"required": ["VISIT", "date"]}]
    return closed(
        design.SECTIONS,
        {
            "summary": _list_of(closed(design.SUMMARY_KEYS, {"TSVAL": tsval}, ["TSPARMCD"]), "TS"),
            "elements": _list_of(element, "TE, and where each subject's element starts (SE)"),
            "arms": _list_of(arm, "TA"),
            "visits": _list_of(visit, "TV"),
            "criteria": _list_of(closed(design.CRITERION_KEYS, required=["IETESTCD", "IETEST", "IECAT"]), "TI"),
            "subject_visits": _list_of(source, "SV: the records that date each subject's visits"),
        },
    )


def _documents() -> JSON:
    pdf: JSON = {"type": "string", "pattern": rf"\.{_any_case('pdf')}$"}
    page: JSON = {"type": "integer", "minimum": 1}
    pages = {"type": "object", "additionalProperties": {"anyOf": [page, {"type": "array", "items": page}]}}
    entry = closed(load.DOCUMENT_KEYS, {"file": pdf, "pages": pages}, ["file"])
    return {"type": "object", "additionalProperties": {"anyOf": [pdf, entry]}}


def study_schema() -> JSON:
    """The schema of study.yaml (``spec.load.load_study``)."""
    dictionary = {"anyOf": [TEXT, closed(load.DICTIONARY_KEYS, required=["version"])]}
    reasons = {
        "type": "object",
        "propertyNames": {"pattern": FORM["pattern"]},
        "additionalProperties": {"type": "string", "minLength": 1},
    }
    body = closed(
        load.STUDY_SECTIONS,
        {
            "study": closed(
                load.STUDY_KEYS, {"dictionaries": {"type": "object", "additionalProperties": dictionary}}, ["studyid"]
            ),
            "standards": closed(load.STANDARDS_KEYS, required=["sdtmig", "ct"]),
            "export": closed(
                load.EXPORT_KEYS, {"date_format": {"type": "string", "examples": list(KNOWN_FORMATS)}}, ["subject"]
            ),
            "arms": _list_of(closed(load.STUDY_ARM_KEYS, required=["ARMCD", "ARM"])),
            "epochs": _list_of(closed(load.EPOCH_KEYS, {"start": _epoch_start()}, ["EPOCH", "start"])),
            "forms_not_mapped": _described(reasons, "form: why it is not mapped"),
            "forms_not_collected": _described(reasons, "form: why it may be missing from the export"),
            "columns_not_mapped": {"type": "object", "additionalProperties": {"anyOf": [NAME, NAMES]}},
            "domains": {"anyOf": [NAMES, NAME], "description": "the domain spec files, e.g. [dm.yaml, ae.yaml]"},
            "documents": _documents(),
            "protocol_checks": _list_of(_protocol_rule()),
            "trial_design": {"anyOf": [_described(NAME, "a YAML file in the study folder"), design_body()]},
            "unit_conversions": _list_of(
                closed(
                    load.UNIT_CONVERSION_KEYS,
                    {"factor": NUMBER, "offset": NUMBER, "decimals": WHOLE},
                    ["from", "to", "factor"],
                )
            ),
            "metadata": _described(NAME, "the study's metadata file (default metadata.yaml)"),
        },
        load.REQUIRED_SECTIONS,
    )
    # With a trial design the arms are its own (with their elements) and EPOCH comes from SE and TA.
    body["if"] = {"required": ["trial_design"]}
    body["then"] = {"not": {"anyOf": [{"required": ["arms"]}, {"required": ["epochs"]}]}}
    return _document(body, "study.yaml")


def _document(body: JSON, what: str) -> JSON:
    return {
        "$schema": DRAFT,
        "title": f"daybreak-sdtm {what}",
        "description": f"A daybreak-sdtm {what} (daybreak-sdtm {__version__}); `daybreak-sdtm lint` checks the rest.",
        **body,
    }


def json_schema(which: str) -> JSON:
    """The schema ``which`` (one of ``SCHEMAS``)."""
    if which == "study":
        return study_schema()
    if which == "domain":
        return domain_schema()
    if which == "design":
        return _document(design_body(), "trial design file")
    raise ValueError(f"unknown schema {which!r}; use one of {', '.join(SCHEMAS)}")


def schema_text(which: str) -> str:
    """The schema ``which`` as JSON text, keys in a stable order."""
    return json.dumps(json_schema(which), indent=2) + "\n"
