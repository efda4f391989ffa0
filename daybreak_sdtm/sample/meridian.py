"""Synthetic raw EDC export for MERIDIAN-02, a second bundled study unlike Daybreak-01.

MERIDIAN-02 is fictional: a randomized (1:1), double-blind, placebo-controlled phase II study of
an oral once-daily drug, ZX-101 10 mg, for 12 weeks in adults with type 2 diabetes, at four US
sites. Its export looks like a US EDC system's: MM/DD/YYYY dates (UN for unknown parts), subject
numbers SITE-NNNN, a wide vital-signs page in US units, central-lab results in conventional
units (mg/dL) to standardise, concomitant medications coded with WHODrug, medical history and
adverse events coded with MedDRA, one disposition page with a record per milestone, and screen
failures who are in demographics but never randomized.

The dictionary terms are a small illustrative subset: MedDRA preferred terms and system organ
classes, WHODrug preferred names and WHO ATC classes as publicly documented; no licensed codes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from daybreak_sdtm.sample.generator import load_meddra

STUDY = "MERIDIAN-02"
SITES = ("701", "702", "703", "704")
FORMS = ("dm", "rand", "ex", "vs", "lb", "cm", "mh", "ae", "ds")
FIRST_SCREENING = dt.date(2025, 3, 3)
CUTOFF = dt.date(2026, 2, 27)
# Planned visits: name -> study day (day 1 = first dose); screening is up to 14 days before.
VISITS = (("SCREENING", -14), ("DAY 1", 1), ("WEEK 4", 29), ("WEEK 8", 57), ("WEEK 12", 85), ("FOLLOW-UP", 99))
ARMS = (("ZX10", "ZX-101", "10"), ("PBO", "Placebo", "0"))
_RACES = ("White", "Black or African American", "Asian", "American Indian or Alaska Native")
_RACE_P = (0.62, 0.22, 0.12, 0.04)
_ETHNIC = ("Not Hispanic or Latino", "Hispanic or Latino")
# (verbatim, WHODrug preferred name, WHO ATC class, dose, unit, route, frequency)
_MEDS = (
    (
        "Metformin",
        "METFORMIN HYDROCHLORIDE",
        "BLOOD GLUCOSE LOWERING DRUGS, EXCL. INSULINS",
        "500",
        "mg",
        "Oral",
        "BID",
    ),
    ("lisinopril", "LISINOPRIL", "ACE INHIBITORS, PLAIN", "10", "mg", "Oral", "QD"),
    ("Lipitor", "ATORVASTATIN CALCIUM", "HMG COA REDUCTASE INHIBITORS", "20", "mg", "Oral", "QD"),
    ("Baby aspirin", "ACETYLSALICYLIC ACID", "PLATELET AGGREGATION INHIBITORS EXCL. HEPARIN", "81", "mg", "Oral", "QD"),
    ("omeprazole", "OMEPRAZOLE", "PROTON PUMP INHIBITORS", "20", "mg", "Oral", "QD"),
)
# (verbatim, MedDRA preferred term, system organ class)
_HISTORY = (
    ("Type 2 diabetes", "Type 2 diabetes mellitus", "Metabolism and nutrition disorders"),
    ("high blood pressure", "Hypertension", "Vascular disorders"),
    ("High cholesterol", "Hyperlipidaemia", "Metabolism and nutrition disorders"),
    ("GERD", "Gastrooesophageal reflux disease", "Gastrointestinal disorders"),
)
# Adverse events: verbatim term -> MedDRA term key of the illustrative subset the Daybreak-01
# sample uses (daybreak_sdtm/sample/meddra.csv: LLT -> PT -> HLT -> HLGT -> primary SOC).
_EVENTS = (
    ("nausea", "NAUSEA"),
    ("threw up", "VOMITING"),
    ("not hungry", "DECREASED_APPETITE"),
    ("tired", "FATIGUE"),
    ("constipation", "CONSTIPATION"),
    ("itchy skin", "PRURITUS"),
    ("rash on arms", "RASH"),
    ("liver enzymes up", "ALT_INCREASED"),
)
# Central lab: test code, test name, unit, normal range, mean and spread by arm (ZX10, PBO) at week 12.
_LABS = (
    ("GLUC", "Glucose", "mg/dL", ("70", "99"), (165.0, 140.0, 160.0), 18.0),
    ("HBA1C", "Hemoglobin A1C", "%", ("4.0", "5.6"), (8.1, 7.3, 8.0), 0.5),
    ("CREAT", "Creatinine", "mg/dL", ("0.6", "1.3"), (0.95, 0.95, 0.95), 0.15),
    ("ALT", "Alanine Aminotransferase", "U/L", ("7", "56"), (28.0, 30.0, 28.0), 8.0),
)
_MEDDRA_LEVELS = ("LLT", "LLTCD", "PT", "PTCD", "HLT", "HLTCD", "HLGT", "HLGTCD", "SOC", "SOCCD")
_DISCONTINUATION = (("Adverse Event", 0.05), ("Withdrawal by Subject", 0.05), ("Lost to Follow-up", 0.03))


def _us(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


def _partial_us(day: dt.date, rng: np.random.Generator) -> str:
    """A history date as a US EDC collects it: often the month or day unknown (UN)."""
    kind = rng.choice(3, p=(0.4, 0.35, 0.25))
    if kind == 0:
        return _us(day)
    if kind == 1:
        return f"{day.month:02d}/UN/{day.year}"
    return f"UN/UN/{day.year}"


def generate_export(out_dir: Path, subjects: int = 48, seed: int = 20250303) -> dict[str, int]:
    """Write one CSV per CRF form of MERIDIAN-02 into out_dir; return {form: records}.

    ``subjects`` are screened; about one in twelve fails screening. The same (subjects, seed)
    always gives byte-identical files.
    """
    if subjects < 1:
        raise ValueError(f"subjects must be positive, got {subjects}")
    rng = np.random.Generator(np.random.PCG64(seed))
    meddra = load_meddra().set_index("TERMKEY")
    rows: dict[str, list[dict[str, str]]] = {form: [] for form in FORMS}
    numbers = dict.fromkeys(SITES, 1000)
    span = (CUTOFF - FIRST_SCREENING).days - 130
    for i in range(subjects):
        site = SITES[int(rng.choice(len(SITES), p=(0.35, 0.3, 0.2, 0.15)))]
        numbers[site] += 1
        subject = f"{site}-{numbers[site]}"
        consent = FIRST_SCREENING + dt.timedelta(days=int(span * i / max(subjects, 1)) + int(rng.integers(0, 5)))
        screen = consent + dt.timedelta(days=int(rng.integers(0, 3)))
        age = int(rng.integers(35, 76))
        # A birthday between age and age + 1 years before consent: the age at consent is ``age``.
        latest = dt.date(consent.year - age, consent.month, min(consent.day, 28))
        birth = latest - dt.timedelta(days=int(rng.integers(0, 360)))
        sex = "Female" if rng.random() < 0.45 else "Male"
        rows["dm"].append(
            {
                "SUBJECT": subject,
                "SITE": site,
                "ICDATE": _us(consent),
                "BRTHDT": _us(birth),
                "AGE": str(age),
                "SEX": sex,
                "RACE": _RACES[int(rng.choice(len(_RACES), p=_RACE_P))],
                "ETHNIC": _ETHNIC[int(rng.random() < 0.18)],
            }
        )
        rows["ds"].append(
            {"SUBJECT": subject, "DSPAGE": "CONSENT", "DSTERM": "Informed consent obtained", "DSDT": _us(consent)}
        )
        _history(rows, rng, subject, consent)
        _medications(rows, rng, subject, consent)
        weight = float(rng.normal(205, 30))
        _vital_signs(rows, rng, subject, "SCREENING", screen, first=True, weight=weight)
        _labs(rows, rng, subject, "SCREENING", screen, None, 0.0)
        if rng.random() < 1 / 12:
            fail = screen + dt.timedelta(days=int(rng.integers(3, 10)))
            rows["ds"].append(
                {
                    "SUBJECT": subject,
                    "DSPAGE": "END OF STUDY",
                    "DSTERM": "Screen failure: HbA1c out of range",
                    "DSDT": _us(fail),
                }
            )
            continue
        arm = ARMS[i % 2] if rng.random() < 0.5 else ARMS[(i + 1) % 2]
        day1 = screen + dt.timedelta(days=14)
        rows["rand"].append({"SUBJECT": subject, "RANDDT": _us(day1), "ARMCD": arm[0]})
        rows["ds"].append({"SUBJECT": subject, "DSPAGE": "RANDOMIZATION", "DSTERM": "Randomized", "DSDT": _us(day1)})
        _treatment(rows, rng, subject, arm, day1, weight, meddra)
    counts = {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for form in FORMS:
        frame = pd.DataFrame(rows[form])
        frame.insert(0, "STUDYID", STUDY)
        frame.to_csv(out / f"{form}.csv", index=False, lineterminator="\n", encoding="utf-8")
        counts[form] = len(frame)
    return counts


def _treatment(
    rows: dict[str, list[dict[str, str]]],
    rng: np.random.Generator,
    subject: str,
    arm: tuple[str, str, str],
    day1: dt.date,
    weight: float,
    meddra: pd.DataFrame,
) -> None:
    """Visits from day 1 to follow-up, with dosing, vitals, labs and events; some subjects stop early.

    Study drug is dispensed at day 1, week 4 and week 8, each kit taken until the day before the
    next visit; a subject who stops takes the last kit until the day they stop. A subject still in
    the study at the data cut-off has no end-of-study record.
    """
    stop_after, reason = len(VISITS), "Completed"
    draw, cumulative = rng.random(), 0.0
    for why, p in _DISCONTINUATION:
        cumulative += p
        if draw < cumulative:
            stop_after, reason = int(rng.integers(2, 4)), why  # after day 1, week 4 or week 8
            break
    effect = 0 if arm[0] == "ZX10" else 1
    doses: list[dict[str, str]] = []
    last_visit = day1
    for index, (visit, study_day) in enumerate(VISITS[1:], start=1):
        if index > stop_after:
            break
        day = day1 + dt.timedelta(days=study_day - 1 + (int(rng.integers(-2, 3)) if index > 1 else 0))
        if day > CUTOFF:
            break
        last_visit = day
        _vital_signs(rows, rng, subject, visit, day, first=False, weight=weight)
        if visit in ("WEEK 4", "WEEK 12"):
            _labs(rows, rng, subject, visit, day, effect, 1.0 if visit == "WEEK 12" else 0.4)
        if visit in ("DAY 1", "WEEK 4", "WEEK 8"):
            planned_end = day1 + dt.timedelta(days=VISITS[index + 1][1] - 2)
            doses.append(
                {
                    "SUBJECT": subject,
                    "VISIT": visit,
                    "KIT": arm[1],
                    "DOSE": arm[2],
                    "UNIT": "mg",
                    "EXSTDT": _us(day),
                    "EXENDT": _us(min(planned_end, CUTOFF)),
                }
            )
    end: dt.date | None = None
    if stop_after < len(VISITS):
        end = last_visit + dt.timedelta(days=int(rng.integers(5, 20)))
        doses[-1]["EXENDT"] = _us(min(end, CUTOFF))
        end = min(end, CUTOFF)
    elif last_visit >= day1 + dt.timedelta(days=VISITS[-1][1] - 3):
        end = last_visit  # the follow-up visit ends the study
    rows["ex"].extend(doses)
    _adverse_events(rows, rng, subject, day1, end or CUTOFF, reason == "Adverse Event", meddra)
    if end is not None:
        rows["ds"].append({"SUBJECT": subject, "DSPAGE": "END OF STUDY", "DSTERM": reason, "DSDT": _us(end)})


def _vital_signs(
    rows: dict[str, list[dict[str, str]]],
    rng: np.random.Generator,
    subject: str,
    visit: str,
    day: dt.date,
    *,
    first: bool,
    weight: float,
) -> None:
    """One wide page per visit: blood pressure, pulse, temperature in F, weight in pounds, height at screening."""
    not_done = rng.random() < 0.03
    rows["vs"].append(
        {
            "SUBJECT": subject,
            "VISIT": visit,
            "VSDT": _us(day),
            "SYSBP": "" if not_done else str(int(rng.normal(132, 12))),
            "DIABP": "" if not_done else str(int(rng.normal(82, 8))),
            "BPND": "Cuff not available" if not_done else "",
            "PULSE": str(int(rng.normal(74, 9))),
            "TEMP": f"{rng.normal(98.2, 0.5):.1f}",
            "WEIGHT": f"{weight + rng.normal(0, 1.5):.1f}",
            "HEIGHT": f"{rng.normal(67, 3.5):.1f}" if first else "",
        }
    )


def _labs(
    rows: dict[str, list[dict[str, str]]],
    rng: np.random.Generator,
    subject: str,
    visit: str,
    day: dt.date,
    arm: int | None,
    progress: float,
) -> None:
    """Central-lab results, one row per test, in conventional units."""
    for code, name, unit, (low, high), means, spread in _LABS:
        baseline = means[2]
        mean = baseline if arm is None else baseline + (means[arm] - baseline) * progress
        value = max(rng.normal(mean, spread), 0.1)
        text = f"{value:.1f}" if code == "HBA1C" else (f"{value:.2f}" if code == "CREAT" else str(round(value)))
        rows["lb"].append(
            {
                "SUBJECT": subject,
                "VISIT": visit,
                "LBDT": _us(day),
                "LBTESTCD": code,
                "LBTEST": name,
                "LBORRES": text,
                "LBORRESU": unit,
                "LBORNRLO": low,
                "LBORNRHI": high,
            }
        )


def _history(rows: dict[str, list[dict[str, str]]], rng: np.random.Generator, subject: str, consent: dt.date) -> None:
    """Type 2 diabetes for everyone, and some of the usual companions."""
    picked = [0, *[k for k in range(1, len(_HISTORY)) if rng.random() < 0.45]]
    for line, k in enumerate(picked, start=1):
        verbatim, pt, soc = _HISTORY[k]
        start = consent - dt.timedelta(days=int(rng.integers(400, 5000)))
        rows["mh"].append(
            {
                "SUBJECT": subject,
                "MHLINE": str(line),
                "MHTERM": verbatim,
                "MHDECOD": pt,
                "MHBODSYS": soc,
                "MHSTDT": _partial_us(start, rng),
                "MHONGO": "Yes",
            }
        )


def _medications(
    rows: dict[str, list[dict[str, str]]], rng: np.random.Generator, subject: str, consent: dt.date
) -> None:
    """Metformin for most, and what treats the history."""
    picked = [k for k in range(len(_MEDS)) if rng.random() < (0.85 if k == 0 else 0.35)]
    for line, k in enumerate(picked, start=1):
        verbatim, decod, atc, dose, unit, route, freq = _MEDS[k]
        start = consent - dt.timedelta(days=int(rng.integers(90, 3000)))
        rows["cm"].append(
            {
                "SUBJECT": subject,
                "CMLINE": str(line),
                "CMTRT": verbatim,
                "CMDECOD": decod,
                "CMCLAS": atc,
                "CMDOSE": dose,
                "CMDOSU": unit,
                "CMROUTE": route,
                "CMFREQ": freq,
                "CMSTDT": _partial_us(start, rng),
                "CMENDT": "",
                "CMONGO": "Yes",
            }
        )


def _adverse_events(
    rows: dict[str, list[dict[str, str]]],
    rng: np.random.Generator,
    subject: str,
    day1: dt.date,
    last: dt.date,
    stopped: bool,
    meddra: pd.DataFrame,
) -> None:
    """Mild to moderate events while on treatment; the one that stopped a subject is the last."""
    days = max((last - day1).days, 1)
    count = int(rng.poisson(1.2)) + int(stopped)
    for line in range(1, count + 1):
        verbatim, key = _EVENTS[int(rng.integers(0, len(_EVENTS)))]
        coded = meddra.loc[key]
        start = day1 + dt.timedelta(days=int(rng.integers(0, days)))
        severe = stopped and line == count
        end = start + dt.timedelta(days=int(rng.integers(1, 12)))
        ongoing = end > last
        rows["ae"].append(
            {
                "SUBJECT": subject,
                "AELINE": str(line),
                "AETERM": verbatim,
                **{f"AE{level}": str(coded[level]) for level in _MEDDRA_LEVELS},
                "AESTDT": _us(start),
                "AEENDT": "" if ongoing else _us(end),
                "AEONGO": "Yes" if ongoing else "No",
                "AESEV": "Severe" if severe else ("Moderate" if rng.random() < 0.3 else "Mild"),
                "AESER": "No",
                "AEREL": "Related" if rng.random() < 0.4 else "Not Related",
                "AEACN": "Drug Withdrawn" if severe else "Dose Not Changed",
                "AEOUT": "Not Recovered/Not Resolved" if ongoing else "Recovered/Resolved",
            }
        )
