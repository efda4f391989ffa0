"""The commands at a terminal: a progress line on stderr only when it is a terminal, and Ctrl-C.

Each case runs the installed command in a process of its own: on a pseudo-terminal (pty) to see
what a user sees, on pipes as CI does, and interrupted with SIGINT sent to its process group, as
a terminal's Ctrl-C is.
"""

from __future__ import annotations

import io
import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from daybreak_sdtm import progress
from daybreak_sdtm.cli import main
from daybreak_sdtm.timing import stage

TS = ["--timestamp", "2026-10-01T00:00:00"]
COMMAND = [sys.executable, "-m", "daybreak_sdtm"]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals and process groups are POSIX")


def _on_terminal(args: list[str], cwd: Path, timeout: float = 240) -> tuple[int, str, str]:
    """Run a command with stderr on a pseudo-terminal; (exit status, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*COMMAND, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise AssertionError(f"no output for {timeout} s: {seen[-500:]!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out = proc.stdout.read().decode() if proc.stdout else ""
        return proc.wait(timeout=timeout), out, seen.decode()
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def test_convert_shows_its_stages_on_a_terminal_and_erases_the_line(tmp_path: Path) -> None:
    code, out, terminal = _on_terminal(["convert", "--out", str(tmp_path / "sdtm"), *TS], tmp_path)
    assert code == 0, terminal
    assert (tmp_path / "sdtm" / "dm.xpt").is_file()
    shown = [part.rstrip() for part in terminal.split("\r") if part.strip()]
    for expected in (
        "convert: reading",
        "convert: mapping",
        "convert: validating",
        "convert: writing XPT: ts.xpt (1/17)",
        "convert: writing define.xml",
    ):
        assert any(line.startswith(expected) for line in shown), (expected, shown)
    assert terminal.endswith("\r") and not terminal.split("\r")[-2].strip()  # the last thing written blanks the line
    assert "\n" not in terminal  # one line, rewritten; nothing else on stderr
    assert "validation: 0 error(s)" in out and "\r" not in out


def test_validate_and_sample_export_show_progress_and_quiet_shows_none(tmp_path: Path) -> None:
    code, out, terminal = _on_terminal(["sample-export", str(tmp_path / "export"), "--subjects", "5"], tmp_path)
    assert code == 0 and "sample-export: writing forms: dm.csv (" in terminal and "sample export, 5 subjects" in out
    code, out, terminal = _on_terminal(
        ["sample-export", str(tmp_path / "quiet"), "--subjects", "5", "--quiet"], tmp_path
    )
    assert code == 0 and terminal == "" and (tmp_path / "quiet" / "dm.csv").is_file()

    package = tmp_path / "sdtm"
    assert main(["convert", "--out", str(package), *TS]) == 0
    code, out, terminal = _on_terminal(["validate", str(package)], tmp_path)
    assert code == 0, terminal
    assert "validate: reading: ae.xpt (1/17)" in terminal and "validate: validating: DB104" in terminal
    assert out.startswith("validation: 0 error(s)")


def test_piped_commands_write_no_progress(tmp_path: Path) -> None:
    done = subprocess.run(
        [*COMMAND, "convert", "--out", str(tmp_path / "sdtm"), *TS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "\r" not in done.stdout
    assert done.stdout.splitlines()[-1].startswith("validation: 0 error(s)")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_follows_stages_and_steps() -> None:
    screen = _Terminal()
    with progress.showing(progress.for_terminal(screen, "convert")) as display, stage("write_xpt"):
        progress.step("ae.xpt", 1, 2)
        assert display.line().startswith("convert: writing XPT: ae.xpt (1/2) ")  # type: ignore[attr-defined]
        with stage("define"):
            assert display.line().startswith("convert: writing define.xml ")  # type: ignore[attr-defined]
        assert display.line().startswith("convert: writing XPT ")  # type: ignore[attr-defined]
    written = screen.getvalue()
    assert "\rconvert: writing XPT: ae.xpt (1/2) 0s" in written
    *_, last, blank, end = written.split("\r")
    assert last.rstrip() == "convert 0s" and blank == " " * len(last.rstrip()) and end == ""  # erased at the end
    for screen in (_Terminal(), io.StringIO()):  # quiet, or not a terminal: nothing at all
        with (
            progress.showing(progress.for_terminal(screen, "convert", quiet=isinstance(screen, _Terminal))),
            stage("read"),
        ):
            progress.step("forms", 1, 1)
        assert screen.getvalue() == ""


PAUSE = textwrap.dedent('''
    """Pause a command at the start of one stage (PAUSE_AT), saying so on stderr, until it is interrupted."""
    import os

    if os.environ.get("PAUSE_AT"):
        import signal
        import sys
        import time
        from contextlib import contextmanager

        # As started from a terminal: a shell's background job (``.ci/run &``) starts with SIGINT
        # ignored, which Python and its children keep.
        signal.signal(signal.SIGINT, signal.default_int_handler)

        from daybreak_sdtm import timing

        _stage = timing.stage

        @contextmanager
        def stage(name):
            with _stage(name):
                if name == os.environ["PAUSE_AT"]:
                    sys.stderr.write("paused\\n")
                    sys.stderr.flush()
                    time.sleep(120)
                yield

        timing.stage = stage
    ''')


def _interrupted(args: list[str], pause_at: str, tmp_path: Path) -> tuple[int, str, str, list[str]]:
    """Run a command until it pauses at ``pause_at``, then Ctrl-C it: (exit status, stdout, stderr after the
    pause, the files of tmp_path at the pause)."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(PAUSE, encoding="utf-8")
    env = {
        **os.environ,
        "PAUSE_AT": pause_at,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        first = proc.stderr.readline() if proc.stderr else ""
        assert first == "paused\n", first + (proc.stderr.read() if proc.stderr else "")
        during = sorted(p.name for p in tmp_path.iterdir())
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
        # communicate() returns once every process holding stderr (the suites worker too) has ended.
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err, during


def test_ctrl_c_during_convert_exits_130_quietly_and_removes_the_temporary_package(tmp_path: Path) -> None:
    code, out, err, during = _interrupted(["convert", "--out", "sdtm", *TS], "write_xpt", tmp_path)
    assert any(name.startswith(".sdtm.") and name.endswith(".partial") for name in during), during
    assert (code, err) == (130, "interrupted\n"), err
    assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hook"]  # no package, no temporary folder


def test_ctrl_c_during_validate_exits_130_quietly(tmp_path: Path) -> None:
    package = tmp_path / "sdtm"
    assert main(["convert", "--out", str(package), *TS]) == 0
    code, out, err, _ = _interrupted(
        ["validate", str(package), "--format", "json", "-o", "report.json"], "read", tmp_path
    )
    assert (code, err, out) == (130, "interrupted\n", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hook", "sdtm"]
