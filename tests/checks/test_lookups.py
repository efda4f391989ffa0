"""Per-distinct-value lookups the checks share: subject rows, DM values per record, pairs membership."""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.keys import pairs_in
from daybreak_sdtm.checks.package import package_of


def test_subject_values_follow_first_dm_record_and_blank_unknown_subjects() -> None:
    pkg = package_of(
        {
            "DM": pd.DataFrame({"USUBJID": ["S1", "S2", "S1"], "RFSTDTC": ["2025-01-01", "", "2030-01-01"]}),
            "AE": pd.DataFrame({"USUBJID": ["S2", "S1", "S9", "S1"], "AESEQ": [1.0, 1.0, 1.0, 2.0]}),
        }
    )
    ae = pkg.datasets["AE"]
    assert pkg.subject_rows(ae).tolist() == [1, 0, -1, 0]
    assert pkg.subject_values(ae, "RFSTDTC").tolist() == ["", "2025-01-01", "", "2025-01-01"]
    assert pkg.subject_values(ae, "NOSUCH").tolist() == ["", "", "", ""]


def test_subject_values_without_dm_are_blank() -> None:
    pkg = package_of({"AE": pd.DataFrame({"USUBJID": ["S1"]})})
    assert pkg.subject_values(pkg.datasets["AE"], "RFSTDTC").tolist() == [""]


def test_numeric_text_is_made_per_distinct_number() -> None:
    pkg = package_of({"AE": pd.DataFrame({"AESEQ": [1.0, np.nan, 2.5, 1.0]})})
    assert pkg.datasets["AE"].text("AESEQ").tolist() == ["1", "", "2.5", "1"]


def test_pairs_in() -> None:
    among = (np.array(["S1", "S1", "S2"], dtype=object), np.array(["1", "2", "1"], dtype=object))
    pairs = (np.array(["S1", "S2", "S2", "S3"], dtype=object), np.array(["2", "1", "2", "1"], dtype=object))
    assert pairs_in(pairs, among).tolist() == [True, True, False, False]
