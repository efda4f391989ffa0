"""Wall time per pipeline stage, always on and nearly free: two clock reads per stage.

The library marks its stages (``with stage("read"):``); whoever wants the numbers collects them
(``with collect() as timings:``), e.g. the benchmark harness. Without a collector a stage only
reads the clock, so the hook stays in the code at no measurable cost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from daybreak_sdtm import progress

# A ContextVar rather than a module global so that threads or nested collectors never mix numbers.
_active: ContextVar[dict[str, float] | None] = ContextVar("daybreak_timings", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the wall time of the enclosed block to stage ``name`` of the active collector, if any,
    and tell the progress display, if any, that the stage runs (``daybreak_sdtm.progress``)."""
    start = time.perf_counter()
    progress.entered(name)
    try:
        yield
    finally:
        timings = _active.get()
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        progress.left(name)


@contextmanager
def collect(timings: dict[str, float] | None = None) -> Iterator[dict[str, float]]:
    """Collect stage durations (seconds, summed per name) into ``timings`` for the enclosed block.

    Args:
        timings: Dict to fill; a new one when None.

    Yields:
        The dict being filled; complete when the block exits.
    """
    target = {} if timings is None else timings
    token = _active.set(target)
    try:
        yield target
    finally:
        _active.reset(token)
