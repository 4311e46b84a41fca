"""Named points where a test makes a run fail the way users' runs fail (a process killed),
to check that nothing is lost and the answer does not change.

Inert unless the environment says ``NEARDUP_FAULT=POINT:ACTION`` for the point reached;
then the first process to reach it (``NEARDUP_FAULT_MARKER`` is created once, and names
the process killed, so a test can assert the window was hit) does ACTION:

- ``kill-executor``: SIGKILL the Spark executor this Python worker serves (its JVM).
- ``kill``: SIGKILL this process.
- ``raise``: raise :class:`InjectedFault` here (an unexpected error where one can occur).
"""

from __future__ import annotations

import os
import signal


class InjectedFault(RuntimeError):
    """The error the ``raise`` action raises."""


def at(point: str) -> None:
    """Reached ``point``: do what ``NEARDUP_FAULT`` asks there, once, or nothing."""
    spec = os.environ.get("NEARDUP_FAULT", "")
    if not spec.startswith(point + ":"):
        return
    action = spec.split(":", 1)[1]
    try:
        fd = os.open(os.environ["NEARDUP_FAULT_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # done once already
    target = _executor_pid() if action == "kill-executor" else os.getpid()
    os.write(fd, f"{point} {action} {target}\n".encode())
    os.close(fd)
    if action == "raise":
        raise InjectedFault(f"fault injected at {point}")
    os.kill(target, signal.SIGKILL)


def _executor_pid() -> int:
    """The JVM that started this Python worker: the nearest ``java`` among its ancestors."""
    pid = os.getppid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if os.path.basename(fh.read().split(b"\0")[0]) == b"java":
                return pid
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            pid = int(fh.read().rsplit(")", 1)[1].split()[1])
    raise RuntimeError("no Spark executor above this process")
