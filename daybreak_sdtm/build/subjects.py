"""Subject checks on the derived USUBJID, reported with the raw record each came from.

Every record has a subject; a dataset keyed by subject alone (DM) holds one record per subject;
every subject of another domain is in DM.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak_sdtm.raw import SRC_FILE, SRC_ROW
from daybreak_sdtm.spec import StudySpec


def check_subjects(
    dom: str, frames: dict[str, pd.DataFrame], raws: dict[str, pd.DataFrame], keys: tuple[str, ...]
) -> list[str]:
    """One record per subject where the dataset's keys say so (DM): a duplicate subject is refused."""
    usubjid = frames[dom]["USUBJID"]
    lines = []
    blank = usubjid.eq("")
    for pos in np.flatnonzero(blank.to_numpy()).tolist():
        lines.append(
            f"{raws[dom][SRC_FILE].iat[pos]} record {raws[dom][SRC_ROW].iat[pos]}: no subject identifier ({dom}.USUBJID is blank)"
        )
    if tuple(k for k in keys if k != "STUDYID") == ("USUBJID",):
        dup = usubjid.duplicated(keep="first") & ~blank
        for pos in np.flatnonzero(dup.to_numpy()).tolist():
            first = int(np.flatnonzero((usubjid == usubjid.iat[pos]).to_numpy())[0])
            lines.append(
                f"{raws[dom][SRC_FILE].iat[pos]} record {raws[dom][SRC_ROW].iat[pos]}: subject {usubjid.iat[pos]!r} "
                f"already has a {dom} record (record {raws[dom][SRC_ROW].iat[first]}); {dom} holds one record per subject"
            )
    return lines


def check_orphans(study: StudySpec, frames: dict[str, pd.DataFrame], raws: dict[str, pd.DataFrame]) -> list[str]:
    """Records of a subject who is not in DM are refused: every subject must be in demographics."""
    if "DM" not in frames or "USUBJID" not in frames["DM"]:
        return []
    known = set(frames["DM"]["USUBJID"])
    lines = []
    for dom, frame in frames.items():
        if dom == "DM" or "USUBJID" not in frame or dom not in raws:
            continue
        orphan = ~frame["USUBJID"].isin(known)
        for pos in np.flatnonzero(orphan.to_numpy()).tolist():
            lines.append(
                f"{raws[dom][SRC_FILE].iat[pos]} record {raws[dom][SRC_ROW].iat[pos]} column {study.subject_column}: "
                f"subject {frame['USUBJID'].iat[pos]!r} is not in demographics (DM)"
            )
    return lines
