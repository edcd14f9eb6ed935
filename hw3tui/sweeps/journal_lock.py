"""The journal's write lock: Optuna's symlink lock, also breaking a stale link that points nowhere.

Optuna's `JournalFileSymlinkLock` is a symlink `<journal>.lock` whose target is the journal's path;
a writer killed holding it leaves it behind, and the next writer takes it over once the target's
mtime has stood still for the grace period. A link whose target does not exist has no mtime to
watch, and Optuna's loop then retries for ever without sleeping. Such links come from elsewhere:
a sweep folder copied from a classmate's machine (the target is their absolute path), or one
written before hw3tui gave Optuna an absolute path. This lock judges such a link by its own age
(`lstat`) instead, and breaks it past the same grace period; everything else is Optuna's.

Imported only by `storage.journal_storage`, so Optuna loads only where a journal is opened.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from optuna.storages.journal import JournalFileSymlinkLock


class JournalLock(JournalFileSymlinkLock):
    def __init__(self, journal: str, grace_period: int) -> None:
        super().__init__(journal, grace_period=grace_period)
        self.grace = grace_period
        self.link = Path(journal + ".lock")  # Optuna's name for it (LOCK_FILE_SUFFIX)

    def acquire(self) -> bool:
        self._break_if_dangling()
        return super().acquire()

    def _break_if_dangling(self) -> None:
        """Remove a link that points nowhere once it is older than the grace period, by its own
        mtime or by this process's watch (a link from another clock can claim any mtime); it is
        renamed aside first, as Optuna's own release does. A link that points at the journal is
        left to Optuna, whose wait watches the journal's mtime."""
        seen: tuple[int, int] | None = None
        since = time.monotonic()
        while True:
            try:
                link = self.link.lstat()
            except FileNotFoundError:
                return
            if self.link.exists():  # follows the link: the journal is there
                return
            if (link.st_ino, link.st_mtime_ns) != seen:  # a new link: watch it from now
                seen, since = (link.st_ino, link.st_mtime_ns), time.monotonic()
            old = time.time() - link.st_mtime > self.grace
            if old or time.monotonic() - since > self.grace:
                aside = self.link.with_name(f"{self.link.name}{uuid.uuid4()}.rename")
                try:
                    self.link.rename(aside)
                except FileNotFoundError:
                    return  # another writer broke it first
                aside.unlink()
                return
            time.sleep(0.5)
