"""Run the generated expectations with great-expectations 1.x, offline, silently, one suite per dataset.

great_expectations is imported here and only when a validation runs: it costs about 2 s, and
``--help`` and ``lint`` must answer at once. Its analytics are switched off through the
environment before the import, its progress bars through the context, and its loggers are
raised to ERROR so nothing of it reaches our output.

This module runs wherever gx is imported (this process, or the worker process: ``_worker``):
here plans become gx suites and gx results become ``Outcome``s, plain data that can cross a
process boundary. It knows frames, not datasets (``_frames`` makes one of the other and turns
outcomes into findings), so the worker never imports the checks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from daybreak_sdtm.gx import Expect


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
        # One asset and one whole-dataframe batch definition serve every dataset: each added
        # asset or batch definition re-serialises the context's configuration.
        source = self._ctx.data_sources.add_pandas("daybreak")
        self._batches = source.add_dataframe_asset("datasets").add_batch_definition_whole_dataframe("all")

    @staticmethod
    def _expectation(exp: Expect, index: int) -> Any:
        """The gx expectation object; a ``row_condition`` of (variable, values, is_in) terms becomes a Condition."""
        import great_expectations.expectations as gxe
        from great_expectations.expectations.row_conditions import Column, Condition

        kwargs = dict(exp.kwargs)
        terms = kwargs.pop("row_condition", None)
        if terms:
            conditions = [
                Column(var).is_in(values) if is_in else Column(var).is_not_in(values) for var, values, is_in in terms
            ]
            condition: Condition = conditions[0]
            for more in conditions[1:]:
                condition = condition & more
            kwargs["row_condition"] = condition
        return getattr(gxe, exp.type)(**kwargs, meta={"db": index})

    def outcomes(self, frame: pd.DataFrame, expects: Sequence[Expect]) -> list[Outcome]:
        """Validate ``frame`` (a ``gx_frame``) against ``expects``; one Outcome per failed expectation."""
        if not expects:
            return []
        # Suites are built whole and never stored: add_expectation compares each new expectation
        # with every one already there, and storing serialises the suite; neither is needed to run it.
        suite = self._gx.ExpectationSuite(
            name="suite", expectations=[self._expectation(e, i) for i, e in enumerate(expects)]
        )
        batch = self._batches.get_batch(batch_parameters={"dataframe": frame})
        # Two passes: a clean dataset costs only the cheap boolean pass (about half of a full
        # one); the failing expectations are re-run with COMPLETE results, whose
        # unexpected_index_list gives the row of every failing record.
        quick = batch.validate(suite, result_format={"result_format": "BOOLEAN_ONLY"})
        failed = sorted(int(r.expectation_config.meta["db"]) for r in quick.results if not r.success)
        if not failed:
            return []
        retry = self._gx.ExpectationSuite(
            name="failed", expectations=[self._expectation(expects[i], i) for i in failed]
        )
        result = batch.validate(retry, result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0})
        return [_outcome(expects, res) for res in result.results if not res.success]


@dataclass(frozen=True)
class Outcome:
    """What one failed expectation found, in plain data (it crosses process boundaries).

    Attributes:
        index: Position of the expectation in the plan that was run.
        positions: 0-based rows of the failing records (row-level expectations), else None.
        missing: Missing columns (table-level column-set expectations).
        observed: The observed value of any other failed table-level expectation.
    """

    index: int
    positions: np.ndarray | None = None
    missing: tuple[str, ...] = ()
    observed: str = ""


def _outcome(expects: Sequence[Expect], res: Any) -> Outcome:
    index = int(res.expectation_config.meta["db"])
    error = _raised(res.exception_info)
    if error is not None:
        # A failing expectation engine is a bug of ours (we only generate expectations for
        # columns that exist), so it is reported loudly rather than swallowed.
        exp = expects[index]
        raise RuntimeError(f"{exp.code} {exp.type} on {exp.variable or 'the table'}: {error}")
    result = dict(res.result or {})
    if "unexpected_index_list" in result:
        return Outcome(index, positions=np.asarray([int(i) for i in result["unexpected_index_list"]], dtype=np.int64))
    details = result.get("details") or {}
    missing = tuple(str(m) for m in (details.get("mismatched") or {}).get("missing") or ())
    return Outcome(index, missing=missing, observed="" if missing else str(result.get("observed_value", "")))


def _raised(info: Any) -> str | None:
    """The message of an exception gx caught while running an expectation, if it caught one.

    ``exception_info`` is either one record (``raised_exception``, ``exception_message``) or,
    when metrics failed, a mapping of metric id to such records.
    """
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for record in info.values():
        if isinstance(record, dict) and record.get("raised_exception"):
            return str(record.get("exception_message") or "exception")
    return None


def run_suite(runner: GxRunner, name: str, frame: pd.DataFrame, expects: Sequence[Expect]) -> list[Outcome]:
    """``runner.outcomes`` of one dataset's suite; a failing expectation's error names the dataset."""
    try:
        return runner.outcomes(frame, expects)
    except RuntimeError as exc:
        raise RuntimeError(f"{name}: {exc}") from exc


class InlineSuites:
    """Runs each suite in this process, as it is submitted (no ``warm()`` worker).

    A suite that fails is raised by ``collect``, as the worker's are: the caller's own checks
    run either way, and the error comes from the one place.
    """

    def __init__(self) -> None:
        self._runner: GxRunner | None = None
        self._outcomes: dict[str, list[Outcome]] = {}
        self._error: Exception | None = None

    def submit(self, name: str, frame: pd.DataFrame, expects: Sequence[Expect]) -> None:
        if self._error is not None:
            return
        try:
            if self._runner is None:
                self._runner = GxRunner()
            self._outcomes[name] = run_suite(self._runner, name, frame, expects)
        except Exception as exc:  # noqa: BLE001 (raised by collect)
            self._error = exc

    def collect(self) -> dict[str, list[Outcome]]:
        if self._error is not None:
            raise self._error
        return self._outcomes
