"""One writer per run directory: an advisory lock on the run's lock file.

A command that writes into a run holds an exclusive ``flock`` on ``RUN_DIR/.lock``
for as long as it runs; a second writer is refused at once and told which process
holds the lock. The operating system releases a ``flock`` when the process holding
it ends, however it ends (SIGKILL included), so a lock is never left behind by a
dead process. While the lock is held, the file names its holder (process id and
command); it is emptied again on release, so a run at rest holds an empty lock file.

A new run that ends with nothing in it removes its lock file while still holding the lock;
a process that took the lock on that file meanwhile finds the file gone and tries again.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO


class LockHeld(Exception):
    """Another process holds the lock; ``holder`` names it (empty if it could not be read)."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class RunLock:
    """The exclusive lock on one lock file, taken without waiting."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._handle: TextIO | None = None

    def acquire(self, command: str) -> bool:
        """Take the lock for ``command`` (recorded with this process's id in the file) and
        return True; raise LockHeld naming the process that holds it. False: the lock file
        was removed by its holder before this process could take it (make it again)."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not self._names(handle):
                handle.close()
                return False
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise LockHeld(holder) from None
        except BaseException:
            handle.close()
            raise
        handle.truncate(0)
        handle.write(f"process {os.getpid()} ({command})\n")
        handle.flush()
        self._handle = handle
        return True

    def _names(self, handle: TextIO) -> bool:
        """Whether the lock file's path still names the file ``handle`` has open."""
        try:
            return os.path.samestat(os.stat(self.path), os.fstat(handle.fileno()))
        except FileNotFoundError:
            return False

    def release(self, remove: bool = False) -> None:
        """Empty the lock file (``remove``: delete it) and let go of the lock."""
        if self._handle is not None:
            if remove:
                self.path.unlink(missing_ok=True)
            else:
                self._handle.truncate(0)
            self._handle.close()  # closing the file releases the flock
            self._handle = None
