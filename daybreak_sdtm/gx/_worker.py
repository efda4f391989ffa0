"""Where the great-expectations suites run: a worker process started early, or this process.

Private to the adapter (``daybreak_sdtm.gx``), and light to import (no pandas, no gx): the
commands call ``warm()`` before anything else.

Importing great_expectations takes about 2 s, more than mapping and writing a small study.
A command that will validate calls ``warm()`` first: a worker process starts importing gx at
once, on another core, while this process reads and maps the export; the suites are then handed
to it (each dataset's gx frame, small integer codes, pickled through a pipe) and run there
while this process runs its own checks and writes the package. Library callers that never
call ``warm()`` run the suites in their own process (``_suite.InlineSuites``).

The worker is shared by every validation of the process (tests convert many times; it imports
gx once) and serves one request at a time; it is stopped when its parent exits, and ends by
itself when its pipe closes.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from daybreak_sdtm.gx import Expect
    from daybreak_sdtm.gx._suite import GxRunner, Outcome


class SuiteRunner(Protocol):
    """Runs one validation's suites: ``submit`` each dataset's, then ``collect`` all outcomes."""

    def submit(self, name: str, frame: pd.DataFrame, expects: Sequence[Expect]) -> None:
        """Hand over one dataset's gx frame and expectations (may start running them)."""

    def collect(self) -> dict[str, list[Outcome]]:
        """The outcomes of every submitted dataset, by name; waits for them."""


class WorkerError(RuntimeError):
    """The worker process failed: it ended, or running a suite raised (its traceback is the message)."""


class _Worker:
    """The process and our ends of its two pipes; requests are serialised by a lock.

    A plain ``python -c`` child rather than a multiprocessing one: multiprocessing's spawn runs
    the parent's main script again in the child, which a library user's unguarded script (no
    ``if __name__ == "__main__"``) would turn into a second conversion.
    """

    def __init__(self) -> None:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])  # importable as the parent imports it
        # After the caller's own PYTHONPATH, which comes first in this process too.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), package_root]))}
        # Ctrl-C is the parent's to handle (it stops the worker on its way out): the worker runs in
        # a process group of its own, which a terminal's Ctrl-C does not reach, and ignores SIGINT
        # from its first line, so an interrupted command never shows a traceback of the worker's.
        code = (
            "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            f"from daybreak_sdtm.gx._worker import serve; serve({to_child}, {from_child})"
        )
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=(to_child, from_child),
                env=env,
                stdin=subprocess.DEVNULL,
                close_fds=True,
                process_group=0,
            )
        except OSError:
            os.close(from_parent)
            os.close(to_parent)
            raise
        finally:
            os.close(to_child)
            os.close(from_child)
        self.conn_out = Connection(from_parent, readable=False)
        self.conn_in = Connection(to_parent, writable=False)
        self.lock = threading.Lock()
        self.requests = itertools.count(1)

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, message: tuple[Any, ...]) -> None:
        try:
            self.conn_out.send(message)
        except (OSError, ValueError) as exc:
            raise self.ended() from exc

    def ask(self, message: tuple[Any, ...]) -> Any:
        self.send(message)
        try:
            kind, payload = self.conn_in.recv()
        except (EOFError, OSError) as exc:
            raise self.ended() from exc
        if kind == "error":
            raise WorkerError(f"great-expectations worker: {payload}")
        return payload

    def ended(self) -> WorkerError:
        _forget(self)
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return WorkerError(f"the great-expectations worker process ended unexpectedly (exit code {code})")

    def close(self, wait: float = 5.0) -> None:
        """Close the pipes, which ends the worker's loop; kill it if it does not end in ``wait`` s."""
        self.conn_out.close()
        self.conn_in.close()
        try:
            self.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_shared: _Worker | None = None
_shared_lock = threading.Lock()


def _forget(worker: _Worker) -> None:
    global _shared
    with _shared_lock:
        if _shared is worker:
            _shared = None


def warm() -> bool:
    """Start the shared worker now, where it pays: on a POSIX machine with more than one core.

    Returns whether a worker is (now) running; ``runner()`` then hands it the suites.
    """
    global _shared
    if os.name != "posix" or _cpus() < 2:  # pipes handed to a child by descriptor: POSIX
        return False
    with _shared_lock:
        if _shared is None or not _shared.alive():
            try:
                _shared = _Worker()
            except OSError:  # no process to be had (limits): the suites run here instead
                _shared = None
                return False
            atexit.register(_at_exit, _shared)
        return True


def runner() -> SuiteRunner:
    """The runner for one validation: the warm worker when there is one, else this process."""
    with _shared_lock:
        worker = _shared if _shared is not None and _shared.alive() else None
    if worker is not None:
        return WorkerSuites(worker)
    from daybreak_sdtm.gx._suite import InlineSuites

    return InlineSuites()


def shutdown() -> None:
    """Stop the shared worker, if any (it is a daemon: process exit stops it too)."""
    global _shared
    with _shared_lock:
        worker, _shared = _shared, None
    if worker is not None:
        worker.close()


def _at_exit(worker: _Worker) -> None:
    """Stop the worker without waiting for it: it holds nothing to save, and may still be importing."""
    worker.conn_out.close()
    worker.conn_in.close()
    if worker.alive():
        worker.process.terminate()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerSuites:
    """One validation's suites, run by the worker process while this one goes on."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._request = next(worker.requests)

    def submit(self, name: str, frame: pd.DataFrame, expects: Sequence[Expect]) -> None:
        with self._worker.lock:
            self._worker.send(("suite", self._request, name, frame, list(expects)))

    def collect(self) -> dict[str, list[Outcome]]:
        with self._worker.lock:
            return self._worker.ask(("collect", self._request))


def _give_back_memory() -> None:
    """Return freed memory to the system while the worker waits (glibc keeps it otherwise)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the allocator keeps what it keeps
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _thread_lock_for_tqdm() -> None:
    """gx makes a (disabled) tqdm bar per suite, whose default lock is a multiprocessing semaphore;
    a thread lock does in the worker and leaves nothing to clean up when the parent's exit
    terminates it (a semaphore would be reported leaked)."""
    try:
        from tqdm import tqdm
    except ImportError:  # a gx without tqdm makes no bars
        return
    tqdm.set_lock(threading.RLock())


# Requests the worker reads ahead while busy: enough for every suite of a small study (whose
# frames arrive while gx is still importing), a bound on memory for a large one.
READ_AHEAD_BYTES = 256 * 2**20


def serve(read_fd: int, write_fd: int) -> None:
    """The worker's loop: a thread takes requests off the pipe as they come (the parent does not
    wait on a full pipe) up to ``READ_AHEAD_BYTES`` unprocessed, while the main thread imports
    great_expectations, then runs them in order."""
    import pickle
    import queue

    conn = Connection(read_fd, writable=False)
    reply = Connection(write_fd, readable=False)

    inbox: queue.Queue[tuple[Any, int] | None] = queue.Queue()
    room = threading.Condition()
    pending = [0]  # bytes read and not yet processed

    def receive() -> None:
        while True:
            with room:
                room.wait_for(lambda: pending[0] < READ_AHEAD_BYTES)
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                inbox.put(None)
                return
            with room:
                pending[0] += len(data)
            inbox.put((pickle.loads(data), len(data)))

    def processed(size: int) -> None:
        with room:
            pending[0] -= size
            room.notify()

    threading.Thread(target=receive, name="receive", daemon=True).start()
    gx: GxRunner | None = None
    broken = ""  # why great-expectations could not start: the answer to every request
    _thread_lock_for_tqdm()
    try:
        from daybreak_sdtm.gx._suite import GxRunner, run_suite

        gx = GxRunner()
    except Exception:  # noqa: BLE001 (whatever stops gx is the answer to every request, reported to the parent)
        broken = traceback.format_exc()
    results: dict[int, dict[str, list[Outcome]]] = {}
    errors: dict[int, str] = {}
    while (item := inbox.get()) is not None:
        message, size = item
        del item
        kind, request, *rest = message
        if kind == "suite":
            if request in errors or gx is None:
                errors.setdefault(request, broken)
                processed(size)
                continue
            name, frame, expects = rest
            try:
                results.setdefault(request, {})[name] = run_suite(gx, name, frame, expects)
            except Exception:  # noqa: BLE001 (reported to the parent, which raises it)
                errors[request] = traceback.format_exc()
            del frame, rest, message  # the frame's memory goes now, not when the next one arrives
            if inbox.empty():
                _give_back_memory()
            processed(size)
        else:  # collect
            processed(size)
            try:
                if request in errors:
                    reply.send(("error", errors.pop(request)))
                else:
                    reply.send(("outcomes", results.pop(request, {})))
            except OSError:  # the parent is gone
                return
        # Results of requests never collected (a validation abandoned by an error) are dropped
        # when a later request starts.
        for old in [r for r in results if r < request]:
            del results[old]
