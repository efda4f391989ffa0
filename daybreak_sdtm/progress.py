"""Progress of long work: one line on a terminal, rewritten in place.

The library says what it is doing: its stages through ``daybreak_sdtm.timing.stage`` (read, map,
validate, write_xpt, ...) and the steps of a stage through ``step`` (the dataset being written,
the check being run). Nothing is shown unless a display is active (``showing``); the command line
activates one only when stderr is a terminal and ``--quiet`` is not given, so pipes, files and CI
logs never see any of it. Without a display, ``step`` and the stage hooks only read a ContextVar.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TextIO


class Display(Protocol):
    """Where progress goes."""

    def enter(self, stage: str) -> None:
        """A stage starts (stages nest)."""

    def leave(self, stage: str) -> None:
        """The innermost stage ends."""

    def step(self, detail: str, done: int | None = None, total: int | None = None) -> None:
        """Within the current stage: working on ``detail``, the ``done``-th of ``total``."""

    def close(self) -> None:
        """Nothing more will be shown: take the display away."""


_active: ContextVar[Display | None] = ContextVar("daybreak_progress", default=None)

# What a stage is called on the progress line; a stage not named here shows its own name.
LABELS = {
    "load": "loading specs and standards",
    "read": "reading",
    "map": "mapping",
    "xpt_check": "checking XPT limits",
    "validate": "validating",
    "write_xpt": "writing XPT",
    "provenance": "writing lineage",
    "define": "writing define.xml",
    "reports": "writing reports",
    "simulate": "simulating subjects",
    "write_forms": "writing forms",
}


def entered(stage: str) -> None:
    """Tell the active display, if any, that ``stage`` started (``timing.stage`` calls it)."""
    display = _active.get()
    if display is not None:
        display.enter(stage)


def left(stage: str) -> None:
    """Tell the active display, if any, that ``stage`` ended."""
    display = _active.get()
    if display is not None:
        display.leave(stage)


def step(detail: str, done: int | None = None, total: int | None = None) -> None:
    """Tell the active display, if any, what the current stage is working on."""
    display = _active.get()
    if display is not None:
        display.step(detail, done, total)


@contextmanager
def showing(display: Display) -> Iterator[Display]:
    """Send progress to ``display`` within the block; the display is closed when the block ends, however."""
    token = _active.set(display)
    try:
        yield display
    finally:
        _active.reset(token)
        display.close()


class LineDisplay:
    """``convert: writing XPT: ae.xpt (8/9) 12s`` on one line of a terminal, rewritten with a carriage
    return when something changes and every ``tick`` seconds (the elapsed time), and erased at the end."""

    def __init__(self, stream: TextIO, command: str, tick: float = 0.5) -> None:
        self._stream = stream
        self._command = command
        self._stack: list[str] = []
        self._detail = ""
        self._start = time.monotonic()
        self._shown = 0  # characters on the line now
        self._last = ""  # the text they are
        self._width = max(20, shutil.get_terminal_size().columns - 1)  # never wrap: \r returns to this line only
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, args=(tick,), name="progress", daemon=True)
        self._ticker.start()

    def enter(self, stage: str) -> None:
        with self._lock:
            self._stack.append(stage)
            self._detail = ""
        self._draw()

    def leave(self, stage: str) -> None:
        with self._lock:
            if stage in self._stack:
                del self._stack[len(self._stack) - 1 - self._stack[::-1].index(stage) :]
            self._detail = ""
        self._draw()

    def step(self, detail: str, done: int | None = None, total: int | None = None) -> None:
        count = f" ({done}/{total})" if done is not None and total is not None else ""
        with self._lock:
            self._detail = f"{detail}{count}"
        self._draw()

    def close(self) -> None:
        self._stop.set()
        self._ticker.join()
        with self._lock:
            if self._shown:
                self._write("\r" + " " * self._shown + "\r")
                self._shown, self._last = 0, ""

    def line(self) -> str:
        """The text the line shows now."""
        parts = [self._command]
        if self._stack:
            parts.append(LABELS.get(self._stack[-1], self._stack[-1]))
        if self._detail:
            parts.append(self._detail)
        return f"{': '.join(parts)} {time.monotonic() - self._start:.0f}s"[: self._width]

    def _draw(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            text = self.line()
            if text == self._last:
                return
            self._write("\r" + text + " " * max(0, self._shown - len(text)))
            self._shown, self._last = len(text), text

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth an error
            self._stop.set()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            self._draw()


class _Nothing:
    def enter(self, stage: str) -> None:
        pass

    def leave(self, stage: str) -> None:
        pass

    def step(self, detail: str, done: int | None = None, total: int | None = None) -> None:
        pass

    def close(self) -> None:
        pass


def for_terminal(stream: TextIO, command: str, quiet: bool = False) -> Display:
    """A ``LineDisplay`` on ``stream`` when it is a terminal and not ``quiet``; else a display showing nothing."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return LineDisplay(stream, command) if tty and not quiet else _Nothing()
