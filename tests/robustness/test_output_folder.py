"""--out never costs a user a file: each case reads the filesystem back after the command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daybreak_sdtm.cli import main
from daybreak_sdtm.write.package import clean_leftovers
from tests.robustness.conftest import Workspace

OK, WRITE_FAILED = 0, 4


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def convert(ws: Workspace, out: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["convert", "--study", str(ws.study), "--export", str(ws.export), "--out", str(out)])
    return code, capsys.readouterr().err


def test_out_dot_in_a_working_folder_is_refused(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = ws.study.parent
    (work / "protocol.docx").write_bytes(b"the protocol")
    before = snapshot(work)
    monkeypatch.chdir(work)
    code, err = convert(ws, ".", capsys)
    assert code == WRITE_FAILED
    assert "refused as the output folder" in err and "export folder" in err
    assert snapshot(work) == before


def test_out_in_a_folder_of_documents_is_refused(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    docs = ws.out.parent / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("keep me", encoding="utf-8")
    (docs / "old").mkdir()
    (docs / "old" / "a.xpt").write_bytes(b"someone else's dataset")
    before = snapshot(docs)
    code, err = convert(ws, docs, capsys)
    assert code == WRITE_FAILED
    assert str(docs) in err and "notes.txt" in err and "old/" in err and "not written by daybreak-sdtm" in err
    assert snapshot(docs) == before


@pytest.mark.parametrize("where", ["export", "export/sdtm", "study", "study/out"])
def test_out_that_is_or_sits_inside_the_inputs_is_refused(
    ws: Workspace, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    base = ws.study.parent
    before = snapshot(base)
    code, err = convert(ws, base / where, capsys)
    assert code == WRITE_FAILED
    assert ("export folder" if where.startswith("export") else "mapping folder") in err
    assert snapshot(base) == before


def test_out_that_contains_the_export_is_refused(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = convert(ws, ws.export.parent, capsys)
    assert code == WRITE_FAILED and "contains the export folder" in err


def test_own_package_is_replaced_but_not_one_with_a_foreign_file(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    assert convert(ws, ws.out, capsys)[0] == OK  # a package of ours holding nothing else: replaced
    (ws.out / "review-notes.txt").write_text("mine", encoding="utf-8")
    before = snapshot(ws.out)
    code, err = convert(ws, ws.out, capsys)
    assert code == WRITE_FAILED and "review-notes.txt" in err
    assert snapshot(ws.out) == before


def test_a_file_changed_since_it_was_written_keeps_the_package(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    with (ws.out / "define.xml").open("ab") as fh:
        fh.write(b"<!-- hand edit -->")
    before = snapshot(ws.out)
    code, err = convert(ws, ws.out, capsys)
    assert code == WRITE_FAILED and "define.xml changed since daybreak-sdtm wrote it" in err
    assert snapshot(ws.out) == before


def test_a_read_only_package_is_refused_not_replaced(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    before = snapshot(ws.out)
    inode = ws.out.stat().st_ino
    ws.out.chmod(0o555)
    try:
        code, err = convert(ws, ws.out, capsys)
    finally:
        ws.out.chmod(0o755)
    assert code == WRITE_FAILED and "read-only" in err
    assert ws.out.stat().st_ino == inode and snapshot(ws.out) == before


def test_an_empty_folder_is_used(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.out.mkdir()
    assert convert(ws, ws.out, capsys)[0] == OK
    assert (ws.out / "dm.xpt").is_file() and (ws.out / "manifest.json").is_file()


def test_leftovers_of_killed_runs_are_cleaned_and_never_published(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    partial = ws.out.parent / f".{ws.out.name}.abc123.partial"
    partial.mkdir()
    (partial / "dm.xpt").write_bytes(b"half a dataset")
    old = ws.out.parent / f".{ws.out.name}.def456.old"
    shutil.copytree(ws.out, old)
    code, err = convert(ws, ws.out, capsys)
    assert code == OK
    assert not partial.exists() and not old.exists()
    assert err.count("left by an interrupted run") == 2
    assert (ws.out / "dm.xpt").read_bytes() != b"half a dataset"
    assert sorted(p.name for p in ws.out.parent.iterdir() if p.name.startswith(".")) == []


def test_a_package_left_aside_by_a_killed_run_is_put_back(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    before = snapshot(ws.out)
    aside = ws.out.parent / f".{ws.out.name}.xyz.old"
    os.replace(ws.out, aside)  # a run killed between its two renames
    done = clean_leftovers(ws.out.absolute())
    assert done and "restored" in done[0]
    assert snapshot(ws.out) == before and not aside.exists()


def test_a_live_runs_temporary_folder_is_left_alone(ws: Workspace) -> None:
    import fcntl

    partial = ws.out.parent / f".{ws.out.name}.live.partial"
    partial.mkdir()
    fd = os.open(partial, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert clean_leftovers(ws.out.absolute()) == []
        assert partial.is_dir()
    finally:
        os.close(fd)
    assert clean_leftovers(ws.out.absolute()) and not partial.exists()


def test_a_killed_convert_leaves_nothing_the_next_run_keeps(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    before = snapshot(ws.out)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daybreak_sdtm",
            "convert",
            "--study",
            str(ws.study),
            "--export",
            str(ws.export),
            "--out",
            str(ws.out),
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(ws.out.parent.glob(f".{ws.out.name}.*.partial")):
            assert proc.poll() is None, "convert finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert snapshot(ws.out) == before  # the previous package is untouched
    assert list(ws.out.parent.glob(f".{ws.out.name}.*.partial"))
    assert convert(ws, ws.out, capsys)[0] == OK
    assert not [p for p in ws.out.parent.iterdir() if p.name.startswith(f".{ws.out.name}.")]


def test_a_moved_package_carries_its_study(ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    manifest_text = (ws.out / "manifest.json").read_text(encoding="utf-8")
    assert str(tmp_path) not in manifest_text and "/" + "root" not in manifest_text
    manifest = json.loads(manifest_text)
    assert not [v for v in manifest.values() if isinstance(v, str) and os.path.isabs(v)]
    moved = tmp_path / "elsewhere" / "pkg"
    moved.parent.mkdir()
    shutil.move(str(ws.out), moved)
    shutil.rmtree(ws.study)  # the mapping folder it was converted with is gone
    assert main(["validate", str(moved)]) == OK
    captured = capsys.readouterr()
    assert "from the mapping specs the package carries" in captured.err
    assert "0 error(s), 0 warning(s)" in captured.out
    (moved / "define.xml").unlink()
    assert main(["define", "--package", str(moved)]) == OK
    assert (moved / "define.xml").is_file()


def test_validate_says_when_there_is_no_study(
    ws: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert convert(ws, ws.out, capsys)[0] == OK
    bare = tmp_path / "bare"
    bare.mkdir()
    for xpt in ws.out.glob("*.xpt"):
        shutil.copy(xpt, bare / xpt.name)
    main(["validate", str(bare)])
    assert "study: none" in capsys.readouterr().err


def test_trace_checks_the_export_against_the_manifest(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ae", 2, "AETERM", "Headache")  # an export that is not the bundled one
    assert convert(ws, ws.out, capsys)[0] == OK
    usubjid = "DAYBREAK-01-101-001"
    assert main(["trace", "AE", usubjid, "1", "--package", str(ws.out)]) == 3  # which export? say so
    assert "pass --export DIR" in capsys.readouterr().err
    assert main(["trace", "AE", usubjid, "1", "--package", str(ws.out), "--export", str(ws.export)]) == OK
    assert "from ae.csv record" in capsys.readouterr().out
    ws.set_cell("ae", 1, "AETERM", "Changed since")
    assert main(["trace", "AE", usubjid, "1", "--package", str(ws.out), "--export", str(ws.export)]) == 3
    assert "SHA-256 differs" in capsys.readouterr().err


def test_sample_export_never_writes_into_a_foreign_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "real-export"
    export.mkdir()
    (export / "dm.csv").write_text("SUBJECT\n001\n", encoding="utf-8")
    assert main(["sample-export", str(export), "--subjects", "2"]) == WRITE_FAILED
    assert (export / "dm.csv").read_text(encoding="utf-8") == "SUBJECT\n001\n"
    capsys.readouterr()
    sample = tmp_path / "sample"
    assert main(["sample-export", str(sample), "--subjects", "2"]) == OK
    assert main(["sample-export", str(sample), "--subjects", "3"]) == OK  # an earlier sample export is replaced
    assert json.loads((sample / "manifest.json").read_text(encoding="utf-8"))["subjects"] == 3


def test_read_only_bits_are_what_count(tmp_path: Path, ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, err = convert(ws, parent / "pkg", capsys)
    finally:
        parent.chmod(0o755)
    assert code == WRITE_FAILED and "read-only" in err
    assert list(parent.iterdir()) == []
