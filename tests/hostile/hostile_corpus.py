r"""The hostile corpus: run folders and sweep files as a careless or hostile classmate leaves them.

Nothing binary is committed: every case is derived from one real tiny run (trained once per
session, see conftest.py) by a small function that breaks one thing in a copy of it. Chunks are
hard links to the real run's; a case that changes a chunk unlinks it first, so the shared run is
never written through a link.

Each case names the item of issue 20 whose fix makes it pass (`item`), so a failure maps to a
hole: 2 log/TUI escapes, 3 non-finite numbers, 5 FIFOs and symlinks, 6 names/notes at the exits,
10 listing vs reading, `held` for guards that already hold (keep them so).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OSC_TITLE = "\x1b]0;PWNED-TITLE\x07"
"""Sets the terminal's window (and tmux pane) title."""
OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
"""Writes `pwned` to the user's clipboard."""
CSI_CLEAR = "\x1b[2J"
C1_CSI = "\x9b31m"
"""The one-character CSI (U+009B), `\xc2\x9b` in UTF-8."""
BEL = "\x07"
ESCAPES = OSC_TITLE + CSI_CLEAR + OSC_CLIPBOARD + C1_CSI + BEL

CLEAN_NAME = "clean-20260101-000000"
HOSTILE_NAME = "tiny-20260101-010000"

READERS = ("runs", "runs-json", "compare", "plot", "report", "eval", "tui-home", "tui-run")
CLI_READERS = READERS[:6]


@dataclass(frozen=True)
class RunCase:
    """One hostile run folder: `build(path) -> path` breaks a copy of the real run (and may
    rename it); `ok` readers must exit 0, `refused` readers must exit 2 (one line); every reader
    must show no traceback and no raw control byte whatever its exit code."""

    build: Callable[[Path], Path]
    item: str
    ok: tuple[str, ...] = READERS
    refused: tuple[str, ...] = ()
    state: str | None = None
    """The state `runs --json` must give it (None: not checked)."""


# --- building blocks ------------------------------------------------------------------------------


def copy_run(source: Path, target: Path) -> Path:
    """A copy of `source` at `target`: small files copied, checkpoint and state files linked."""

    def link_big(src: str, dst: str) -> object:
        if Path(src).stat().st_size >= 1 << 16:
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link_big, symlinks=True)
    return target


def renamed(name: str) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        return run.rename(run.with_name(name))

    return build


def events(run: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def write_lines(run: Path, lines: list[str]) -> None:
    (run / "events.jsonl").write_text("".join(line + "\n" for line in lines))


def with_progress(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`records` with a progress event in the first epoch: the engine throttles them by time, so
    a run that trains an epoch faster than that (a quiet machine) writes none."""
    if any(r["type"] == "progress" for r in records):
        return records
    i = next(i for i, r in enumerate(records) if r["type"] == "epoch_end")
    start = records[i - 1]
    progress = {
        "type": "progress",
        "time": start["time"],
        "epoch": records[i]["epoch"],
        "step": 1,
        "steps": 2,
        "loss": 1.0,
        "acc": 0.5,
        "images_per_s": 10.0,
    }
    return [*records[:i], progress, *records[i:]]


def event_changed(
    kind: str, key: str, literal: str, *, last: bool = False
) -> Callable[[Path], Path]:
    """The first (or last) `kind` event with `key` set to the raw JSON text `literal` (so that
    `Infinity`, `NaN`, `1e400` and 400-digit ints are written as a hostile file holds them)."""

    def build(run: Path) -> Path:
        records = with_progress(events(run)) if kind == "progress" else events(run)
        lines = [json.dumps(r) for r in records]
        indexes = [i for i, r in enumerate(records) if r["type"] == kind]
        i = indexes[-1] if last else indexes[0]
        record = dict(records[i])
        record[key] = "@@HOSTILE@@"
        lines[i] = json.dumps(record).replace('"@@HOSTILE@@"', literal)
        write_lines(run, lines)
        return run

    return build


def events_with(extra: list[str], *, at: int = 2) -> Callable[[Path], Path]:
    """Raw lines inserted among the real events (after the first `at`)."""

    def build(run: Path) -> Path:
        lines = (run / "events.jsonl").read_text().splitlines()
        write_lines(run, lines[:at] + extra + lines[at:])
        return run

    return build


def truncated_events(run: Path) -> Path:
    data = (run / "events.jsonl").read_bytes().rstrip(b"\n")
    (run / "events.jsonl").write_bytes(data[: len(data) - 25])  # the run_end line cut mid-way
    return run


def events_bytes_inserted(line: bytes, *, at: int = 2) -> Callable[[Path], Path]:
    """A line of raw bytes (not UTF-8) among the real events."""

    def build(run: Path) -> Path:
        lines = (run / "events.jsonl").read_bytes().splitlines(keepends=True)
        (run / "events.jsonl").write_bytes(b"".join([*lines[:at], line + b"\n", *lines[at:]]))
        return run

    return build


def events_bytes(data: bytes) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        (run / "events.jsonl").write_bytes(data)
        return run

    return build


def removed(*names: str) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        for name in names:
            target = run / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
        return run

    return build


def written(name: str, text: str | bytes) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        target = run / name
        if target.exists() or target.is_symlink():
            target.unlink()  # never write through a hard link to the shared run
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
        return run

    return build


def status_changed(**changes: object) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        status = json.loads((run / "status.json").read_text())
        status.update(changes)
        (run / "status.json").write_text(json.dumps(status))
        return run

    return build


def status_raw(replace: tuple[str, str]) -> Callable[[Path], Path]:
    """status.json with one JSON value replaced textually (NaN, 1e400 written raw)."""

    def build(run: Path) -> Path:
        text = (run / "status.json").read_text()
        old, new = replace
        assert old in text, (old, text)
        (run / "status.json").write_text(text.replace(old, new, 1))
        return run

    return build


def chunks(run: Path) -> list[Path]:
    return sorted((run / "best").glob("*.safetensors.*"))


def fifo_at(name: str) -> Callable[[Path], Path]:
    """`name` (relative to the run; `CHUNK` for the last checkpoint chunk) replaced by a FIFO."""

    def build(run: Path) -> Path:
        target = chunks(run)[-1] if name == "CHUNK" else run / name
        if target.exists() or target.is_symlink():
            target.unlink()
        os.mkfifo(target)
        return run

    return build


def chunk_linked_to(where: str) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        chunk = chunks(run)[-1]
        chunk.unlink()
        chunk.symlink_to(where)
        return run

    return build


def chunk_missing(run: Path) -> Path:
    chunks(run)[1].unlink()
    return run


def sums_naming(line_name: str) -> Callable[[Path], Path]:
    """SHA256SUMS with one more line, for a file outside best/."""

    def build(run: Path) -> Path:
        sums = run / "best" / "SHA256SUMS"
        text = sums.read_text() + f"{'0' * 64}  {line_name}\n"
        sums.unlink()
        sums.write_text(text)
        return run

    return build


def both(*builds: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def build(run: Path) -> Path:
        for step in builds:
            run = step(run)
        return run

    return build


# --- the cases ------------------------------------------------------------------------------------

NOT_EVAL = tuple(r for r in READERS if r not in ("eval",))
LISTING = ("runs", "runs-json", "compare", "tui-home", "tui-run")
LISTED = ("runs", "runs-json", "tui-home")

RUN_CASES: dict[str, RunCase] = {
    # events.jsonl: a malformed event is skipped like an invalid JSON line, never a crash (item 3)
    "events-epoch-Infinity": RunCase(event_changed("epoch_start", "epoch", "Infinity"), "3"),
    "events-epoch-1e400": RunCase(event_changed("epoch_start", "epoch", "1e400"), "3"),
    "events-epoch-huge-int": RunCase(event_changed("epoch_end", "epoch", "9" * 400), "3"),
    "events-epoch-negative": RunCase(event_changed("epoch_end", "epoch", "-5"), "3"),
    "events-progress-loss-NaN": RunCase(event_changed("progress", "loss", "NaN"), "3"),
    "events-progress-loss-Infinity": RunCase(
        event_changed("progress", "loss", "-Infinity", last=True), "3"
    ),
    "events-val_acc-NaN": RunCase(event_changed("epoch_end", "val_acc", "NaN"), "3"),
    "events-val_loss-1e400": RunCase(event_changed("epoch_end", "val_loss", "1e400"), "3"),
    "events-time-Infinity": RunCase(event_changed("epoch_end", "time", "Infinity"), "3"),
    "events-checkpoint-value-NaN": RunCase(event_changed("checkpoint", "value", "NaN"), "3"),
    "events-lr-huge-int": RunCase(event_changed("epoch_start", "lr", "1" + "0" * 400), "3"),
    "events-epochs-planned-Infinity": RunCase(event_changed("run_start", "epochs", "1e400"), "3"),
    "events-wrong-types": RunCase(
        events_with(
            [
                '{"type": "epoch_start", "epoch": "zero", "lr": [1], "batch_size": {}}',
                '{"type": "progress", "epoch": 0, "step": "x", "steps": null, "loss": "low"}',
                '{"type": "epoch_end", "epoch": 0, "val_acc": "high", "train_loss": true}',
                '{"type": 42}',
                '{"no": "type"}',
            ]
        ),
        "3",
    ),
    "events-not-objects": RunCase(events_with(["[]", "42", '"text"', "null", "true"]), "3"),
    "events-invalid-json": RunCase(events_with(["{not json", "", "   ", "}{"]), "held"),
    "events-truncated-last-line": RunCase(truncated_events, "held"),
    "events-invalid-utf8": RunCase(
        events_bytes_inserted(b'{"type": "progress", "epoch": 0, "loss": 1.0, "x": "\xff\x9b"}'),
        "3",
    ),
    "events-binary-garbage": RunCase(events_bytes(b"\xff\xfe\x00\x1b[2J\x9b\n" * 3), "3"),
    "events-empty": RunCase(events_bytes(b""), "3"),
    "events-missing": RunCase(removed("events.jsonl"), "3"),
    "events-reason-escapes": RunCase(event_changed("run_end", "reason", json.dumps(ESCAPES)), "2"),
    "events-classes-escapes": RunCase(
        event_changed("run_start", "classes", json.dumps([OSC_TITLE, C1_CSI, CSI_CLEAR])), "2"
    ),
    "events-device-escapes": RunCase(
        event_changed("run_start", "device", json.dumps("cpu" + OSC_TITLE)), "2"
    ),
    # status.json: one reader, one answer (item 10); numbers skipped (item 3)
    "status-missing": RunCase(removed("status.json"), "10", state="unknown"),
    "status-invalid-json": RunCase(
        written("status.json", '{"state": "done",'), "10", state="unknown"
    ),
    "status-not-object": RunCase(written("status.json", "[1, 2]"), "10", state="unknown"),
    "status-wrong-types": RunCase(
        status_changed(state=42, started="yesterday", best="0.9", epochs_done=[]),
        "10",
        state="unknown",
    ),
    "status-unknown-state": RunCase(status_changed(state=OSC_TITLE), "10", state="unknown"),
    "status-best-value-NaN": RunCase(status_raw(('"value": 0.', '"value": NaN, "x": 0.')), "3"),
    "status-started-1e400": RunCase(status_raw(('"started": ', '"started": 1e400, "x": ')), "3"),
    "status-ended-huge": RunCase(status_raw(('"ended": ', '"ended": 1e300, "x": ')), "3"),
    "status-pid-1-running": RunCase(
        status_changed(state="running", pid=1, ended=None), "held", state="killed"
    ),
    "status-reason-escapes": RunCase(status_changed(state="failed", reason=ESCAPES), "2"),
    # run folder names: escaped at every exit (items 2, 6); table and links stay whole (item 6)
    "name-ESC-CSI": RunCase(renamed(f"tiny-{CSI_CLEAR}-20260101"), "6"),
    "name-BEL": RunCase(renamed(f"tiny-{BEL}-20260101"), "6"),
    "name-OSC0-title": RunCase(renamed(f"tiny-{OSC_TITLE}-20260101"), "6"),
    "name-OSC52-clipboard": RunCase(renamed(f"tiny-{OSC_CLIPBOARD}-20260101"), "6"),
    "name-C1-CSI": RunCase(renamed(f"tiny-{C1_CSI}-20260101"), "6"),
    "name-pipe": RunCase(renamed("tiny|x|-20260101"), "6"),
    "name-newline": RunCase(renamed("tiny\nx-20260101"), "6"),
    "name-brackets": RunCase(renamed("tiny[x](y)]-20260101"), "6"),
    "name-backtick": RunCase(renamed("tiny`x``-20260101"), "6"),
    "name-angle": RunCase(renamed("tiny<img src=x>-20260101"), "6"),
    "name-bidi-override": RunCase(renamed("tiny-\u202egnp.exe-20260101"), "6"),
    "name-percent-hash": RunCase(renamed("tiny%20#x?y-20260101"), "6"),
    "name-leading-dash": RunCase(renamed("--help"), "6"),
    "name-markdown-heading": RunCase(renamed("# tiny *x* _y_"), "6"),
    # text inside the folder: escaped at every exit (items 2, 6)
    "notes-escapes": RunCase(written("notes.md", f"## 2026-01-01\n\nnote {ESCAPES} end\n"), "6"),
    "notes-invalid-utf8": RunCase(written("notes.md", b"note \xff\xfe \x1b[2J end\n"), "6"),
    "log-escapes": RunCase(written("log.txt", f"line one\n{ESCAPES}\nline three\n"), "2"),
    "log-invalid-utf8": RunCase(written("log.txt", b"ok\n\xff\xfe\x9b31m\x1b]0;T\x07\n"), "2"),
    "log-one-huge-line": RunCase(written("log.txt", "x" * 2_000_000 + CSI_CLEAR + "\n"), "2"),
    # preset.yaml in the run folder (eval needs it to rebuild the val set: refused, one line)
    "preset-invalid-yaml": RunCase(
        written("preset.yaml", "name: [unclosed\n  : :\n"), "held", ok=LISTING, refused=("eval",)
    ),
    "preset-not-a-preset": RunCase(
        written("preset.yaml", "- 1\n- 2\n"), "held", ok=LISTING, refused=("eval",)
    ),
    "preset-escapes-in-name": RunCase(
        written(
            "preset.yaml",
            f'name: "tiny{OSC_TITLE}"\n'.replace("\x1b", "\\e").replace("\x07", "\\a"),
        ),
        "6",
        ok=LISTING,
        refused=("eval",),
    ),
    "preset-missing": RunCase(removed("preset.yaml"), "held", ok=LISTING, refused=("eval",)),
    "preset-fifo": RunCase(fifo_at("preset.yaml"), "5", ok=LISTING, refused=("eval",)),
    # best/: checkpoint refused in one line, never followed outside, never blocking (item 5)
    "best-chunk-fifo": RunCase(fifo_at("CHUNK"), "5", ok=LISTING, refused=("eval",)),
    "best-SHA256SUMS-fifo": RunCase(fifo_at("best/SHA256SUMS"), "5", ok=LISTING, refused=("eval",)),
    "best-chunk-symlink-etc-passwd": RunCase(
        chunk_linked_to("/etc/passwd"), "5", ok=LISTING, refused=("eval",)
    ),
    "best-chunk-missing": RunCase(chunk_missing, "held", ok=LISTING, refused=("eval",)),
    "best-SHA256SUMS-outside": RunCase(
        sums_naming("../../outside"), "held", ok=LISTING, refused=("eval",)
    ),
    "best-SHA256SUMS-absolute": RunCase(
        sums_naming("/etc/passwd"), "held", ok=LISTING, refused=("eval",)
    ),
    "best-SHA256SUMS-escapes": RunCase(
        sums_naming(f"x{OSC_TITLE}.safetensors.009"), "5", ok=LISTING, refused=("eval",)
    ),
    "best-missing": RunCase(removed("best"), "held", ok=LISTING, refused=("eval",)),
    "events-fifo": RunCase(fifo_at("events.jsonl"), "5", ok=LISTED),
    "status-fifo": RunCase(fifo_at("status.json"), "5", ok=LISTED, state="unknown"),
    "log-fifo": RunCase(fifo_at("log.txt"), "5", ok=NOT_EVAL),
    "notes-fifo": RunCase(fifo_at("notes.md"), "5", ok=NOT_EVAL),
    # several at once: a classmate's folder rarely has only one thing wrong
    "all-at-once": RunCase(
        both(
            event_changed("epoch_start", "epoch", "Infinity"),
            event_changed("progress", "loss", "NaN"),
            written("notes.md", ESCAPES),
            written("log.txt", ESCAPES),
            status_raw(('"value": 0.', '"value": NaN, "x": 0.')),
            renamed(f"tiny|{OSC_TITLE}[x]`<y>\n{C1_CSI}-20260101"),
        ),
        "2,3,6",
    ),
}


# --- sweep files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepCase:
    """A hostile sweep file (its text after the common head); `refused`: exit 2 for both
    `sweep --print-commands` and `sweep`, nothing created; `names`: what the error must name."""

    body: str
    item: str
    refused: bool | None = True
    """True: exit 2, one located error; False: accepted (exit 0); None: either, escaped."""
    names: tuple[str, ...] = ()
    base_fifo: bool = False


SWEEP_HEAD = """\
name: {name}
base: {base}
# every trial fails at once (no such folder): a sweep that starts one is over in seconds
set: {{data.source: imagefolder, data.train: nowhere}}
"""

YAML_ESCAPES = '"\\e]0;PWNED-TITLE\\a\\x9b31m\\e]52;c;cHduZWQ=\\a"'
"""OSC 0, C1 CSI and OSC 52, written as YAML double-quoted escapes (the file itself is plain)."""

SWEEP_CASES: dict[str, SweepCase] = {
    "sweep-axis-value-OSC": SweepCase(f"axes:\n  data.val: [{YAML_ESCAPES}]\n", "6", refused=False),
    "sweep-axis-name-OSC": SweepCase(f"axes:\n  {YAML_ESCAPES}: [1, 2]\n", "6"),
    "sweep-name-OSC": SweepCase("axes:\n  data.val: [a]\n", "6", refused=None),
    "sweep-grid-32^4": SweepCase(
        "axes:\n"
        + "".join(
            f"  {path}: [{', '.join(str(v) for v in values)}]\n"
            for path, values in {
                "schedule.lr": [round(0.0001 * (i + 1), 6) for i in range(32)],
                "seed": list(range(32)),
                "data.image_size": [32 + i for i in range(32)],
                "augment.horizontal_flip": [round(i / 32, 4) for i in range(32)],
            }.items()
        ),
        "4",
        names=("100,000",),
    ),
    "sweep-same-axis-two-spellings": SweepCase(
        'axes:\n  schedule.lr: [0.1, 0.01]\n  "schedule . lr": [0.2]\n', "9", names=("schedule",)
    ),
    "sweep-empty-axis-list-hides-nothing": SweepCase(
        "axes:\n  optimizer.name: []\n  schedule.lr: [-1]\n",
        "9",
        names=("optimizer.name", "schedule.lr"),
    ),
    "sweep-trials-1e400": SweepCase("axes:\n  schedule.lr: [0.1]\ntrials: 1e400\n", "3"),
    "sweep-base-fifo": SweepCase("axes:\n  schedule.lr: [0.1]\n", "5", base_fifo=True),
    "sweep-invalid-utf8": SweepCase("axes:\n  schedule.lr: [0.1]\n# \udcff\n", "held"),
}


def sweep_file(folder: Path, key: str, tiny: Path) -> Path:
    """The sweep file of case `key` in `folder` (with a FIFO for a base where the case asks)."""
    case = SWEEP_CASES[key]
    base = tiny
    if case.base_fifo:
        base = folder / "base.yaml"
        os.mkfifo(base)
    name = YAML_ESCAPES if key == "sweep-name-OSC" else "hostile"
    text = SWEEP_HEAD.format(name=name, base=base) + case.body
    path = folder / "sweep.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path
