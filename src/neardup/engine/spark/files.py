"""Files on any file system Spark's Hadoop libraries reach (``file://``, ``hdfs://``,
``s3a://``...), driven from the driver through Spark's JVM; and an output directory there
committed as :class:`neardup.io.outdir.OutputDir` commits a local one.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ...errors import OutputError
from ...io.outdir import MANIFEST, STAGING_PREFIX


class HadoopFiles:
    """A few file operations on URIs, through the session's Hadoop configuration."""

    def __init__(self, spark: Any) -> None:
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs_path(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def qualified(self, uri: str) -> str:
        """``uri`` as its file system spells the paths it lists (``file:///x`` is
        ``file:/x``)."""
        fs, path = self._fs_path(uri)
        return str(fs.makeQualified(path).toString())

    def exists(self, uri: str) -> bool:
        fs, path = self._fs_path(uri)
        return bool(fs.exists(path))

    def is_dir(self, uri: str) -> bool:
        fs, path = self._fs_path(uri)
        return bool(fs.exists(path) and fs.getFileStatus(path).isDirectory())

    def files(self, uri: str) -> list[str]:
        """Every file below ``uri`` (a directory), as URIs, sorted."""
        fs, path = self._fs_path(uri)
        if not fs.exists(path):
            return []
        found = []
        listing = fs.listFiles(path, True)
        while listing.hasNext():
            found.append(listing.next().getPath().toString())
        return sorted(found)

    def children(self, uri: str) -> list[str]:
        """The entries of directory ``uri``, as URIs, sorted."""
        fs, path = self._fs_path(uri)
        if not fs.exists(path):
            return []
        return sorted(s.getPath().toString() for s in fs.listStatus(path))

    def mkdirs(self, uri: str) -> None:
        fs, path = self._fs_path(uri)
        fs.mkdirs(path)

    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target`` (its directory made first); an error if it fails."""
        fs, path = self._fs_path(source)
        destination = self._jvm.org.apache.hadoop.fs.Path(target)
        fs.mkdirs(destination.getParent())
        if not fs.rename(path, destination):
            raise OutputError(f"{target}: could not move {source} there; check the "
                              "permissions and free space of the output file system")

    def delete(self, uri: str) -> None:
        fs, path = self._fs_path(uri)
        fs.delete(path, True)

    def read_text(self, uri: str) -> str | None:
        """The UTF-8 text of file ``uri``, or None when there is none."""
        fs, path = self._fs_path(uri)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            reader = self._jvm.java.io.BufferedReader(
                self._jvm.java.io.InputStreamReader(stream, "UTF-8"))
            lines = []
            line = reader.readLine()
            while line is not None:
                lines.append(line)
                line = reader.readLine()
            return "\n".join(lines)
        finally:
            stream.close()

    def write_text(self, uri: str, content: str) -> None:
        """Write file ``uri`` whole (a file beside it, then renamed over it)."""
        fs, path = self._fs_path(uri)
        tmp = self._jvm.org.apache.hadoop.fs.Path(
            path.getParent(), f"{STAGING_PREFIX}{path.getName()}.{uuid.uuid4().hex}")
        stream = fs.create(tmp, True)
        try:
            stream.write(bytearray(content.encode("utf-8")))
        finally:
            stream.close()
        if fs.exists(path):
            fs.delete(path, False)
        if not fs.rename(tmp, path):
            raise OutputError(f"{uri}: could not be written; check the output file system")


def _relative(uri: str, root: str) -> str:
    return uri[len(root.rstrip("/")) + 1:]


class RemoteOutputDir:
    """An output directory on another file system, staged and committed as
    :class:`~neardup.io.outdir.OutputDir` does a local one: the run writes below a staging
    directory inside it; the commit writes the manifest (``committing``), moves each file
    into place, removes the previous run's other files, and marks the manifest
    ``complete``. A directory with files and no manifest is refused unless ``force``.
    Unlike a local one it is not locked: two runs into one remote directory at once are
    the user's to avoid."""

    def __init__(self, files: HadoopFiles, uri: str, command: str, force: bool = False) -> None:
        self.files, self.uri, self.command, self.force = files, uri.rstrip("/"), command, force
        self.staging: str | None = None
        self._previous: set[str] = set()
        self._started = time.time()

    def __enter__(self) -> RemoteOutputDir:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        files, uri = self.files, self.uri
        if files.exists(uri) and not files.is_dir(uri):
            raise OutputError(f"{uri}: exists and is not a directory; choose a directory "
                              "for -o")
        files.mkdirs(uri)
        self.uri = uri = files.qualified(uri)
        text = files.read_text(f"{uri}/{MANIFEST}")
        if text is None:
            foreign = [c for c in files.children(uri)
                       if not c.rsplit("/", 1)[-1].startswith(STAGING_PREFIX)]
            if foreign and not self.force:
                raise OutputError(f"{uri}: not empty and not a neardup output directory; "
                                  "choose a new or empty directory, or give --force")
        else:
            try:
                self._previous = set(json.loads(text)["files"])
            except (ValueError, KeyError, TypeError):
                raise OutputError(f"{uri}/{MANIFEST}: not a neardup manifest; remove it if "
                                  "this directory holds nothing you need") from None
        for stale in files.children(uri):
            if stale.rsplit("/", 1)[-1].startswith(STAGING_PREFIX):
                files.delete(stale)
        self.staging = f"{uri}/{STAGING_PREFIX}{uuid.uuid4().hex}"
        files.mkdirs(self.staging)

    def write_text(self, name: str, content: str) -> None:
        """Stage file ``name`` with ``content``."""
        assert self.staging is not None, "open() first"
        self.files.write_text(f"{self.staging}/{name}", content)

    def commit(self) -> list[str]:
        assert self.staging is not None, "open() first"
        files, staging = self.files, self.staging
        written = [_relative(f, staging) for f in files.files(staging)]
        manifest = {"command": self.command, "state": "committing", "files": written,
                    "started": _iso(self._started)}
        files.write_text(f"{self.uri}/{MANIFEST}", json.dumps(manifest))
        for name in sorted(self._previous):  # the previous run's files go first
            if files.exists(f"{self.uri}/{name}") and not files.is_dir(f"{self.uri}/{name}"):
                files.delete(f"{self.uri}/{name}")
        for name in written:
            target = f"{self.uri}/{name}"
            if files.is_dir(target) and not files.files(target):  # emptied just above
                files.delete(target)
            files.rename(f"{staging}/{name}", target)
        manifest.update(state="complete", finished=_iso(time.time()))
        files.write_text(f"{self.uri}/{MANIFEST}", json.dumps(manifest))
        files.delete(staging)
        self.staging = None
        return written

    def close(self) -> None:
        if self.staging is not None:
            self.files.delete(self.staging)
            self.staging = None


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
