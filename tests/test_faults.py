"""Faults as a user meets them: the command run as a subprocess, then Ctrl-C to its process
group, kill -9 at several moments, a second run into the same directory, a full disk (a file
size limit), files only root could read, broken inputs, and wrong paths. Each asserts that
nothing read is lost silently, nothing stale or partial is left, and the message is one line
that names the problem."""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from neardup.io.outdir import MANIFEST, STAGING_PREFIX
from neardup.store import SPILL_PREFIX

from . import synth
from .conftest import SEED_A, SEEDS

NEARDUP = [sys.executable, "-m", "neardup"]


def _interrupts_as_a_terminal_gives_them() -> None:
    # A job an interactive shell starts gets Ctrl-C's signals at their defaults. A test run
    # started in the background of a script (`cmd &` without job control) inherits them
    # ignored, and the command rightly keeps them so; undo that here, in the child.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def start(args: list[str], **kwargs: object) -> subprocess.Popen:
    """The command in a process group of its own, as an interactive shell starts a job."""
    return subprocess.Popen([*NEARDUP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            preexec_fn=_interrupts_as_a_terminal_gives_them,
                            **kwargs)  # type: ignore[call-overload]


def run(args: list[str], timeout: float = 120, prefix: tuple[str, ...] | list[str] = (),
        **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *NEARDUP, *args], capture_output=True, timeout=timeout,
                          **kwargs)  # type: ignore[call-overload]


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The run failed with a one-line message holding every needle, and no traceback."""
    err = proc.stderr.decode()
    assert proc.returncode not in (0, None), err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def spill_dirs(tmp: Path) -> list[Path]:
    return list(tmp.glob(SPILL_PREFIX + "*"))


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file of an output directory but its lock and staging (what a reader sees), by
    relative path."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*")
            if p.is_file() and p.name != ".neardup.lock"
            and not p.relative_to(out).as_posix().startswith(STAGING_PREFIX)}


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory, lee_texts) -> Path:
    """~60,000 documents (about 60 MB): a run of several seconds on two cores."""
    corpus = synth.generate(lee_texts, 60_000, dup_fraction=0.3, target_chars=900, seed=3)
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for doc_id, text in zip(corpus.ids, corpus.texts):
            fh.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    return path


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A complete earlier run on the seeds, and its files."""
    out = tmp_path_factory.mktemp("previous") / "out"
    proc = run(["dedup", str(SEEDS), "-o", str(out), "-w", "1"])
    assert proc.returncode == 0, proc.stderr
    return out, snapshot(out)


# --- Interrupts, kills, concurrent runs ------------------------------------------------------

def start_mid_run(corpus: Path, out: Path, tmp: Path) -> subprocess.Popen:
    """``dedup`` on two cores, reading ``corpus`` from standard input, started and fed half
    of it: it is at work, and cannot finish before it is stopped, however fast it is."""
    proc = start(["dedup", "-", "-o", str(out), "--raw", "-w", "2", "--tmp-dir", str(tmp)],
                 stdin=subprocess.PIPE)
    data = corpus.read_bytes()
    assert proc.stdin is not None
    proc.stdin.write(data[:data.index(b"\n", len(data) // 2) + 1])
    proc.stdin.flush()
    wait_for(lambda: any(p.glob("spill-*.bin") for p in spill_dirs(tmp)))  # workers at work
    return proc


def test_ctrl_c_to_the_process_group_stops_cleanly(big_corpus, tmp_path) -> None:
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    proc = start_mid_run(big_corpus, out, tmp)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("still running 20 s after Ctrl-C")
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err and b"Aborted" not in err
    assert spill_dirs(tmp) == []  # temporary files removed
    assert [p.name for p in out.iterdir()] == [".neardup.lock"]  # nothing half-written


def test_clean_keeps_its_copy_of_standard_input_in_tmp_dir(tmp_path, lee_texts) -> None:
    """``clean -`` reads standard input twice (it learns boilerplate first), so it keeps a
    copy: in ``--tmp-dir``, seen there while the input is still arriving, gone afterwards."""
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    lines = [json.dumps({"id": f"d{i}", "text": text}) + "\n"
             for i, text in enumerate(lee_texts[:40])]
    proc = start(["clean", "-", "-o", str(out), "-w", "1", "--tmp-dir", str(tmp)],
                 stdin=subprocess.PIPE)
    assert proc.stdin is not None
    half = "".join(lines[:20]).encode()
    proc.stdin.write(half)
    proc.stdin.flush()
    copies = lambda: [p / "stdin.jsonl" for p in spill_dirs(tmp)]  # noqa: E731
    wait_for(lambda: any(c.is_file() and c.stat().st_size >= len(half) for c in copies()))
    proc.stdin.write("".join(lines[20:]).encode())
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert spill_dirs(tmp) == []
    cleaned = [json.loads(line)["id"] for line in open(out / "cleaned.jsonl")]
    assert sorted(cleaned) == sorted(f"d{i}" for i in range(40))


def test_sigterm_is_an_interrupt_too(big_corpus, tmp_path) -> None:
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    proc = start_mid_run(big_corpus, out, tmp)
    proc.send_signal(signal.SIGTERM)  # the main process alone, as a service manager does
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert spill_dirs(tmp) == []


def test_kill_9_leaves_the_previous_run_or_a_marked_incomplete_one(big_corpus, seed_run,
                                                                   tmp_path) -> None:
    """Killed at moments spread over a whole run (reading, verifying, writing, committing):
    afterwards the directory holds the previous run's outputs unchanged, or is marked
    incomplete (and the report refuses it); never a plausible partial result. The next run
    is not blocked, sweeps what the killed one left, and completes."""
    previous, before = seed_run
    tmp = tmp_path / "tmp"
    timed = tmp_path / "timed"
    started = time.monotonic()
    proc = run(["dedup", str(big_corpus), "-o", str(timed), "--raw", "-w", "2",
                "--tmp-dir", str(tmp)])
    assert proc.returncode == 0, proc.stderr
    whole = time.monotonic() - started
    outcomes = set()
    for fraction in (0.15, 0.35, 0.55, 0.7, 0.8, 0.88, 0.94, 0.98):
        out = tmp_path / f"out{fraction}"
        shutil.copytree(previous, out)
        proc = start(["dedup", str(big_corpus), "-o", str(out), "--raw", "-w", "2",
                      "--tmp-dir", str(tmp)])
        time.sleep(whole * fraction)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        wait_for(lambda: _group_gone(proc.pid))  # its workers too: the run is dead
        manifest = json.loads((out / MANIFEST).read_text())
        if manifest.get("pid") == proc.pid and manifest["state"] == "complete":
            outcomes.add("finished")  # the run won the race: its outputs are whole
            assert manifest["state"] == "complete"
            summary = json.loads((out / "summary.json").read_text())
            assert summary["documents_read"] == 60_000
        elif manifest["state"] == "complete":
            outcomes.add("previous kept")
            now = snapshot(out)
            assert now == before, "the previous run's outputs changed"
        else:
            outcomes.add("marked incomplete")
            assert manifest["state"] == "committing"
            refused = run(["report", str(out)])
            one_line_error(refused, "stopped before it finished")
        # The next run: not blocked by the dead one's lock; sweeps its staging and spill.
        again = run(["dedup", str(SEED_A), "-o", str(out), "-w", "1", "--tmp-dir", str(tmp)])
        assert again.returncode == 0, again.stderr
        assert not list(out.glob(STAGING_PREFIX + "*"))
        assert spill_dirs(tmp) == []
        assert json.loads((out / MANIFEST).read_text())["state"] == "complete"
        assert sorted(p.name for p in out.iterdir() if p.name != "kept") == sorted(
            [".neardup-run.json", ".neardup.lock", "clusters.jsonl", "pairs.jsonl",
             "rejected.jsonl", "summary.json"])
    assert "previous kept" in outcomes


def test_a_second_run_into_a_held_directory_is_refused_at_once(big_corpus, tmp_path) -> None:
    out = tmp_path / "out"
    first = start_mid_run(big_corpus, out, tmp_path / "tmp")  # holds out/ until fed the rest
    wait_for(lambda: any(out.glob(STAGING_PREFIX + "*")))
    started = time.monotonic()
    second = run(["dedup", str(SEEDS), "-o", str(out), "-w", "1"])
    assert time.monotonic() - started < 10
    one_line_error(second, "another neardup run is writing here", f"pid {first.pid}")
    data = big_corpus.read_bytes()
    _, err = first.communicate(data[data.index(b"\n", len(data) // 2) + 1:], timeout=300)
    assert first.returncode == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents_read"] == 60_000 and summary["inputs"] == ["-"]


# --- A full disk ------------------------------------------------------------------------------

def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk_while_writing_leaves_nothing_partial(seed_run, tmp_path, lee_texts) -> None:
    previous, before = seed_run
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    corpus = tmp_path / "c.jsonl"
    with open(corpus, "w") as fh:
        for k, text in enumerate(lee_texts * 4):
            fh.write(json.dumps({"id": str(k), "text": text}) + "\n")
    # kept/ needs ~ the corpus's size (1 MB), more than the limit lets one file have.
    proc = run(["dedup", str(corpus), "-o", str(out), "-w", "1", "--raw",
                "--tmp-dir", str(tmp_path / "tmp")], preexec_fn=_file_size_limit(300_000))
    one_line_error(proc, "File too large", "free space")
    assert snapshot(out) == before  # the previous run's outputs stand, unchanged
    assert not list(out.glob(STAGING_PREFIX + "*"))
    assert spill_dirs(tmp_path / "tmp") == []


def test_full_temporary_disk_while_stories_spill_is_one_line(tmp_path, lee_texts) -> None:
    """``pairs --match story`` writes nothing but its spill files (the pairs go to standard
    output): the file size limit can only be met there, by the workers' shingle sets."""
    corpus = tmp_path / "c.jsonl"
    with open(corpus, "w") as fh:
        for k, text in enumerate(lee_texts * 4):
            fh.write(json.dumps({"id": str(k), "text": text}) + "\n")
    tmp = tmp_path / "tmp"
    proc = run(["pairs", str(corpus), "--match", "story", "--raw", "-w", "2",
                "--tmp-dir", str(tmp)], preexec_fn=_file_size_limit(100_000))
    one_line_error(proc, "File too large", "free space", "--tmp-dir")
    assert proc.stdout == b""
    assert spill_dirs(tmp) == []
    again = run(["pairs", str(corpus), "--match", "story", "--raw", "-w", "2",
                 "--tmp-dir", str(tmp)])
    assert again.returncode == 0 and again.stdout.count(b"\n") > 0, again.stderr


# --- Files only root can read -----------------------------------------------------------------

def _unprivileged() -> list[str]:
    """A command prefix that runs the command without root's power over file permissions,
    when the tests run as root (root reads everything, so a permission fault needs it
    dropped). Setting another user id would do too, but this machine's Python lives under
    /root, where no other user may go; dropping root's capabilities to bypass permissions
    (setpriv, from util-linux) makes permission bits apply to it as to anyone."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        message = "no setpriv (util-linux) to run the command without root's privileges"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory of its own, removed even where the test made parts of it
    unreadable."""
    path = Path(tempfile.mkdtemp(prefix="neardup-faults-"))
    yield path
    for p in path.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def test_unreadable_files_and_directories_are_rejected_not_skipped(shared_tmp) -> None:
    corpus = shared_tmp / "corpus"
    shutil.copytree(SEEDS, corpus / "ok")
    (corpus / "closed").mkdir()
    (corpus / "closed" / "hidden.txt").write_text("A story nobody may read here today.")
    (corpus / "secret.txt").write_text("Another story that only its owner can read.")
    (corpus / "dangling.txt").symlink_to(corpus / "gone.txt")
    (corpus / "closed").chmod(0o000)
    (corpus / "secret.txt").chmod(0o000)
    out = shared_tmp / "out"
    proc = run(["dedup", str(corpus), "-o", str(out), "-w", "1", "--tmp-dir",
                str(shared_tmp / "tmp")], prefix=_unprivileged())
    assert proc.returncode == 0, proc.stderr
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    reasons = {Path(r["source"]).name: r["reason"] for r in rejected}
    assert "cannot read directory: Permission denied" in reasons["closed"]
    assert "Permission denied" in reasons["secret.txt"]
    assert "does not exist" in reasons["dangling.txt"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents_read"] == 2 + 3 and summary["rejected"] == 3
    err = proc.stderr.decode()
    assert "closed" in err and "secret.txt" in err and "dangling.txt" in err


def test_unwritable_output_fails_before_any_work(shared_tmp, big_corpus) -> None:
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o555)
    started = time.monotonic()
    proc = run(["dedup", str(big_corpus), "-o", str(locked / "out")], prefix=_unprivileged())
    assert time.monotonic() - started < 5
    one_line_error(proc, str(locked / "out"), "Permission denied")


# --- Broken inputs: what was read stands, the break is one rejection ------------------------

def _rows(n: int) -> list[bytes]:
    return [json.dumps({"id": f"r{k}", "text": f"record {k} says something about story {k}"
                        }).encode() + b"\n" for k in range(n)]


def _rejected(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]


def test_zstd_cut_inside_a_frame_at_a_line_boundary(tmp_path) -> None:
    rows = _rows(5000)
    frame = zstandard.ZstdCompressor().compress(b"".join(rows))
    decompressed = zstandard.ZstdDecompressor().decompressobj()
    # The shortest prefix of the frame that decodes to at least 2,000 whole lines.
    cut = next(n for n in range(1000, len(frame), 97)
               if zstandard.ZstdDecompressor().decompressobj().decompress(frame[:n]).count(b"\n")
               >= 2000)
    del decompressed
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(frame[:cut])
    out = tmp_path / "out"
    proc = run(["dedup", str(path), "-o", str(out), "-w", "1", "--raw"])
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    breaks = [r for r in _rejected(out) if "cannot read further" in r["reason"]]
    assert len(breaks) == 1 and "ends inside a frame" in breaks[0]["reason"]
    assert breaks[0]["source"] == str(path) and breaks[0]["record"] > 2000
    assert summary["documents_read"] == breaks[0]["record"]  # read lines and the break
    assert b"cannot read further" in proc.stderr


def test_zstd_of_several_frames_reads_every_frame(tmp_path) -> None:
    rows = _rows(300)
    path = tmp_path / "frames.jsonl.zst"
    path.write_bytes(b"".join(zstandard.ZstdCompressor().compress(b"".join(rows[k:k + 100]))
                              for k in range(0, 300, 100)))
    out = tmp_path / "out"
    proc = run(["dedup", str(path), "-o", str(out), "-w", "1", "--raw"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["documents_read"] == 300
    assert _rejected(out) == []


def test_truncated_gzip_keeps_what_came_before(tmp_path) -> None:
    data = gzip.compress(b"".join(_rows(3000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out"
    proc = run(["dedup", str(path), "-o", str(out), "-w", "1", "--raw"])
    assert proc.returncode == 0, proc.stderr
    breaks = [r for r in _rejected(out) if "cannot read further" in r["reason"]]
    assert len(breaks) == 1 and breaks[0]["record"] > 1000
    kept = gzip.decompress((out / "kept" / "cut.jsonl.gz").read_bytes()).splitlines()
    assert len(kept) == breaks[0]["record"] - 1  # every line before the break, kept


def test_corrupt_parquet_is_rejected_once_and_never_reopened(tmp_path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": [SEED_A.read_text(), "other words here"]}),
                   good)
    broken = tmp_path / "broken.parquet"
    data = good.read_bytes()
    broken.write_bytes(data[:20] + b"\x00" * 40 + data[60:])  # a page header destroyed
    out = tmp_path / "out"
    proc = run(["dedup", str(good), str(broken), "-o", str(out), "-w", "1"])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr.decode()
    bad = [r for r in _rejected(out) if r["source"] == str(broken)]
    assert len(bad) == 1, bad
    assert sorted(p.name for p in (out / "kept").iterdir()) == ["good.parquet"]


def test_bom_and_mixed_id_types(tmp_path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"".join([
        b'{"id": 42, "text": "the first record, after a byte-order mark"}\n',
        b'{"id": "42", "text": "a string id equal to the integer one"}\n',
        b'{"id": "43", "text": "a third record"}\n']))
    out = tmp_path / "out"
    proc = run(["dedup", str(path), "-o", str(out), "-w", "1", "--raw"])
    assert proc.returncode == 0, proc.stderr
    (rejected,) = _rejected(out)
    assert rejected["record"] == 2
    assert "duplicate id '42'" in rejected["reason"] and "42 and \"42\"" in rejected["reason"]


def test_clean_rejects_a_repeated_id_as_dedup_does(tmp_path) -> None:
    path = tmp_path / "rep.jsonl"
    path.write_text('{"id": "a", "text": "one story"}\n{"id": "a", "text": "another"}\n')
    out = tmp_path / "out"
    proc = run(["clean", str(path), "-o", str(out), "-w", "1"])
    assert proc.returncode == 0, proc.stderr
    cleaned = (out / "cleaned.jsonl").read_text().splitlines()
    assert [json.loads(x)["text"] for x in cleaned] == ["one story"]
    assert "duplicate id 'a'" in _rejected(out)[0]["reason"]


# --- One-line errors --------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["out under a file", "tmp under a file",
                                  "clean tmp under a file", "proc", "report to",
                                  "summary corrupt", "pairs corrupt", "explain empty",
                                  "text field", "id field", "not neardup's", "report incomplete"])
def test_errors_are_one_line_that_names_the_problem(case, tmp_path, seed_run) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    previous, _ = seed_run
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"id": "a", "body": "some text"}\n')
    if case == "out under a file":
        proc = run(["dedup", str(SEEDS), "-o", str(a_file / "out")])
        one_line_error(proc, str(a_file / "out"), "Not a directory")
    elif case == "tmp under a file":
        proc = run(["dedup", str(SEEDS), "-o", str(tmp_path / "o"), "--tmp-dir",
                    str(a_file / "t")])
        one_line_error(proc, str(a_file / "t"), "--tmp-dir")
    elif case == "clean tmp under a file":
        proc = run(["clean", str(SEEDS), "-o", str(tmp_path / "o"), "--tmp-dir",
                    str(a_file / "t")])
        one_line_error(proc, str(a_file / "t"), "--tmp-dir")
        assert not (tmp_path / "o").exists()
    elif case == "proc":
        one_line_error(run(["dedup", str(SEEDS), "-o", "/proc/neardup-x"]), "/proc/neardup-x")
    elif case == "report to":
        proc = run(["report", str(out), "-o", str(tmp_path / "missing" / "r.html")])
        one_line_error(proc, str(tmp_path / "missing" / "r.html"))
    elif case == "summary corrupt":
        (out / "summary.json").write_text("{not json")
        one_line_error(run(["report", str(out)]), "summary.json", "corrupt")
    elif case == "pairs corrupt":
        (out / "pairs.jsonl").write_text('{"a": "x", "b": ')
        one_line_error(run(["report", str(out)]), "pairs.jsonl:line 1", "corrupt")
    elif case == "explain empty":
        (tmp_path / "empty").mkdir()
        one_line_error(run(["explain", str(tmp_path / "empty"), str(SEED_A)]),
                       "holds no document")
    elif case == "text field":
        one_line_error(run(["dedup", str(jsonl), "-o", str(tmp_path / "o")]),
                       "'text'", "'body'", "--text-field")
    elif case == "id field":
        one_line_error(run(["dedup", str(jsonl), "-o", str(tmp_path / "o"), "--id-field",
                            "doc", "--text-field", "body"]), "'doc'", "--id-field")
    elif case == "not neardup's":
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("mine")
        one_line_error(run(["dedup", str(SEEDS), "-o", str(tmp_path / "mine")]),
                       "notes.txt", "--force")
    elif case == "report incomplete":
        manifest = json.loads((out / MANIFEST).read_text())
        (out / MANIFEST).write_text(json.dumps({**manifest, "state": "committing"}))
        one_line_error(run(["report", str(out)]), "stopped before it finished")


# --- The output directory: replaced whole, nothing foreign touched ---------------------------

def test_rerun_replaces_the_previous_run_and_nothing_else(tmp_path) -> None:
    out = tmp_path / "out"
    assert run(["dedup", str(SEEDS), "-o", str(out), "-w", "1"]).returncode == 0
    assert run(["report", str(out)]).returncode == 0
    (out / "kept" / "my-notes.txt").write_text("the user's own file")
    (out / "notes.md").write_text("also the user's")
    proc = run(["reuse", str(SEEDS), "-o", str(out), "-w", "1"])
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [".neardup-run.json", ".neardup.lock", "groups.jsonl", "kept/my-notes.txt",
                     "notes.md", "pairs.jsonl", "rejected.jsonl", "summary.json"]
    # Files of no neardup run (no manifest, no summary): refused; --force writes beside
    # them, but never over one.
    (out / MANIFEST).unlink()
    (out / "summary.json").unlink()
    one_line_error(run(["reuse", str(SEEDS), "-o", str(out), "-w", "1"]), "--force")
    proc = run(["reuse", str(SEEDS), "-o", str(out), "-w", "1", "--force"])
    one_line_error(proc, "pairs.jsonl", "was not written by neardup")
    (out / "pairs.jsonl").unlink()
    (out / "groups.jsonl").unlink()
    (out / "rejected.jsonl").unlink()
    proc = run(["reuse", str(SEEDS), "-o", str(out), "-w", "1", "--force"])
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.md").read_text() == "also the user's"
    assert (out / "kept" / "my-notes.txt").read_text() == "the user's own file"


# --- The report ------------------------------------------------------------------------------

def test_report_warns_when_an_input_changed(tmp_path) -> None:
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    out = tmp_path / "out"
    assert run(["reuse", str(corpus), "-o", str(out), "-w", "1"]).returncode == 0
    first = sorted(corpus.iterdir())[0]
    first.write_text(first.read_text().replace("TEHRAN", "Tehran, in a new edit,"))
    proc = run(["report", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert b"inputs changed since the run" in proc.stderr
    page = (out / "report.html").read_text()
    assert 'id="changed"' in page and "offsets no longer point" in page


def test_report_of_a_large_run_stays_small(tmp_path, lee_texts) -> None:
    from neardup.report import write_report

    corpus = tmp_path / "c.jsonl"
    with open(corpus, "w") as fh:
        for k, text in enumerate(lee_texts[:120]):
            for copy in range(3):
                fh.write(json.dumps({"id": f"{'x' * 300}{k}-{copy}", "text": text}) + "\n")
    out = tmp_path / "out"
    assert run(["dedup", str(corpus), "-o", str(out), "-w", "1", "--raw"]).returncode == 0
    path = write_report(out, max_pairs=100_000, max_bytes=600_000)
    page = path.read_text()
    assert len(page.encode()) < 600_000 + 200_000
    assert "views are left out to keep this page under" in page
    assert "overflow-wrap:anywhere" in page  # long ids wrap


def test_report_lists_rejected_records(tmp_path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(io.BytesIO(b'{"id": "a", "text": "fine words here"}\n{broken\n').read())
    out = tmp_path / "out"
    assert run(["dedup", str(path), "-o", str(out), "-w", "1"]).returncode == 0
    assert run(["report", str(out)]).returncode == 0
    page = (out / "report.html").read_text()
    assert 'id="rejected"' in page and "malformed JSON" in page


# --- The engine: a dead worker is an error, never a hang --------------------------------------

class _DiesOnThree:
    """Kills the worker process that gets an item from 3 on; the calling process, which
    computes some items itself, does not die."""

    def __init__(self) -> None:
        self.caller = os.getpid()

    def __call__(self, item: int) -> int:
        if item >= 3 and os.getpid() != self.caller:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
        return item * 2


class _FailsOnFive:
    def __call__(self, item: int) -> int:
        if item == 5:
            raise ValueError("item 5 is bad")
        return item


def test_a_worker_killed_mid_run_is_an_error_not_a_hang() -> None:
    from neardup.engine import LocalEngine
    from neardup.engine.local import WorkerDied

    started = time.monotonic()
    with pytest.raises(WorkerDied, match="killed by signal 9"):
        list(LocalEngine(2).map(_DiesOnThree(), range(10)))
    assert time.monotonic() - started < 10
    with pytest.raises(ValueError, match="item 5 is bad"):
        list(LocalEngine(2).map(_FailsOnFive(), range(10)))
    assert list(LocalEngine(2).map(_FailsOnFive(), range(5))) == [0, 1, 2, 3, 4]


def test_workers_end_when_the_main_process_is_killed_alone() -> None:
    """kill -9 of the main process alone (not its group): its workers see their pipes close
    and end, instead of lingering for ever."""
    code = ("import time\nfrom neardup.engine import LocalEngine\n"
            "class Slow:\n    def __call__(self, x):\n        time.sleep(0.1)\n        return x\n"
            "for _ in LocalEngine(3).map(Slow(), range(10_000)):\n    pass\n")
    main = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    children: list[str] = []

    def both_started() -> bool:  # LocalEngine(3): two worker processes and the caller
        children[:] = subprocess.run(["pgrep", "-P", str(main.pid)], capture_output=True,
                                     text=True).stdout.split()
        return len(children) == 2

    wait_for(both_started, timeout=30)
    main.kill()
    main.wait()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), timeout=15)


def test_report_of_unchanged_relative_inputs_warns_of_nothing(tmp_path) -> None:
    """Inputs named relative to where the run ran, report made from elsewhere: no change."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    (tmp_path / "seeds.jsonl").write_text('{"id": "x", "text": "a story told once"}\n')
    proc = run(["reuse", "seeds", "seeds.jsonl", "-o", "out", "-w", "1"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run(["report", str(tmp_path / "out")])
    assert proc.returncode == 0, proc.stderr
    assert b"inputs changed" not in proc.stderr
    assert 'id="changed"' not in (tmp_path / "out" / "report.html").read_text()


def test_a_directory_from_before_manifests_is_taken_as_neardup_output(tmp_path) -> None:
    """Output of a neardup that wrote no manifest (its summary.json names the command) is
    reported on and replaced like any earlier run, without --force."""
    out = tmp_path / "out"
    assert run(["dedup", str(SEEDS), "-o", str(out), "-w", "1"]).returncode == 0
    (out / MANIFEST).unlink()
    (out / "mine.txt").write_text("the user's")
    assert run(["report", str(out)]).returncode == 0
    proc = run(["reuse", str(SEEDS), "-o", str(out), "-w", "1"])
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [".neardup-run.json", ".neardup.lock", "groups.jsonl", "mine.txt",
                     "pairs.jsonl", "rejected.jsonl", "summary.json"]
