"""A static HTML report of a ``dedup``, ``reuse`` or ``find`` output directory.

One self-contained file (inline CSS, no script, no server): the run's figures, a histogram
of pair similarities, groups ordered by size, and for each listed pair a side-by-side view
of the two documents with shared passages numbered alike on both sides and each copy's
extras highlighted (for ``dedup`` with cleaning, extras that cleaning removes say why).

The output directory holds ids and offsets, not whole texts, so the report reads the
run's inputs again (``summary.json`` names them and the read options); without them it
still shows everything but the side-by-side views, and says so. All document text is
escaped: a document containing ``<script>`` shows it as text.
"""

from __future__ import annotations

import heapq
import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from .align import align, explain, tokenize_with_offsets
from .clean import CleanOptions
from .errors import InputError, ReportError
from .io.outdir import add_to_run, check_complete, output_files, write_text_atomic
from .io.readers import ReadOptions, check_inputs, input_fingerprints, read_texts

BINS = 20
FINE_BINS = 1000  # pairs are counted this finely, then shown in BINS over the data's range
MAX_REJECTED = 200
#: The page's size budget: side-by-side views stop being added past it, so a page of a
#: large run still opens in a browser.
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Run:
    """What a report shows of one output directory."""

    command: str
    summary: dict[str, Any]
    pairs: list[dict[str, Any]]  # the listed ones
    pairs_total: int
    histogram: list[int]  # pairs per similarity bin, of every pair
    groups: list[dict[str, Any]]  # {"members": [...], ...}, largest first
    texts: dict[str, str] = field(default_factory=dict)
    texts_missing: str | None = None  # why the views are absent
    rejected: list[dict[str, Any]] = field(default_factory=list)  # the first MAX_REJECTED
    changed: list[str] = field(default_factory=list)  # inputs changed since the run
    max_bytes: int = MAX_BYTES  # views stop being added past this size of page
    query_texts: dict[str, str] = field(default_factory=dict)  # ``find``: the queries' texts


def load_run(outdir: str | Path, max_pairs: int = 300, max_groups: int = 300) -> Run:
    """Read an output directory of ``neardup dedup``, ``reuse`` or ``find``."""
    out = Path(outdir)
    if not out.is_dir():
        raise ReportError(f"{out}: not a directory; give the --output directory of "
                          "`neardup dedup`, `reuse` or `find`")
    check_complete(out)
    summary = next(_jsonl(out / "summary.json", whole=True), {})
    if not isinstance(summary, dict):
        raise ReportError(f"{out / 'summary.json'}: not a neardup summary; run the command "
                          "again to rewrite it")
    command = summary.get("command", "dedup")
    if command not in ("dedup", "reuse", "find"):
        raise ReportError(f"{out}: a report covers `dedup`, `reuse` and `find` output, this "
                          f"is `{command}` output")
    histogram = [0] * FINE_BINS
    total = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal total
        for row in _jsonl(out / ("matches.jsonl" if command == "find" else "pairs.jsonl")):
            if "exact_group" in row:  # a large exact group written as one line
                n = row["size"] * (row["size"] - 1) // 2
                histogram[-1] += n
                total += n
                continue
            row["score"] = _score(command, row)
            histogram[min(FINE_BINS - 1, int(row["score"] * FINE_BINS))] += 1
            total += 1
            yield row

    # Only the listed pairs are held: a million-pair run reports in bounded memory.
    if command == "dedup":  # borderline pairs first: they need a look
        listed = heapq.nsmallest(max_pairs, rows(), key=lambda r: r["score"])
        groups = _dedup_groups(out / "clusters.jsonl")
    elif command == "find":  # the most of a query first; queries likewise
        listed = heapq.nlargest(max_pairs, rows(), key=lambda r: r["score"])
        groups = heapq.nlargest(max_groups, _jsonl(out / "queries.jsonl"),
                                key=lambda q: (q["overlap"], q["documents"]))
    else:
        listed = heapq.nlargest(max_pairs, rows(),
                                key=lambda r: sum(p["words"] for p in r["passages"]))
        groups = list(_jsonl(out / "groups.jsonl"))
    rejected = list(islice(_jsonl(out / "rejected.jsonl"), MAX_REJECTED))
    return Run(command, summary, listed, total, histogram, groups[:max_groups],
               rejected=rejected, changed=_changed_inputs(summary))


def _changed_inputs(summary: dict[str, Any]) -> list[str]:
    """The inputs whose fingerprint differs from the one the run recorded."""
    recorded = summary.get("input_fingerprints")
    if not recorded:
        return []
    base = Path(summary.get("working_dir", "."))
    changed = []
    for then in recorded:
        path = then.get("path")
        if not path or path == "-":
            continue
        now = input_fingerprints([str(base / path)])[0]
        now["path"] = path
        if now != then:
            changed.append(path)
    return changed


def _story(run: Run) -> bool:
    """Whether the run grouped stories (``dedup --match story``), not near-identical texts."""
    return bool(run.summary.get("settings", {}).get("match") == "story")


def _measure(run: Run) -> str:
    return "containment" if _story(run) else "Jaccard"


def _score(command: str, row: dict[str, Any]) -> float:
    if command == "dedup":  # a `--match story` run scores its pairs by containment
        return float(row["jaccard"] if "jaccard" in row else row["containment"])
    if command == "find":
        return float(row["overlap"])
    return max(float(row["containment_a"]), float(row["containment_b"]))


def _jsonl(output: Path, whole: bool = False) -> Iterator[Any]:
    """The rows of a JSONL output of the run (a file, or a Spark run's directory of part
    files: :func:`~neardup.io.outdir.output_files`), or, ``whole``, the file as one JSON
    value, with a one-line :class:`ReportError` for an output that is missing or corrupt."""
    if not output.exists():
        raise ReportError(f"{output} is missing: the output directory is incomplete; run "
                          "the command again")
    for path in output_files(output):
        try:
            with open(path, encoding="utf-8") as fh:
                if whole:
                    yield json.load(fh)
                    return
                for line_no, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            yield json.loads(line)
                        except ValueError as err:
                            raise ReportError(f"{path}:line {line_no}: corrupt ({err}); run "
                                              "the command again to rewrite it") from None
        except ValueError as err:  # invalid UTF-8, or the whole file not JSON
            raise ReportError(f"{path}: corrupt ({err}); run the command again to rewrite "
                              "it") from None


def _dedup_groups(path: Path) -> list[dict[str, Any]]:
    groups: dict[int, dict[str, Any]] = {}
    for row in _jsonl(path):
        group = groups.setdefault(row["cluster"], {"members": [], "kept": None})
        group["members"].append(row)
        if row["keep"]:
            group["kept"] = row["id"]
    return sorted(groups.values(), key=lambda g: -len(g["members"]))


def load_texts(run: Run) -> None:
    """The texts of the listed pairs' documents, read again from the run's inputs (and for
    ``find``, the queries' texts from the query files)."""
    sides = ("doc",) if run.command == "find" else ("a", "b")
    wanted = {p[k] for p in run.pairs for k in sides}
    if not wanted:
        return
    base = Path(run.summary.get("working_dir", "."))
    inputs = [p if p == "-" else str(base / p) for p in run.summary.get("inputs", [])]
    read = ReadOptions(**run.summary.get("read", {}))
    if "-" in inputs:
        run.texts_missing = "the run read standard input, which cannot be read again"
        return
    if run.changed and run.command == "reuse":
        run.texts_missing = ("inputs changed since the run, so its offsets no longer point "
                             f"at the passages ({', '.join(run.changed)}); run reuse again")
        return
    try:
        check_inputs(inputs, read)
    except InputError as err:
        run.texts_missing = f"its inputs cannot be read again ({err})"
        return
    run.texts = read_texts(inputs, wanted, read)
    missing = wanted - run.texts.keys()
    if run.command == "find":
        queries = [str(base / p) for p in run.summary.get("queries_from", [])]
        asked = {p["query"] for p in run.pairs}
        run.query_texts = read_texts(queries, asked, ReadOptions(**{
            **run.summary.get("query_read", {}),
            "more_text_fields": tuple(run.summary.get("query_read", {}).get(
                "more_text_fields", ()))}))
        missing |= {f"query {q}" for q in asked - run.query_texts.keys()}
    if missing:
        run.texts_missing = (f"{len(missing):,} documents were not found in the inputs "
                             "(changed since the run?)")


def write_report(outdir: str | Path, path: str | Path | None = None, max_pairs: int = 300,
                 max_groups: int = 300, warn: Callable[[str], None] | None = None,
                 max_bytes: int = MAX_BYTES) -> Path:
    """Write ``report.html`` (or ``path``) for an output directory; returns its path.
    ``warn`` hears of inputs changed since the run (the page says so too). The page stays
    under about ``max_bytes``: past it, side-by-side views are left out, with a note."""
    run = load_run(outdir, max_pairs, max_groups)
    run.max_bytes = max_bytes
    if run.changed and warn is not None:
        warn(f"inputs changed since the run: {', '.join(run.changed)}; the report may not "
             "match them (run the command again)")
    load_texts(run)
    page = render(run)
    if path is None:
        return add_to_run(outdir, "report.html", page)
    write_text_atomic(Path(path), page)
    return Path(path)


# --- Rendering (pure: a Run in, a string out) -------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 1.5em;
color:#1d232a}
h1{margin:.8em 0 .2em}h2{margin-top:1.6em;border-bottom:1px solid #ccd}
.stats{display:flex;flex-wrap:wrap;gap:.4em 2em;padding:0}.stats div{min-width:9em}
.stats dt{font-size:.8em;color:#556}.stats dd{margin:0;font-size:1.3em;font-weight:600}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e6ea;
padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f5f8}
.num{text-align:right;font-variant-numeric:tabular-nums}
.side-by-side{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.doc{border:1px solid #ccd;border-radius:4px;padding:.6em;overflow-wrap:anywhere}
.doc h4{margin:0 0 .4em}.text{white-space:pre-wrap;font:13px/1.5 ui-monospace,monospace;
max-height:38em;overflow:auto}
mark.shared,mark.shared-more{background:#d8f0d8}mark.extra{background:#ffd9b3}
mark.edit{background:#f4b6b6}
mark.boilerplate{background:#e2e2e2;text-decoration:line-through}
mark sup{font-size:.7em;color:#285;font-weight:700}
.pair{margin:1.5em 0;padding-top:.5em;border-top:2px solid #ccd}
.note{color:#6a4;font-style:italic}.warn{color:#a40}
.passage{white-space:pre-wrap;font-size:.9em;max-height:8em;overflow:auto}
svg text{font:11px system-ui,sans-serif;fill:#334}
"""


def render(run: Run) -> str:
    s = run.summary
    title = f"neardup {run.command} report"
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>Inputs: {_e(', '.join(map(str, s.get('inputs', []))))}. "
        f"Settings: {_e(_settings(s))}.</p>",
        _stats(run),
        ('<nav><a href="#files">Query files</a> · <a href="#histogram">Overlaps</a> · '
         '<a href="#groups">Queries</a> · <a href="#pairs">Matches</a> · '
         '<a href="#rejected">Rejected</a></nav>' if run.command == "find" else
         '<nav><a href="#histogram">Similarities</a> · <a href="#groups">Groups</a> · '
         '<a href="#pairs">Pairs</a> · <a href="#rejected">Rejected</a></nav>'),
        _changed(run), _query_files(run), _histogram(run), _groups(run), _pairs(run),
        _rejected(run),
        "</body></html>",
    ]
    return "\n".join(parts)


def _changed(run: Run) -> str:
    if not run.changed:
        return ""
    return (f'<p class="warn" id="changed">Inputs changed since the run: '
            f"{_e(', '.join(run.changed))}. What this report shows of their texts may not "
            "match the run; run the command again.</p>")


def _query_files(run: Run) -> str:
    """``find``: per query file, its items and the share contaminated."""
    if run.command != "find":
        return ""
    rows = ["<tr><th>query file</th><th class=num>items</th><th class=num>contaminated</th>"
            "<th class=num>share</th></tr>"]
    for path, n in run.summary.get("per_file", {}).items():
        share = n["contaminated"] / n["items"] if n["items"] else 0.0
        rows.append(f"<tr><td>{_e(path)}</td><td class=num>{n['items']:,}</td>"
                    f"<td class=num>{n['contaminated']:,}</td><td class=num>{share:.1%}</td>"
                    "</tr>")
    overlap = run.summary.get("settings", {}).get("min_overlap", 0.5)
    return (f'<section id="files"><h2>Query files</h2><p>A query is contaminated when the '
            f"corpus holds at least {overlap:g} of its n-grams.</p>"
            f'<table>{"".join(rows)}</table></section>')


def _rejected(run: Run) -> str:
    s = run.summary
    total = int(s.get("rejected", s.get("queries_rejected", 0) + s.get("documents_rejected", 0)
                      if run.command == "find" else len(run.rejected)))
    head = f"<h2>Rejected ({total:,})</h2>"
    if not run.rejected:
        return f'<section id="rejected">{head}<p>No record was rejected.</p></section>'
    if len(run.rejected) < total:
        head += (f'<p class="note">The first {len(run.rejected):,} are listed; rejected.jsonl '
                 "has them all.</p>")
    rows = ["<tr><th>source</th><th>record</th><th>id</th><th>reason</th></tr>"]
    for r in run.rejected:
        side = f"{r['side']}: " if "side" in r else ""
        rows.append(f"<tr><td>{_e(side)}{_e(r.get('source'))}</td>"
                    f"<td>{_e(r.get('record') or '')}</td>"
                    f"<td>{_e(r.get('id') or '')}</td><td>{_e(r.get('reason'))}</td></tr>")
    return f'<section id="rejected">{head}<table>{"".join(rows)}</table></section>'


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _settings(s: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.get("settings", {}).items()
                     if k not in ("tmp_dir", "batch_size"))


def _stats(run: Run) -> str:
    s = run.summary
    keys = {"dedup": ["documents_read", "kept", "removed", "exact_duplicates",
                      "near_duplicates", "groups", "pairs", "rejected", "seconds"],
            "reuse": ["documents_read", "pairs", "passages", "groups", "documents_in_groups",
                      "rejected", "seconds"],
            "find": ["queries", "contaminated", "documents_read", "documents_matched",
                     "matches", "removed", "queries_rejected", "documents_rejected",
                     "seconds"]}[run.command]
    cells = "".join(f"<div><dt>{_e(k.replace('_', ' '))}</dt><dd>{_e(_fmt(s.get(k)))}</dd></div>"
                    for k in keys if k in s)
    return f'<dl class="stats">{cells}</dl>'


def _fmt(v: object) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def _bins(fine: list[int]) -> tuple[float, float, list[int]]:
    """The fine counts in BINS equal bins over the range the data occupies (at least 0.05
    wide, in steps of 0.05, ending at 1 when the data reach it): ``(low, high, counts)``."""
    used = [k for k, n in enumerate(fine) if n]
    if not used:
        return 0.0, 1.0, [0] * BINS
    step = FINE_BINS // 20
    low = used[0] // step * step
    high = min(FINE_BINS, max(low + step, -(-(used[-1] + 1) // step) * step))
    width = (high - low) / BINS
    counts = [0] * BINS
    for k in used:
        counts[min(BINS - 1, int((k - low) / width))] += fine[k]
    return low / FINE_BINS, high / FINE_BINS, counts


def _histogram(run: Run) -> str:
    low, high, counts = _bins(run.histogram)
    span = high - low
    what = {"dedup": ("containment of the shorter copy's story shingles in the other's"
                      if _story(run) else
                      "Jaccard similarity of each pair (exact, on 5-token shingles)"),
            "reuse": "share of the more contained document inside shared passages",
            "find": "share of the query's n-grams each matching document holds"}[run.command]
    width, height, left, bottom, right = 660, 180, 40, 30, 20
    bar = (width - left - right) / BINS
    top = max(counts) or 1
    shapes = []
    for k, n in enumerate(counts):
        h = (height - bottom - 14) * n / top
        x, y = left + k * bar, height - bottom - h
        label = (f"{low + span * k / BINS:.3f}–{low + span * (k + 1) / BINS:.3f}: "
                 f"{n:,} pairs")
        shapes.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                      f'fill="#4a7bb7"><title>{_e(label)}</title></rect>')
        if n:
            shapes.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" '
                          f'text-anchor="middle">{n:,}</text>')
    for k in range(0, BINS + 1, BINS // 4):
        shapes.append(f'<text x="{left + k * bar:.1f}" y="{height - bottom + 16}" '
                      f'text-anchor="middle">{low + span * k / BINS:.3f}</text>')
    axis = (f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
            f'y2="{height - bottom}" '
            'stroke="#889"/>')
    title = (f"Overlaps of {run.pairs_total:,} matches" if run.command == "find"
             else f"Similarities of {run.pairs_total:,} pairs")
    return (f'<section id="histogram"><h2>{title}</h2>'
            f"<p>{_e(what)}.</p>"
            f'<svg role="img" aria-label="histogram of pair similarities" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}">{axis}{"".join(shapes)}</svg>'
            "</section>")


def _queries(run: Run) -> str:
    """``find``: the queries, the most found first."""
    total = run.summary.get("queries", len(run.groups))
    head = f"<h2>Queries ({total:,}, the most found first)</h2>"
    if len(run.groups) < total:
        head += f'<p class="note">The first {len(run.groups):,} are listed (--max-groups).</p>'
    rows = ["<tr><th>query</th><th>file</th><th class=num>overlap</th>"
            "<th class=num>longest passage (tokens)</th><th class=num>documents</th>"
            "<th>contaminated</th></tr>"]
    for q in run.groups:
        rows.append(f"<tr><td>{_e(q['id'])}</td><td>{_e(q['source'])}</td>"
                    f"<td class=num>{q['overlap']:.3f}</td><td class=num>{q['longest']:,}</td>"
                    f"<td class=num>{q['documents']:,}</td>"
                    f"<td>{'yes' if q['contaminated'] else 'no'}</td></tr>")
    return f'<section id="groups">{head}<table>{"".join(rows)}</table></section>'


def _groups(run: Run) -> str:
    if run.command == "find":
        return _queries(run)
    total = run.summary.get("groups", len(run.groups))
    shown = len(run.groups)
    head = f"<h2>Groups ({total:,}, largest first)</h2>"
    if shown < total:
        head += f'<p class="note">The {shown:,} largest are listed (--max-groups).</p>'
    if not run.groups:
        return f'<section id="groups">{head}<p>No groups.</p></section>'
    rows = []
    if run.command == "dedup":
        rows.append("<tr><th>#</th><th class=num>size</th><th>kept</th>"
                    f"<th>members ({_measure(run)} to the kept one)</th></tr>")
        to_kept = "containment_to_kept" if _story(run) else "jaccard_to_kept"
        for k, g in enumerate(run.groups):
            members = ", ".join(f"{_e(m['id'])} ({m[to_kept]:.3f})"
                                for m in g["members"] if not m["keep"])
            rows.append(f"<tr><td>{k + 1}</td><td class=num>{len(g['members'])}</td>"
                        f"<td>{_e(g['kept'])}</td><td>{members}</td></tr>")
    else:
        rows.append("<tr><th>#</th><th class=num>size</th><th>origin (earliest dated)</th>"
                    "<th>credits</th><th>members</th><th>passage</th></tr>")
        for k, g in enumerate(run.groups):
            credits = "; ".join(f"{_e(src)}: {_e(', '.join(ids))}"
                                for src, ids in g["credits"].items()) or "none found"
            members = ", ".join(_e(m["id"]) + (f" ({_e(m['date'])})" if m["date"] else "")
                                for m in g["members"])
            rows.append(f"<tr><td>{k + 1}</td><td class=num>{g['size']}</td>"
                        f"<td>{_e(g['origin'] or 'no dates')}</td><td>{credits}</td>"
                        f"<td>{members}</td><td><div class=passage>{_e(g['text'])}</div></td>"
                        "</tr>")
    return f'<section id="groups">{head}<table>{"".join(rows)}</table></section>'


def _pairs(run: Run) -> str:
    order = {"dedup": "lowest similarity first", "reuse": "most shared words first",
             "find": "the most of a query first"}[run.command]
    head = (f"<h2>{'Matches' if run.command == 'find' else 'Pairs'} ({run.pairs_total:,}; "
            f"{order})</h2>")
    if len(run.pairs) < run.pairs_total:
        head += (f'<p class="note">The first {len(run.pairs):,} are listed and shown '
                 "side by side (--max-pairs).</p>")
    if run.texts_missing:
        head += (f'<p class="warn">Side-by-side views are missing: {_e(run.texts_missing)}.'
                 "</p>")
    if not run.pairs:
        return f'<section id="pairs">{head}<p>No pairs.</p></section>'
    score_name = {"dedup": _measure(run), "reuse": "containment a / b",
                  "find": "overlap"}[run.command]
    a_name, b_name = ("query", "document") if run.command == "find" else ("a", "b")
    rows = [f"<tr><th>#</th><th>{a_name}</th><th>{b_name}</th>"
            f"<th class=num>{score_name}</th><th></th></tr>"]
    views = []
    # What the views may take: the budget less the rest of the page (the table: ~150 bytes
    # and the two ids a row; 200 kB for everything else).
    budget = run.max_bytes - 200_000 - sum(150 + len(_ids(run, p)[0]) + len(_ids(run, p)[1])
                                           for p in run.pairs)
    left_out = 0
    for k, p in enumerate(run.pairs):
        score = (f"{_score('dedup', p):.3f}" if run.command == "dedup"
                 else f"{p['overlap']:.3f}" if run.command == "find"
                 else f"{p['containment_a']:.2f} / {p['containment_b']:.2f}")
        view = _view(run, k, p) if budget > 0 else ""
        if len(view) > budget:  # this view would take the page over its size budget
            view, left_out = "", left_out + 1
        budget -= len(view)
        link = f'<a href="#pair-{k + 1}">side by side</a>' if view else ""
        a_id, b_id = _ids(run, p)
        rows.append(f"<tr><td>{k + 1}</td><td>{_e(a_id)}</td><td>{_e(b_id)}</td>"
                    f"<td class=num>{score}</td><td>{link}</td></tr>")
        views.append(view)
    if left_out:
        head += (f'<p class="warn">{left_out:,} side-by-side views are left out to keep this '
                 f"page under {run.max_bytes / 2**20:.0f} MB; list fewer pairs "
                 "(--max-pairs) to see them.</p>")
    return (f'<section id="pairs">{head}<table>{"".join(rows)}</table>'
            f'{"".join(views)}</section>')


def _ids(run: Run, p: dict[str, Any]) -> tuple[str, str]:
    """The two sides of a listed row: a pair's documents, or a match's query and document."""
    return (p["query"], p["doc"]) if run.command == "find" else (p["a"], p["b"])


Mark = tuple[int, int, str, str]  # start, end, css class, label


def _view(run: Run, k: int, p: dict[str, Any]) -> str:
    a_id, b_id = _ids(run, p)
    a_text = (run.query_texts if run.command == "find" else run.texts).get(a_id)
    b_text = run.texts.get(b_id)
    if a_text is None or b_text is None:
        return ""
    if run.command == "find":
        marks_a = [(q["query"][0], q["query"][1], "shared", str(n + 1))
                   for n, q in enumerate(p["passages"])]
        marks_b = [(q["doc"][0], q["doc"][1], "shared", str(n + 1))
                   for n, q in enumerate(p["passages"])]
        marks_a += [_extra(s, e, None, "the query") for s, e in _gaps(a_text, marks_a)]
        marks_b += [_extra(s, e, None, "the document") for s, e in _gaps(b_text, marks_b)]
        where = ", ".join(f"{p[k]}" for k in ("site", "date") if p.get(k))
        caption = (f"{p['overlap']:.0%} of the query's n-grams; {len(p['passages'])} shared "
                   f"passages ({', '.join(str(q['tokens']) for q in p['passages'])} tokens)"
                   + (f"; document from {where}" if where else ""))
    elif run.command == "dedup":
        cleaned = run.summary.get("settings", {}).get("cleaned", False)
        why = explain(a_text, b_text, cleaner=CleanOptions().cleaner() if cleaned else None)
        marks_a: list[Mark] = [(q.a.start, q.a.end, "shared", str(n + 1))
                               for n, q in enumerate(why.passages)]
        marks_b: list[Mark] = [(q.b.start, q.b.end, "shared", str(n + 1))
                               for n, q in enumerate(why.passages)]
        marks_a += [_extra(x.start, x.end, x.boilerplate, "a") for x in why.only_a]
        marks_b += [_extra(x.start, x.end, x.boilerplate, "b") for x in why.only_b]
        caption = (f"{_measure(run)} {_score('dedup', p):.3f}; {len(why.passages)} shared runs, "
                   f"{len(why.only_a)} extra spans in a, {len(why.only_b)} in b")
    else:
        marks_a, marks_b = [], []
        for n, q in enumerate(p["passages"]):
            a_span, b_span = (q["a"]["start"], q["a"]["end"]), (q["b"]["start"], q["b"]["end"])
            marks_a += _passage_marks(a_text, a_span, b_text, b_span, str(n + 1))
            marks_b += _passage_marks(b_text, b_span, a_text, a_span, str(n + 1))
        marks_a += [_extra(s, e, None, "a") for s, e in _gaps(a_text, marks_a)]
        marks_b += [_extra(s, e, None, "b") for s, e in _gaps(b_text, marks_b)]
        idents = ", ".join(f"{q['words']} words at {q['identity']:.0%} identity"
                           for q in p["passages"])
        caption = (f"{len(p['passages'])} shared passages ({idents}); "
                   f"{p['containment_a']:.0%} of a and {p['containment_b']:.0%} of b")
    return (f'<article class="pair" id="pair-{k + 1}"><h3>'
            f'{"Match" if run.command == "find" else "Pair"} {k + 1}: {_e(a_id)} ↔ '
            f'{_e(b_id)}</h3><p>{_e(caption)}. <mark class="shared">shared</mark> '
            '(numbered alike on both sides) · <mark class="extra">only in this copy</mark>'
            + (' · <mark class="edit">edited inside a shared passage</mark>'
               if run.command == "reuse" else "")
            + (' · <mark class="boilerplate">removed by cleaning</mark>'
               if run.command == "dedup" else "") + '</p><div class="side-by-side">'
            f'{_doc(a_id, a_text, marks_a)}{_doc(b_id, b_text, marks_b)}</div></article>')


def _passage_marks(text: str, span: tuple[int, int], other: str, other_span: tuple[int, int],
                   label: str) -> list[Mark]:
    """A shared passage as marks: its words aligned with the other copy's passage are
    shared (numbered on the first stretch), the words the copies differ in are edits."""
    mine = tokenize_with_offsets(text[span[0]:span[1]])
    theirs = tokenize_with_offsets(other[other_span[0]:other_span[1]])
    _, covered, _ = align(mine, theirs)
    marks: list[Mark] = []
    k = 0
    while k < len(covered):
        end = k
        while end + 1 < len(covered) and covered[end + 1] == covered[k]:
            end += 1
        start_char = span[0] + mine.starts[k]
        stop_char = span[0] + (mine.starts[end + 1] if end + 1 < len(covered) else mine.ends[end])
        if covered[k]:
            marks.append((start_char, stop_char, "shared" if not marks else "shared-more", label))
        else:
            marks.append((start_char, span[0] + mine.ends[end], "edit",
                          f"in passage {label}, differs in the other copy"))
        k = end + 1
    return marks


def _extra(start: int, end: int, reason: str | None, side: str) -> Mark:
    if reason:
        return (start, end, "boilerplate", f"only in {side}; cleaning removes it: {reason}")
    return (start, end, "extra", f"only in {side}")


def _gaps(text: str, marks: list[Mark]) -> Iterator[tuple[int, int]]:
    """Stretches of ``text`` outside ``marks`` that hold more than whitespace."""
    at = 0
    for start, end, _, _ in sorted(marks) + [(len(text), len(text), "", "")]:
        if start > at and text[at:start].strip():
            lead = len(text[at:start]) - len(text[at:start].lstrip())
            yield at + lead, at + len(text[at:start].rstrip())
        at = max(at, end)


def _doc(doc_id: str, text: str, marks: list[Mark]) -> str:
    out, at = [], 0
    for start, end, css, label in sorted(marks):
        if start < at:  # overlapping marks: the first one wins
            continue
        out.append(_e(text[at:start]))
        tag = f"<sup>{_e(label)}</sup>" if css == "shared" else ""
        title = f"shared passage {label}" if css.startswith("shared") else label
        out.append(f'<mark class="{css}" title="{_e(title)}">{tag}{_e(text[start:end])}</mark>')
        at = end
    out.append(_e(text[at:]))
    return (f'<div class="doc"><h4>{_e(doc_id)}</h4><div class="text">{"".join(out)}</div>'
            "</div>")
