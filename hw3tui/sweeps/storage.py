"""A sweep's database storage URL: checked before anything is made, frozen without its password.

`hw3tui sweep FILE --storage URL` (or `storage:` in the sweep file, or `sweep resume` of a folder
that has one) checks the URL here before the sweep folder exists: it parses (SQLAlchemy's
`make_url`), its driver imports, the server answers within `CONNECT_TIMEOUT_S` and takes the
login, and an sqlite file can be made where it points. Each problem is one line naming the URL
without its password (`StorageError`, exit 2), and nothing is on disk: no folder, no sqlite
file, no study.

The password never reaches a file or a terminal: a URL given with one is used by this process
(kept in memory here, `_PASSWORDS`) and frozen without it; the other workers' driver finds it
itself (libpq reads PGPASSWORD and ~/.pgpass). A relative sqlite path is frozen absolute, so
`sweep resume` from another folder opens the same database.

Optuna and SQLAlchemy are imported inside the functions: `hw3tui --help`, `validate` and the
sweep list never pay for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hw3tui.errors import StorageError, one_line
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from optuna.storages import JournalStorage, RDBStorage
    from sqlalchemy.engine import URL

    from hw3tui.sweeps.file import LoadedSweep
    from hw3tui.sweeps.folder import SweepDir
    from hw3tui.sweeps.model import Sweep

CONNECT_TIMEOUT_S = 5
"""How long a worker waits for the database server to answer a connection (not a hang)."""
SCHEMA_RACE_TRIES = 6
"""Tries to open a fresh database whose tables another worker is creating at the same time."""

_PASSWORDS: dict[str, str] = {}
"""A frozen URL -> the URL as given, with its password: this process's only copy."""

_DRIVERS = {
    "psycopg": "pip install 'hw3tui[postgres]'",
    "psycopg2": "pip install psycopg2-binary, or postgresql:// with pip install 'hw3tui[postgres]'",
    "pg8000": "pip install pg8000",
    "mysqldb": "pip install mysqlclient, or mysql+pymysql:// with pip install PyMySQL",
    "pymysql": "pip install PyMySQL",
    "mysqlconnector": "pip install mysql-connector-python",
}
"""SQLAlchemy's driver name -> how to install it."""

_TIMEOUT_ARG = {"postgresql": "connect_timeout", "mysql": "connect_timeout"}
"""The DB-API connect argument that bounds a connection's wait, by backend."""


def shown(url: str) -> str:
    """The URL for a message or a file: no password (the user part's, nor a `password=` in its
    query), escaped. Works on text that does not parse as a URL too."""
    parsed = _parsed(url)
    if parsed is not None:
        return printable(_without_password(parsed).render_as_string(hide_password=False))
    text = re.sub(r"(://[^/@:]*):[^@]*@", r"\1@", url)
    return printable(re.sub(r"([?&]password=)[^&]*", r"\1", text))


def check_storage(url: str, *, base: Path | None = None, new_study: str | None = None) -> str:
    """The URL as frozen (no password; a relative sqlite path made absolute against `base`) once
    it can hold a sweep: parsed, its driver importable, its server reachable and the login taken,
    or an sqlite file makeable. `new_study`: a study this new sweep will make, refused if the
    storage holds it already. `StorageError` (one line) otherwise; nothing is created."""
    parsed = _parsed(url)
    if parsed is None:
        raise StorageError(
            f"storage {shown(url)}: not a database URL "
            "(e.g. postgresql://user@host/db or sqlite:////abs/path.db)"
        )
    _driver(url, parsed)
    if parsed.get_backend_name() == "sqlite":
        parsed = _sqlite(url, parsed, base)
    frozen = _without_password(parsed).render_as_string(hide_password=False)
    if _password(parsed):
        _PASSWORDS[frozen] = parsed.render_as_string(hide_password=False)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return frozen  # nothing to connect to yet, and no study in it
    names = study_names(frozen)
    if new_study is not None and new_study in names:
        raise StorageError(
            f"storage {shown(frozen)}: its study {printable(new_study)} is another sweep's "
            "(give this one another `study`, or leave it out for a new name)"
        )
    return frozen


def has_password(url: str) -> bool:
    parsed = _parsed(url)
    return parsed is not None and bool(_password(parsed))


def open_storage(url: str) -> RDBStorage:
    """Optuna's storage for a (frozen) URL, with the password this process was given and a
    connection timeout; `StorageError` (one line, no password) when it cannot be opened."""
    from optuna.storages import RDBStorage
    from sqlalchemy.exc import SQLAlchemyError

    full = _PASSWORDS.get(url, url)
    parsed = _parsed(full)
    backend = parsed.get_backend_name() if parsed is not None else ""
    kwargs: dict[str, Any] = {}
    if backend in _TIMEOUT_ARG:
        kwargs["connect_args"] = {_TIMEOUT_ARG[backend]: CONNECT_TIMEOUT_S}
    try:
        return _created(lambda: RDBStorage(full, engine_kwargs=kwargs))
    except (SQLAlchemyError, ImportError, RuntimeError, OSError, ValueError) as exc:
        reason = one_line(getattr(exc, "orig", None) or exc)
        secret = _password(parsed) if parsed is not None else None
        if secret:
            reason = reason.replace(secret, "***")  # a driver that quotes it: never shown
        elif backend == "postgresql" and "password" in reason.lower():
            reason += " (give it in PGPASSWORD or ~/.pgpass, never in sweep.yaml)"
        raise StorageError(f"storage {shown(url)}: cannot open: {printable(reason)}") from None


# How long a writer waits on a journal lock whose holder stopped touching it before taking it over
# (Optuna's own default): the holder of a lock that old was killed in the middle of a write.
JOURNAL_GRACE_S = 30


def journal_storage(journal: Path) -> JournalStorage:
    """Optuna's journal file storage for the sweep folder's `optuna.journal`.

    The path is made absolute first: Optuna's lock is a symlink `<journal>.lock` whose target is
    the path as given, and a relative target points nowhere from inside the folder. A worker
    killed -9 in the middle of a write leaves that lock behind; Optuna takes a stale lock over
    once its target's mtime has not changed for the grace period, but a link that points
    nowhere has no mtime, so every later writer (`sweep resume`) spun on it for ever. A link
    that points nowhere all the same (a folder from another machine, or from before this) is
    broken by `JournalLock` past the same grace period."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from hw3tui.sweeps.journal_lock import JournalLock

    path = str(journal.absolute())
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalLock(path, JOURNAL_GRACE_S)))


def _created(make: Callable[[], RDBStorage]) -> RDBStorage:
    """`make()`, tried again when it lost the race to create Optuna's tables: workers starting
    together on a fresh database (a job array's tasks) each create them, and the losers' CREATE
    fails on a duplicate name; the winner's tables are there a moment later."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(1, SCHEMA_RACE_TRIES):
        try:
            return make()
        except (IntegrityError, ProgrammingError):
            time.sleep(0.5 * attempt)
    return make()


def study_names(url: str) -> list[str]:
    """The studies a (frozen) URL's database holds; `StorageError` when it cannot be read."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    storage = open_storage(url)
    try:
        return list(optuna.study.get_all_study_names(storage))
    except SQLAlchemyError as exc:
        reason = printable(one_line(getattr(exc, "orig", None) or exc))
        raise StorageError(f"storage {shown(url)}: cannot read its studies: {reason}") from None


def password_warning(url: str) -> str:
    """What a user whose URL carried a password is told (once, on the new sweep)."""
    parsed = _parsed(url)
    where = (
        "from PGPASSWORD or ~/.pgpass"
        if parsed is not None and parsed.get_backend_name() == "postgresql"
        else "in their driver's own way"
    )
    return (
        f"the storage URL's password is used by this worker but not saved in sweep.yaml: "
        f"`hw3tui sweep resume` and other workers read it {where}"
    )


def freeze_storage(loaded: LoadedSweep, *, base: Path) -> tuple[LoadedSweep, list[str]]:
    """A new sweep's `storage`, checked (`check_storage`, with its `study` if the user named
    one) and written as frozen: no password, an sqlite path absolute against `base`. Also the
    warnings to show (a password that other workers must find elsewhere)."""
    url = loaded.sweep.storage
    if not url:
        return loaded, []
    frozen = check_storage(url, base=base, new_study=loaded.sweep.study)
    warnings = [password_warning(url)] if has_password(url) else []
    return _with_key(loaded, "storage", frozen), warnings


def with_study(loaded: LoadedSweep, folder_name: str) -> LoadedSweep:
    """A new sweep's `study` frozen: the user's, else its folder's name and 8 random hex
    digits (two sweeps whose folders share a name on one database stay apart)."""
    if loaded.sweep.study:
        return loaded
    return _with_key(loaded, "study", f"{folder_name}-{secrets.token_hex(4)}")


def study_name(folder: SweepDir, sweep: Sweep) -> str:
    """The study's name: the sweep's `study`; a sweep frozen before that key, its folder's."""
    return sweep.study or folder.name


def _with_key(loaded: LoadedSweep, key: str, value: str) -> LoadedSweep:
    """`loaded` with a top-level key's value set in its text and its model alike (no second
    check of every trial: nothing a trial runs changes)."""
    from hw3tui.preset.yamlio import set_in_text

    text = set_in_text(loaded.text, (key,), value, loaded.source)
    return replace(loaded, text=text, sweep=loaded.sweep.model_copy(update={key: value}))


FINGERPRINT_ATTR = "hw3tui_sweep"
"""The study's user attribute that names the sweep which made it (`fingerprint`)."""

_PER_MACHINE = ("storage", "parallel", "runs")
"""Keys a second machine's copy of sweep.yaml may change (its database host, its GPUs, where its
run folders are mounted): not part of what the sweep is."""


def fingerprint(text: str) -> str:
    """Which sweep a frozen sweep.yaml is: sha256 of its keys and values, not its layout, so a
    copy of it on another machine (another editor's line ends, the storage host spelt another
    way) joins the same study, and another sweep's file does not."""
    from hw3tui.preset.yamlio import parse, to_plain

    plain = to_plain(parse(text, "sweep.yaml").data)
    kept = {k: v for k, v in plain.items() if k not in _PER_MACHINE}
    canonical = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _parsed(url: str) -> URL | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def _password(url: URL) -> str | None:
    password = url.password or url.query.get("password")
    return str(password) if isinstance(password, str) and password else None


def _without_password(url: URL) -> URL:
    from sqlalchemy.engine import URL as Url

    query = {k: v for k, v in url.query.items() if k != "password"}
    return Url.create(url.drivername, url.username, None, url.host, url.port, url.database, query)


def _driver(url: str, parsed: URL) -> None:
    """The URL's SQLAlchemy dialect and its DB-API module import, else one line saying which
    package brings them."""
    from sqlalchemy.exc import NoSuchModuleError

    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise StorageError(
            f"storage {shown(url)}: no database kind {printable(parsed.drivername)} "
            "(e.g. postgresql://, mysql+pymysql://, sqlite:///)"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        driver = parsed.get_driver_name()
        hint = _DRIVERS.get(driver, f"install the {driver} package")
        raise StorageError(
            f"storage {shown(url)}: its driver ({printable(driver)}) is not installed: {hint}"
        ) from None


def _sqlite(url: str, parsed: URL, base: Path | None) -> URL:
    """An sqlite URL whose file exists and is writable, or whose folder can take it; a relative
    path made absolute against `base` (a sweep being frozen)."""
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise StorageError(
            f"storage {shown(url)}: a sweep needs a database file (sqlite:////abs/path.db); "
            "an in-memory one ends with this process"
        )
    path = Path(database)
    if not path.is_absolute() and base is not None:
        path = (base / path).resolve()
        parsed = parsed.set(database=str(path))
    shown_url = shown(parsed.render_as_string(hide_password=False))
    if path.exists():
        if not path.is_file() or not os.access(path, os.R_OK | os.W_OK):
            raise StorageError(f"storage {shown_url}: not a file this user can write")
    elif not path.parent.is_dir():
        raise StorageError(f"storage {shown_url}: no folder {printable(str(path.parent))}")
    # sqlite writes a journal beside its file, so its folder must take new files
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StorageError(
            f"storage {shown_url}: this user cannot write in {printable(str(path.parent))}"
        )
    return parsed
