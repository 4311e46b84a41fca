"""Every input format end to end through the CLI, and every kind of bad input."""

from __future__ import annotations

import functools
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from neardup.cli import main
from neardup.document import Document, LineBlock, RecordBatch
from neardup.engine import LocalEngine
from neardup.errors import InputError
from neardup.intake import Intake, map_batches
from neardup.io.readers import ReadOptions, jsonl_ranges, parse_jsonl_line, read_jsonl_stream

from .conftest import ROOT, SEED_A, SEED_B, SEEDS


def run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neardup", *args], input=stdin,
                          capture_output=True, timeout=120)


def outputs(out: Path) -> tuple[list[dict], list[dict], dict, list[dict]]:
    read = lambda name: [json.loads(x) for x in (out / name).read_text().splitlines()]  # noqa
    return (read("pairs.jsonl"), read("clusters.jsonl"),
            json.loads((out / "summary.json").read_text()), read("rejected.jsonl"))


def seed_records() -> list[dict]:
    return [{"id": "000", "text": SEED_A.read_text(), "lang": "en"},
            {"id": "004", "text": SEED_B.read_text(), "lang": "en"},
            {"id": "other", "text": "A different story about the weather in Perth today."}]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)


def test_text_directory_recursive_ids_and_kept_copy(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus / "nested")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["dedup", str(corpus), "-o", str(out), "-w", "1"])
    assert result.exit_code == 0, result.output
    pairs, clusters, summary, _ = outputs(out)
    # Cleaned by default: title, date line, comment form and footer go, one text remains.
    assert pairs == [{"a": "nested/000_b4a537f1d5559298.txt",
                      "b": "nested/004_c9d478177cad84c5.txt", "jaccard": 1.0, "exact": True}]
    assert [c["keep"] for c in clusters] == [True, False]
    assert summary["documents_read"] == 2 and summary["kept"] == 1
    kept = list((out / "kept").rglob("*.txt"))
    assert [p.read_text() for p in kept] == [SEED_A.read_text()]


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.jsonl.gz", "docs.jsonl.zst"])
def test_jsonl_in_all_compressions_keeps_lines_verbatim(tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    write_jsonl(src, seed_records())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["dedup", str(src), "-o", str(out), "-w", "2"])
    assert result.exit_code == 0, result.output
    pairs, _, summary, _ = outputs(out)
    assert [(p["a"], p["b"]) for p in pairs] == [("000", "004")]
    with open(out / "kept" / name, "rb") as fh:
        raw = fh.read()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().decompress(raw, max_output_size=10**7)
    kept = [json.loads(x) for x in raw.decode().splitlines()]
    assert [k["id"] for k in kept] == ["000", "other"] and kept[0]["lang"] == "en"
    assert summary["kept"] + summary["removed"] + summary["rejected"] == 3


def test_parquet_with_custom_fields(tmp_path: Path) -> None:
    rows = seed_records()
    table = pa.table({"doc": [r["id"] for r in rows], "body": [r["text"] for r in rows],
                      "n": [1, 2, 3]})
    pq.write_table(table, tmp_path / "docs.parquet", row_group_size=2)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["dedup", str(tmp_path / "docs.parquet"), "-o", str(out),
                                       "--id-field", "doc", "--text-field", "body", "-w", "1"])
    assert result.exit_code == 0, result.output
    pairs, _, _, _ = outputs(out)
    assert [(p["a"], p["b"]) for p in pairs] == [("000", "004")]
    kept = pq.read_table(out / "kept" / "docs.parquet")
    assert kept.column("doc").to_pylist() == ["000", "other"]
    assert kept.column("n").to_pylist() == [1, 3]


def test_stdin_jsonl_and_pairs_command(tmp_path: Path) -> None:
    data = "".join(json.dumps(r) + "\n" for r in seed_records()).encode()
    proc = run(["pairs", "-", "--raw"], stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x) for x in proc.stdout.decode().splitlines()] == [
        {"a": "000", "b": "004", "jaccard": 0.896739}]
    assert proc.stderr == b""  # quiet in a pipe
    out = tmp_path / "out"
    proc = run(["dedup", "-", "-o", str(out)], stdin=data)
    assert proc.returncode == 0, proc.stderr
    kept = (out / "kept" / "stdin.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in kept] == ["000", "other"]


def test_bad_records_are_named_counted_and_the_rest_survive(tmp_path: Path) -> None:
    good = seed_records()
    lines = [
        json.dumps(good[0]).encode(),
        b'{"id": "broken", "text": "unterminated',
        b'["not", "an", "object"]',
        json.dumps({"text": "no id here"}).encode(),
        json.dumps({"id": "notext"}).encode(),
        json.dumps({"id": 5, "text": 17}).encode(),
        b'{"id": "badutf8", "text": "caf\xe9"}',
        json.dumps({"id": "000", "text": "a second record with a taken id"}).encode(),
        json.dumps({"id": "empty", "text": "   "}).encode(),
        json.dumps({"id": "huge", "text": "word " * 5000}).encode(),
        json.dumps(good[1]).encode(),
    ]
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    proc = run(["dedup", str(src), "-o", str(out), "--max-doc-bytes", "20000"])
    assert proc.returncode == 0, proc.stderr
    pairs, _, summary, rejected = outputs(out)
    assert [(p["a"], p["b"]) for p in pairs] == [("000", "004")]
    reasons = {r["record"]: r["reason"] for r in rejected}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9, 10}
    assert "malformed JSON" in reasons[2]
    assert "expected a JSON object" in reasons[3]
    assert "missing id field 'id'" in reasons[4]
    assert "missing text field 'text'" in reasons[5]
    assert "not a string" in reasons[6]
    assert "invalid UTF-8" in reasons[7]
    assert "duplicate id '000'" in reasons[8] and "mixed.jsonl:line 1" in reasons[8]
    assert "no words" in reasons[9]
    assert "over the limit" in reasons[10]
    assert summary["documents_read"] == 11 and summary["rejected"] == 9
    assert summary["kept"] + summary["removed"] + summary["rejected"] == 11
    assert f"{src}:line 2" in proc.stderr.decode()


@pytest.mark.parametrize("name", ["many-bad.jsonl", "many-bad.jsonl.gz"])
def test_a_batch_of_nothing_but_bad_records(tmp_path: Path, name: str) -> None:
    """More broken lines in a row than a batch or a range holds: each is rejected, and
    the documents around them are compared."""
    good = seed_records()
    lines = [*[b"{broken"] * 70_000, json.dumps(good[0]).encode(), json.dumps(good[1]).encode()]
    src = tmp_path / name
    data = b"\n".join(lines) + b"\n"
    src.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    proc = run(["pairs", str(src), "--raw", "-w", "2"])
    assert proc.returncode == 0, proc.stderr
    assert [(p["a"], p["b"]) for p in map(json.loads, proc.stdout.splitlines())] == [
        ("000", "004")]
    assert b"69,990 more rejected" in proc.stderr


def test_bad_files_in_a_directory(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    shutil.copy(SEED_A, corpus / "a.txt")
    shutil.copy(SEED_B, corpus / "b.txt")
    (corpus / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "latin1.txt").write_bytes("café au lait".encode("latin-1"))
    (corpus / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    proc = run(["dedup", str(corpus), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    pairs, _, summary, rejected = outputs(out)
    assert len(pairs) == 1
    reasons = {Path(r["source"]).name: r["reason"] for r in rejected}
    assert "binary" in reasons["image.png"]
    assert "invalid UTF-8 at byte 3" in reasons["latin1.txt"]
    assert "no words" in reasons["empty.txt"]
    assert summary["documents_read"] == 5 and summary["kept"] == 1


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    src = tmp_path / "cut.jsonl.gz"
    write_jsonl(src, seed_records() * 1 + [{"id": f"x{i}", "text": f"filler {i} " * 50}
                                           for i in range(200)])
    data = src.read_bytes()
    src.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out"
    proc = run(["dedup", str(src), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    pairs, _, summary, rejected = outputs(out)
    assert ("000", "004") in [(p["a"], p["b"]) for p in pairs]
    assert "rest of this file is lost" in rejected[-1]["reason"]


def test_unusable_arguments_exit_nonzero_with_one_line(tmp_path: Path) -> None:
    proc = run(["dedup", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o")])
    assert proc.returncode != 0
    assert proc.stderr.decode().strip().splitlines()[-1].endswith("no such file or directory")
    proc = run(["pairs", str(SEEDS), "--threshold", "1.5"])
    assert proc.returncode == 2 and b"threshold" in proc.stderr


def test_progress_shows_rate_when_asked_and_nothing_in_a_pipe(tmp_path: Path, planted) -> None:
    src = tmp_path / "many.jsonl"
    write_jsonl(src, [{"id": i, "text": t} for i, t in zip(planted.ids, planted.texts)])
    shown = run(["pairs", str(src), "--progress", "-w", "1"])
    assert shown.returncode == 0
    assert b"docs/s" in shown.stderr and b"2,500 docs" in shown.stderr
    # Read by two workers, ranges are counted as they come back: the bar ends on them all.
    last = run(["pairs", str(src), "--raw", "--progress", "-w", "2"]).stderr
    reading = [line for line in last.replace(b"\r", b"\n").splitlines()
               if line.startswith(b"reading")]
    assert b"100%" in reading[-1] and b"2,500 docs" in reading[-1]
    quiet = run(["pairs", str(src), "-w", "1"])
    assert quiet.stderr == b"" and quiet.stdout == shown.stdout


def test_plain_text_files_given_one_by_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["dedup", str(SEED_B), str(SEED_A), "-o", str(out),
                                       "-w", "1", "--keep", "longest"])
    assert result.exit_code == 0, result.output
    pairs, clusters, _, _ = outputs(out)
    assert [(p["a"], p["b"]) for p in pairs] == [(str(SEED_B), str(SEED_A))]
    kept = [c["id"] for c in clusters if c["keep"]]
    # Both copies have 353 words (title, date and comment form against the footer): a tie,
    # which goes to the copy read first.
    assert kept == [str(SEED_B)]
    assert [p.name for p in (out / "kept").iterdir()] == [SEED_B.name]


def test_an_empty_input_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = run(["dedup", str(tmp_path / "empty"), "-o", str(tmp_path / "out")])
    assert proc.returncode == 0
    assert b"no documents found in" in proc.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["documents_read"] == 0


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"{", b"a", b"\xc3\xa9", b" ", b"\t", b"\r", b"\x0b", b"\x0c",
                                 b"\n", b"\n"]), min_size=1, max_size=40).map(b"".join),
       st.integers(1, 10**6))
def test_a_block_of_lines_has_a_record_for_each_line_that_is_not_blank(data: bytes,
                                                                        first: int) -> None:
    """A block finds line ends with numpy; line by line, as a person reads the file: each
    line bytes.strip() leaves something in is a record, numbered by its line."""
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    expected = [(number, piece) for number, piece in enumerate(pieces, start=first)
                if piece.strip()]
    block = LineBlock.of_lines("in.jsonl", data, first, parse=None)  # type: ignore[arg-type]
    got = [(number, block.data[s:e]) for number, s, e in
           zip(block.lines.tolist(), block.starts.tolist(), block.ends.tolist())]
    assert got == expected
    assert block.next_line == first + len(pieces)
    halves = list(block.split(max(1, len(block) // 2)))
    assert [(n, b.data[s:e]) for b in halves for n, s, e in
            zip(b.lines.tolist(), b.starts.tolist(), b.ends.tolist())] == expected


def _outcomes(batch: RecordBatch) -> list[tuple[int, str]]:
    return [(i, doc.id if isinstance(doc, Document) else doc.reason)
            for i, doc in batch.parsed()]


def book_documents(records: list, workers: int = 1) -> tuple[list[tuple[str, str]], int]:
    """Each record as the reading process books it (its source, its id or why it was
    rejected), and the count read."""
    intake = Intake(batch_size=3)
    booked = []
    for _, batch, outcomes in map_batches(LocalEngine(workers), _outcomes, records, intake):
        booked += [(str(batch.source(i)), outcome) for i, outcome in outcomes]
    return booked, intake.documents_read


_LINES = st.sampled_from([b'{"id": "a", "text": "one two"}', b'{"id": 7, "text": "x"}',
                          b'{"id": "b"}', b"{broken", b"", b"  ", b"\t\r",
                          b'{"id": "long", "text": "' + b"word " * 40 + b'"}'])


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, max_size=30), st.booleans(), st.booleans(), st.integers(1, 300))
def test_ranges_read_by_workers_are_booked_as_the_lines_read_in_order(
        tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], bom: bool,
        last_newline: bool, size: int) -> None:
    """A plain file cut into ranges (at any size, a line longer than one included) and
    read wherever the engine runs gives every record with the line number, the id or the
    reason a reader reading it from the start gives; a file read twice is numbered from
    1 both times."""
    path = tmp_path_factory.mktemp("ranges") / "in.jsonl"
    data = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines)
    path.write_bytes(data + (b"\n" if last_newline and lines else b""))
    options = ReadOptions()
    with open(path, "rb") as fh:
        expected = [*read_jsonl_stream(fh, str(path), options, deferred=True)]
    parse = functools.partial(parse_jsonl_line, options=options)
    cut = [*jsonl_ranges(str(path), parse, size)]
    assert sum(r.size for r in cut) == path.stat().st_size - (3 if bom else 0)
    assert book_documents(cut + cut) == book_documents(expected + expected)


def test_a_plain_file_read_by_the_workers_gives_what_a_compressed_one_gives(
        tmp_path: Path, planted) -> None:
    """A plain JSONL file of many ranges, read by two workers, against the same lines
    gzipped (read as a stream by the main process): the same pairs, groups, kept lines and
    rejected records, each named by its line, and the same cleaned documents."""
    rows = [json.dumps({"id": i, "text": t}).encode() for i, t in zip(planted.ids, planted.texts)]
    bad = {700: b"{broken", 1500: b'{"id": "no text"}', 2300: b'["not", "an", "object"]'}
    for line, data in sorted(bad.items()):
        rows.insert(line - 1, data)
    rows.insert(1000, b"")  # a blank line counts as a line
    data = b"\n".join(rows) + b"\n"
    assert len(data) > 8 * (1 << 19)  # many ranges
    plain, packed = tmp_path / "in.jsonl", tmp_path / "in.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    got = {}
    for src in (plain, packed):
        out = tmp_path / src.name.replace(".", "-")
        proc = run(["dedup", str(src), "-o", str(out), "--raw", "-w", "2"])
        assert proc.returncode == 0, proc.stderr
        pairs, clusters, summary, rejected = outputs(out)
        kept = (out / "kept" / src.name).read_bytes()
        kept = gzip.decompress(kept) if src.name.endswith(".gz") else kept
        rejected = [(r["record"], r["id"], r["reason"]) for r in rejected]
        got[src] = (pairs, clusters, rejected, kept, summary["documents_read"])
    assert got[plain] == got[packed]
    pairs, _, rejected, kept, read = got[plain]
    assert len(pairs) > 100 and read == len(rows) - 1
    assert [r[0] for r in rejected] == [line if line < 1000 else line + 1 for line in bad]
    cleaned = []
    for src in (plain, packed):
        out = tmp_path / ("clean-" + src.name.replace(".", "-"))
        proc = run(["clean", str(src), "-o", str(out), "-w", "2"])
        assert proc.returncode == 0, proc.stderr
        cleaned.append((out / "cleaned.jsonl").read_bytes())
    assert cleaned[0] == cleaned[1] and cleaned[0].count(b"\n") == read - len(bad)


@pytest.mark.parametrize("change", ["replaced", "removed"])
def test_a_file_replaced_or_removed_while_read_is_an_error_that_says_so(
        tmp_path: Path, change: str) -> None:
    """Ranges are read by path, each when its turn comes: should the file be swapped for
    another (a rotated log) or removed meanwhile, the run stops with one line saying so,
    rather than read other lines at the old offsets."""
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(json.dumps({"id": i, "text": f"words {i}"}).encode() + b"\n"
                             for i in range(20_000)))
    parse = functools.partial(parse_jsonl_line, options=ReadOptions())
    ranges = list(jsonl_ranges(str(src), parse, size=1 << 16))
    assert len(ranges) > 2
    ranges[0].load()  # as cut
    if change == "replaced":
        other = tmp_path / "other.jsonl"
        other.write_bytes(src.read_bytes())
        other.replace(src)
    else:
        src.unlink()
    for later in ranges[1:]:
        with pytest.raises(InputError, match=f"{src}: {change} .*while it was being read"):
            later.load()


@pytest.mark.parametrize("command", ["pairs", "dedup"])
def test_the_local_engine_refuses_an_input_on_another_file_system(tmp_path: Path,
                                                                  command: str) -> None:
    out = ["-o", str(tmp_path / "out")] if command == "dedup" else []
    result = run([command, "hdfs://namenode/crawl/news.jsonl", str(SEED_A), *out])
    assert result.returncode != 0
    assert result.stderr.decode().strip().splitlines() == [
        "Error: hdfs://namenode/crawl/news.jsonl: only --engine spark reads inputs on another "
        "file system; add it, or copy the input here"]
    assert not (tmp_path / "out").exists()


def test_kept_as_parquet_holds_each_kept_document_as_read(tmp_path: Path) -> None:
    """--kept-format parquet: one Parquet file an input (JSONL, Parquet, a directory of
    text files, standard input), holding the documents the input-format copy holds, in
    the same order, with their text as read and where they came from."""
    news = ROOT / "examples" / "news.jsonl"
    rows = [json.loads(line) for line in news.read_text().splitlines()]
    lee = (ROOT / "tests" / "data" / "lee_background.cor").read_text().splitlines()
    table_path = tmp_path / "more.parquet"
    pq.write_table(pa.table({"id": [f"lee-{k}" for k in range(20)], "text": lee[250:270]}),
                   table_path, row_group_size=7)
    inputs = [str(news), str(table_path), str(SEEDS), "-"]
    stdin = b"\n".join(json.dumps({"id": f"in-{k}", "text": lee[k],
                                   "site": "wire"}).encode() for k in range(270, 275))
    outs = {}
    for kept_format in ("input", "parquet"):
        outs[kept_format] = tmp_path / kept_format
        result = run(["dedup", *inputs, "-o", str(outs[kept_format]), "--kept-format",
                      kept_format, "--site-field", "site"], stdin=stdin)
        assert result.returncode == 0, result.stderr
    copied = outs["input"] / "kept"
    as_parquet = outs["parquet"] / "kept"
    assert sorted(p.name for p in as_parquet.iterdir()) == [
        "more.parquet", "news.jsonl.parquet", "seeds.parquet", "stdin.jsonl.parquet"]
    news_kept = pq.read_table(as_parquet / "news.jsonl.parquet").to_pylist()
    assert [r["id"] for r in news_kept] == [
        json.loads(line)["id"] for line in (copied / "news.jsonl").read_text().splitlines()]
    texts = {r["id"]: r["text"] for r in rows}
    assert all(r["text"] == texts[r["id"]] and r["source"] == str(news) for r in news_kept)
    assert [r["record"] for r in news_kept][:2] == [1, 2]
    assert pq.read_table(as_parquet / "more.parquet").column("id").to_pylist() == \
        pq.read_table(copied / "more.parquet").column("id").to_pylist()
    seeds = pq.read_table(as_parquet / "seeds.parquet").to_pylist()
    assert sorted(Path(r["source"]).name for r in seeds) == sorted(
        p.name for p in (copied / "seeds").rglob("*") if p.is_file())
    assert all(r["text"] == Path(r["source"]).read_text() for r in seeds)
    piped = pq.read_table(as_parquet / "stdin.jsonl.parquet").to_pylist()
    assert [r["id"] for r in piped] == [json.loads(line)["id"] for line in
                                       (copied / "stdin.jsonl").read_text().splitlines()]
    assert piped and all(r["site"] == "wire" and r["source"] == "-" for r in piped)
