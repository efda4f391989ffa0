"""Run the generated expectations with great-expectations 1.x, offline, silently, one suite per dataset.

great_expectations is imported here and only when a validation runs: it costs about 2 s, and
``--help`` and ``lint`` must answer at once. Its analytics are switched off through the
environment before the import, its progress bars through the context, and its loggers are
raised to ERROR so nothing of it reaches our output.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from daybreak_sdtm.checks.package import Dataset
from daybreak_sdtm.findings import Finding, Severity


@dataclass(frozen=True)
class Expect:
    """One great-expectations expectation to run, and how to report its failures.

    Attributes:
        code: The registered check id that generated it (``DB201``).
        severity: Severity of each finding.
        variable: The variable it is about ("" for table-level expectations).
        type: The expectation class name (``ExpectColumnValuesToBeInSet``).
        kwargs: Its arguments.
        message: Finding message; ``{value}`` is replaced by the offending value, ``{missing}`` by
            the missing columns of a table-level expectation.
    """

    code: str
    severity: Severity
    variable: str
    type: str
    kwargs: dict[str, Any] = field(hash=False)
    message: str


_gx: Any = None


def _import_gx() -> Any:
    """Import great_expectations once, with analytics off and its loggers quiet."""
    global _gx
    if _gx is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
            logging.getLogger(name).setLevel(logging.ERROR)
        import great_expectations as gx

        _gx = gx
    return _gx


class GxRunner:
    """One ephemeral context reused for every dataset of a validation run."""

    def __init__(self) -> None:
        gx = _import_gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self._ctx = gx.get_context(mode="ephemeral")
        self._ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self._source = self._ctx.data_sources.add_pandas("daybreak")
        self._n = 0

    @staticmethod
    def _expectation(exp: Expect, index: int) -> Any:
        """The gx expectation object; a ``row_condition`` of (variable, values, is_in) terms becomes a Condition."""
        import great_expectations.expectations as gxe
        from great_expectations.expectations.row_conditions import Column

        kwargs = dict(exp.kwargs)
        terms = kwargs.pop("row_condition", None)
        if terms:
            conditions = [Column(var).is_in(values) if is_in else Column(var).is_not_in(values) for var, values, is_in in terms]
            condition = conditions[0]
            for more in conditions[1:]:
                condition = condition & more
            kwargs["row_condition"] = condition
        return getattr(gxe, exp.type)(**kwargs, meta={"db": index})

    def run(self, ds: Dataset, expects: Sequence[Expect]) -> list[Finding]:
        """Validate ``ds`` against ``expects`` and turn every failure into findings."""
        if not expects:
            return []
        self._n += 1
        asset = self._source.add_dataframe_asset(f"{ds.name}_{self._n}")
        batch_def = asset.add_batch_definition_whole_dataframe("all")
        suite = self._gx.ExpectationSuite(name=f"{ds.name}_{self._n}")
        for i, exp in enumerate(expects):
            suite.add_expectation(self._expectation(exp, i))
        suite = self._ctx.suites.add(suite)
        batch = batch_def.get_batch(batch_parameters={"dataframe": gx_frame(ds)})
        # Two passes: a clean dataset costs only the cheap boolean pass (about half of a full
        # one); the failing expectations are re-run with COMPLETE results, whose
        # unexpected_index_list gives the row of every failing record.
        quick = batch.validate(suite, result_format={"result_format": "BOOLEAN_ONLY"})
        failed = sorted(int(r.expectation_config.meta["db"]) for r in quick.results if not r.success)
        if not failed:
            return []
        retry = self._gx.ExpectationSuite(name=f"{ds.name}_{self._n}_failed")
        for i in failed:
            retry.add_expectation(self._expectation(expects[i], i))
        retry = self._ctx.suites.add(retry)
        result = batch.validate(retry, result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0})
        findings: list[Finding] = []
        for res in result.results:
            if res.success:
                continue
            exp = expects[int(res.expectation_config.meta["db"])]
            findings.extend(_to_findings(ds, exp, res))
        return findings


def gx_frame(ds: Dataset) -> pd.DataFrame:
    """The frame great-expectations sees: SDTM's blank text is null, so ``not_null`` means populated.

    Char columns are handed over as categoricals made from the dataset's own factorisation
    (``Dataset.codes``), with blank as a missing code: the same values to every expectation,
    but gx's per-expectation null filters, set membership, duplicate search, row copies and
    batch fingerprint then work on small integer codes and on each distinct value once, where
    an object column costs a Python string comparison or hash per record, per expectation.
    """
    out = {}
    for col in ds.frame.columns:
        values = ds.frame[col]
        if values.dtype == object:
            codes, table = ds.codes(col)
            distinct = table[:-1]
            blank = distinct == ""
            # New code of each old one: blanks (and code -1, the table's last entry) become -1.
            lut = np.cumsum(~blank) - 1
            lut[blank] = -1
            lut = np.append(lut, -1).astype(codes.dtype)
            out[col] = pd.Categorical.from_codes(lut[codes], categories=pd.Index(distinct[~blank], dtype=object),
                                                 validate=False)
        else:
            out[col] = values
    return pd.DataFrame(out, index=pd.RangeIndex(len(ds.frame)))


def _to_findings(ds: Dataset, exp: Expect, res: Any) -> Iterator[Finding]:
    info = res.exception_info or {}
    if info.get("raised_exception"):
        # A failing expectation engine is a bug of ours (we only generate expectations for
        # columns that exist), so it is reported loudly rather than swallowed.
        raise RuntimeError(f"{exp.code} {exp.type} on {ds.name}.{exp.variable}: {info.get('exception_message')}")
    result = dict(res.result or {})
    if "unexpected_index_list" in result:
        positions = np.asarray([int(i) for i in result["unexpected_index_list"]], dtype=np.int64)
        values = ds.text(exp.variable) if exp.variable in ds.frame.columns else None
        if values is not None:
            shown = values.to_numpy()
            messages = [exp.message.format(value=shown[p]) for p in positions.tolist()]
        else:
            messages = [exp.message.format(value="") for _ in positions.tolist()]
        yield from ds.findings(exp.code, exp.severity, positions, exp.variable, messages)
        return
    details = result.get("details") or {}
    missing = (details.get("mismatched") or {}).get("missing") or []
    if missing:
        for name in missing:
            yield ds.finding(exp.code, exp.severity, name, exp.message.format(missing=name, value=""))
        return
    observed = result.get("observed_value", "")
    yield ds.finding(exp.code, exp.severity, exp.variable, exp.message.format(value=observed, missing=""))
