"""The folder `hw3tui report -o DIR` writes into: hw3tui replaces only what it wrote itself.

DIR/.hw3tui-report (JSON) lists every file the last report wrote, with the SHA256 of what it
wrote:

    {"written_by": "hw3tui report", "files": {"report.md": "9f2c…", "run-a/curves.png": "…"}}

A later report writes into DIR only when DIR is new, empty or holds that marker, and then
replaces or removes only a listed file that still holds what hw3tui wrote. Anything else is the
user's and stays: a file they added (anywhere in DIR), and a listed file they changed (an edited
report.md). When the new report would overwrite such a file, nothing is written and the report
is refused, naming it. DIR must not be the root, the home folder, the current folder or one
that holds it, nor a folder that holds (or lies inside) a run or sweep being reported.

Each file is replaced atomically (`hw3tui.atomic`). While files are being replaced the marker
lists both the old and the new digest of each, so a report killed half-way leaves a folder the
next report still recognises as its own: a mix of whole old and whole new files, never a
half-written one, and never a lost file of the user's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hw3tui.atomic import clean_leftovers, write_bytes_atomic, write_text_atomic
from hw3tui.errors import ReportFolderError as ReportFolderError  # defined with its family

MARKER = ".hw3tui-report"
WRITTEN_BY = "hw3tui report"


def check_destination(out: Path, reported: Iterable[Path]) -> None:
    """Refuse a DIR whose replacement could take more than a report with it: the root, the home
    folder, the current folder and the folders holding them, a file, a DIR that holds or lies
    inside a run or sweep folder being reported (`reported`)."""
    where = out.resolve()
    own = "name a folder of the report's own, e.g. -o report"
    if where == Path(where.anchor):
        raise ReportFolderError(f"-o {out}: the root folder; {own}")
    home, cwd = Path.home().resolve(), Path.cwd().resolve()
    if where == home or where in home.parents:
        raise ReportFolderError(f"-o {out}: your home folder (or one holding it); {own}")
    if where == cwd or where in cwd.parents:
        raise ReportFolderError(f"-o {out}: the current folder (or one holding it); {own}")
    for path in reported:
        folder = path.resolve()
        if where == folder or folder in where.parents:
            raise ReportFolderError(f"-o {out}: inside {path}, which is being reported; {own}")
        if where in folder.parents:
            raise ReportFolderError(f"-o {out}: holds {path}, which is being reported; {own}")
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"-o {out}: is a file; name a folder")
    if not where.parent.is_dir():
        raise ReportFolderError(f"-o {out}: no such folder: {where.parent}")


@dataclass(frozen=True)
class ReportFolder:
    """DIR as found: what in it hw3tui wrote and may replace (relative path: its digest)."""

    path: Path
    owned: Mapping[str, str]
    listed: frozenset[str]
    """Every path the marker names (an unowned one was changed by the user)."""

    @classmethod
    def open(cls, path: Path) -> ReportFolder:
        """`path` as a destination; `ReportFolderError` unless it is new, empty or a report."""
        if not path.is_dir() or not any(path.iterdir()):
            return cls(path, {}, frozenset())
        listed = _read_marker(path / MARKER)
        if listed is None:
            raise ReportFolderError(
                f"-o {path}: not empty and not written by hw3tui report (no valid {MARKER}); "
                "nothing replaced: name a new or empty folder"
            )
        digests = _digests(path, listed)
        owned = {rel: digest for rel, digest in digests.items() if digest in listed[rel]}
        return cls(path, owned, frozenset(listed))

    def publish(self, built: Path) -> list[str]:
        """Put every file under `built` at the same place in DIR, remove hw3tui's files that the
        new report no longer has, and keep everything else. Returns the files written."""
        # read DIR again: the user may have edited a file while the figures were drawn
        now = ReportFolder.open(self.path)
        new = _digests(built, [p.relative_to(built).as_posix() for p in _files(built)])
        now._refuse_conflicts(new)
        self.path.mkdir(exist_ok=True)
        # while replacing, both digests are hw3tui's: a kill leaves a folder still recognised
        both = {
            rel: sorted(d for d in (now.owned.get(rel), new.get(rel)) if d)
            for rel in {*now.owned, *new}
        }
        _write_marker(self.path, both)
        for folder in sorted({self.path, *((self.path / rel).parent for rel in new)}):
            if folder.is_dir():
                clean_leftovers(folder)  # partial files of a killed report: never the user's
        for rel in sorted(new):
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, (built / rel).read_bytes())
        for rel in sorted(set(now.owned) - set(new)):
            with contextlib.suppress(FileNotFoundError):
                (self.path / rel).unlink()
            _remove_empty_parents(self.path, rel)
        _write_marker(self.path, dict(new))
        return sorted(new)

    def _refuse_conflicts(self, new: Mapping[str, str]) -> None:
        for rel in sorted(new):
            parts = PurePosixPath(rel).parts
            for depth in range(1, len(parts)):
                folder = self.path.joinpath(*parts[:depth])
                if os.path.lexists(folder) and (folder.is_symlink() or not folder.is_dir()):
                    raise ReportFolderError(
                        f"-o {self.path}: {folder} is not a folder hw3tui made; nothing replaced"
                    )
            target = self.path / rel
            if not os.path.lexists(target) or rel in self.owned:
                continue
            why = "changed since hw3tui wrote it" if rel in self.listed else "not hw3tui's"
            raise ReportFolderError(
                f"-o {self.path}: {target} is {why}; kept, nothing replaced "
                "(move it away, or write the report to another folder)"
            )


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _safe(rel: str) -> bool:
    """A path the marker may name: relative, inside DIR, not the marker itself."""
    path = PurePosixPath(rel)
    return (
        bool(rel)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in rel
        and path.as_posix() == rel
        and rel != MARKER
    )


def _digests(root: Path, rels: Iterable[str]) -> dict[str, str]:
    """The SHA256 of each `rels` path under `root` that is a plain file reached through plain
    folders (no symlink: removing it can never reach outside DIR)."""
    found = {}
    for rel in rels:
        parts = PurePosixPath(rel).parts
        folders = [root.joinpath(*parts[:depth]) for depth in range(1, len(parts))]
        if any(p.is_symlink() or not p.is_dir() for p in folders):
            continue
        path = root / rel
        if path.is_symlink() or not path.is_file():
            continue
        try:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
    return found


def _read_marker(path: Path) -> dict[str, frozenset[str]] | None:
    """The marker's files and their digests; None when there is no valid marker."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return None
    listed = {}
    for rel, digests in files.items():
        values = [digests] if isinstance(digests, str) else digests
        if isinstance(rel, str) and _safe(rel) and isinstance(values, list):
            listed[rel] = frozenset(v for v in values if isinstance(v, str))
    return listed


def _write_marker(folder: Path, files: Mapping[str, str | list[str]]) -> None:
    record = {"written_by": WRITTEN_BY, "files": dict(sorted(files.items()))}
    write_text_atomic(folder / MARKER, json.dumps(record, indent=1) + "\n")


def _remove_empty_parents(root: Path, rel: str) -> None:
    """Remove the folders of `rel` that are now empty (a folder holding a user's file stays)."""
    parent = (root / rel).parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent
