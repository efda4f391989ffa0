"""Check a loaded study spec against SDTMIG, the CT package, the derivation registry and the export.

Every problem becomes a SpecError at the spec line that caused it; all are reported at once.
The same resolution turns parameters into what derivations take (VarRef, Codelist), so a spec
that passes ``lint`` cannot fail the conversion on its own terms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daybreak_sdtm.date_formats import KNOWN_FORMATS, DateFormatError, check_format
from daybreak_sdtm.derive import DERIVATIONS, DerivationDef, Kind, VarRef
from daybreak_sdtm.derive.assign import template_columns
from daybreak_sdtm.derive.registry import written_values
from daybreak_sdtm.derive.text import STEP_NAMES, parse_steps
from daybreak_sdtm.errors import Location, SpecError, SpecErrors, StandardsError, suggest
from daybreak_sdtm.spec.design import DESIGN_DATASETS, SUBJECT_DESIGN_DATASETS, check_trial_design
from daybreak_sdtm.spec.model import ACRF, CodingDictionary, DomainSpec, SourceSpec, StudySpec, VariableSpec
from daybreak_sdtm.standards import Codelist, Standards
from daybreak_sdtm.standards.model import DICTIONARY_NAME

# XPT v5 and SDTMIG limits on names and labels (FDA Technical Conformance Guide).
MAX_NAME, MAX_LABEL = 8, 40
_QNAM = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
SUPP_QORIG = ("CRF", "Collected", "Derived", "Assigned", "Protocol", "Predecessor", "eDT")


@dataclass(frozen=True)
class ResolvedVariable:
    """A variable spec with its derivation found and its parameters typed."""

    spec: VariableSpec
    derivation: DerivationDef
    params: dict[str, Any]
    reads: tuple[VarRef, ...]  # SDTM variables it needs first (this or other domains)
    raw_columns: tuple[str, ...]  # raw columns it reads
    codelist: Codelist | None
    cases: tuple[ResolvedVariable, ...] = ()


def _columns_of(src: SourceSpec, headers: Mapping[str, Sequence[str]]) -> set[str] | None:
    """Raw columns one source gives (joined forms as ``form.COLUMN``); None if a form is unknown."""
    if src.form not in headers or any(j.form not in headers for j in src.joins):
        return None
    columns = set(headers[src.form])
    for join in src.joins:
        columns |= {f"{join.form}.{c}" for c in headers.get(join.form, ())}
    for variant in src.variants[:1]:
        columns |= set(variant.values) | set(variant.columns)
    return columns


def source_columns(domain: DomainSpec, headers: Mapping[str, Sequence[str]]) -> set[str] | None:
    """Raw columns visible to a domain's variables: those every source gives; None if unknown.

    Unknown when the export lacks a source form or a joined one (a form not collected).
    """
    each = [_columns_of(src, headers) for src in domain.sources]
    if any(c is None for c in each):
        return None
    return set.intersection(*(c for c in each if c is not None))


def forms_text(domain: DomainSpec) -> str:
    """How a message names where a domain's raw columns come from."""
    if len(domain.sources) == 1:
        return f"form {domain.sources[0].form!r}"
    return "every source of " + domain.name + " (" + ", ".join(f"form {s.form!r}" for s in domain.sources) + ")"


def _var_ref(text: str, domain: str) -> VarRef:
    dom, dot, name = text.partition(".")
    return VarRef(dom, name) if dot else VarRef(domain, text)


def resolve_variable(
    var: VariableSpec,
    domain: DomainSpec,
    study: StudySpec,
    standards: Standards,
    columns: set[str] | None,
    errors: list[SpecError],
    *,
    codelist_code: str = "",
) -> ResolvedVariable | None:
    """Type a variable's parameters; append a SpecError for each problem found."""
    if var.cases:
        return _resolve_cases(var, domain, study, standards, columns, errors, codelist_code)
    where = var.where
    deriv = DERIVATIONS.get(var.derivation)
    if deriv is None:
        hint = suggest(var.derivation, list(DERIVATIONS)) or "run `daybreak-sdtm list-derivations`"
        errors.append(
            SpecError(
                var.located("derivation"), f"{var.name}.derivation", f"unknown derivation {var.derivation!r}", hint
            )
        )
        return None
    params: dict[str, Any] = {}
    reads: list[VarRef] = [VarRef(domain.name, n) for n in deriv.needs if n != var.name]
    raw_columns: list[str] = []
    before = len(errors)
    for name in var.params:
        if name not in deriv.params and name != "when":
            errors.append(
                SpecError(
                    var.located(name),
                    f"{var.name}.{name}",
                    f"{var.derivation} has no parameter {name!r}",
                    suggest(name, list(deriv.params)) or f"parameters: {', '.join(deriv.params) or 'none'}",
                )
            )
    for name, param in deriv.params.items():
        loc = var.located(name)
        key = f"{var.name}.{name}"
        if name not in var.params or var.params[name] is None:
            if param.required:
                errors.append(
                    SpecError(where, var.name, f"{var.derivation} needs parameter {name!r} ({param.kind.value})")
                )
            continue
        value = var.params[name]
        if param.kind in (Kind.RAW, Kind.RAWS):
            names = value if isinstance(value, list) else [value]
            if param.kind is Kind.RAW and isinstance(value, list):
                errors.append(SpecError(loc, key, "expected one raw column, found a list"))
                continue
            for col in names:
                raw_columns.append(str(col))
            params[name] = [str(c) for c in names] if param.kind is Kind.RAWS else str(value)
        elif param.kind in (Kind.VAR, Kind.DATE_VAR):
            ref = _var_ref(str(value), domain.name)
            reads.append(ref)
            params[name] = ref
        elif param.kind is Kind.VARS:
            if not isinstance(value, list) or not value:
                errors.append(SpecError(loc, key, "expected a list of SDTM variables, e.g. [LBTESTCD, LBSPEC]"))
                continue
            refs = [_var_ref(str(v), domain.name) for v in value]
            reads.extend(refs)
            params[name] = refs
        elif param.kind is Kind.DATE_FORMAT:
            try:
                params[name] = check_format(str(value))
            except DateFormatError as exc:
                errors.append(SpecError(loc, key, str(exc), f"e.g. {', '.join(KNOWN_FORMATS[:4])}"))
                continue
        elif param.kind is Kind.TEMPLATE:
            if isinstance(value, (dict, list)):
                errors.append(SpecError(loc, key, f"expected a {param.kind.value}"))
                continue
            params[name] = str(value)
            raw_columns.extend(template_columns(params[name]))
        elif param.kind is Kind.MAP:
            if not isinstance(value, dict):
                errors.append(SpecError(loc, key, "expected a mapping of collected value: submission value"))
                continue
            params[name] = {str(k): "" if v is None else str(v) for k, v in value.items()}
        elif param.kind is Kind.TEXT_STEPS:
            try:
                params[name] = parse_steps(value)
            except ValueError as exc:
                errors.append(SpecError(loc, key, str(exc), f"steps: {', '.join(STEP_NAMES)}"))
                continue
        elif param.kind is Kind.WHERE:
            if not isinstance(value, dict):
                errors.append(SpecError(loc, key, "expected a mapping VARIABLE: value or [values]"))
                continue
            params[name] = {
                str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in value.items()
            }
        elif param.kind is Kind.CODELIST:
            if isinstance(value, dict) or (isinstance(value, list) and not value):
                errors.append(SpecError(loc, key, "expected a codelist (C-code or short name) or a list of them"))
                continue
            params[name] = ";".join(str(v).strip() for v in value) if isinstance(value, list) else str(value)
        elif param.kind is Kind.DOMAIN:
            params[name] = str(value)
            if study.domain(str(value)) is None:
                errors.append(SpecError(loc, key, f"domain {value!r} is not mapped in this study"))
        elif param.kind is Kind.FLAG:
            if not isinstance(value, bool):
                errors.append(SpecError(loc, key, "expected true or false"))
                continue
            params[name] = value
        else:
            if isinstance(value, (dict, list)):
                errors.append(SpecError(loc, key, f"expected a {param.kind.value}"))
                continue
            if param.kind is Kind.NUMBER and not _is_number(str(value)):
                errors.append(SpecError(loc, key, f"expected a number, found {value!r}"))
                continue
            params[name] = str(value)
    if "when" in var.params:
        when = var.params["when"]
        if not isinstance(when, dict):
            errors.append(
                SpecError(var.located("when"), f"{var.name}.when", "expected a mapping RAW_COLUMN: value or [values]")
            )
        else:
            params["when"] = {
                str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in when.items()
            }
            raw_columns.extend(params["when"])
    if deriv.reads is not None:
        reads.extend(deriv.reads(params, study, domain.name))

    # A codelist parameter defaults to the variable's SDTMIG codelist (the union of its codelists
    # where SDTMIG gives several, RSCAT's ONCRSCAT and CCCAT); a list names several.
    codelist = None
    if "codelist" in deriv.params:
        code = params.get("codelist") or codelist_code
        if not code:
            errors.append(SpecError(where, var.name, f"{var.name} has no SDTMIG codelist; give codelist: C-code"))
        else:
            codelist = standards.codelist(code)
            if codelist is None:
                unknown = [c.strip() for c in code.split(";") if standards.codelist(c.strip()) is None]
                errors.append(
                    SpecError(
                        var.located("codelist"),
                        f"{var.name}.codelist",
                        f"codelist {', '.join(map(repr, unknown or [code]))} is not in CT package {standards.ct_version}",
                    )
                )
            else:
                params["codelist"] = codelist
                _check_terms(var, deriv, params, codelist, errors)

    if columns is not None:
        for col in raw_columns:
            if col not in columns:
                errors.append(
                    SpecError(
                        var.where,
                        var.name,
                        f"raw column {col!r} not in {forms_text(domain)}",
                        suggest(col, sorted(columns)),
                    )
                )
    for ref in reads:
        other = study.domain(ref.domain)
        if other is None and ref.domain in SUBJECT_DESIGN_DATASETS and study.trial_design is not None:
            continue  # SE and SV are made from the trial design, before anything that reads them
        if other is None:
            errors.append(
                SpecError(where, var.name, f"reads {ref}, but domain {ref.domain} is not mapped in this study")
            )
        elif other.variable(ref.name) is None:
            errors.append(
                SpecError(
                    where,
                    var.name,
                    f"reads {ref}, which {ref.domain}'s spec does not map",
                    suggest(ref.name, [v.name for v in other.variables]),
                )
            )
    if len(errors) > before:
        return None
    return ResolvedVariable(
        var, deriv, params, tuple(dict.fromkeys(reads)), tuple(dict.fromkeys(raw_columns)), codelist
    )


def _resolve_cases(
    var: VariableSpec,
    domain: DomainSpec,
    study: StudySpec,
    standards: Standards,
    columns: set[str] | None,
    errors: list[SpecError],
    codelist_code: str,
) -> ResolvedVariable | None:
    """A variable derived case by case (value-level metadata): each case resolved on its own."""
    before = len(errors)
    cases = []
    reads: list[VarRef] = []
    for case in var.cases:
        item = resolve_variable(case, domain, study, standards, columns, errors, codelist_code=codelist_code)
        if item is None:
            continue
        cases.append(item)
        reads.extend(item.reads)
        for name in case.case_where:
            reads.append(VarRef(domain.name, name))
            if domain.variable(name) is None:
                errors.append(
                    SpecError(case.located("where"), f"{var.name}.where", f"{name} is not mapped in {domain.name}")
                )
    if len(errors) > before:
        return None
    raw_columns = tuple(dict.fromkeys(c for item in cases for c in item.raw_columns))
    return ResolvedVariable(var, cases[0].derivation, {}, tuple(dict.fromkeys(reads)), raw_columns, None, tuple(cases))


def _check_terms(
    var: VariableSpec, deriv: DerivationDef, params: dict[str, Any], codelist: Codelist, errors: list[SpecError]
) -> None:
    """Values a spec writes must be submission values unless the codelist is extensible."""
    if codelist.extensible:
        return
    for param, value in written_values(deriv, params):
        # A parameter may declare values beyond the codelist (MULTIPLE, SDTMIG 3.4 section 4.2.8.3).
        if value in deriv.params[param].allows:
            continue
        if value and value not in codelist.submission_values:
            errors.append(
                SpecError(
                    var.located(param),
                    f"{var.name}.{param}",
                    f"{value!r} is not a submission value of non-extensible codelist "
                    f"{codelist.submission_value} ({codelist.code})",
                    suggest(value, sorted(codelist.submission_values)),
                )
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_types(
    item: ResolvedVariable, meta: Any, domain: DomainSpec, standards: Standards, errors: list[SpecError]
) -> None:
    """Values a spec writes must fit the variable's SDTMIG type; study days must read ISO 8601 dates."""
    for case in item.cases or (item,):
        var = case.spec
        if meta.is_numeric:
            for written, value in written_values(case.derivation, case.params):
                if value and not _is_number(value):
                    errors.append(
                        SpecError(
                            var.located(written),
                            f"{var.name}.{written}",
                            f"{value!r} is not a number, but {var.name} is Num in SDTMIG",
                        )
                    )
        for param_name, param in case.derivation.params.items():
            ref = case.params.get(param_name)
            if param.kind is not Kind.DATE_VAR or not isinstance(ref, VarRef):
                continue
            target = standards.variable(ref.domain, ref.name)
            if target is not None and target.format != "ISO 8601":
                errors.append(
                    SpecError(
                        var.located(param_name),
                        f"{var.name}.{param_name}",
                        f"{ref} is not an ISO 8601 date variable ({param.doc})",
                    )
                )


def resolve_domain(
    domain: DomainSpec, study: StudySpec, standards: Standards, columns: set[str] | None, errors: list[SpecError]
) -> tuple[list[ResolvedVariable], list[tuple[Any, ResolvedVariable]]]:
    """Resolve a domain's variables and supplemental qualifiers, collecting errors."""
    resolved: list[ResolvedVariable] = []
    if standards.dataset(domain.name) is None or domain.name == "SUPPQUAL":
        errors.append(
            SpecError(
                domain.where,
                "domain",
                f"{domain.name!r} is not a dataset of SDTMIG {standards.sdtmig_version}",
                suggest(domain.name, list(standards.datasets)),
            )
        )
        return [], []
    seen: set[str] = set()
    for var in domain.variables:
        meta = standards.variable(domain.name, var.name)
        if meta is None:
            errors.append(
                SpecError(
                    var.where,
                    var.name,
                    f"not a variable of {domain.name} in SDTMIG {standards.sdtmig_version}",
                    suggest(var.name, [v.name for v in standards.domain_variables(domain.name)]),
                )
            )
            continue
        if var.name in seen:
            errors.append(SpecError(var.where, var.name, "mapped twice"))
        seen.add(var.name)
        item = resolve_variable(var, domain, study, standards, columns, errors, codelist_code=meta.codelist)
        if item is not None:
            resolved.append(item)
            _check_types(item, meta, domain, standards, errors)
    for meta in standards.domain_variables(domain.name):
        if meta.core == "Req" and meta.name not in seen:
            errors.append(
                SpecError(domain.where, meta.name, f"required variable {meta.name} ({meta.label}) is not mapped")
            )

    supps: list[tuple[Any, ResolvedVariable]] = []
    if domain.supplemental:
        seq = f"{domain.name}SEQ"
        # DM has no --SEQ: its SUPP records are subject-level (IDVAR blank).
        if standards.variable(domain.name, seq) is not None and domain.variable(seq) is None:
            errors.append(
                SpecError(
                    domain.where, "supplemental", f"SUPP{domain.name} records point at {seq}, which is not mapped"
                )
            )
    for supp in domain.supplemental:
        var = supp.variable
        if not _QNAM.match(supp.qnam):
            errors.append(
                SpecError(
                    var.where,
                    supp.qnam,
                    f"QNAM must be 1 to {MAX_NAME} upper-case letters, digits or _, starting with a letter",
                )
            )
        if standards.variable(domain.name, supp.qnam) is not None:
            errors.append(
                SpecError(
                    var.where,
                    supp.qnam,
                    f"{supp.qnam} is a standard {domain.name} variable; map it there, not in SUPP{domain.name}",
                )
            )
        if not supp.qlabel or len(supp.qlabel) > MAX_LABEL:
            errors.append(
                SpecError(var.located("label"), f"{supp.qnam}.label", f"QLABEL must have 1 to {MAX_LABEL} characters")
            )
        if supp.qorig not in SUPP_QORIG:
            errors.append(
                SpecError(
                    var.located("origin"),
                    f"{supp.qnam}.origin",
                    f"QORIG {supp.qorig!r} is not one of {', '.join(SUPP_QORIG)}",
                )
            )
        item = resolve_variable(var, domain, study, standards, columns, errors)
        if item is not None:
            supps.append((supp, item))
    return resolved, supps


@dataclass(frozen=True)
class ResolvedStudy:
    """A study spec checked once: its typed variables and SUPP-- qualifiers per domain, and every problem."""

    variables: dict[str, list[ResolvedVariable]]
    supplemental: dict[str, list[tuple[Any, ResolvedVariable]]]
    errors: list[SpecError]


def study_standards(study: StudySpec, standards: Standards) -> Standards:
    """The standards plus the study's custom domains (domain specs with ``class:``), SDTMIG 3.4 section 2.6."""
    errors: list[SpecError] = []
    for dom in study.domains:
        if not dom.klass:
            continue
        try:
            standards = standards.with_custom_domain(dom.name, dom.klass, dom.label, keys=dom.keys)
        except StandardsError as exc:
            errors.append(SpecError(dom.class_where or dom.where, "class", str(exc)))
    if errors:
        raise SpecErrors(errors)
    return standards


def _source_errors(
    src: SourceSpec, dom: DomainSpec, study: StudySpec, headers: Mapping[str, Sequence[str]]
) -> list[SpecError]:
    """One source's problems against the export: forms, the subject column, unpivoted, joined and excluded columns."""
    errors = []
    if headers and src.form not in headers and src.form not in study.forms_not_collected:
        errors.append(
            SpecError(
                src.where,
                "source.form",
                f"form {src.form!r} is not in the export",
                suggest(src.form, list(headers))
                or "list it under forms_not_collected in study.yaml if nothing was collected on it",
            )
        )
    for join in src.joins:
        if headers and join.form not in headers and join.form not in study.forms_not_collected:
            errors.append(SpecError(join.where, "source.join", f"form {join.form!r} is not in the export"))
    columns = _columns_of(src, headers)
    if columns is None:
        return errors
    form_columns = set(headers[src.form])
    if study.subject_column not in form_columns:
        errors.append(
            SpecError(src.where, "source.form", f"form {src.form!r} has no subject column {study.subject_column!r}")
        )
    # An unpivoted column is the form's own or a joined form's (``form.COLUMN``).
    readable = form_columns | {f"{j.form}.{c}" for j in src.joins for c in headers[j.form]}
    for join in src.joins:
        for col in join.on:
            for form, cols in ((src.form, form_columns), (join.form, set(headers[join.form]))):
                if col not in cols:
                    errors.append(
                        SpecError(
                            join.where,
                            "source.join.on",
                            f"raw column {col!r} not in form {form!r}",
                            suggest(col, sorted(cols)),
                        )
                    )
    for variant in src.variants:
        for alias, unpivoted in variant.columns.items():
            if unpivoted is not None and unpivoted not in readable:
                errors.append(
                    SpecError(
                        variant.where,
                        f"unpivot.{alias}",
                        f"raw column {unpivoted!r} not in form {src.form!r}",
                        suggest(unpivoted, sorted(readable)),
                    )
                )
    for exclude in src.excludes:
        for col in exclude.when:
            if col not in columns:
                errors.append(SpecError(exclude.where, "exclude.when", f"raw column {col!r} not in form {src.form!r}"))
    return errors


def check_study_spec(
    study: StudySpec, standards: Standards, headers: Mapping[str, Sequence[str]] | None = None
) -> list[SpecError]:
    """Every problem of a study spec: names, derivations, parameters, raw columns, terms, forms."""
    return resolve_study(study, standards, headers).errors


def resolve_study(
    study: StudySpec, standards: Standards, headers: Mapping[str, Sequence[str]] | None = None
) -> ResolvedStudy:
    """Check a study spec against standards, registry and export headers, keeping what resolved."""
    errors: list[SpecError] = []
    variables: dict[str, list[ResolvedVariable]] = {}
    supplemental: dict[str, list[tuple[Any, ResolvedVariable]]] = {}
    headers = headers or {}
    names = [d.name for d in study.domains]
    for dom in study.domains:
        if study.trial_design is not None and dom.name in (*SUBJECT_DESIGN_DATASETS, *DESIGN_DATASETS):
            errors.append(
                SpecError(
                    dom.where,
                    "domain",
                    f"{dom.name} is made from the trial design (study.yaml "
                    "trial_design:); it has no domain spec of its own",
                )
            )
        if names.count(dom.name) > 1:
            errors.append(SpecError(dom.where, "domain", f"domain {dom.name} is mapped by more than one spec"))
        for src in dom.sources:
            errors.extend(_source_errors(src, dom, study, headers))
        columns = source_columns(dom, headers)
        variables[dom.name], supplemental[dom.name] = resolve_domain(dom, study, standards, columns, errors)
    for arm in study.arms:
        if not arm.armcd or len(arm.armcd) > 20:
            errors.append(SpecError(arm.where, "ARMCD", "ARMCD must have 1 to 20 characters"))
        if len(arm.arm) > 200:
            errors.append(SpecError(arm.where, "ARM", "ARM must have at most 200 characters"))
    errors.extend(check_trial_design(study, standards))
    errors.extend(_check_design_parts(study))
    errors.extend(check_documents(study, headers))
    errors.extend(check_dictionaries(study, standards))
    for epoch in study.epochs:
        dom_name, dot, var_name = epoch.start.variable.partition(".")
        other = study.domain(dom_name)
        if not dot or other is None or other.variable(var_name) is None:
            errors.append(
                SpecError(
                    epoch.start.where, "epochs.start", f"{epoch.start.variable!r} is not a mapped DOMAIN.VARIABLE"
                )
            )
    if headers:
        used = {form for d in study.domains for form in d.forms}
        for form in sorted(set(headers) - used - set(study.forms_not_mapped)):
            errors.append(
                SpecError(
                    _study_where(study),
                    "forms_not_mapped",
                    f"export form {form!r} is neither mapped nor listed in forms_not_mapped with a reason",
                )
            )
    return ResolvedStudy(variables, supplemental, errors)


def check_documents(study: StudySpec, headers: Mapping[str, Sequence[str]] | None = None) -> list[SpecError]:
    """The documents study.yaml names are files of the study folder; the annotated CRF's pages are
    those of forms of the export (``headers``, when known), and every form a domain reads has some."""
    errors: list[SpecError] = []
    for doc in study.documents:
        if not (study.folder / doc.file).is_file():
            errors.append(
                SpecError(doc.where, f"documents.{doc.kind}.file", f"{doc.file!r} not found in {study.folder}")
            )
    acrf = study.document(ACRF)
    if acrf is None or not acrf.pages:
        return errors
    for form, where in acrf.page_where.items():
        if headers and form not in headers and form not in {**study.forms_not_collected, **study.forms_not_mapped}:
            errors.append(
                SpecError(
                    where,
                    f"documents.{ACRF}.pages",
                    f"form {form!r} is not in the export",
                    suggest(form, list(headers)),
                )
            )
    readers: dict[str, list[str]] = {}
    for dom in study.domains:
        for form in dom.forms:
            readers.setdefault(form, []).append(dom.name)
    for form, domains in readers.items():
        if form and form not in acrf.pages:
            errors.append(
                SpecError(
                    acrf.where,
                    f"documents.{ACRF}.pages",
                    f"form {form!r} (read by {', '.join(domains)}) has no page in the annotated CRF",
                    f"add it under documents: {ACRF}: pages:",
                )
            )
    return errors


def _check_design_parts(study: StudySpec) -> list[SpecError]:
    """A derivation that reads a part of the trial design (its ``design_part``) needs the study to declare it."""
    design = study.trial_design
    errors: list[SpecError] = []
    for dom in study.domains:
        for var in dom.variables:
            for case in var.cases or (var,):
                deriv = DERIVATIONS.get(case.derivation)
                if deriv is None or not deriv.design_part:
                    continue
                part = deriv.design_part
                if not (design is not None and getattr(design, part)):
                    errors.append(
                        SpecError(
                            case.where,
                            var.name,
                            f"{deriv.name} reads the trial design's {part}; "
                            f"declare them under trial_design: {part}: in study.yaml",
                        )
                    )
    return errors


def check_dictionaries(study: StudySpec, standards: Standards) -> list[SpecError]:
    """The study's coding dictionaries are CT's (DICTNAM), each named once, and every coded variable knows its own.

    A variable SDTMIG says is coded with a dictionary (AEDECOD: MedDRA) needs that dictionary's
    version in the study (define.xml names it; FDA's Technical Conformance Guide asks for it); a
    variable's ``dictionary:`` names one of the study's dictionaries.
    """
    errors: list[SpecError] = []
    codelist = standards.codelist(DICTIONARY_NAME)
    known = ", ".join(t.submission_value for t in codelist.terms) if codelist is not None else ""
    seen: dict[str, CodingDictionary] = {}
    for declared in study.dictionaries:
        term = standards.dictionary(declared.name)
        if term is None:
            errors.append(
                SpecError(
                    declared.where,
                    "study.dictionaries",
                    f"{declared.name!r} is not a dictionary of CT's Dictionary Name codelist (DICTNAM, C66788)",
                    suggest(declared.name, [t.submission_value for t in codelist.terms] if codelist else [])
                    or (f"one of {known}" if known else ""),
                )
            )
        elif term.code in seen:
            errors.append(SpecError(declared.where, "study.dictionaries", f"{term.submission_value} is named twice"))
        else:
            seen[term.code] = declared
    for dom in study.domains:
        for var in (*dom.variables, *(s.variable for s in dom.supplemental)):
            for case in var.cases or (var,):
                if case.dictionary and standards.dictionary(case.dictionary) is None:
                    errors.append(
                        SpecError(
                            case.located("dictionary"),
                            "dictionary",
                            f"{case.dictionary!r} is not a dictionary of CT's Dictionary Name codelist (DICTNAM)",
                        )
                    )
                elif case.dictionary and study_dictionary(study, standards, case.dictionary) is None:
                    errors.append(
                        SpecError(
                            case.located("dictionary"),
                            "dictionary",
                            f"{var.name} is coded with {case.dictionary}, which study.yaml does not name",
                            "give its version under study: dictionaries:",
                        )
                    )
        # One problem per domain and dictionary, at its first coded variable, naming them all.
        undeclared: dict[str, list[VariableSpec]] = {}
        for var in dom.variables:
            term = standards.coding_dictionary(dom.name, var.name)
            if term is not None and not var.dictionary and term.code not in seen:
                undeclared.setdefault(term.submission_value, []).append(var)
        for name, coded in undeclared.items():
            errors.append(
                SpecError(
                    coded[0].where,
                    coded[0].name,
                    f"{', '.join(v.name for v in coded)} of {dom.name} {'is' if len(coded) == 1 else 'are'} "
                    f"coded with {name} (SDTMIG), "
                    f"but study.yaml names no {name} version",
                    f"add it under study: dictionaries:, e.g. {name}: <version>",
                )
            )
    return errors


def study_dictionary(study: StudySpec, standards: Standards, name: str) -> CodingDictionary | None:
    """The study's declaration of a dictionary, by any of its names (MedDRA, MEDDRA; WHODD, WHODrug Global)."""
    term = standards.dictionary(name)
    if term is None:
        return None
    return next((d for d in study.dictionaries if (t := standards.dictionary(d.name)) and t.code == term.code), None)


def variable_dictionary(
    study: StudySpec, standards: Standards, domain: str, spec: VariableSpec | None, name: str
) -> tuple[str, CodingDictionary] | None:
    """(DICTNAM submission value, the study's declaration) of the dictionary a variable is coded with.

    The variable's spec ``dictionary:`` first, else the dictionary SDTMIG names for it; None when
    the variable is not dictionary-coded or the study declares no such dictionary.
    """
    named = spec.dictionary if spec is not None else ""
    if not named and spec is not None and spec.cases:
        named = next((c.dictionary for c in spec.cases if c.dictionary), "")
    term = standards.dictionary(named) if named else standards.coding_dictionary(domain, name)
    if term is None:
        return None
    declared = study_dictionary(study, standards, term.submission_value)
    return (term.submission_value, declared) if declared is not None else None


def _study_where(study: StudySpec) -> Location:
    return Location(study.file.as_posix(), 1, 1)
