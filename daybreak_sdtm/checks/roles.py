"""What checks ask of the standard instead of naming domains: the datasets SDTM gives a role, a
dataset's class and timing variable, and controlled terms by their NCI code.

Checks speak of classes and roles (``timing_variable`` of an Events dataset is its --STDTC), never
of a domain by name: the few datasets SDTM defines once per study (Demographics, Subject
Elements, the trial design datasets, Exposure as the source of DM's RFXSTDTC/RFXENDTC) are named
here and only here, and terms are found in the CT release by their NCI code, so a renamed
submission value is still the same term.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daybreak_sdtm.standards.model import FINDINGS, FINDINGS_ABOUT

if TYPE_CHECKING:
    from daybreak_sdtm.checks.package import Dataset
    from daybreak_sdtm.checks.registry import CheckContext

# SDTMIG 3.4 Demographics (DM): one record per subject, the subject's reference dates and arms.
DEMOGRAPHICS = "DM"
# SDTMIG 3.4 DM assumptions: RFXSTDTC and RFXENDTC are the first and last study treatment in EX.
EXPOSURE = "EX"
# SDTMIG 3.4 Subject Elements (SE): the elements each subject passed through, with their epochs and dates.
SUBJECT_ELEMENTS = "SE"
# SDTMIG 3.4 Trial Arms (TA): the planned arms, their elements in order and the epoch of each.
TRIAL_ARMS = "TA"
# SDTMIG 3.4 Subject Visits (SV): one record per visit each subject made.
SUBJECT_VISITS = "SV"
# SDTMIG 3.4 Disposition (DS): the subject's protocol milestones (informed consent) and disposition events (death).
DISPOSITION = "DS"
# SDTMIG 3.4 Trial Summary (TS): trial summary parameters (TSPARMCD, TSVAL, TSVCDREF, TSVCDVER).
TRIAL_SUMMARY = "TS"

# NCI codes of codelists and terms the checks compare with (CDISC SDTM CT).
NY = "C66742"  # No Yes Response
YES, NO = "C49488", "C49487"
OUTCOME = "C66768"  # Outcome of Event (OUT)
FATAL = "C48275"
NOT_RECOVERED = "C49494"  # NOT RECOVERED/NOT RESOLVED
RECOVERING = "C49496"  # RECOVERING/RESOLVING
RECOVERED = "C49498"  # RECOVERED/RESOLVED
RECOVERED_WITH_SEQUELAE = "C49495"  # RECOVERED/RESOLVED WITH SEQUELAE
ND = "C66789"  # Not Done (--STAT)
NOT_DONE = "C49484"
COMPLETION = "C66727"  # Completion/Reason for Non-Completion (NCOMPLT, DSDECOD)
DEATH = "C28554"
MILESTONE = "C114118"  # Protocol Milestone (PROTMLST, DSDECOD)
CONSENT_OBTAINED = "C16735"  # INFORMED CONSENT OBTAINED
TS_PARAMETER_CODE = "C66738"  # Trial Summary Parameter Test Code (TSPARMCD)
STUDY_START_DATE = "C69208"  # TSPARMCD SSTDTC
CDISC_CT = "C163415"  # DICTNAM CDISC CT
# DICTNAM terms of reference terminologies published in versions (TSVCDVER says which): CDISC CT,
# MedDRA, WHODrug, SNOMED, MED-RT, LOINC, ICD, ICD-O, CTCAE, COSTART, WHOART, WHO ATC.
# ISO 3166, ISO 21090 and D-U-N-S are standards or registries cited without a version, and so is
# UNII (C163417): FDA's substance registry assigns each identifier once and never reuses it.
VERSIONED_DICTIONARIES = frozenset(
    {
        CDISC_CT,
        "C43820",
        "C49475",
        "C53489",
        "C163416",
        "C49476",
        "C49474",
        "C37978",
        "C49704",
        "C49471",
        "C49468",
        "C154331",
    }
)


def dataset_class(ds: Dataset, ctx: CheckContext) -> str:
    """The SDTM class of a dataset (``EVENTS``, ``FINDINGS``, ``SPECIAL PURPOSE``...), "" when unknown."""
    meta = ctx.standards.dataset(ds.name)
    return meta.klass if meta is not None and not ds.is_supp else ""


def timing_variable(ds: Dataset, ctx: CheckContext) -> str:
    """The date that places a record in time: --DTC for Findings, --STDTC for Events, Interventions
    and the special-purpose datasets that have one (SV); "" when the dataset has no such variable.

    SDTMIG 3.4 timing variable assumptions (EPOCH): a finding is placed by its collection date, an event or an
    intervention by its start.
    """
    klass = dataset_class(ds, ctx)
    if not klass:
        return ""
    name = f"{ds.domain}DTC" if klass in (FINDINGS, FINDINGS_ABOUT) else f"{ds.domain}STDTC"
    return name if name in ds.frame.columns else ""


def term(ctx: CheckContext, codelist: str, code: str, fallback: str) -> str:
    """The submission value of term ``code`` of ``codelist`` in the CT release used.

    ``fallback`` (the value SDTM CT 2025-03-28 gives it) is returned when the release lacks the
    codelist or term, so a check keeps working with a partial CT.
    """
    found = ctx.standards.codelist(codelist)
    if found is not None:
        for item in found.terms:
            if item.code == code:
                return item.submission_value
    return fallback


def yes(ctx: CheckContext) -> str:
    """The NY codelist's Yes ("Y")."""
    return term(ctx, NY, YES, "Y")


def no(ctx: CheckContext) -> str:
    """The NY codelist's No ("N")."""
    return term(ctx, NY, NO, "N")
