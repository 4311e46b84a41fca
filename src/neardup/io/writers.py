"""Writers: a dedup result to an output directory.

``OUTDIR`` receives ``pairs.jsonl``, ``clusters.jsonl``, ``rejected.jsonl``,
``summary.json`` and ``kept/``: the kept documents in their input's own
format (text files copied, JSONL lines copied byte for byte into a file of
the same name and compression, Parquet rows into a Parquet file).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from ..document import Document, Rejected
from .readers import (
    ReadOptions,
    input_kind,
    is_remote,
    line_blocks,
    open_compressed,
    read_input,
    read_jsonl_stream,
)


def jsonl_line(row: dict[str, Any]) -> str:
    """One row as a JSON line (UTF-8 text kept as is, newline included)."""
    return _jsonl_bytes(row).decode()


def _jsonl_bytes(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON lines (UTF-8); returns how many."""
    count = 0
    with open(path, "wb") as fh:
        for row in rows:
            fh.write(_jsonl_bytes(row))
            count += 1
    return count


def write_lines(path: Path, chunks: Iterable[bytes]) -> None:
    """Write chunks of JSON lines already encoded (as a result's ``pair_lines`` gives)."""
    with open(path, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)


def rejected_rows(rejected: Iterable[Rejected], side: str | None = None
                  ) -> Iterable[dict[str, Any]]:
    """Rows of ``rejected.jsonl``; with ``side``, each says which side of a ``find`` run
    (``query`` or ``corpus``) the record was read on."""
    for r in rejected:
        row = {"source": r.source.path, "record": r.source.record, "id": r.id,
               "reason": r.reason}
        yield row if side is None else {"side": side, **row}


def open_like(path: Path) -> IO[bytes]:
    """Open for writing with the compression the name says."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "wb")  # type: ignore[return-value]
    if name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdCompressor().stream_writer(open(path, "wb"))  # type: ignore
    return open(path, "wb")


def write_kept(inputs: list[str], kept: dict[str, np.ndarray], outdir: Path,
               stdin_copy: str | None = None) -> None:
    """Copy the kept records of each input into ``outdir`` in the input's own format.

    ``kept`` holds, by path, the record numbers of the kept documents (as
    :meth:`~neardup.document.Sources.records_by_path` gives them); ``stdin_copy`` is
    the file standard input was saved to while it was read. An input with nothing kept is
    not opened again (a broken file is read once, when its breakage is reported), and a
    copy stops where its input broke off when it was read.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(inputs):
        kind = input_kind(path)
        source_path = "-" if kind == "stdin" else path
        if kind != "dir" and source_path not in kept:
            continue
        if kind == "dir":
            root = Path(path)
            for src_path in kept:
                if Path(src_path).is_relative_to(root):
                    dest = kept_path(outdir, inputs, index, src_path)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src_path, dest)
            continue
        target = kept_path(outdir, inputs, index, source_path)
        if kind in ("text", "html"):
            shutil.copyfile(path, target)
        elif kind == "warc":
            _copy_warc_records(path, kept[path], target)
        elif kind in ("jsonl", "stdin"):
            _copy_lines(stdin_copy if kind == "stdin" else path, kept[source_path],
                        target)  # type: ignore[arg-type]
        elif kind == "parquet":
            _copy_rows(path, kept[path], target)


def kept_path(outdir: Path, inputs: list[str], index: int, path: str) -> Path:
    """Where ``kept/`` (``outdir``) puts the kept records of ``path``, read from
    ``inputs[index]``: under the input's own name (``stdin.jsonl`` for standard input),
    and for a file in a directory under the directory's name, at its place in it. An input
    whose name an earlier input has is prefixed with its position, ``2-news.jsonl``."""
    def base(k: int) -> str:
        given = inputs[k]
        return "stdin.jsonl" if given == "-" else _last_part(given) or f"input{k}"

    name = base(index)
    if any(base(k) == name for k in range(index)):
        name = f"{index}-{name}"
    given = inputs[index]
    if path == "-" or path.rstrip("/") == given.rstrip("/"):
        return outdir / name
    if is_remote(given):
        return outdir / name / path[len(given.rstrip("/")):].lstrip("/")
    return outdir / name / Path(path).relative_to(Path(given))


def _last_part(path: str) -> str:
    """A path's or URI's last part (``hdfs://nn/a/b.jsonl``: ``b.jsonl``)."""
    return path.rstrip("/").rsplit("/", 1)[-1]


#: How ``kept/`` holds the kept documents: each input's own format, or Parquet.
KEPT_FORMATS = ("input", "parquet")

#: The columns of ``kept/`` written as Parquet (``--kept-format parquet``): each kept
#: document as neardup read it, whatever its input's format.
KEPT_COLUMNS = ("id", "text", "url", "title", "site", "date", "source", "record")


def kept_parquet_path(target: Path) -> Path:
    """Where the Parquet form of ``kept/`` puts what ``target`` would hold."""
    return target if target.name.endswith(".parquet") else target.with_name(
        target.name + ".parquet")


def kept_documents(docs: list[Document]) -> Any:
    """Documents as an Arrow table of :data:`KEPT_COLUMNS` (metadata as text, null where
    a document has none)."""
    import pyarrow as pa

    def meta(key: str) -> list[str | None]:
        return [None if d.meta.get(key) is None else str(d.meta[key]) for d in docs]

    return pa.table({
        "id": pa.array([d.id for d in docs], pa.string()),
        "text": pa.array([d.text for d in docs], pa.string()),
        **{key: pa.array(meta(key), pa.string()) for key in ("url", "title", "site", "date")},
        "source": pa.array([d.source.path if d.source else None for d in docs], pa.string()),
        "record": pa.array([d.source.record if d.source else None for d in docs],
                           pa.int64())})


def write_kept_parquet(inputs: list[str], kept: dict[str, np.ndarray], outdir: Path,
                       read: ReadOptions, stdin_copy: str | None = None,
                       batch_size: int = 10_000) -> None:
    """Write the kept documents of each input to ``outdir`` as Parquet
    (:data:`KEPT_COLUMNS`), one file for each input (a directory's documents together),
    named as :func:`write_kept` names its copies with ``.parquet`` added: the inputs are
    read again, and the documents whose record numbers ``kept`` holds (by path) are
    written in reading order. ``stdin_copy`` is the file standard input was saved to."""
    outdir.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(inputs):
        pending: list[Document] = []
        with ParquetAppender(kept_parquet_path(kept_path(outdir, inputs, index, path))) as out:
            for record in _records_again(path, read, stdin_copy):
                if isinstance(record, Document) and record.source is not None:
                    wanted = kept.get(record.source.path)
                    number = record.source.record  # None: a file that is one document
                    if wanted is not None and (number is None or _holds(wanted, number)):
                        pending.append(record)
                if len(pending) >= batch_size:
                    out.write(kept_documents(pending))
                    pending = []
            if pending:
                out.write(kept_documents(pending))


class ParquetAppender:
    """A Parquet file written table by table, opened with the first table's schema (no
    file when no table comes)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.writer: Any = None

    def write(self, table: Any) -> None:
        if self.writer is None:
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(self.target, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> ParquetAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _records_again(path: str, read: ReadOptions, stdin_copy: str | None) -> Iterator[Any]:
    """An input's records read again (standard input from the file it was saved to)."""
    if path != "-":
        yield from read_input(path, read)
    elif stdin_copy is not None:
        with open(stdin_copy, "rb") as fh:
            yield from read_jsonl_stream(fh, "-", read)


def _holds(sorted_numbers: np.ndarray, number: int) -> bool:
    at = int(np.searchsorted(sorted_numbers, number))
    return at < len(sorted_numbers) and int(sorted_numbers[at]) == number


def _copy_lines(path: str, line_numbers: np.ndarray, target: Path) -> None:
    """Copy the lines numbered ``line_numbers``. Where the input breaks off (the reader
    reported it), the copy stops; an error writing ``target`` is raised."""
    wanted = np.sort(line_numbers)
    with open_compressed(path) as src, open_like(target) as dst:
        for block in line_blocks(src, path):
            if isinstance(block, Rejected):
                break  # the reader already reported where the input broke off
            lines = block.lines
            found = np.minimum(np.searchsorted(wanted, lines), len(wanted) - 1)
            chosen = np.flatnonzero(wanted[found] == lines)
            if not len(chosen):
                continue
            # Runs of consecutive lines are copied as one piece.
            breaks = np.flatnonzero(np.diff(lines[chosen]) != 1)
            firsts = chosen[np.r_[0, breaks + 1]].tolist()
            lasts = chosen[np.r_[breaks, len(chosen) - 1]].tolist()
            data, starts, ends = memoryview(block.data), block.starts, block.ends
            # One write a block: the runs joined (views of the block, copied once).
            runs = [data[starts[first]:ends[last] + 1] for first, last in zip(firsts, lasts)]
            if lasts[-1] == len(block) - 1 and not block.data.endswith(b"\n"):
                runs.append(b"\n")  # the file's last line, which had none
            dst.write(b"".join(runs))


def _copy_warc_records(path: str, numbers: np.ndarray, target: Path) -> None:
    """Copy the kept response records (numbered as the reader numbers them) to ``target``."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    wanted = set(numbers.tolist())
    number = 0
    with open(path, "rb") as src, open_like(target) as dst:
        records = iter(ArchiveIterator(src, record_types=WarcRecordType.response,
                                       parse_http=False))
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except Exception:  # noqa: BLE001 - fastwarc raises several kinds
                break  # the reader already reported where the archive broke off
            number += 1
            if number in wanted:
                record.write(dst)  # a failed write (a full disk) is raised, never dropped


def _copy_rows(path: str, rows: np.ndarray, target: Path) -> None:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    mask = np.zeros(pf.metadata.num_rows, dtype=bool)
    mask[rows[rows >= 0]] = True
    with pq.ParquetWriter(target, pf.schema_arrow) as writer:
        start = 0
        batches = pf.iter_batches()
        while start < len(mask) and mask[start:].any():
            try:
                batch = next(batches)
            except StopIteration:
                break
            except Exception:  # noqa: BLE001 - the reader reported where the file broke off
                break
            chunk = mask[start : start + batch.num_rows]
            start += batch.num_rows
            if chunk.any():
                writer.write_batch(batch.filter(chunk))


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write ``summary.json`` (into a run's staging directory: the commit makes it appear
    whole, see :mod:`neardup.io.outdir`)."""
    path.write_text(summary_text(summary), encoding="utf-8")


def summary_text(summary: dict[str, Any]) -> str:
    """What ``summary.json`` holds, as text."""
    return json.dumps(summary, indent=2) + "\n"


def summary_header(command: str, inputs: list[str], read: ReadOptions,
                   fingerprints: list[dict[str, Any]]) -> dict[str, Any]:
    """What every ``summary.json`` starts with: the command, its inputs as given and as they
    were when read (so a report can tell whether they changed), and the read options."""
    return {"command": command, "inputs": inputs, "working_dir": os.getcwd(),
            "input_fingerprints": fingerprints, "read": asdict(read)}
