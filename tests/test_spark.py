"""The Spark engine on `local[2]`: the local engine's results, whatever the partitioning.

Needs PySpark (in the test extra) and Java 17 (`make test` installs it where it can);
under CI=true a missing one fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neardup import DedupOptions
from neardup.api import run_files
from neardup.clean import CleanOptions
from neardup.cluster import components
from neardup.dedup import DedupResult
from neardup.io.readers import ReadOptions

from . import synth
from .conftest import LEE, ROOT

if not os.environ.get("CI") and (shutil.which("java") is None and
                                 not os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime here (under CI=true this fails)", allow_module_level=True)

from neardup.engine.spark import SparkSettings  # noqa: E402
from neardup.engine.spark.components import connected_components  # noqa: E402
from neardup.engine.spark.session import session  # noqa: E402

MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark() -> Any:
    started = session(SparkSettings(MASTER), input_bytes=0)  # small graphs and corpora
    started.conf.set("spark.sql.shuffle.partitions", "4")  # small graphs (runs set their own)
    return started


def _components_on_spark(spark: Any, edges: np.ndarray) -> dict[int, int]:
    frame = spark.createDataFrame(pa.table({"a": edges[:, 0], "b": edges[:, 1]}))
    table = connected_components(frame).toArrow()
    return dict(zip(table.column("node").to_pylist(), table.column("root").to_pylist()))


def _union_find(edges: np.ndarray) -> dict[int, int]:
    nodes = np.unique(edges)
    index = {int(v): i for i, v in enumerate(nodes.tolist())}
    local = np.array([[index[a], index[b]] for a, b in edges.tolist()]).reshape(-1, 2)
    roots = components(len(nodes), local)
    return {int(nodes[i]): int(nodes[r]) for i, r in enumerate(roots.tolist())}


def _graphs() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    chain = rng.permutation(400)  # one path through 400 nodes in random label order
    star = np.stack([np.full(60, 1000), np.arange(2000, 2060)], axis=1)
    sparse = rng.integers(0, 3000, (1200, 2))  # many components, some loops and repeats
    two_chains = np.concatenate([np.stack([np.arange(0, 99), np.arange(1, 100)], axis=1),
                                 np.stack([np.arange(299, 200, -1), np.arange(298, 199, -1)],
                                          axis=1)])
    return [("long chain", np.stack([chain[:-1], chain[1:]], axis=1)),
            ("star", star), ("random sparse graph", sparse),
            ("two chains, opposite orders", two_chains),
            ("self loops and repeats", np.array([[5, 5], [5, 6], [6, 5], [7, 7], [6, 8]]))]


def test_components_on_dataframes_equal_union_find(spark: Any) -> None:
    """Every graph of :func:`_graphs` side by side in one graph (each one's node numbers
    shifted past the others'), its components found in rounds on DataFrames: each graph's
    are union-find's."""
    graphs, shift = {}, 0
    for name, edges in _graphs():
        graphs[name] = edges.astype(np.int64) + shift
        shift = int(graphs[name].max()) + 1
    found = _components_on_spark(spark, np.concatenate(list(graphs.values())))
    for name, edges in graphs.items():
        expected = _union_find(edges[edges[:, 0] != edges[:, 1]])
        assert {node: found[node] for node in expected} == expected, name
        assert found.keys() & set(np.unique(edges).tolist()) == expected.keys(), name


def _chain_of_near_copies(text: str, length: int, rng: np.random.Generator) -> list[str]:
    """Each text a light edit of the one before (two words replaced): neighbours match,
    the chain's ends do not."""
    words = text.split()
    out = []
    for _ in range(length):
        words = list(words)
        for at in rng.integers(0, len(words), 2).tolist():
            words[at] = f"edit{int(rng.integers(10**6))}"
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, lee_texts: list[str]) -> list[str]:
    """Real news text (the examples), planted copies, long chains of near copies in random
    order, and records every reader must reject, in JSONL and Parquet."""
    root = tmp_path_factory.mktemp("spark-corpus")
    rng = np.random.default_rng(11)
    planted = synth.generate(lee_texts, 600, dup_fraction=0.3, seed=5)
    articles = synth.chain_articles(lee_texts, 3, seed=2)
    chains = [t for a in articles for t in _chain_of_near_copies(a, 25, rng)]
    order = rng.permutation(len(chains))
    rows = [{"id": f"p{i}", "text": t} for i, t in zip(planted.ids, planted.texts)]
    rows += [{"id": f"chain{k}", "text": chains[k]} for k in order.tolist()]
    half = len(rows) // 2
    first = root / "first.jsonl"
    with open(first, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")  # a byte-order mark before the first record
        for k, row in enumerate(rows[:half]):
            fh.write(json.dumps(row).encode() + b"\n")
            if k == 10:
                fh.write(b"\n   \n")  # blank lines: not records, but counted as lines
            if k == 20:
                fh.write(b'{"id": "broken", "text": \n')
            if k == 30:
                fh.write(b'{"text": "no id here at all"}\n')
            if k == 40:
                fh.write(json.dumps({"id": "p" + planted.ids[0], "text": "again"}).encode()
                         + b"\n")  # a repeated id
            if k == 50:
                fh.write(b'{"id": "empty", "text": " ,;; "}\n')
    second = root / "second.parquet"
    pq.write_table(pa.table({"id": [r["id"] for r in rows[half:]],
                             "text": [r["text"] for r in rows[half:]]}), second,
                   row_group_size=97)
    return [str(first), str(ROOT / "examples" / "news.jsonl"), str(second)]


def _outcome(result: DedupResult) -> dict[str, Any]:
    return {"pairs": [p.to_dict() for p in result.iter_pairs(None)],
            "clusters": list(result.iter_cluster_rows()), "kept": result.kept_ids(),
            "rejected": [r.message() for r in result.rejected],
            "stats": result.stats.to_dict()}


@pytest.mark.parametrize("options", [DedupOptions(), DedupOptions(clean=CleanOptions())],
                         ids=["raw", "cleaned"])
def test_spark_gives_the_local_engines_result_for_any_partitioning(
        spark: Any, corpus: list[str], options: DedupOptions) -> None:
    local = _outcome(run_files(corpus, options, ReadOptions(), workers=1))
    # The test set is real: planted pairs, chains grouped past their ends' similarity,
    # and the reader's rejections.
    assert len(local["pairs"]) > 200 and local["stats"]["groups"] > 50
    assert any("malformed JSON" in r for r in local["rejected"])
    assert any("duplicate id" in r for r in local["rejected"])
    chains = [row for row in local["clusters"] if row["id"].startswith("chain")]
    assert max(row["size"] for row in chains) >= 20
    assert min(row["jaccard_to_kept"] for row in chains) < options.threshold
    # One partition (every shuffle in one task) raw, an odd number cleaned; the other
    # tests run Spark's default (twice the cores) and a cluster.
    for partitions in ((1,) if options.clean is None else (7,)):
        got = _outcome(run_files(corpus, options, ReadOptions(),
                                 spark=SparkSettings(MASTER, partitions)))
        for part in local:
            assert got[part] == local[part], (partitions, part)


def test_band_pairs_on_executors_equal_brute_force_on_shared_paragraphs(
        spark: Any, tmp_path: Path) -> None:
    """Documents that share paragraphs, banded on the executors: only the rows of shared
    keys meet their signature bytes, and each band's pairs are made and tested there. A
    small ``max_bucket`` makes stars of the large buckets. The pairs are the local
    engine's, candidates included, each a true pair with its exact score; the local
    engine's pairs at the default ``max_bucket`` are brute force's (recall at least
    0.995; stars list fewer pairs by design)."""
    from . import paragraphs

    made = paragraphs.generate(1500, 100, copies=0.15, seed=11)
    path = tmp_path / "shared.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i:05d}", "text": t}) + "\n"
                            for i, t in enumerate(made.texts)))
    truth = paragraphs.true_pairs(made.texts, made.paragraphs, 0.8)
    assert len(truth) > 50
    complete = _outcome(run_files([str(path)], DedupOptions(), ReadOptions(), workers=1))
    starred = DedupOptions(max_bucket=4)
    local = _outcome(run_files([str(path)], starred, ReadOptions(), workers=1))
    got = _outcome(run_files([str(path)], starred, ReadOptions(),
                             spark=SparkSettings(MASTER, 3)))
    assert got == local
    assert local["stats"]["candidate_pairs"] < complete["stats"]["candidate_pairs"]  # stars
    for outcome in (complete, got):
        found = {(int(p["a"][1:]), int(p["b"][1:])): p["jaccard"] for p in outcome["pairs"]}
        assert found.keys() <= truth.keys()
        for k, score in found.items():
            assert score == pytest.approx(truth[k], abs=1e-6)
    found = {(int(p["a"][1:]), int(p["b"][1:])) for p in complete["pairs"]}
    assert len(found & truth.keys()) / len(truth) >= 0.995


def _outputs(out: Path) -> list[str]:
    """A run's outputs: files, or Spark's directories of part files."""
    names = []
    for p in sorted(out.rglob("*")):
        inside_parts = p.parent != out and p.name.startswith("part-")
        if p.is_file() and not inside_parts and not p.name.startswith((".neardup", "summary")):
            names.append(p.relative_to(out).as_posix())
        elif p.is_dir() and any(c.name.startswith("part-") for c in p.iterdir()):
            names.append(p.relative_to(out).as_posix())
    return names


def _output(path: Path) -> Any:
    """An output's content: its bytes (a directory's parts concatenated in name order), or
    for Parquet its rows."""
    parts = sorted(path.iterdir()) if path.is_dir() else [path]
    if path.name.endswith(".parquet"):
        return [row for part in parts for row in _rows(part)]
    return b"".join(part.read_bytes() for part in parts)


def _rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("name", ["page.html", "news.jsonl.zst", "folder"])
def test_spark_refuses_inputs_it_cannot_read_in_one_line(tmp_path: Path, name: str) -> None:
    """An HTML page, zstd JSONL, or a directory with no JSONL or Parquet file in it."""
    target = tmp_path / name
    if name == "folder":
        target.mkdir()
        (target / "notes.txt").write_text("plain text, which only the local engine reads")
    elif name.endswith(".zst"):
        import zstandard

        target.write_bytes(zstandard.ZstdCompressor().compress(b'{"id": "a", "text": "t"}\n'))
    else:
        target.write_text("<html><body><p>text</p></body></html>")
    run = subprocess.run([sys.executable, "-m", "neardup", "pairs", str(target),
                          "--engine", "spark"], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "Using incubator modules" not in run.stderr  # refused before Spark started
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and name in lines[0] and "--engine spark reads JSONL" in lines[0]
    if name == "page.html":
        assert "local engine" in lines[0]
    assert "Traceback" not in run.stderr


def test_a_failed_spark_job_is_one_line_naming_the_step_and_what_to_change(
        tmp_path: Path) -> None:
    """A job Spark aborts (here: results to the driver over a spark.driver.maxResultSize
    of 1 KiB, as a corpus too large for the driver's setting meets it) ends the run with
    exit status 1 and one line: the step, Spark's reason, the setting to change. No Java
    stack, no Spark log line, no output directory that looks complete."""
    news = ROOT / "examples" / "news.jsonl"
    run = subprocess.run([sys.executable, "-m", "neardup", "dedup", str(news), "-o",
                          str(tmp_path / "out"), "--raw", "--engine", "spark", "--master",
                          "local[1]", "--spark-conf", "spark.driver.maxResultSize=1k"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("Error: spark, reading and sketching: ")
    assert "spark.driver.maxResultSize" in lines[0] and "--spark-conf" in lines[0]
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.parametrize("args,said", [
    (["reuse"], "`neardup reuse` runs on the local engine only"),
    (["clean", "--dedup-paragraphs"], "--dedup-paragraphs runs on the local engine only")])
def test_local_only_work_says_so_for_spark(tmp_path: Path, args: list[str], said: str) -> None:
    run = subprocess.run([sys.executable, "-m", "neardup", *args,
                          str(ROOT / "examples" / "news.jsonl"), "-o", str(tmp_path / "out"),
                          "--engine", "spark"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert said in run.stderr
    assert not (tmp_path / "out").exists()


def _site_pages(lee_texts: list[str], root: Path) -> list[str]:
    """News pages of three sites, each in its own template (head and foot lines, in
    English, Russian and German), with a title: 200 in JSONL (a byte-order mark, blank
    lines, a broken record and a repeated id among them), 100 in Parquet."""
    templates = [
        (["The Daily Example", "Home | World | Business | Sport"],
         ["Share this story with a friend", "(c) 2024 The Daily Example. All rights reserved."]),
        (["Морской вестник — новости", "Главная | Мир | Спорт"],
         ["Подпишитесь на нашу рассылку", "Leave a Reply"]),
        (["Nachrichten am Morgen"], ["Teilen Sie diesen Artikel", "3 Comments"])]
    rows = []
    for i, text in enumerate(lee_texts[:300]):
        head, foot = templates[i % 3]
        words = text.split()
        body = "\n\n".join(" ".join(words[j:j + 40]) for j in range(0, len(words), 40))
        rows.append({"id": f"page{i}", "title": f"Story {i}", "site": f"site{i % 3}.example",
                     "text": "\n".join(head) + "\n\n" + body + "\n\n" + "\n".join(foot)})
    jsonl = root / "pages.jsonl"
    with open(jsonl, "w", encoding="utf-8") as fh:
        fh.write("\ufeff")
        for k, row in enumerate(rows[:200]):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            if k == 5:
                fh.write("\n  \n")
            if k == 7:
                fh.write('{"id": "broken", "text": \n')
            if k == 9:
                fh.write(json.dumps({"id": "page3", "text": "a repeated id"}) + "\n")
    parquet = root / "pages.parquet"
    pq.write_table(pa.table({key: [r[key] for r in rows[200:]]
                             for key in ("id", "text", "site", "title")}), parquet,
                   row_group_size=37)
    return [str(jsonl), str(parquet)]


def test_clean_on_spark_writes_the_local_engines_files(tmp_path: Path,
                                                       lee_texts: list[str]) -> None:
    """`neardup clean --engine spark` on pages of three site templates: each output is a
    directory of part files whose concatenation is the local engine's file, byte for byte
    (cleaned rows in reading order, the learned lines with their counts, the rejected
    records), and summary.json says what the local one says."""
    inputs = _site_pages(lee_texts, tmp_path)
    outputs = {}
    for engine in ("local", "spark"):
        out = tmp_path / engine
        run = subprocess.run([sys.executable, "-m", "neardup", "clean", *inputs, "-o",
                              str(out), "--engine", engine], capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
        outputs[engine] = {name: _output(out / name) for name in _outputs(out)}
        summary = json.loads((out / "summary.json").read_text())
        summary.pop("seconds")
        outputs[engine]["summary"] = summary
    local, spark = outputs["local"], outputs["spark"]
    assert spark.keys() == local.keys() == {"cleaned.jsonl", "boilerplate.jsonl",
                                            "rejected.jsonl", "summary"}
    for name in local:
        assert spark[name] == local[name], name
    # The oracle: each template line is learned and removed from every page of its site;
    # no line of an article is.
    learned = {json.loads(line)["line"]: json.loads(line)["removed_from"]
               for line in local["boilerplate.jsonl"].decode().splitlines()}
    assert learned["Главная | Мир | Спорт"] == 100 and learned["The Daily Example"] == 100
    assert not any(line in text for line in learned for text in lee_texts[:300])
    cleaned = [json.loads(line) for line in local["cleaned.jsonl"].decode().splitlines()]
    assert [c["id"] for c in cleaned] == [f"page{i}" for i in range(300)]
    assert all("Nachrichten am Morgen" not in c["text"] for c in cleaned)
    rejected = [json.loads(line) for line in local["rejected.jsonl"].decode().splitlines()]
    assert [(r["id"], r["record"]) for r in rejected] == [(None, 11), ("page3", 14)]
    assert local["summary"]["rejected"] == 2 and local["summary"]["cleaned"] == 300


def test_a_remote_output_directory_commits_as_a_local_one(spark: Any, tmp_path: Path) -> None:
    """RemoteOutputDir on Hadoop's file system API (here over file://): nothing shows before
    the commit, the manifest lists what is there, a second run replaces the first's files
    (a file where a directory of parts was, and back), a run that does not commit leaves
    the previous output as it was, and a directory of someone else's files is refused."""
    from neardup.engine.spark.files import HadoopFiles, RemoteOutputDir
    from neardup.errors import OutputError

    files, uri, out = HadoopFiles(spark), (tmp_path / "out").as_uri(), tmp_path / "out"

    def run(content: dict[str, str], commit: bool = True) -> None:
        with RemoteOutputDir(files, uri, "dedup") as remote:
            for name, text in content.items():
                remote.write_text(name, text)
            assert not (out / "summary.json").exists() or commit is False or \
                json.loads((out / ".neardup-run.json").read_text())["state"] == "complete"
            if commit:
                remote.commit()

    def on_disk() -> dict[str, str]:
        return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*")
                if p.is_file()}

    first = {"pairs.jsonl/part-00000.jsonl": "a\n", "pairs.jsonl/part-00001.jsonl": "b\n",
             "summary.json": "{}"}
    run(first)
    manifest = json.loads((out / ".neardup-run.json").read_text())
    assert manifest["state"] == "complete" and set(manifest["files"]) == set(first)
    assert {k: v for k, v in on_disk().items() if k != ".neardup-run.json"} == first
    second = {"pairs.jsonl": "c\n", "summary.json": "{\"x\": 1}"}
    run(second)
    assert {k: v for k, v in on_disk().items() if k != ".neardup-run.json"} == second
    run({"pairs.jsonl/part-00000.jsonl": "d\n"}, commit=False)  # killed before its commit
    assert {k: v for k, v in on_disk().items() if k != ".neardup-run.json"} == second
    run(first)
    assert {k: v for k, v in on_disk().items() if k != ".neardup-run.json"} == first
    foreign = tmp_path / "theirs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a neardup output directory"):
        RemoteOutputDir(files, foreign.as_uri(), "dedup").open()
    assert (foreign / "notes.txt").read_text() == "mine"


def test_find_on_spark_writes_the_local_engines_files(spark: Any, tmp_path: Path) -> None:
    """`find` with the query table broadcast to the executors: each output is a directory
    of part files whose concatenation is the local engine's file, byte for byte (matches
    in reading order, the rejections of both sides, the removals, kept/ in the inputs'
    formats), queries.jsonl and summary.json are the local engine's; on a corpus in JSONL
    and Parquet with a broken line, a repeated id and a text without words."""
    from neardup import FindOptions, find_files

    from . import contamination

    made = contamination.planted(LEE.read_text(encoding="utf-8").splitlines(), docs=400,
                                 queries=40, seed=4)
    docs = [{"id": d, "text": t, "site": f"s{k % 3}"} for k, (d, t) in
            enumerate(made.docs.items())]
    lines = [json.dumps(d) for d in docs[:200]]
    lines[7:7] = ["{broken", json.dumps({"id": docs[3]["id"], "text": "repeated id"}),
                  json.dumps({"id": "empty", "text": " ... "})]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    pq.write_table(pa.Table.from_pylist(docs[200:]), tmp_path / "b.parquet",
                   row_group_size=60)
    (tmp_path / "q.jsonl").write_text("".join(
        json.dumps({"id": q, "text": t}) + "\n" for q, t in made.queries.items())
        + json.dumps({"id": "no-text"}) + "\n")
    corpus = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.parquet")]
    read = ReadOptions(site_field="site")
    got = {}
    for engine, settings in (("local", None), ("spark", SparkSettings(MASTER, 3))):
        out = tmp_path / engine
        result = find_files([str(tmp_path / "q.jsonl")], corpus, out, FindOptions(),
                            read, workers=1, remove=True, spark=settings)
        got[engine] = {name: _output(out / name) for name in _outputs(out)}
        summary = json.loads((out / "summary.json").read_text())
        summary.pop("seconds")
        got[engine]["summary"] = summary
        got[engine]["first rejected"] = [r.message() for r in result.rejected[:3]]
    local, on_spark = got["local"], got["spark"]
    assert set(local) == {"queries.jsonl", "matches.jsonl", "removed.jsonl", "rejected.jsonl",
                          "kept/a.jsonl", "kept/b.parquet", "summary", "first rejected"}
    for name in local:
        assert on_spark[name] == local[name], name
    # The result is real: planted copies found and removed, both sides' rejections listed.
    assert local["summary"]["removed"] > 20 and local["summary"]["contaminated"] > 10
    rejected = [json.loads(line) for line in local["rejected.jsonl"].decode().splitlines()]
    assert [(r["side"], r["id"]) for r in rejected] == [
        ("query", "no-text"), ("corpus", None), ("corpus", docs[3]["id"]), ("corpus", "empty")]


def _story_corpus(root: Path, lee_texts: list[str]) -> list[str]:
    """Printed copies of real news stories (abridged, re-headlined, OCR noise), with the
    records a reader must reject, in JSONL and Parquet; and the originals again under a
    template of 60 lines, so that shingles past the star and document-frequency cut-offs
    exist."""
    from . import story_copies

    made = story_copies.generate(synth.distinct_texts(lee_texts), seed=3)
    rows = [{"id": i, "text": t} for i, t in zip(made.ids, made.texts)]
    template = "\n".join(f"Section {k}: news, sport and the weather for the region"
                         for k in range(60))
    rows += [{"id": f"templated{k}", "text": template + "\n" + lee_texts[k]} for k in range(45)]
    half = len(rows) // 2
    first = root / "stories.jsonl"
    with open(first, "w", encoding="utf-8") as fh:
        for k, row in enumerate(rows[:half]):
            fh.write(json.dumps(row) + "\n")
            if k == 5:
                fh.write('{"id": "broken", "text": \n')
            if k == 9:
                fh.write(json.dumps({"id": rows[0]["id"], "text": "again"}) + "\n")
            if k == 12:
                fh.write('{"id": "nothing", "text": " .. "}\n')
    second = root / "stories.parquet"
    pq.write_table(pa.table({"id": [r["id"] for r in rows[half:]],
                             "text": [r["text"] for r in rows[half:]]}), second,
                   row_group_size=53)
    return [str(first), str(second)]


def test_the_story_rule_on_spark_writes_the_local_engines_files(
        spark: Any, tmp_path: Path, lee_texts: list[str]) -> None:
    """``dedup --match story`` on Spark, at a partitioning of its own: pairs, clusters and
    rejections are the local engine's files byte for byte, kept/ the same records, and the
    summary the same counts; with cut-offs low enough that stars and skipped shingles
    occur (the window is checked on the local run's counts). Then ``pairs --match story
    --engine spark`` from the command line prints the local engine's lines."""
    from neardup.api import story_files
    from neardup.engine.spark import SparkSettings
    from neardup.story import StoryOptions

    inputs = _story_corpus(tmp_path, lee_texts)
    options = StoryOptions(star_above=6, max_doc_frequency=40)
    local = story_files(inputs, tmp_path / "local", options)
    stats = local.result.stats
    assert stats.star_shingles > 0 and stats.skipped_shingles > 0
    assert local.counts()["groups"] > 50 and local.counts()["rejected"] == 3
    on_spark = story_files(inputs, tmp_path / "spark", options,
                           spark=SparkSettings(MASTER, 3), kept_format="input")
    assert on_spark.counts() == local.counts()
    assert on_spark.candidates == local.candidates
    assert [r.message() for r in on_spark.rejections] == [r.message() for r in local.rejections]
    outputs = {engine: {name: _output(tmp_path / engine / name)
                        for name in _outputs(tmp_path / engine)}
               for engine in ("local", "spark")}
    assert outputs["spark"].keys() == outputs["local"].keys() >= {
        "pairs.jsonl", "clusters.jsonl", "rejected.jsonl", "kept/stories.jsonl",
        "kept/stories.parquet"}
    for name, content in outputs["local"].items():
        assert outputs["spark"][name] == content, name
    summaries = [json.loads((tmp_path / e / "summary.json").read_text())
                 for e in ("local", "spark")]
    assert [{k: v for k, v in s.items() if k != "seconds"} for s in summaries[:1]] == \
        [{k: v for k, v in s.items() if k != "seconds"} for s in summaries[1:]]

    news = str(ROOT / "examples" / "stories.jsonl")
    printed = {engine: subprocess.run(
        [sys.executable, "-m", "neardup", "pairs", news, "--match", "story",
         "--engine", engine], capture_output=True, text=True, timeout=600)
        for engine in ("local", "spark")}
    for run in printed.values():
        assert run.returncode == 0, run.stderr
    assert printed["spark"].stdout == printed["local"].stdout
    assert printed["local"].stdout.count("containment") == 2  # its two copies
