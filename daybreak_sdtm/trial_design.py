"""Trial design datasets: TS, TA, TE, TV and TI from the study's declaration, SE and SV from the data.

Pure functions of the trial design spec, the standards and the domains built so far; ``build``
calls them (SE before anything that reads EPOCH, SV once the domains' visits are known) and
files them with the other tables. Each returns the dataset's records (SDTMIG variables, text as
text, numbers as float64) and, per record, where it came from: the spec line of a declared record
(``study.yaml``), the raw record that dated a subject's element or visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from daybreak_sdtm.derive.dates import compute_days, compute_study_day
from daybreak_sdtm.derive.registry import Decode
from daybreak_sdtm.derive.subject import ARMS
from daybreak_sdtm.errors import Location
from daybreak_sdtm.raw import SRC_FILE, SRC_ROW
from daybreak_sdtm.spec.design import CDISC_CT, summary_codelist, tsparm_of
from daybreak_sdtm.spec.model import EpochStart, StudySpec, TrialDesignSpec
from daybreak_sdtm.standards import Standards

TEXT: Final = "str"
SE_NODE = ("SE", "*")  # the build's work item that makes SE (derive_epoch reads it)
SV_NODE = ("SV", "*")
UNPLANNED = "UNPLAN"  # SDTMIG 3.4 SE assumptions: ETCD of an element the subject's arm does not plan


def study_elements(study: StudySpec) -> list[tuple[str, str]]:
    """The trial design's elements as (ETCD, ELEMENT), in the order it declares them."""
    return [(e.etcd, e.element) for e in (study.trial_design.elements if study.trial_design else ())]


ELEMENTS = Decode(
    "etcd", study_elements, "the trial design's elements", code_name="Element Code", decode_name="Element"
)
# The design variables that decode another through a list of the study (decode variable -> code
# variable, list), as the derivations declare theirs: define.xml gives both their codelists.
DECODES: Final[Mapping[str, Mapping[str, tuple[str, Decode]]]] = {
    "TA": {"ARM": ("ARMCD", ARMS), "ELEMENT": ("ETCD", ELEMENTS)},
    "TE": {"ELEMENT": ("ETCD", ELEMENTS)},
    "TV": {"ARM": ("ARMCD", ARMS)},
    "SE": {"ELEMENT": ("ETCD", ELEMENTS)},
}


@dataclass(frozen=True)
class DesignTable:
    """One trial design dataset: its records and, per record, the file and record (or spec line) it came from."""

    name: str
    frame: pd.DataFrame
    lineage: pd.DataFrame  # _src_file, _src_row aligned with frame


def _frame(name: str, columns: Mapping[str, object], standards: Standards, rows: int) -> pd.DataFrame:
    """A dataset's columns in SDTMIG order, text as text and numbers as float64."""
    out: dict[str, pd.Series] = {}
    for var in standards.ordered(name, list(columns)):
        values = columns[var]
        meta = standards.variable(name, var)
        if meta is not None and meta.is_numeric:
            out[var] = pd.Series(values, dtype="float64") if rows else pd.Series(dtype="float64")
        else:
            series = pd.Series(values, dtype=object) if rows else pd.Series(dtype=object)
            out[var] = series.fillna("").astype(TEXT)
    return pd.DataFrame(out, index=pd.RangeIndex(rows))


def _spec_lineage(locations: list[Location]) -> pd.DataFrame:
    """Where declared records come from: the spec file and the line of each entry."""
    return pd.DataFrame(
        {
            SRC_FILE: pd.Series([loc.file.rsplit("/", 1)[-1] for loc in locations], dtype=object),
            SRC_ROW: pd.Series([loc.line for loc in locations], dtype=np.int64),
        }
    )


def summary_value(how: str, variable: str, frames: Mapping[str, pd.DataFrame]) -> str:
    """A computed TS value: the ``count`` of distinct values, the ``first`` or ``last`` of a variable."""
    dom, _, var = variable.partition(".")
    values = frames[dom][var].fillna("").astype(str)
    values = values[values.ne("")]
    if how == "count":
        return str(values.nunique())
    if values.empty:
        return ""
    return str(values.min() if how == "first" else values.max())


def trial_summary(study: StudySpec, standards: Standards, frames: Mapping[str, pd.DataFrame]) -> DesignTable:
    """TS: one record per declared parameter value; TSPARM, and TSVALCD/TSVCDVER of CDISC terms, from CT."""
    design = _design(study)
    rows: dict[str, list[object]] = {
        k: []
        for k in (
            "STUDYID",
            "DOMAIN",
            "TSSEQ",
            "TSGRPID",
            "TSPARMCD",
            "TSPARM",
            "TSVAL",
            "TSVALNF",
            "TSVALCD",
            "TSVCDREF",
            "TSVCDVER",
        )
    }
    seq: dict[str, int] = {}
    for p in design.summary:
        seq[p.tsparmcd] = seq.get(p.tsparmcd, 0) + 1
        value = summary_value(p.computed.how, p.computed.variable, frames) if p.computed else p.tsval
        code, version = p.tsvalcd, p.tsvcdver
        if p.tsvcdref == CDISC_CT:
            codelist = summary_codelist(p, standards)
            term = codelist.term(value) if codelist is not None else None
            code = code or (term.code if term is not None else "")
            version = version or standards.ct_version
        for key, val in (
            ("STUDYID", study.studyid),
            ("DOMAIN", "TS"),
            ("TSSEQ", seq[p.tsparmcd]),
            ("TSGRPID", p.tsgrpid),
            ("TSPARMCD", p.tsparmcd),
            ("TSPARM", p.tsparm or tsparm_of(p.tsparmcd, standards)),
            ("TSVAL", value),
            ("TSVALNF", p.tsvalnf if not value else ""),
            ("TSVALCD", code),
            ("TSVCDREF", p.tsvcdref),
            ("TSVCDVER", version),
        ):
            rows[key].append(val)
    if not any(rows["TSGRPID"]):
        del rows["TSGRPID"]
    if not any(rows["TSVALNF"]):
        del rows["TSVALNF"]
    return DesignTable(
        "TS", _frame("TS", rows, standards, len(design.summary)), _spec_lineage([p.where for p in design.summary])
    )


def trial_arms(study: StudySpec, standards: Standards) -> DesignTable:
    """TA: one record per planned element of each arm, in order, with its epoch, branch and transition rule."""
    design = _design(study)
    records = [(arm, order, ae) for arm in study.arms for order, ae in enumerate(arm.elements, start=1)]
    elements = {e.etcd: e for e in design.elements}
    rows = {
        "STUDYID": [study.studyid] * len(records),
        "DOMAIN": ["TA"] * len(records),
        "ARMCD": [arm.armcd for arm, _, _ in records],
        "ARM": [arm.arm for arm, _, _ in records],
        "TAETORD": [order for _, order, _ in records],
        "ETCD": [ae.etcd for _, _, ae in records],
        "ELEMENT": [elements[ae.etcd].element if ae.etcd in elements else "" for _, _, ae in records],
        "TABRANCH": [ae.branch for _, _, ae in records],
        "TATRANS": [ae.transition for _, _, ae in records],
        "EPOCH": [ae.epoch for _, _, ae in records],
    }
    return DesignTable(
        "TA", _frame("TA", rows, standards, len(records)), _spec_lineage([ae.where for _, _, ae in records])
    )


def trial_elements(study: StudySpec, standards: Standards) -> DesignTable:
    """TE: one record per planned element, with its start and end rules and planned duration."""
    elements = _design(study).elements
    rows = {
        "STUDYID": [study.studyid] * len(elements),
        "DOMAIN": ["TE"] * len(elements),
        "ETCD": [e.etcd for e in elements],
        "ELEMENT": [e.element for e in elements],
        "TESTRL": [e.testrl for e in elements],
        "TEENRL": [e.teenrl for e in elements],
        "TEDUR": [e.tedur for e in elements],
    }
    return DesignTable("TE", _frame("TE", rows, standards, len(elements)), _spec_lineage([e.where for e in elements]))


def trial_visits(study: StudySpec, standards: Standards) -> DesignTable:
    """TV: one record per planned visit (per arm when the visit is an arm's own), in visit number order."""
    visits = sorted(_design(study).visits, key=lambda v: v.visitnum)
    arms = {a.armcd: a.arm for a in study.arms}
    rows: dict[str, list[object]] = {
        "STUDYID": [study.studyid] * len(visits),
        "DOMAIN": ["TV"] * len(visits),
        "VISITNUM": [v.visitnum for v in visits],
        "VISIT": [v.visit for v in visits],
        "VISITDY": [np.nan if v.visitdy is None else v.visitdy for v in visits],
        "ARMCD": [v.armcd for v in visits],
        "ARM": [arms.get(v.armcd, "") for v in visits],
        "TVSTRL": [v.tvstrl for v in visits],
        "TVENRL": [v.tvenrl for v in visits],
    }
    if all(v.visitdy is None for v in visits):
        del rows["VISITDY"]
    if not any(rows["ARM"]):
        del rows["ARM"]
    return DesignTable("TV", _frame("TV", rows, standards, len(visits)), _spec_lineage([v.where for v in visits]))


def trial_criteria(study: StudySpec, standards: Standards) -> DesignTable:
    """TI: one record per inclusion or exclusion criterion."""
    criteria = _design(study).criteria
    rows: dict[str, list[object]] = {
        "STUDYID": [study.studyid] * len(criteria),
        "DOMAIN": ["TI"] * len(criteria),
        "IETESTCD": [c.ietestcd for c in criteria],
        "IETEST": [c.ietest for c in criteria],
        "IECAT": [c.iecat for c in criteria],
        "IESCAT": [c.iescat for c in criteria],
        "TIRL": [c.tirl for c in criteria],
        "TIVERS": [c.tivers for c in criteria],
    }
    for optional in ("IESCAT", "TIRL", "TIVERS"):
        if not any(rows[optional]):
            del rows[optional]
    return DesignTable("TI", _frame("TI", rows, standards, len(criteria)), _spec_lineage([c.where for c in criteria]))


def _design(study: StudySpec) -> TrialDesignSpec:
    if study.trial_design is None:
        raise ValueError(f"{study.file}: the study declares no trial design")
    return study.trial_design


# ---- subject-level: SE and SV -------------------------------------------------------------------


def _ref(text: str) -> tuple[str, str]:
    dom, _, var = text.partition(".")
    return dom, var


def se_reads(study: StudySpec) -> set[tuple[str, str]]:
    """The variables SE is made of: each element's start rule, and DM's arm, end and reference dates."""
    reads = {("DM", "USUBJID"), ("DM", "ACTARMCD")}
    dm = study.domain("DM")
    reads |= {("DM", v) for v in ("RFPENDTC", "RFSTDTC") if dm is not None and dm.variable(v) is not None}
    for element in _design(study).elements:
        if element.start is not None:
            dom, var = _ref(element.start.variable)
            reads |= {(dom, var), (dom, "USUBJID")} | {(dom, k) for k in element.start.filters}
    return reads


def sv_reads(study: StudySpec) -> set[tuple[str, str]]:
    """The variables SV is made of: each source's dates, visits and subjects, and DM's reference date."""
    dm = study.domain("DM")
    reads = {("DM", "USUBJID")} | ({("DM", "RFSTDTC")} if dm is not None and dm.variable("RFSTDTC") else set())
    for source in _design(study).subject_visits:
        dom, var = _ref(source.variable)
        reads |= {(dom, var), (dom, "USUBJID")}
        if not source.visit:
            reads |= {(dom, "VISITNUM"), (dom, "VISIT")}
        if source.end:
            reads.add(_ref(source.end))
    return reads


def _first_per_group(groups: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Positions of the record of lowest rank in each group (ties: the earlier record), groups in order.

    Integer codes ordered by one stable ``np.lexsort``, where sorting the text itself would
    compare millions of strings at a large study's scale.
    """
    order = np.lexsort((ranks, groups))
    sorted_groups = groups[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    return order[first]


def _text_ranks(values: pd.Series) -> np.ndarray:
    """Each value's rank in the text order of the distinct values (ISO 8601 text: time order)."""
    codes, _ = pd.factorize(values, sort=True)
    return codes.astype(np.int64)


def _subject_starts(
    rule: EpochStart, frames: Mapping[str, pd.DataFrame], lineages: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Each subject's start date by an element's rule: USUBJID, the ISO 8601 text, and its source record."""
    dom, var = _ref(rule.variable)
    frame = frames[dom]
    mask = pd.Series(True, index=frame.index)
    for name, allowed in rule.filters.items():
        mask &= frame[name].isin(allowed)
    texts = frame[var].fillna("").astype(str)
    keep = (mask & texts.ne("")).to_numpy()
    values = texts[keep]
    subjects = frame["USUBJID"].astype(str)[keep]
    # ISO 8601 text sorts as time does at equal precision; a date sorts before a datetime of its
    # day, which is right for "first": the date's day begins first.
    ranks = _text_ranks(values)
    subject_codes, _ = pd.factorize(subjects)
    picked = _first_per_group(subject_codes, -ranks if rule.how == "last" else ranks)
    rows = np.flatnonzero(keep)[picked]
    starts = pd.DataFrame(
        {
            "USUBJID": subjects.to_numpy()[picked],
            "value": values.to_numpy()[picked],
            SRC_FILE: lineages[dom][SRC_FILE].to_numpy()[rows],
            SRC_ROW: lineages[dom][SRC_ROW].to_numpy()[rows],
        }
    )
    if rule.how == "day_after":
        days = compute_days(starts["value"]) + pd.Timedelta(days=1)
        starts["value"] = days.dt.strftime("%Y-%m-%d").fillna("")
        starts = starts[starts["value"].ne("")]
    return starts.reset_index(drop=True)


def subject_elements(
    study: StudySpec, standards: Standards, frames: Mapping[str, pd.DataFrame], lineages: Mapping[str, pd.DataFrame]
) -> DesignTable:
    """SE: each subject's actual elements, dated by the elements' start rules, in the order of the subject's arm.

    An element starts on the date its rule reads for the subject (a subject without that date
    never entered it) and ends when the next one starts; the last ends at DM.RFPENDTC (blank
    while the subject is in the study). Elements starting after the end of participation or the
    data cut-off are not entered. An element the subject's actual arm (ACTARMCD) does not plan, or
    one that starts after an element the arm plans later, is an unplanned element (ETCD ``UNPLAN``,
    SEUPDES naming it, no TAETORD) in the epoch of the planned element in effect (SDTMIG 3.4 SE
    assumptions).
    """
    design = _design(study)
    dm = frames["DM"]
    parts = []
    for element in design.elements:
        if element.start is None:
            continue
        starts = _subject_starts(element.start, frames, lineages)
        starts["ETCD"] = element.etcd
        parts.append(starts)
    long = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["USUBJID", "value", SRC_FILE, SRC_ROW, "ETCD"])
    )
    subjects = pd.DataFrame(
        {
            "USUBJID": dm["USUBJID"].astype(str),
            "ARMCD": dm["ACTARMCD"].astype(str),
            "END": dm["RFPENDTC"].astype(str) if "RFPENDTC" in dm.columns else "",
            "REF": dm["RFSTDTC"].astype(str) if "RFSTDTC" in dm.columns else "",
        }
    )
    long = long.merge(subjects, on="USUBJID", how="inner")
    planned = pd.DataFrame(
        [(arm.armcd, ae.etcd, order, ae.epoch) for arm in study.arms for order, ae in enumerate(arm.elements, start=1)],
        columns=["ARMCD", "ETCD", "TAETORD", "EPOCH"],
    )
    long = long.merge(planned, on=["ARMCD", "ETCD"], how="left")
    any_epoch = planned.drop_duplicates("ETCD").set_index("ETCD")["EPOCH"]
    long["EPOCH"] = long["EPOCH"].fillna(long["ETCD"].map(any_epoch)).fillna("")
    long["DAY"] = compute_days(long["value"])
    # Not entered: after the end of participation or the data cut-off.
    end_day = compute_days(long["END"])
    late = long["DAY"] > end_day
    if study.cutoff:
        late |= long["DAY"] > pd.Timestamp(study.cutoff)
    long = long[~late.fillna(False)]
    long["_subject"] = pd.factorize(long["USUBJID"], sort=True)[0]  # sorted on codes, not on text
    long = long.sort_values(["_subject", "DAY", "TAETORD"], kind="stable", na_position="last").reset_index(drop=True)
    # Off the arm's path: an element the arm does not plan, or one that starts after an element
    # the arm plans later (the subject has moved on): an unplanned element in the epoch in effect.
    subject = long["USUBJID"]
    reached = long["TAETORD"].groupby(subject).cummax().groupby(subject).shift(1)
    off_path = long["TAETORD"].isna() | (long["TAETORD"] < reached).fillna(False)
    long.loc[off_path, "TAETORD"] = np.nan
    in_effect = long["EPOCH"].where(~off_path).groupby(subject).ffill()
    long["EPOCH"] = in_effect.fillna(long["EPOCH"])
    names = {e.etcd: e.element for e in design.elements}
    unplanned = off_path
    nxt = long.groupby("USUBJID")["value"].shift(-1)
    ends = nxt.fillna(long["END"]).fillna("")
    columns = {
        "STUDYID": [study.studyid] * len(long),
        "DOMAIN": ["SE"] * len(long),
        "USUBJID": long["USUBJID"].to_numpy(),
        "SESEQ": (long.groupby("USUBJID").cumcount() + 1).to_numpy(dtype="float64"),
        "ETCD": np.where(unplanned, UNPLANNED, long["ETCD"]),
        "ELEMENT": np.where(unplanned, "", long["ETCD"].map(names).fillna("")),
        "TAETORD": long["TAETORD"].to_numpy(dtype="float64"),
        "EPOCH": long["EPOCH"].to_numpy(),
        "SESTDTC": long["value"].to_numpy(),
        "SEENDTC": ends.to_numpy(),
        "SESTDY": compute_study_day(long["value"], long["REF"]).to_numpy(),
        "SEENDY": compute_study_day(ends, long["REF"]).to_numpy(),
    }
    if unplanned.any():
        columns["SEUPDES"] = np.where(unplanned, long["ETCD"].map(names).fillna(""), "")
    lineage = long[[SRC_FILE, SRC_ROW]].reset_index(drop=True)
    return DesignTable("SE", _frame("SE", columns, standards, len(long)), lineage)


def subject_visits(
    study: StudySpec, standards: Standards, frames: Mapping[str, pd.DataFrame], lineages: Mapping[str, pd.DataFrame]
) -> DesignTable:
    """SV: each subject's visits, spanning the dates of the records of that visit in the declared sources.

    A visit of the planned ones (TV) is pre-specified (SVPRESP = Y) and takes TV's name and
    planned day; every visit here occurred (SVOCCUR = Y): it has dated records.
    """
    design = _design(study)
    planned = {v.visitnum: v for v in design.visits}
    by_name = {v.visit: v for v in design.visits}
    parts = []
    for source in design.subject_visits:
        dom, var = _ref(source.variable)
        frame, lineage = frames[dom], lineages[dom]
        start = frame[var].fillna("").astype(str)
        end = frame[_ref(source.end)[1]].fillna("").astype(str) if source.end else start
        if source.visit:
            number, name = by_name[source.visit].visitnum, source.visit
            visitnum = pd.Series(number, index=frame.index, dtype="float64")
            visit = pd.Series(name, index=frame.index, dtype=object)
        else:
            visitnum, visit = frame["VISITNUM"].astype("float64"), frame["VISIT"].astype(str)
        keep = (start.ne("") & visitnum.notna()).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "USUBJID": frame["USUBJID"].astype(str).to_numpy()[keep],
                    "VISITNUM": visitnum.to_numpy()[keep],
                    "VISIT": visit.to_numpy()[keep],
                    "START": start.to_numpy()[keep],
                    "END": end.where(end.ne(""), start).to_numpy()[keep],
                    SRC_FILE: lineage[SRC_FILE].to_numpy()[keep],
                    SRC_ROW: lineage[SRC_ROW].to_numpy()[keep],
                }
            )
        )
    long = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["USUBJID", "VISITNUM", "VISIT", "START", "END", SRC_FILE, SRC_ROW])
    )
    # One record per subject and visit: the earliest start (its source is the visit's) and the
    # latest end, found on integer codes rather than by sorting the text of millions of records.
    subject_codes, _ = pd.factorize(long["USUBJID"], sort=True)
    visit_codes, _ = pd.factorize(long["VISITNUM"], sort=True)
    groups = subject_codes.astype(np.int64) * (int(visit_codes.max(initial=0)) + 1) + visit_codes
    first_rows = _first_per_group(groups, _text_ranks(long["START"]))
    last_rows = _first_per_group(groups, -_text_ranks(long["END"]))
    first = long.iloc[first_rows].reset_index(drop=True)
    last_end = long["END"].iloc[last_rows].reset_index(drop=True)
    dm = frames["DM"]
    ref = (
        dm.set_index(dm["USUBJID"].astype(str))["RFSTDTC"].astype(str)
        if "RFSTDTC" in dm.columns
        else pd.Series(dtype=str)
    )
    reference = first["USUBJID"].map(ref).fillna("")
    in_tv = first["VISITNUM"].isin(list(planned))
    columns = {
        "STUDYID": [study.studyid] * len(first),
        "DOMAIN": ["SV"] * len(first),
        "USUBJID": first["USUBJID"].to_numpy(),
        "VISITNUM": first["VISITNUM"].to_numpy(dtype="float64"),
        "VISIT": [
            planned[n].visit if n in planned else v for n, v in zip(first["VISITNUM"], first["VISIT"], strict=False)
        ],
        "SVPRESP": np.where(in_tv, "Y", ""),
        "SVOCCUR": ["Y"] * len(first),
        "SVSTDTC": first["START"].to_numpy(),
        "SVENDTC": last_end.to_numpy(),
        "SVSTDY": compute_study_day(first["START"], reference).to_numpy(),
        "SVENDY": compute_study_day(last_end, reference).to_numpy(),
    }
    days = [planned[n].visitdy if n in planned else None for n in first["VISITNUM"]]
    if any(d is not None for d in days):
        columns["VISITDY"] = [np.nan if d is None else d for d in days]
    return DesignTable(
        "SV", _frame("SV", columns, standards, len(first)), first[[SRC_FILE, SRC_ROW]].reset_index(drop=True)
    )
