"""Exclusive locks between the processes (and threads) of one host, on a lock file (fcntl.flock).

A lock file is never deleted: a process that opened it before the deletion would lock the old file while
the next one locks a new one. Not for network file systems or several hosts.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator


class LockTimeout(TimeoutError):
    """The lock stayed held by another process for the whole timeout."""


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, timeout: float) -> Iterator[None]:
    """An exclusive lock on ``path`` shared by every process on this host (fcntl.flock); waits up to
    ``timeout`` seconds, then raises LockTimeout."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"timed out after {timeout:.0f}s waiting for the lock {path}") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
