"""The errors neardup raises for problems a user can fix.

Each message is one line that names the file, record or option at fault and says what to
do; the command line prints it as it is (one place, :mod:`neardup.cli`), never a traceback.
"""

from __future__ import annotations

import errno


class NeardupError(Exception):
    """A problem the user can fix; ``str(err)`` is one line saying what and what to do."""


class InputError(NeardupError):
    """An input that cannot be used at all (missing, unreadable, unknown kind, no record
    with the named fields)."""


class OutputError(NeardupError):
    """An output or temporary directory that cannot be used (not a directory, unwritable,
    held by another run, not neardup's to overwrite, full)."""


class MemoryLimitError(NeardupError):
    """A run whose processes came to hold more memory than ``--max-memory`` allows."""


class ReportError(NeardupError):
    """A directory a report cannot be made of (not a complete neardup output)."""


#: OS errors that mean the disk (or a file size limit) is full.
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def os_error_message(err: OSError, doing: str = "") -> str:
    """One line for an OS error: what failed, on which file, and what to do."""
    where = f" {err.filename}" if err.filename else ""
    what = f"{doing}{where}".strip()
    prefix = f"{what}: " if what else ""
    if err.errno in DISK_FULL:
        return (f"{prefix}{err.strerror or 'disk full'}: free space (or raise the file size "
                "limit), or point -o / --tmp-dir at a disk with room, and run again")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{prefix}{err.strerror}: choose a place you may write to, or fix its permissions"
    return f"{prefix}{err.strerror or err}"
