"""Deterministic, vectorised generator of a synthetic raw EDC export for Daybreak-01.

Daybreak-01 (NCT07248696) is a single-arm phase II trial in de novo metastatic
nasopharyngeal carcinoma: induction tislelizumab + gemcitabine + cisplatin
(4-6 cycles q3w), then radiotherapy for partial responders only, then
tislelizumab maintenance q3w for up to two years. The generator simulates the
trial course per subject and writes one CSV per CRF form, the way an EDC system
exports it (all values as text, EDC dates ``DD-MMM-YYYY``, blanks for missing).

Everything is computed column-wise with numpy so that 100,000 subjects take
seconds: subject-level quantities are arrays of length ``n``, repeating
structures (cycles, assessments, RT targets) are ``n x k`` matrices flattened
with boolean masks, and log forms (AEs) are built with ``np.repeat``. Dates are
handled as integer day numbers (days since 1970-01-01) and only formatted at
the end through a lookup table.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from daybreak_sdtm import progress
from daybreak_sdtm.timing import stage

__all__ = ["CUTOFF", "FORMS", "STUDY", "generate_export"]

STUDY = "DAYBREAK-01"
SITES = ("101", "102", "103", "104")
# Uneven recruitment across sites, as in any multicentre trial.
SITE_WEIGHTS = (0.34, 0.26, 0.22, 0.18)

FORMS: dict[str, list[str]] = {
    "dm": ["STUDY", "SITENUMBER", "SUBJECT", "FOLDER", "ICDAT", "BRTHDAT", "AGE", "SEX", "ETHNIC", "RACE"],
    "ie": ["STUDY", "SITENUMBER", "SUBJECT", "FOLDER", "IEDAT", "IEYN", "TSTAGE", "NSTAGE", "MSTAGE", "STAGE", "ECOG"],
    "ex": [
        "STUDY",
        "SITENUMBER",
        "SUBJECT",
        "FOLDER",
        "PHASE",
        "CYCLE",
        "BSA",
        "TIS_YN",
        "TIS_DAT",
        "TIS_STTIM",
        "TIS_DOSE",
        "TIS_UNIT",
        "TIS_MOD",
        "TIS_MODREAS",
        "GEM1_YN",
        "GEM1_DAT",
        "GEM1_DOSE",
        "GEM1_UNIT",
        "GEM1_MOD",
        "GEM1_MODREAS",
        "GEM8_YN",
        "GEM8_DAT",
        "GEM8_DOSE",
        "GEM8_UNIT",
        "GEM8_MOD",
        "GEM8_MODREAS",
        "CIS_YN",
        "CIS_DAT",
        "CIS_DOSE",
        "CIS_UNIT",
        "CIS_MOD",
        "CIS_MODREAS",
    ],
    "rs": [
        "STUDY",
        "SITENUMBER",
        "SUBJECT",
        "FOLDER",
        "RSDAT",
        "METHOD",
        "TRGRESP",
        "NTRGRESP",
        "NEWLES",
        "OVRLRESP",
        "ASSESSOR",
    ],
    "rt": [
        "STUDY",
        "SITENUMBER",
        "SUBJECT",
        "FOLDER",
        "RTLINE",
        "RTTARGET",
        "RTSCHED",
        "RTSTDAT",
        "RTENDAT",
        "RTDOSEFX",
        "RTFXN",
        "RTTOTDOSE",
        "RTUNIT",
        "RTTECH",
    ],
    "ae": [
        "STUDY",
        "SITENUMBER",
        "SUBJECT",
        "FOLDER",
        "AELINE",
        "AETERM",
        "AELLT",
        "AELLTCD",
        "AEPT",
        "AEPTCD",
        "AEHLT",
        "AEHLTCD",
        "AEHLGT",
        "AEHLGTCD",
        "AESOC",
        "AESOCCD",
        "AESTDAT",
        "AEENDAT",
        "AEONGO",
        "AETOXGR",
        "AESER",
        "AESDTH",
        "AESLIFE",
        "AESHOSP",
        "AESDISAB",
        "AESCONG",
        "AESMIE",
        "AEREL_TIS",
        "AEREL_GEM",
        "AEREL_CIS",
        "AEREL_RT",
        "AEACN_TIS",
        "AEACN_GEM",
        "AEACN_CIS",
        "AEOUT",
        "AEIRAE",
    ],
    "eos": ["STUDY", "SITENUMBER", "SUBJECT", "FOLDER", "EOTDAT", "EOTREAS", "EOSDAT", "EOSREAS"],
    "death": ["STUDY", "SITENUMBER", "SUBJECT", "FOLDER", "DTHDAT", "DTHCAUSE"],
}


def _day(iso: str) -> int:
    """Return the day number (days since 1970-01-01) of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


STUDY_START = _day("2025-10-04")
ENROL_END = _day("2026-04-04")
CUTOFF_DAY = _day("2026-09-30")
CUTOFF = "2026-09-30"
# Sentinel for "does not happen (before the cut-off)"; far beyond any real date
# but small enough that adding a few days never overflows.
NEVER = 10**9
MAX_TREATMENT_DAYS = 730

_MONTHS = np.array(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
_TABLE_START = _day("1940-01-01")
_TABLE_END = _day("2031-01-01")


# ---------------------------------------------------------------------------
# Adverse-event profiles. Keys refer to TERMKEY in meddra.csv.
# w_pre/w_ind/w_post: relative frequency before first dose, during induction
# (up to 21 days after the last induction cycle) and afterwards (RT/maintenance);
# grades: probabilities of CTCAE grades 1-4; dur: mean duration in days;
# rel_tis/rel_chemo: probability the investigator calls it related;
# irae: probability it is flagged immune-related; ser: probability a grade >= 3
# event is serious; verbatims: investigator wording ("{g}" = grade number).
# ---------------------------------------------------------------------------
class _Profile(NamedTuple):
    w_pre: float
    w_ind: float
    w_post: float
    grades: tuple[float, ...]
    dur: float
    rel_tis: float
    rel_chemo: float
    irae: float
    ser: float
    verbatims: tuple[str, ...]


_AE_PROFILES: dict[
    str, tuple[float, float, float, tuple[float, ...], float, float, float, float, float, tuple[str, ...]]
] = {
    "NEUTROPENIA": (
        0,
        14,
        1,
        (0.15, 0.35, 0.35, 0.15),
        8,
        0.3,
        0.95,
        0,
        0.1,
        ("Neutropenia", "neutropenia", "low neutrophil count", "Neutropenia grade {g}", "decreased neutrophils"),
    ),
    "LEUKOPENIA": (
        0,
        10,
        1,
        (0.3, 0.4, 0.25, 0.05),
        10,
        0.3,
        0.95,
        0,
        0.05,
        ("Leukopenia", "leukopenia", "low white blood cell count", "WBC decreased", "Leukopenia grade {g}"),
    ),
    "ANAEMIA": (
        1,
        9,
        3,
        (0.35, 0.45, 0.18, 0.02),
        30,
        0.2,
        0.9,
        0,
        0.1,
        ("Anaemia", "anemia", "Anemia", "low haemoglobin", "Anaemia grade {g}"),
    ),
    "THROMBOCYTOPENIA": (
        0,
        8,
        1,
        (0.3, 0.3, 0.28, 0.12),
        8,
        0.2,
        0.95,
        0,
        0.1,
        ("Thrombocytopenia", "low platelets", "platelet count decreased", "Thrombocytopenia grade {g}"),
    ),
    "FEBRILE_NEUTROPENIA": (
        0,
        1.5,
        0.1,
        (0, 0, 0.85, 0.15),
        6,
        0.2,
        0.95,
        0,
        0.9,
        ("Febrile neutropenia", "febrile neutropenia", "neutropenic fever"),
    ),
    "NAUSEA": (
        1,
        12,
        2,
        (0.55, 0.38, 0.07, 0),
        5,
        0.2,
        0.9,
        0,
        0.05,
        ("Nausea", "nausea", "feeling sick", "Nausea grade {g}"),
    ),
    "VOMITING": (
        0.5,
        7,
        1,
        (0.55, 0.35, 0.1, 0),
        3,
        0.2,
        0.9,
        0,
        0.1,
        ("Vomiting", "vomiting", "emesis", "Vomiting grade {g}"),
    ),
    "DECREASED_APPETITE": (
        2,
        7,
        3,
        (0.6, 0.35, 0.05, 0),
        20,
        0.3,
        0.8,
        0,
        0.05,
        ("Decreased appetite", "loss of appetite", "anorexia", "poor appetite"),
    ),
    "FATIGUE": (
        3,
        8,
        6,
        (0.6, 0.35, 0.05, 0),
        25,
        0.5,
        0.7,
        0,
        0.02,
        ("Fatigue", "fatigue", "tiredness", "Fatigue grade {g}", "asthenia"),
    ),
    "CONSTIPATION": (
        2,
        6,
        2,
        (0.7, 0.28, 0.02, 0),
        7,
        0.1,
        0.6,
        0,
        0.02,
        ("Constipation", "constipation", "Constipation grade {g}"),
    ),
    "ALOPECIA": (0, 4, 0.3, (0.7, 0.3, 0, 0), 120, 0.05, 0.9, 0, 0, ("Alopecia", "hair loss", "Alopecia grade {g}")),
    "PERIPHERAL_SENSORY_NEUROPATHY": (
        0,
        2,
        1,
        (0.7, 0.27, 0.03, 0),
        90,
        0.1,
        0.85,
        0,
        0,
        ("Peripheral sensory neuropathy", "numbness in fingers", "peripheral neuropathy", "tingling hands and feet"),
    ),
    "TINNITUS": (0, 2, 0.5, (0.75, 0.23, 0.02, 0), 60, 0.05, 0.85, 0, 0, ("Tinnitus", "tinnitus", "ringing in ears")),
    "CREATININE_INCREASED": (
        0,
        3,
        1,
        (0.7, 0.25, 0.05, 0),
        14,
        0.2,
        0.9,
        0,
        0.1,
        ("Creatinine increased", "creatinine elevated", "serum creatinine increased", "Creatinine increased grade {g}"),
    ),
    "ALT_INCREASED": (
        0.3,
        4,
        3,
        (0.65, 0.25, 0.09, 0.01),
        14,
        0.6,
        0.6,
        0.25,
        0.05,
        ("ALT increased", "ALT elevation", "alanine aminotransferase increased", "elevated ALT"),
    ),
    "RASH": (
        0.2,
        3,
        4,
        (0.6, 0.3, 0.1, 0),
        14,
        0.8,
        0.3,
        0.45,
        0.05,
        ("Rash", "rash", "skin rash", "maculopapular rash", "Rash grade {g}"),
    ),
    "PRURITUS": (
        0.3,
        2,
        3,
        (0.7, 0.28, 0.02, 0),
        14,
        0.7,
        0.2,
        0.25,
        0,
        ("Pruritus", "itching", "pruritus", "itchy skin"),
    ),
    "HYPOTHYROIDISM": (
        0,
        1,
        4,
        (0.45, 0.5, 0.05, 0),
        400,
        0.97,
        0.05,
        1,
        0.02,
        ("Hypothyroidism", "hypothyroidism", "immune-related hypothyroidism", "irAE hypothyroidism"),
    ),
    "HYPERTHYROIDISM": (
        0,
        0.8,
        2.5,
        (0.6, 0.37, 0.03, 0),
        45,
        0.97,
        0.05,
        1,
        0.05,
        ("Hyperthyroidism", "hyperthyroidism", "immune-related hyperthyroidism", "thyroiditis with hyperthyroidism"),
    ),
    "PNEUMONITIS": (
        0,
        0.3,
        1.5,
        (0.3, 0.45, 0.2, 0.05),
        40,
        0.97,
        0.1,
        1,
        0.6,
        ("Pneumonitis", "pneumonitis", "immune-related pneumonitis", "checkpoint inhibitor pneumonitis"),
    ),
    "IMMUNE_HEPATITIS": (
        0,
        0.2,
        0.8,
        (0.2, 0.4, 0.35, 0.05),
        30,
        0.97,
        0.1,
        1,
        0.4,
        ("Immune-mediated hepatitis", "immune related hepatitis", "autoimmune hepatitis"),
    ),
    "INFUSION_REACTION": (
        0,
        1.5,
        0.5,
        (0.6, 0.35, 0.05, 0),
        1,
        0.8,
        0.3,
        0,
        0.1,
        ("Infusion related reaction", "infusion reaction", "reaction during infusion"),
    ),
    "SEPSIS": (0, 0.3, 0.1, (0, 0, 0.7, 0.3), 12, 0.1, 0.7, 0, 0.95, ("Sepsis", "sepsis", "septicaemia")),
    # Radiotherapy-branch terms: never drawn as general AEs (zero weights); they
    # are generated separately inside the RT window of PR subjects.
    "RADIATION_MUCOSITIS": (
        0,
        0,
        0,
        (0.35, 0.45, 0.2, 0),
        30,
        0,
        0,
        0,
        0.1,
        ("Radiation mucositis", "oral mucositis", "mucositis due to radiotherapy", "Mucositis grade {g}"),
    ),
    "RADIATION_DERMATITIS": (
        0,
        0,
        0,
        (0.5, 0.4, 0.1, 0),
        25,
        0,
        0,
        0,
        0.05,
        (
            "Radiation dermatitis",
            "radiation skin reaction",
            "skin reaction in RT field",
            "Radiation dermatitis grade {g}",
        ),
    ),
}

# Categorical code tables (index = code used in the simulation arrays).
_REL = np.array(["Related", "Not related", "Not applicable"], dtype=object)
REL_Y, REL_N, REL_NA = 0, 1, 2
_ACN = np.array(
    ["Dose not changed", "Drug interrupted", "Dose reduced", "Drug withdrawn", "Not applicable"], dtype=object
)
ACN_NC, ACN_INT, ACN_RED, ACN_WD, ACN_NA = 0, 1, 2, 3, 4
_OUT = np.array(
    [
        "Recovered/Resolved",
        "Recovering/Resolving",
        "Not recovered/Not resolved",
        "Recovered/Resolved with sequelae",
        "Fatal",
    ],
    dtype=object,
)
OUT_REC, OUT_RECING, OUT_NOT, OUT_SEQ, OUT_FATAL = 0, 1, 2, 3, 4
_YES_BLANK = np.array(["", "Yes"], dtype=object)
_NO_YES = np.array(["No", "Yes"], dtype=object)

_RESP = np.array(
    [
        "Complete Response",
        "Partial Response",
        "Stable Disease",
        "Progressive Disease",
        "Not Evaluable",
        "Non-CR/Non-PD",
    ],
    dtype=object,
)
R_CR, R_PR, R_SD, R_PD, R_NE, R_NN = 0, 1, 2, 3, 4, 5

_MOD_REASONS = np.array(["Neutropenia", "Thrombocytopenia", "Creatinine increased", "Nausea/vomiting"], dtype=object)
_GEM_REASON_P = (0.5, 0.3, 0.05, 0.15)
_CIS_REASON_P = (0.3, 0.1, 0.35, 0.25)
_MET_SITES = np.array(
    ["Liver metastasis", "Bone metastasis", "Lung metastasis", "Distant lymph node metastasis"], dtype=object
)

# End-of-treatment reasons (index = code).
_EOT = np.array(
    ["Progressive disease", "Adverse event", "Withdrawal by subject", "Death", "Completed 2 years of treatment"],
    dtype=object,
)
EOT_PD, EOT_AE, EOT_WD, EOT_DEATH, EOT_DONE = 0, 1, 2, 3, 4


# ---------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _date_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return lookup tables (full, unknown day, unknown day+month) indexed by day - _TABLE_START.

    Formatting ~33,000 calendar days once and then indexing is far cheaper than
    formatting millions of dates individually.
    """
    d64 = np.arange(_TABLE_START, _TABLE_END).astype("datetime64[D]")
    month_start = d64.astype("datetime64[M]")
    year = (d64.astype("datetime64[Y]").astype(np.int64) + 1970).astype(str)
    mon = _MONTHS[month_start.astype(np.int64) % 12]
    dom = np.strings.zfill(((d64 - month_start).astype(np.int64) + 1).astype(str), 2)
    mon_year = np.strings.add(np.strings.add(mon, "-"), year)
    full = np.strings.add(np.strings.add(dom, "-"), mon_year).astype(object)
    no_day = np.strings.add("UN-", mon_year).astype(object)
    no_month = np.strings.add("UN-UNK-", year).astype(object)
    return full, no_day, no_month


def _fmt_dates(days: np.ndarray, present: np.ndarray | None = None, precision: np.ndarray | None = None) -> np.ndarray:
    """Format day numbers as EDC dates.

    Args:
        days: Integer day numbers.
        present: Optional boolean mask; False gives a blank value.
        precision: Optional int array: 0 full date, 1 unknown day, 2 unknown day and month.

    Returns:
        Object array of strings.
    """
    full, no_day, no_month = _date_tables()
    idx = np.clip(np.asarray(days, dtype=np.int64) - _TABLE_START, 0, len(full) - 1)
    out = full[idx]
    if precision is not None:
        out = np.where(precision == 1, no_day[idx], out)
        out = np.where(precision == 2, no_month[idx], out)
    if present is not None:
        out = np.where(present, out, "")
    return out.astype(object, copy=False)


@lru_cache(maxsize=1)
def _int_table() -> np.ndarray:
    """Return str(i) for i in 0..9999 as an object array (cycle numbers, line numbers, ages)."""
    return np.arange(10000).astype(str).astype(object)


def _ints(values: np.ndarray) -> np.ndarray:
    """Format small non-negative integers as text."""
    return _int_table()[np.asarray(values, dtype=np.int64)]


def _pick(table: np.ndarray, codes: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """Map integer codes to labels, blank where ``present`` is False."""
    out = table[codes]
    if present is not None:
        out = np.where(present, out, "")
    return out.astype(object, copy=False)


def _const(value: str, n: int) -> np.ndarray:
    """Return an object array holding the same string n times."""
    out = np.empty(n, dtype=object)
    out[:] = value
    return out


def _choice(rng: np.random.Generator, p: tuple[float, ...] | np.ndarray, size: int | tuple[int, ...]) -> np.ndarray:
    """Draw category codes 0..len(p)-1 with probabilities p (vectorised inverse CDF)."""
    # Searching u * total in the raw cumulative sums (instead of normalising)
    # guarantees that trailing zero-weight categories are never drawn.
    cum = np.cumsum(np.asarray(p, dtype=float))
    return np.searchsorted(cum, rng.random(size) * cum[-1], side="right")


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split day numbers into (year, month 1-12, day of month)."""
    d64 = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    m64 = d64.astype("datetime64[M]")
    year = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    month = m64.astype(np.int64) % 12 + 1
    dom = (d64 - m64).astype(np.int64) + 1
    return year, month, dom


@lru_cache(maxsize=1)
def load_meddra() -> pd.DataFrame:
    """Load the illustrative MedDRA subset shipped with the generator (all columns as text)."""
    path = Path(__file__).with_name("meddra.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# ---------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------
def _frame(form: str, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Build a form's DataFrame column-wise in the contract's column order."""
    return pd.DataFrame({name: columns[name] for name in FORMS[form]}, dtype=object)


def _ids(subj: dict[str, np.ndarray], sidx: np.ndarray, folder: np.ndarray | str) -> dict[str, np.ndarray]:
    """Return the four key columns every form starts with, for rows of subjects ``sidx``."""
    n = len(sidx)
    return {
        "STUDY": _const(STUDY, n),
        "SITENUMBER": subj["site"][sidx],
        "SUBJECT": subj["subject"][sidx],
        "FOLDER": _const(folder, n) if isinstance(folder, str) else folder,
    }


def _simulate(n: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Simulate the trial for n subjects and return one DataFrame per form."""
    ar = np.arange(n)

    # --- Enrolment and subject identifiers -------------------------------------------
    site_code = _choice(rng, SITE_WEIGHTS, n)
    ic = STUDY_START + rng.integers(0, ENROL_END - STUDY_START + 1, n)
    # Subjects are numbered within site in order of consent; the export is sorted by SUBJECT.
    order = np.lexsort((ic, site_code))
    site_code, ic = site_code[order], ic[order]
    running = ar - np.searchsorted(site_code, site_code, side="left") + 1
    width = max(3, len(str(int(running.max()))))
    site = np.array(SITES, dtype=object)[site_code]
    subject = np.strings.add(
        np.strings.add(np.array(SITES)[site_code], "-"), np.strings.zfill(running.astype(str), width)
    ).astype(object)
    subj = {"site": site, "subject": subject}

    # --- Demographics -----------------------------------------------------------------
    male = rng.random(n) < 0.75
    target_age = np.clip(np.rint(rng.normal(48.0, 9.5, n)), 18, 70)
    # Keep birthdays at least a week away from the consent anniversary so the
    # mean-year approximation cannot flip the age; the exact age is recomputed below.
    birth = ic - np.floor((target_age + rng.uniform(0.02, 0.98, n)) * 365.2425).astype(np.int64)
    iy, im, idd = _ymd(ic)
    by, bm, bd = _ymd(birth)
    age = iy - by - ((im < bm) | ((im == bm) & (idd < bd))).astype(np.int64)
    u = rng.random(n)
    birth_prec = np.where(u < 0.03, 2, np.where(u < 0.13, 1, 0))
    bsa_mean = np.where(male, 1.80, 1.60)
    bsa_sd = np.where(male, 0.12, 0.10)
    bsa_cents = np.clip(np.rint((bsa_mean + bsa_sd * rng.standard_normal(n)) * 100), 145, 210).astype(np.int64)
    bsa_text = np.strings.add("1.", np.strings.zfill((bsa_cents - 100).astype(str), 2))
    bsa_text = np.where(
        bsa_cents >= 200, np.strings.add("2.", np.strings.zfill((bsa_cents - 200).astype(str), 2)), bsa_text
    ).astype(object)

    # --- Eligibility and first dose -----------------------------------------------------
    fd_gap = rng.integers(3, 22, n)
    fd = ic + fd_gap
    iedat = ic + np.floor(rng.random(n) * fd_gap).astype(np.int64)
    tstage = _choice(rng, (0.10, 0.20, 0.35, 0.35), n)
    nstage = _choice(rng, (0.10, 0.30, 0.35, 0.25), n)
    m1b = rng.random(n) < 0.55
    ecog1 = rng.random(n) < 0.45

    # --- Induction schedule ---------------------------------------------------------------
    max_ind = 6
    n_ind = np.array([4, 5, 6])[_choice(rng, (0.25, 0.25, 0.5), n)]
    ind_valid = np.arange(max_ind)[None, :] < n_ind[:, None]
    delayed = rng.random((n, max_ind)) < 0.10
    delayed[:, 0] = False
    delay = np.where(delayed, rng.integers(1, 8, (n, max_ind)), 0)
    pi_off = rng.integers(17, 22, n)

    def induction_days(delay_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        step = 21 + delay_matrix
        step[:, 0] = 0
        days = fd[:, None] + np.cumsum(step, axis=1)
        last = days[ar, n_ind - 1]
        return days, last, last + pi_off

    cyc_day, last_c, pi_day = induction_days(delay)
    # Every subject must reach the post-induction assessment and (if PR) start RT
    # before the cut-off; late enrolees therefore get their induction undelayed.
    too_late = pi_day + 28 > CUTOFF_DAY
    delayed &= ~too_late[:, None]
    delay = np.where(delayed, delay, 0)
    cyc_day, last_c, pi_day = induction_days(delay)

    # Dose reductions happen from cycle 2 on (a reaction to toxicity in the previous cycle).
    later_cycle = np.arange(max_ind)[None, :] >= 1
    gem_red = (rng.random((n, max_ind)) < 0.095) & later_cycle
    cis_red = (rng.random((n, max_ind)) < 0.095) & later_cycle
    gem_reason = _choice(rng, _GEM_REASON_P, (n, max_ind))
    cis_reason = _choice(rng, _CIS_REASON_P, (n, max_ind))
    gem8_skip = rng.random((n, max_ind)) < 0.03
    gem8_skip_reason = rng.integers(0, 2, (n, max_ind))  # Neutropenia / Thrombocytopenia
    gem8_red = (gem_red | ((rng.random((n, max_ind)) < 0.03) & later_cycle)) & ~gem8_skip
    gem8_reason = np.where(gem_red, gem_reason, _choice(rng, (0.6, 0.4), (n, max_ind)))
    gem8_day = cyc_day + 7
    last_gp_cycle_skip = gem8_skip[ar, n_ind - 1]
    last_gp = np.where(last_gp_cycle_skip, last_c, last_c + 7)
    tis_time = rng.integers(0, 96, (n, max_ind))

    # --- Tumour response ------------------------------------------------------------------
    c2_day = cyc_day[:, 2] - rng.integers(1, 6, n)
    c2_sd = rng.random(n) < 0.35
    cr = rng.random(n) < 0.30
    pr = ~cr

    # --- Radiotherapy (PR only) -----------------------------------------------------------
    rt_start = pi_day + rng.integers(14, 29, n)
    rt_end = rt_start + rng.integers(25, 28, n)
    n_met = 1 + _choice(rng, (0.5, 0.35, 0.15), n)
    met_perm = np.argsort(rng.random((n, 4)), axis=1)[:, :3]
    met_seq = rng.random((n, 3)) < 0.5
    met_start = np.where(met_seq, rt_end[:, None] + rng.integers(1, 8, (n, 3)), rt_start[:, None])
    met_end = np.where(met_seq, met_start + rng.integers(25, 28, (n, 3)), rt_end[:, None])
    met_valid = np.arange(3)[None, :] < n_met[:, None]
    rt_last_end = np.maximum(rt_end, np.where(met_valid, met_end, 0).max(axis=1))

    # --- Maintenance ----------------------------------------------------------------------
    m1 = np.where(cr, last_c + 21, rt_last_end + rng.integers(7, 22, n))
    cap_day = fd + MAX_TREATMENT_DAYS
    n_assess = max(1, int(max(0, CUTOFF_DAY - int(m1.min())) // 63) + 1)
    assess_k = np.arange(1, n_assess + 1)
    assess_day = m1[:, None] + 63 * assess_k[None, :] + rng.integers(-3, 4, (n, n_assess))

    progressor = rng.random(n) < 0.35
    pfs = rng.exponential(120.0, n)
    k_pd = np.maximum(1, np.ceil(pfs / 63.0)).astype(np.int64)
    pd_day = np.where(progressor & (k_pd <= n_assess), assess_day[ar, np.minimum(k_pd, n_assess) - 1], NEVER)
    tox_day = np.where(rng.random(n) < 0.05, m1 + rng.integers(15, 200, n), NEVER)
    wd_day = np.where(rng.random(n) < 0.05, m1 + rng.integers(10, 200, n), NEVER)

    # Fatal adverse events: a fixed small share of subjects, chosen among those
    # with at least a few weeks of maintenance before the cut-off.
    eligible = m1 + 25 <= CUTOFF_DAY - 15
    n_fatal = min(int(eligible.sum()), max(1, round(n * 0.035)))
    fatal_rank = np.argsort(np.where(eligible, rng.random(n), np.inf), kind="stable")
    fatal = np.zeros(n, dtype=bool)
    fatal[fatal_rank[:n_fatal]] = True
    fatal_on = m1 + 10 + np.floor(rng.random(n) * np.maximum(0, CUTOFF_DAY - 15 - (m1 + 10))).astype(np.int64)
    fatal_day = np.where(fatal, fatal_on, NEVER)
    fatal_death = fatal_day + rng.integers(1, 15, n)
    fatal_pneumonitis = rng.random(n) < 0.5
    pd_day = np.where(fatal, NEVER, pd_day)
    tox_day = np.where(fatal, NEVER, tox_day)
    wd_day = np.where(fatal, NEVER, wd_day)

    # Events after the cut-off are not (yet) in the export.
    pd_day = np.where(pd_day <= CUTOFF_DAY, pd_day, NEVER)
    tox_day = np.where(tox_day <= CUTOFF_DAY, tox_day, NEVER)
    wd_day = np.where(wd_day <= CUTOFF_DAY, wd_day, NEVER)
    events = np.stack([pd_day, tox_day, wd_day, fatal_day], axis=1)
    stop_code = np.argmin(events, axis=1)
    stop_day = events[ar, stop_code]
    # Progression is only observed while the subject is still in the study.
    pd_obs = np.where((stop_code == 0) | (stop_code == 1), pd_day, NEVER)
    wd_obs = np.where(stop_code == 2, wd_day, NEVER)
    tox_obs = np.where((stop_code == 1) & (tox_day <= cap_day), tox_day, NEVER)

    dies_after_pd = (rng.random(n) < 0.40) & (pd_obs < NEVER)
    pd_death = pd_obs + rng.integers(30, 201, n)
    death = np.where(fatal, fatal_death, np.where(dies_after_pd & (pd_death <= CUTOFF_DAY), pd_death, NEVER))

    # Maintenance dosing: q3w from m1 with occasional delays.
    n_maint = max(1, int(max(0, CUTOFF_DAY - int(m1.min())) // 21) + 2)
    m_delayed = rng.random((n, n_maint)) < 0.10
    m_delayed[:, 0] = False
    m_step = np.where(m_delayed, 21 + rng.integers(1, 8, (n, n_maint)), 21)
    m_step[:, 0] = 0
    m_day = m1[:, None] + np.cumsum(m_step, axis=1)
    m_time = rng.integers(0, 96, (n, n_maint))
    m_valid = (m_day <= CUTOFF_DAY) & (m_day < stop_day[:, None]) & (m_day <= cap_day[:, None])

    last_maint = np.where(m_valid, m_day, -NEVER).max(axis=1)
    last_dose = np.maximum(last_gp, last_maint)
    # Treatment is complete after two years if no other event came first.
    done = (stop_day > cap_day) & (cap_day <= CUTOFF_DAY) & (last_maint > 0)
    eot_code = np.where(done, EOT_DONE, np.where(stop_code == 3, EOT_DEATH, stop_code))
    eot_day = np.full(n, NEVER, dtype=np.int64)
    eot_day = np.where(stop_code == 0, np.minimum(pd_obs + rng.integers(0, 8, n), CUTOFF_DAY), eot_day)
    eot_day = np.where(stop_code == 1, np.minimum(tox_obs + rng.integers(1, 15, n), CUTOFF_DAY), eot_day)
    eot_day = np.where(stop_code == 2, wd_obs, eot_day)
    eot_day = np.where(stop_code == 3, death, eot_day)
    eot_day = np.where(stop_day >= NEVER, NEVER, eot_day)
    eot_day = np.where(done, last_dose, eot_day)
    eos_day = np.where(death < NEVER, death, wd_obs)
    eos_death = death < NEVER

    # Data are collected until death, withdrawal, the cut-off, or 90 days after end of treatment.
    obs_end = np.minimum.reduce([np.full(n, CUTOFF_DAY), death, wd_obs, eot_day + 90])

    forms: dict[str, pd.DataFrame] = {}

    # --- dm -----------------------------------------------------------------------------
    forms["dm"] = _frame(
        "dm",
        {
            **_ids(subj, ar, "SCREENING"),
            "ICDAT": _fmt_dates(ic),
            "BRTHDAT": _fmt_dates(birth, precision=birth_prec),
            "AGE": _ints(age),
            "SEX": _pick(np.array(["Female", "Male"], dtype=object), male.astype(np.int64)),
            "ETHNIC": _const("Not Hispanic or Latino", n),
            "RACE": _const("Asian", n),
        },
    )

    # --- ie -----------------------------------------------------------------------------
    forms["ie"] = _frame(
        "ie",
        {
            **_ids(subj, ar, "SCREENING"),
            "IEDAT": _fmt_dates(iedat),
            "IEYN": _const("Yes", n),
            "TSTAGE": _pick(np.array(["T1", "T2", "T3", "T4"], dtype=object), tstage),
            "NSTAGE": _pick(np.array(["N0", "N1", "N2", "N3"], dtype=object), nstage),
            "MSTAGE": _pick(np.array(["M1a", "M1b"], dtype=object), m1b.astype(np.int64)),
            "STAGE": _pick(np.array(["IVA", "IVB"], dtype=object), m1b.astype(np.int64)),
            "ECOG": _pick(np.array(["0", "1"], dtype=object), ecog1.astype(np.int64)),
        },
    )

    # --- ex -----------------------------------------------------------------------------
    forms["ex"] = _ex_form(
        subj,
        n_ind,
        ind_valid,
        cyc_day,
        delayed,
        tis_time,
        gem_red,
        gem_reason,
        cis_red,
        cis_reason,
        gem8_skip,
        gem8_skip_reason,
        gem8_red,
        gem8_reason,
        gem8_day,
        m_valid,
        m_day,
        m_delayed,
        m_time,
        bsa_text,
    )

    # --- rs -----------------------------------------------------------------------------
    forms["rs"] = _rs_form(
        rng, subj, c2_day, c2_sd, pi_day, cr, assess_day, pd_obs, wd_obs, np.minimum(death, fatal_day)
    )

    # --- rt -----------------------------------------------------------------------------
    forms["rt"] = _rt_form(subj, pr, rt_start, rt_end, met_perm, met_seq, met_start, met_end, met_valid)

    # --- ae -----------------------------------------------------------------------------
    forms["ae"] = _ae_form(
        rng,
        subj,
        ic=ic,
        fd=fd,
        last_c=last_c,
        last_gp=last_gp,
        pr=pr,
        rt_start=rt_start,
        rt_last_end=rt_last_end,
        obs_end=obs_end,
        eot_day=eot_day,
        last_dose=last_dose,
        tox_obs=tox_obs,
        fatal=fatal,
        fatal_day=fatal_day,
        death=death,
        fatal_pneumonitis=fatal_pneumonitis,
    )

    # --- eos ----------------------------------------------------------------------------
    has_eot = eot_day < NEVER
    e_idx = ar[has_eot]
    eos_reason = np.where(eos_death, 1, np.where(wd_obs < NEVER, 2, 0))
    forms["eos"] = _frame(
        "eos",
        {
            **_ids(subj, e_idx, "END OF TREATMENT"),
            "EOTDAT": _fmt_dates(eot_day[e_idx]),
            "EOTREAS": _pick(_EOT, eot_code[e_idx]),
            "EOSDAT": _fmt_dates(eos_day[e_idx], present=eos_day[e_idx] < NEVER),
            "EOSREAS": _pick(np.array(["", "Death", "Withdrawal by subject"], dtype=object), eos_reason[e_idx]),
        },
    )

    # --- death --------------------------------------------------------------------------
    d_idx = ar[death < NEVER]
    forms["death"] = _frame(
        "death",
        {
            **_ids(subj, d_idx, "DEATH"),
            "DTHDAT": _fmt_dates(death[d_idx]),
            "DTHCAUSE": _pick(
                np.array(["Disease progression", "Adverse event"], dtype=object), fatal[d_idx].astype(np.int64)
            ),
        },
    )
    return forms


def _ex_form(
    subj: dict[str, np.ndarray],
    n_ind: np.ndarray,
    ind_valid: np.ndarray,
    cyc_day: np.ndarray,
    delayed: np.ndarray,
    tis_time: np.ndarray,
    gem_red: np.ndarray,
    gem_reason: np.ndarray,
    cis_red: np.ndarray,
    cis_reason: np.ndarray,
    gem8_skip: np.ndarray,
    gem8_skip_reason: np.ndarray,
    gem8_red: np.ndarray,
    gem8_reason: np.ndarray,
    gem8_day: np.ndarray,
    m_valid: np.ndarray,
    m_day: np.ndarray,
    m_delayed: np.ndarray,
    m_time: np.ndarray,
    bsa_text: np.ndarray,
) -> pd.DataFrame:
    """Build the Study Drug Administration form (induction rows, then maintenance rows per subject)."""
    times = _time_table()
    # Induction rows.
    si, ci = np.nonzero(ind_valid)
    k = len(si)
    d1 = cyc_day[si, ci]
    dl = delayed[si, ci]
    g_red, c_red = gem_red[si, ci], cis_red[si, ci]
    skip = gem8_skip[si, ci]
    g8_red = gem8_red[si, ci]
    ae_delay = _const("Adverse event", k)
    ind = {
        **_ids(subj, si, _pick(np.array([f"C{i}" for i in range(1, 7)], dtype=object), ci)),
        "PHASE": _const("Induction", k),
        "CYCLE": _ints(ci + 1),
        "BSA": bsa_text[si],
        "TIS_YN": _const("Yes", k),
        "TIS_DAT": _fmt_dates(d1),
        "TIS_STTIM": times[tis_time[si, ci]],
        "TIS_DOSE": _const("200", k),
        "TIS_UNIT": _const("mg", k),
        "TIS_MOD": _pick(_NO_YES, dl.astype(np.int64)),
        "TIS_MODREAS": np.where(dl, ae_delay, ""),
        "GEM1_YN": _const("Yes", k),
        "GEM1_DAT": _fmt_dates(d1),
        "GEM1_DOSE": np.where(g_red, "750", "1000").astype(object),
        "GEM1_UNIT": _const("mg/m2", k),
        "GEM1_MOD": _pick(_NO_YES, (g_red | dl).astype(np.int64)),
        "GEM1_MODREAS": np.where(g_red, _MOD_REASONS[gem_reason[si, ci]], np.where(dl, ae_delay, "")),
        "GEM8_YN": np.where(skip, "No", "Yes").astype(object),
        "GEM8_DAT": _fmt_dates(gem8_day[si, ci], present=~skip),
        "GEM8_DOSE": np.where(skip, "", np.where(g8_red, "750", "1000")).astype(object),
        "GEM8_UNIT": np.where(skip, "", "mg/m2").astype(object),
        "GEM8_MOD": np.where(skip, "", np.where(g8_red, "Yes", "No")).astype(object),
        "GEM8_MODREAS": np.where(
            skip, _MOD_REASONS[gem8_skip_reason[si, ci]], np.where(g8_red, _MOD_REASONS[gem8_reason[si, ci]], "")
        ),
        "CIS_YN": _const("Yes", k),
        "CIS_DAT": _fmt_dates(d1),
        "CIS_DOSE": np.where(c_red, "60", "80").astype(object),
        "CIS_UNIT": _const("mg/m2", k),
        "CIS_MOD": _pick(_NO_YES, (c_red | dl).astype(np.int64)),
        "CIS_MODREAS": np.where(c_red, _MOD_REASONS[cis_reason[si, ci]], np.where(dl, ae_delay, "")),
    }
    # Maintenance rows: only tislelizumab; chemotherapy columns are blank.
    ms, mj = np.nonzero(m_valid)
    km = len(ms)
    mdl = m_delayed[ms, mj]
    blank = _const("", km)
    maint = {
        **_ids(subj, ms, np.strings.add("M", (mj + 1).astype(str)).astype(object)),
        "PHASE": _const("Maintenance", km),
        "CYCLE": _ints(n_ind[ms] + mj + 1),
        "BSA": bsa_text[ms],
        "TIS_YN": _const("Yes", km),
        "TIS_DAT": _fmt_dates(m_day[ms, mj]),
        "TIS_STTIM": times[m_time[ms, mj]],
        "TIS_DOSE": _const("200", km),
        "TIS_UNIT": _const("mg", km),
        "TIS_MOD": _pick(_NO_YES, mdl.astype(np.int64)),
        "TIS_MODREAS": np.where(mdl, "Adverse event", "").astype(object),
    }
    for col in FORMS["ex"]:
        maint.setdefault(col, blank)
    # Rows sorted by subject, then by cycle number (induction first by construction).
    sort_key = np.concatenate([si, ms])
    cycle_key = np.concatenate([ci, n_ind[ms] + mj])
    order = np.lexsort((cycle_key, sort_key))
    cols = {
        c: np.concatenate([np.asarray(ind[c], dtype=object), np.asarray(maint[c], dtype=object)])[order]
        for c in FORMS["ex"]
    }
    return _frame("ex", cols)


@lru_cache(maxsize=1)
def _time_table() -> np.ndarray:
    """Infusion start times 08:00..15:55 in 5-minute steps."""
    minutes = 8 * 60 + 5 * np.arange(96)
    hh = np.strings.zfill((minutes // 60).astype(str), 2)
    mm = np.strings.zfill((minutes % 60).astype(str), 2)
    return np.strings.add(np.strings.add(hh, ":"), mm).astype(object)


def _rs_form(
    rng: np.random.Generator,
    subj: dict[str, np.ndarray],
    c2_day: np.ndarray,
    c2_sd: np.ndarray,
    pi_day: np.ndarray,
    cr: np.ndarray,
    assess_day: np.ndarray,
    pd_obs: np.ndarray,
    wd_obs: np.ndarray,
    death: np.ndarray,
) -> pd.DataFrame:
    """Build the RECIST 1.1 tumour response form.

    ``death`` is the last day an assessment may fall before (death or onset of a fatal AE).
    """
    n, n_assess = assess_day.shape
    ncol = 2 + n_assess
    days = np.concatenate([c2_day[:, None], pi_day[:, None], assess_day], axis=1)
    valid = np.ones((n, ncol), dtype=bool)
    valid[:, 2:] = (
        (assess_day <= CUTOFF_DAY)
        & (assess_day <= pd_obs[:, None])
        & (assess_day < wd_obs[:, None])
        & (assess_day < death[:, None])
    )
    # Overall response per assessment: C2 PR/SD, post-induction CR/PR, then
    # maintenance: CR stays CR, PR may deepen to CR (and stays CR), PD at the progression visit.
    deepen = np.maximum.accumulate(rng.random((n, n_assess)) < 0.12, axis=1)
    maint_resp = np.where(cr[:, None] | deepen, R_CR, R_PR)
    maint_resp = np.where(assess_day == pd_obs[:, None], R_PD, maint_resp)
    ovr = np.concatenate([np.where(c2_sd, R_SD, R_PR)[:, None], np.where(cr, R_CR, R_PR)[:, None], maint_resp], axis=1)
    prev_cr = np.concatenate(
        [np.zeros((n, 2), dtype=bool), np.concatenate([cr[:, None], maint_resp[:, :-1] == R_CR], axis=1)], axis=1
    )
    u_pd = rng.random((n, ncol))
    u_pr = rng.random((n, ncol))
    method = _choice(rng, (0.5, 0.3, 0.2), (n, ncol))

    si, ci = np.nonzero(valid)
    o = ovr[si, ci]
    up, ur, was_cr = u_pd[si, ci], u_pr[si, ci], prev_cr[si, ci]
    # Components consistent with RECIST 1.1 overall response.
    trg = np.select([o == R_CR, o == R_SD, o == R_PR], [R_CR, R_SD, np.where(ur < 0.1, R_CR, R_PR)], default=R_PD)
    ntrg = np.select(
        [o == R_CR, (o == R_PR) & (trg == R_CR), o == R_PR], [R_CR, R_NN, np.where(ur > 0.8, R_CR, R_NN)], default=R_NN
    )
    new = np.zeros(len(si), dtype=bool)
    is_pd = o == R_PD
    # PD through a new lesion (40%), target progression (45%) or unequivocal non-target progression (15%).
    pd_new = is_pd & (up < 0.40)
    pd_trg = is_pd & (up >= 0.40) & (up < 0.85)
    pd_ntrg = is_pd & (up >= 0.85)
    base = np.where(was_cr, R_CR, R_PR)
    trg = np.where(pd_new, base, trg)
    trg = np.where(pd_trg, R_PD, trg)
    trg = np.where(pd_ntrg, np.where(was_cr, R_CR, R_SD), trg)
    ntrg = np.where(is_pd, np.where(was_cr & ~pd_ntrg, R_CR, R_NN), ntrg)
    ntrg = np.where(pd_ntrg, R_PD, ntrg)
    new = pd_new
    folders = np.array(
        ["C2 ASSESSMENT", "POST-INDUCTION"] + [f"MAINT WK{9 * k}" for k in range(1, n_assess + 1)], dtype=object
    )
    k = len(si)
    return _frame(
        "rs",
        {
            **_ids(subj, si, folders[ci]),
            "RSDAT": _fmt_dates(days[si, ci]),
            "METHOD": _pick(np.array(["MRI", "CT", "PET-CT"], dtype=object), method[si, ci]),
            "TRGRESP": _pick(_RESP, trg),
            "NTRGRESP": _pick(_RESP, ntrg),
            "NEWLES": _pick(_NO_YES, new.astype(np.int64)),
            "OVRLRESP": _pick(_RESP, o),
            "ASSESSOR": _const("Investigator", k),
        },
    )


def _rt_form(
    subj: dict[str, np.ndarray],
    pr: np.ndarray,
    rt_start: np.ndarray,
    rt_end: np.ndarray,
    met_perm: np.ndarray,
    met_seq: np.ndarray,
    met_start: np.ndarray,
    met_end: np.ndarray,
    met_valid: np.ndarray,
) -> pd.DataFrame:
    """Build the radiotherapy form: primary, cervical nodes and 1-3 metastatic sites per PR subject."""
    n = len(pr)
    starts = np.concatenate([rt_start[:, None], rt_start[:, None], met_start], axis=1)
    ends = np.concatenate([rt_end[:, None], rt_end[:, None], met_end], axis=1)
    valid = np.concatenate([np.ones((n, 2), dtype=bool), met_valid], axis=1) & pr[:, None]
    # A course that has not started by the cut-off is not in the export.
    valid &= starts <= CUTOFF_DAY
    targets = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.ones((n, 1), dtype=np.int64), 2 + met_perm], axis=1)
    target_names = np.concatenate(
        [np.array(["Nasopharyngeal primary", "Cervical lymph nodes"], dtype=object), _MET_SITES]
    )
    seq = np.concatenate([np.zeros((n, 2), dtype=bool), met_seq], axis=1)
    line = np.cumsum(valid, axis=1)
    si, ci = np.nonzero(valid)
    k = len(si)
    end = ends[si, ci]
    return _frame(
        "rt",
        {
            **_ids(subj, si, "RADIOTHERAPY"),
            "RTLINE": _ints(line[si, ci]),
            "RTTARGET": target_names[targets[si, ci]],
            "RTSCHED": _pick(np.array(["Concurrent", "Sequential"], dtype=object), seq[si, ci].astype(np.int64)),
            "RTSTDAT": _fmt_dates(starts[si, ci]),
            # Still being irradiated at the cut-off: no end date yet.
            "RTENDAT": _fmt_dates(end, present=end <= CUTOFF_DAY),
            "RTDOSEFX": _const("2.75", k),
            "RTFXN": _const("20", k),
            "RTTOTDOSE": _const("55", k),
            "RTUNIT": _const("Gy", k),
            "RTTECH": _const("IMRT", k),
        },
    )


def _repeats(*keys: np.ndarray, first: np.ndarray | None = None, scatter: np.ndarray | None = None) -> np.ndarray:
    """Which records repeat the key values of an earlier one (records ``first`` marks count as earliest).

    With ``scatter`` (a mask the keys were taken with), the answer is put back in the masked
    records of an array of the mask's length, False elsewhere.
    """
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
    if first is None:
        repeated = frame.duplicated().to_numpy()
    else:
        order = np.argsort(~first, kind="stable")
        repeated = np.empty(len(frame), dtype=bool)
        repeated[order] = frame.iloc[order].duplicated().to_numpy()
    if scatter is None:
        return repeated
    out = np.zeros(len(scatter), dtype=bool)
    out[scatter] = repeated
    return out


def _ae_form(
    rng: np.random.Generator,
    subj: dict[str, np.ndarray],
    *,
    ic: np.ndarray,
    fd: np.ndarray,
    last_c: np.ndarray,
    last_gp: np.ndarray,
    pr: np.ndarray,
    rt_start: np.ndarray,
    rt_last_end: np.ndarray,
    obs_end: np.ndarray,
    eot_day: np.ndarray,
    last_dose: np.ndarray,
    tox_obs: np.ndarray,
    fatal: np.ndarray,
    fatal_day: np.ndarray,
    death: np.ndarray,
    fatal_pneumonitis: np.ndarray,
) -> pd.DataFrame:
    """Build the adverse event log."""
    n = len(ic)
    meddra = load_meddra()
    keys = list(meddra["TERMKEY"])
    key_idx = {k: i for i, k in enumerate(keys)}
    prof = [_Profile(*_AE_PROFILES[k]) for k in keys]

    # General AEs: 2..9 per subject, more with longer follow-up.
    months = (obs_end - fd) / 30.44
    cnt = np.clip(2 + rng.poisson(1.5 + 0.45 * np.maximum(months, 0)), 2, 9)
    g_sidx = np.repeat(np.arange(n), cnt)
    lo = np.maximum(ic, fd - 5)[g_sidx]
    hi = obs_end[g_sidx]
    # Most toxicity occurs early (chemotherapy), hence the skew towards the start.
    g_on = lo + np.floor(rng.random(len(g_sidx)) ** 1.4 * (hi - lo + 1)).astype(np.int64)
    g_on = np.minimum(g_on, hi)
    phase = np.where(g_on < fd[g_sidx], 0, np.where(g_on <= last_c[g_sidx] + 21, 1, 2))
    g_term = np.zeros(len(g_sidx), dtype=np.int64)
    for p, field in enumerate(("w_pre", "w_ind", "w_post")):
        rows = np.nonzero(phase == p)[0]
        weights = np.array([getattr(pf, field) for pf in prof], dtype=float)
        g_term[rows] = _choice(rng, weights, len(rows))

    # Radiotherapy AEs: mucositis and dermatitis during or shortly after RT, PR subjects only.
    rt_subjects = pr & (rt_start <= CUTOFF_DAY)
    parts_s, parts_t, parts_on = [g_sidx], [g_term], [g_on]
    for key, share in (("RADIATION_MUCOSITIS", 0.65), ("RADIATION_DERMATITIS", 0.55)):
        onset = rt_start + rng.integers(7, 22, n)
        has = rt_subjects & (rng.random(n) < share) & (onset <= obs_end)
        idx = np.nonzero(has)[0]
        parts_s.append(idx)
        parts_t.append(np.full(len(idx), key_idx[key]))
        parts_on.append(onset[idx])
    # The AE that leads to permanent discontinuation of tislelizumab.
    tox_idx = np.nonzero(tox_obs < NEVER)[0]
    tox_terms = np.array([key_idx[k] for k in ("PNEUMONITIS", "IMMUNE_HEPATITIS", "RASH", "HYPERTHYROIDISM")])
    parts_s.append(tox_idx)
    parts_t.append(tox_terms[_choice(rng, (0.45, 0.35, 0.12, 0.08), len(tox_idx))])
    parts_on.append(tox_obs[tox_idx])
    # Fatal AEs.
    fat_idx = np.nonzero(fatal)[0]
    parts_s.append(fat_idx)
    parts_t.append(np.where(fatal_pneumonitis[fat_idx], key_idx["PNEUMONITIS"], key_idx["SEPSIS"]))
    parts_on.append(fatal_day[fat_idx])

    kind = np.concatenate(
        [np.zeros(len(g_sidx), dtype=np.int8)]
        + [np.full(len(parts_s[i]), 1, dtype=np.int8) for i in (1, 2)]
        + [np.full(len(tox_idx), 2, dtype=np.int8), np.full(len(fat_idx), 3, dtype=np.int8)]
    )
    sidx = np.concatenate(parts_s)
    term = np.concatenate(parts_t)
    onset = np.concatenate(parts_on)
    # STUDYID, USUBJID, AEDECOD and AESTDTC identify an AE record (the study's keys): a general or
    # radiotherapy AE repeating the subject, term and onset day of another is not kept; the AE
    # leading to discontinuation and a fatal AE always are.
    keep = ~_repeats(sidx, term, onset, first=kind >= 2)
    sidx, term, onset, kind = sidx[keep], term[keep], onset[keep], kind[keep]
    m = len(sidx)
    is_tox, is_fatal = kind == 2, kind == 3

    # Per-term attributes as arrays indexed by term code.
    grade_cdf = np.cumsum(np.array([pf.grades for pf in prof], dtype=float), axis=1)
    grade_cdf /= grade_cdf[:, -1:]
    dur_mean = np.array([pf.dur for pf in prof], dtype=float)
    rel_tis_p = np.array([pf.rel_tis for pf in prof])
    rel_chemo_p = np.array([pf.rel_chemo for pf in prof])
    irae_p = np.array([pf.irae for pf in prof])
    ser_p = np.array([pf.ser for pf in prof])
    sequelae_prone = np.isin(np.array(keys), ["PERIPHERAL_SENSORY_NEUROPATHY", "TINNITUS", "ALOPECIA"])

    u = rng.random(m)
    grade = 1 + (u[:, None] >= grade_cdf[term]).sum(axis=1)
    grade = np.minimum(grade, 4)
    grade = np.where(is_tox, np.maximum(grade, 3), grade)
    grade = np.where(is_fatal, 5, grade)

    # Dates and outcome.
    end = onset + 1 + np.floor(rng.exponential(1.0, m) * dur_mean[term]).astype(np.int64)
    s_death = death[sidx]
    end = np.where(is_fatal, s_death, end)
    ongoing = (end > obs_end[sidx]) & ~is_fatal
    u_out = rng.random(m)
    outcome = np.where(
        ongoing,
        np.where(u_out < 0.2, OUT_RECING, OUT_NOT),
        np.where(u_out < np.where(sequelae_prone[term], 0.2, 0.04), OUT_SEQ, OUT_REC),
    )
    outcome = np.where(is_fatal, OUT_FATAL, outcome)
    partial = (kind == 0) & (rng.random(m) < 0.05)
    # Two month-only onsets of one term in one month would repeat the keys: the later is full.
    month = _fmt_dates(onset, precision=np.ones(m, dtype=np.int64))
    partial &= ~_repeats(sidx[partial], term[partial], month[partial], scatter=partial)

    # Seriousness and criteria.
    serious = np.where(grade >= 3, rng.random(m) < ser_p[term], rng.random(m) < 0.01) | is_fatal
    crit = rng.random((m, 3))
    slife = serious & (grade == 4) & (crit[:, 0] < 0.4)
    smie = serious & (crit[:, 1] < 0.1)
    shosp = serious & ((crit[:, 2] < 0.95) | ~(slife | smie))
    sdth = is_fatal

    # Causality. "Not applicable" when the treatment was not (yet / any longer) given.
    s_fd, s_last_gp = fd[sidx], last_gp[sidx]
    chemo_window = (onset >= s_fd) & (onset <= s_last_gp + 30)
    r = rng.random((m, 4))
    rel_tis = np.where(onset < s_fd, REL_N, np.where(r[:, 0] < rel_tis_p[term], REL_Y, REL_N))
    rel_gem = np.where(
        onset < s_fd, REL_N, np.where(chemo_window, np.where(r[:, 1] < rel_chemo_p[term], REL_Y, REL_N), REL_NA)
    )
    rel_cis = np.where(
        onset < s_fd, REL_N, np.where(chemo_window, np.where(r[:, 2] < rel_chemo_p[term], REL_Y, REL_N), REL_NA)
    )
    s_pr, s_rt = pr[sidx], rt_start[sidx]
    rel_rt = np.where(~s_pr | (onset < s_rt), REL_NA, np.where(r[:, 3] < 0.1, REL_Y, REL_N))
    rel_rt = np.where(kind == 1, REL_Y, rel_rt)
    rel_tis = np.where(kind == 1, REL_N, rel_tis)
    rel_tis = np.where(is_tox | (is_fatal & (term == key_idx["PNEUMONITIS"])), REL_Y, rel_tis)

    # Action taken with each drug.
    a = rng.random((m, 3))
    hi_grade = grade >= 3
    tis_stopped = (eot_day[sidx] < NEVER) & (onset > last_dose[sidx])
    acn_tis = np.where(hi_grade, np.where(a[:, 0] < 0.55, ACN_INT, ACN_NC), np.where(a[:, 0] < 0.08, ACN_INT, ACN_NC))
    acn_tis = np.where((onset < s_fd) | tis_stopped, ACN_NA, acn_tis)
    acn_tis = np.where(is_tox | is_fatal, ACN_WD, acn_tis)

    def chemo_acn(col: int) -> np.ndarray:
        x = a[:, col]
        hi_ = np.select([x < 0.35, x < 0.70], [ACN_RED, ACN_INT], default=ACN_NC)
        lo_ = np.select([x < 0.06, x < 0.12], [ACN_RED, ACN_INT], default=ACN_NC)
        out = np.where(hi_grade, hi_, lo_)
        return np.where((onset < s_fd) | (onset > s_last_gp), ACN_NA, out)

    acn_gem, acn_cis = chemo_acn(1), chemo_acn(2)

    # The discontinuation AE is an immune-mediated toxicity of tislelizumab by construction.
    irae = (rng.random(m) < irae_p[term]) | is_tox

    # Verbatim terms: loop over the (small) term table and its wording variants.
    verbatim = np.empty(m, dtype=object)
    v_choice = rng.random(m)
    for t, pf in enumerate(prof):
        rows = np.nonzero(term == t)[0]
        if len(rows) == 0:
            continue
        variants = pf.verbatims
        pick = np.minimum((v_choice[rows] * len(variants)).astype(np.int64), len(variants) - 1)
        for vi, text in enumerate(variants):
            vrows = rows[pick == vi]
            if "{g}" in text:
                for g in range(1, 6):
                    verbatim[vrows[grade[vrows] == g]] = text.format(g=g)
            else:
                verbatim[vrows] = text

    # Order per subject by onset; AELINE counts within subject.
    order = np.lexsort((np.arange(m), onset, sidx))
    sidx, term, onset, end, grade = sidx[order], term[order], onset[order], end[order], grade[order]
    ongoing, outcome, partial, serious = ongoing[order], outcome[order], partial[order], serious[order]
    slife, smie, shosp, sdth = slife[order], smie[order], shosp[order], sdth[order]
    rel_tis, rel_gem, rel_cis, rel_rt = rel_tis[order], rel_gem[order], rel_cis[order], rel_rt[order]
    acn_tis, acn_gem, acn_cis, irae, verbatim = (
        acn_tis[order],
        acn_gem[order],
        acn_cis[order],
        irae[order],
        verbatim[order],
    )
    line = np.arange(m) - np.searchsorted(sidx, sidx, side="left") + 1

    md = {c: meddra[c].to_numpy(dtype=object) for c in meddra.columns}
    grade_txt = np.array(["", "Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5"], dtype=object)
    return _frame(
        "ae",
        {
            **_ids(subj, sidx, "AE"),
            "AELINE": _ints(line),
            "AETERM": verbatim,
            "AELLT": md["LLT"][term],
            "AELLTCD": md["LLTCD"][term],
            "AEPT": md["PT"][term],
            "AEPTCD": md["PTCD"][term],
            "AEHLT": md["HLT"][term],
            "AEHLTCD": md["HLTCD"][term],
            "AEHLGT": md["HLGT"][term],
            "AEHLGTCD": md["HLGTCD"][term],
            "AESOC": md["SOC"][term],
            "AESOCCD": md["SOCCD"][term],
            "AESTDAT": _fmt_dates(onset, precision=partial.astype(np.int64)),
            "AEENDAT": _fmt_dates(end, present=~ongoing),
            "AEONGO": _pick(_NO_YES, ongoing.astype(np.int64)),
            "AETOXGR": grade_txt[grade],
            "AESER": _pick(_NO_YES, serious.astype(np.int64)),
            "AESDTH": _pick(_YES_BLANK, sdth.astype(np.int64)),
            "AESLIFE": _pick(_YES_BLANK, slife.astype(np.int64)),
            "AESHOSP": _pick(_YES_BLANK, shosp.astype(np.int64)),
            "AESDISAB": _const("", m),
            "AESCONG": _const("", m),
            "AESMIE": _pick(_YES_BLANK, smie.astype(np.int64)),
            "AEREL_TIS": _pick(_REL, rel_tis),
            "AEREL_GEM": _pick(_REL, rel_gem),
            "AEREL_CIS": _pick(_REL, rel_cis),
            "AEREL_RT": _pick(_REL, rel_rt),
            "AEACN_TIS": _pick(_ACN, acn_tis),
            "AEACN_GEM": _pick(_ACN, acn_gem),
            "AEACN_CIS": _pick(_ACN, acn_cis),
            "AEOUT": _pick(_OUT, outcome),
            "AEIRAE": _pick(_NO_YES, irae.astype(np.int64)),
        },
    )


def generate_export(out_dir: Path, subjects: int = 32, seed: int = 20251004) -> dict[str, int]:
    """Write one CSV per CRF form into out_dir; return {form name: row count}.

    Args:
        out_dir: Directory to write ``dm.csv``, ``ie.csv``, ... into (created if needed).
        subjects: Number of subjects to simulate.
        seed: Seed for ``numpy.random.Generator(PCG64(seed))``; the same
            (subjects, seed) always gives byte-identical files.

    Returns:
        Row count per form, in form order.

    Raises:
        ValueError: If ``subjects`` is not positive.
    """
    if subjects < 1:
        raise ValueError(f"subjects must be positive, got {subjects}")
    rng = np.random.Generator(np.random.PCG64(seed))
    with stage("simulate"):
        forms = _simulate(int(subjects), rng)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with stage("write_forms"):
        for i, name in enumerate(FORMS, 1):
            progress.step(f"{name}.csv", i, len(FORMS))
            df = forms[name]
            df.to_csv(out / f"{name}.csv", index=False, lineterminator="\n", encoding="utf-8")
            counts[name] = len(df)
    return counts
