"""Supplemental qualifiers: the SUPP-- records of a domain, built after its parent's variables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from daybreak_sdtm.build.columns import TEXT, all_raw_columns, stable_order
from daybreak_sdtm.build.graph import DomainContext, evaluate, problem_lines
from daybreak_sdtm.derive import RowProblems
from daybreak_sdtm.errors import DataProblem
from daybreak_sdtm.raw import SRC_FILE, SRC_ROW
from daybreak_sdtm.spec import DomainSpec, SuppSpec
from daybreak_sdtm.spec.check import ResolvedVariable

SUPP_COLUMNS = ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")


def supp_raw(raw: pd.DataFrame, supps: list[tuple[SuppSpec, ResolvedVariable]], subject: str) -> pd.DataFrame:
    """The raw columns a domain's SUPP-- derivations read (and where each record came from).

    Only these are handed on, so the rest of the domain's raw rows can be released beforehand.
    """
    wanted = {SRC_FILE, SRC_ROW, "_variant", subject} | {c for _, item in supps for c in all_raw_columns(item)}
    return raw[[c for c in raw.columns if c in wanted]]


def build_supp(
    dom: DomainSpec,
    supps: list[tuple[SuppSpec, ResolvedVariable]],
    ctx: DomainContext,
    raw: pd.DataFrame,
    problems: list[DataProblem | str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SUPP-- records: one per parent record and QNAM with a non-blank value, pointing at --SEQ.

    Each record is held as (parent position, QNAM number) and its QVAL; the table's columns are
    then taken once, in the final order, from the parent, the raw rows and the QNAM constants,
    rather than building a frame per QNAM, concatenating them and sorting the concatenation.
    """
    seq_name = f"{dom.name}SEQ"
    parent = ctx.sdtm
    positions, numbers, qvals = [], [], []
    for number, (_supp, item) in enumerate(supps):
        try:
            qval = evaluate(item, ctx, numeric=False)
        except RowProblems as problem:
            problems.extend(problem_lines(problem, item, f"SUPP{dom.name}", raw, dom))
            continue
        keep = np.flatnonzero(qval.ne("").to_numpy())
        positions.append(keep)
        numbers.append(np.full(len(keep), number))
        qvals.append(qval.take(keep))
        del qval
    if not positions:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in SUPP_COLUMNS})
        return empty, pd.DataFrame({SRC_FILE: pd.Series(dtype=object), SRC_ROW: pd.Series(dtype="int64")})
    pos, num = np.concatenate(positions), np.concatenate(numbers)
    qval = pd.concat(qvals, ignore_index=True)
    del positions, numbers, qvals
    has_seq = seq_name in parent.columns
    seq = parent[seq_name].to_numpy()[pos] if has_seq else np.zeros(len(pos))  # SUPPDM: no IDVAR
    # Sort keys STUDYID, USUBJID, --SEQ, QNAM: QNAM ranks by text among this domain's QNAMs.
    qnams = np.array([supp.qnam for supp, _ in supps], dtype=object)
    qnam_rank = np.argsort(np.argsort(qnams, kind="stable"), kind="stable")
    studyid = parent["STUDYID"].take(pos).reset_index(drop=True)
    usubjid = parent["USUBJID"].take(pos).reset_index(drop=True)
    keys = pd.DataFrame({"STUDYID": studyid, "USUBJID": usubjid, "_seq": seq, "_qnam": qnam_rank[num]}, copy=False)
    order = stable_order(keys, ["STUDYID", "USUBJID", "_seq", "_qnam"])
    del keys
    pos, num = pos[order], num[order]

    def constant(values: list[str]) -> pd.Series:
        # Taken from a text array of one entry per QNAM: no Python string per record.
        return pd.Series(pd.array(values, dtype=TEXT).take(num))

    columns = {
        "STUDYID": studyid.take(order).reset_index(drop=True),
        "RDOMAIN": constant([dom.name] * len(supps)),
        "USUBJID": usubjid.take(order).reset_index(drop=True),
        "IDVAR": constant([seq_name if has_seq else ""] * len(supps)),
        "IDVARVAL": pd.Series(seq[order]).astype("int64").astype(str) if has_seq else constant([""] * len(supps)),
        "QNAM": constant([s.qnam for s, _ in supps]),
        "QLABEL": constant([s.qlabel for s, _ in supps]),
        "QVAL": qval.take(order).reset_index(drop=True),
        "QORIG": constant([s.qorig for s, _ in supps]),
        "QEVAL": constant([s.qeval for s, _ in supps]),
    }
    frame = pd.DataFrame(columns, copy=False).astype(TEXT)
    del columns
    lineage = raw[[SRC_FILE, SRC_ROW]].take(pos).reset_index(drop=True)
    return frame, lineage
