"""Output directories written so that a reader never sees a half-written run.

A run writes every file into a hidden staging directory inside OUTDIR, then commits:

1. ``.neardup-run.json`` (the *manifest*) is written with ``"state": "committing"`` and the
   list of files this run wrote;
2. each staged file is renamed into its place (a rename within one file system is atomic);
3. the files of the previous neardup run that this one did not write again are removed;
4. the manifest is rewritten with ``"state": "complete"``.

So a run killed before its commit leaves the previous outputs as they were (and a staging
directory the next run sweeps); one killed inside its commit leaves a manifest that says
``committing``, which :func:`check_complete` (and ``neardup report``) refuse. Files that
neardup did not write are never deleted or overwritten: a non-empty directory without a
manifest is refused unless ``force``, and even then a file of the user's that stands where an
output would go stops the run before anything moves.

One run at a time: the run holds an exclusive ``flock`` on ``.neardup.lock`` from start to
end. The kernel drops the lock when the process dies, so a killed run never blocks the next.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import OutputError, ReportError, os_error_message

#: The files each command writes into its output directory (``kept/`` aside).
DEDUP_FILES = ("pairs.jsonl", "clusters.jsonl", "rejected.jsonl", "summary.json")
REUSE_FILES = ("pairs.jsonl", "groups.jsonl", "rejected.jsonl", "summary.json")
CLEAN_FILES = ("cleaned.jsonl", "boilerplate.jsonl", "rejected.jsonl", "summary.json")
FIND_FILES = ("queries.jsonl", "matches.jsonl", "rejected.jsonl", "summary.json")

MANIFEST = ".neardup-run.json"
LOCK = ".neardup.lock"
STAGING_PREFIX = ".neardup-staging-"
#: A Spark run writes each output as a directory of part files, read in name order.
PART_PREFIX = "part-"
_OWN = (MANIFEST, LOCK)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise OutputError(f"{directory / MANIFEST}: unreadable ({err}); remove it if "
                          "this directory holds nothing you need, then run again") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise OutputError(f"{directory / MANIFEST}: not a neardup manifest; remove it if "
                          "this directory holds nothing you need, then run again")
    return data


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def _legacy_manifest(directory: Path) -> dict[str, Any] | None:
    """What a neardup run from before manifests wrote in ``directory``, as a manifest: its
    ``summary.json`` names the command, which names the files (and ``kept/`` for dedup)."""
    try:
        summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or "documents_read" not in summary:
        return None
    files = {"dedup": DEDUP_FILES, "reuse": REUSE_FILES, "clean": CLEAN_FILES}.get(
        summary.get("command", "dedup"))
    if files is None:
        return None
    written = [f for f in (*files, "report.html") if (directory / f).is_file()]
    if summary.get("command", "dedup") == "dedup":
        written += [p.relative_to(directory).as_posix()
                    for p in (directory / "kept").rglob("*") if p.is_file()]
    return {"command": summary.get("command", "dedup"), "state": "complete",
            "files": written, "legacy": True}


def check_complete(directory: str | Path) -> dict[str, Any]:
    """The manifest of a complete neardup run in ``directory``; :class:`ReportError` if
    there is none, or the run that wrote it was stopped while committing."""
    directory = Path(directory)
    try:
        manifest = _read_manifest(directory) or _legacy_manifest(directory)
    except OutputError as err:
        raise ReportError(str(err)) from None
    if manifest is None:
        raise ReportError(f"{directory}: no neardup run here (no {MANIFEST}); give the "
                          "--output directory of `neardup dedup` or `neardup reuse`")
    if manifest.get("state") != "complete":
        raise ReportError(f"{directory}: the run that wrote here was stopped before it "
                          "finished (its outputs are incomplete); run it again")
    return manifest


class DirectoryLock:
    """An exclusive, non-blocking ``flock`` on ``directory/.neardup.lock`` (see the module
    docstring); held until :meth:`release` or the process ends."""

    def __init__(self, directory: Path, purpose: str) -> None:
        self.path = directory / LOCK
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise OutputError(os_error_message(err, "cannot write to")) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(self._fd)
            self._fd = None
            raise OutputError(f"{directory}: another neardup run is writing here "
                              f"({holder or 'pid unknown'}); wait for it to finish, or "
                              "choose another directory") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()}, {purpose}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class OutputDir:
    """Stage a run's outputs in ``path`` and commit them at the end (module docstring).

    >>> with OutputDir("out", "dedup") as out:
    ...     write_jsonl(out.file("pairs.jsonl"), rows)   # written into the staging dir
    ...     out.commit()                                  # now they are in out/

    Leaving the ``with`` block without :meth:`commit` (an error, Ctrl-C) removes what was
    staged and leaves the directory as it was. ``expected`` names outputs known before the
    run, so a user's file standing in their way is found before any work starts.
    """

    def __init__(self, path: str | Path, command: str, *, force: bool = False,
                 expected: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.command = command
        self.force = force
        self.expected = expected
        self.staging: Path | None = None
        self._lock: DirectoryLock | None = None
        self._previous: set[str] = set()
        self._started = time.time()

    def __enter__(self) -> OutputDir:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Check the directory, take its lock, sweep stale staging directories and make
        this run's. Fails fast, before any work, on a directory that cannot be used."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path}: exists and is not a directory; choose a directory "
                              "for -o")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(os_error_message(err, "cannot create output directory")) from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: permission denied; choose a directory you may "
                              "write to for -o")
        self._lock = DirectoryLock(path, f"neardup {self.command}")
        try:
            manifest = _read_manifest(path)
            if manifest is None:  # written by a neardup from before manifests?
                manifest = _legacy_manifest(path)
            if manifest is None:
                foreign = [p.name for p in path.iterdir()
                           if p.name not in _OWN and not p.name.startswith(STAGING_PREFIX)]
                if foreign and not self.force:
                    raise OutputError(
                        f"{path}: not empty and not a neardup output directory (it holds "
                        f"{_names(foreign)}); choose a new or empty directory, or give "
                        "--force to write beside those files (neardup never deletes or "
                        "overwrites a file it did not write)")
            else:
                self._previous = {str(f) for f in manifest["files"]}
            for name in self.expected:
                self._check_not_foreign(name)
            for stale in path.glob(STAGING_PREFIX + "*"):  # we hold the lock: no one owns them
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink(missing_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=path))
        except OSError as err:
            self.close()
            raise OutputError(os_error_message(err, "cannot write to")) from None
        except BaseException:
            self.close()
            raise

    def _check_not_foreign(self, name: str) -> None:
        target = self.path / name
        if (target.exists() or target.is_symlink()) and name not in self._previous \
                and not target.is_dir():
            raise OutputError(f"{target}: exists and was not written by neardup; move it "
                              "away or choose another output directory (it is never "
                              "overwritten)")

    def file(self, name: str) -> Path:
        """Where to write output ``name`` (a path relative to the directory) for now."""
        assert self.staging is not None, "open() first"
        staged = self.staging / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def write_text(self, name: str, content: str) -> None:
        """Stage file ``name`` with ``content``."""
        self.file(name).write_text(content, encoding="utf-8")

    def subdir(self, name: str) -> Path:
        """Where to write the files of output directory ``name`` for now."""
        assert self.staging is not None, "open() first"
        staged = self.staging / name
        staged.mkdir(parents=True, exist_ok=True)
        return staged

    def commit(self) -> list[str]:
        """Move every staged file into place, remove the previous run's other files, and
        mark the directory complete. Returns the files written (relative paths)."""
        assert self.staging is not None, "open() first"
        staging = self.staging
        written = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                         if not p.is_dir())
        for name in written:
            self._check_not_foreign(name)
            if (self.path / name).is_dir() and not self._previous_only(self.path / name):
                raise OutputError(f"{self.path / name}: a directory stands where neardup "
                                  "writes a file; move it away and run again")
        manifest = {"command": self.command, "state": "committing", "files": written,
                    "started": _iso(self._started), "pid": os.getpid()}
        _write_json_atomic(self.path / MANIFEST, manifest)
        self._clear_the_way(written)
        for name in written:
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
        for name in sorted(self._previous - set(written)):
            old = self.path / name
            if old.is_dir():  # this run's directory of parts, where that file was
                continue
            try:
                old.unlink()
            except (FileNotFoundError, NotADirectoryError):  # gone with its directory
                continue
            _remove_empty_parents(old.parent, self.path)
        manifest.update(state="complete", finished=_iso(time.time()))
        _write_json_atomic(self.path / MANIFEST, manifest)
        shutil.rmtree(staging, ignore_errors=True)
        self.staging = None
        self._previous = set(written)
        return written

    def _previous_only(self, directory: Path) -> bool:
        """Whether ``directory`` holds nothing but the previous run's files."""
        return all(p.relative_to(self.path).as_posix() in self._previous
                   for p in directory.rglob("*") if not p.is_dir())

    def _clear_the_way(self, written: list[str]) -> None:
        """Remove the previous run's outputs that stand where this run's go: a file where
        this run writes a directory of part files (a Spark run after a local one), or such
        a directory where it writes a file."""
        for name in written:
            for parent in reversed(Path(name).parents[:-1]):
                if (self.path / parent).is_file() and parent.as_posix() in self._previous:
                    (self.path / parent).unlink()
            target = self.path / name
            if target.is_dir() and self._previous_only(target):
                shutil.rmtree(target)

    def close(self) -> None:
        """Remove what is staged and not committed, and release the lock."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def output_files(path: Path) -> list[Path]:
    """The files output ``path`` is held in: itself, or for a directory of part files (as
    a Spark run writes each output), its parts in name order; none if it is missing."""
    if path.is_dir():
        return sorted(p for p in path.iterdir()
                      if p.is_file() and p.name.startswith(PART_PREFIX))
    return [path] if path.exists() else []


def add_to_run(directory: str | Path, name: str, content: str) -> Path:
    """Write ``content`` as file ``name`` of a complete neardup run in ``directory`` (the
    report), atomically and under the directory's lock, and list it in the manifest so the
    next run into the directory replaces or removes it."""
    directory = Path(directory)
    lock = DirectoryLock(directory, "neardup report")
    try:
        manifest = check_complete(directory)
        target = directory / name
        if target.exists() and name not in manifest["files"]:
            raise OutputError(f"{target}: exists and was not written by neardup; move it "
                              "away or give another --output")
        write_text_atomic(target, content)
        if name not in manifest["files"]:
            manifest["files"] = sorted([*manifest["files"], name])
            _write_json_atomic(directory / MANIFEST, manifest)
        return target
    finally:
        lock.release()


def write_text_atomic(target: Path, content: str) -> None:
    """Write ``target`` whole or not at all (a temporary file beside it, on disk before it
    is renamed over ``target``; named as staging, so a run killed meanwhile leaves nothing
    the next one does not sweep); :class:`OutputError` naming ``target`` if it cannot be
    written."""
    tmp = target.with_name(f"{STAGING_PREFIX}{target.name}.{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        err.filename = str(target)
        raise OutputError(os_error_message(err, "cannot write")) from None


def _remove_empty_parents(directory: Path, root: Path) -> None:
    while directory != root and directory.is_relative_to(root):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _names(names: list[str], shown: int = 3) -> str:
    names = sorted(names)
    listed = ", ".join(names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
