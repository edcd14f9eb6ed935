"""Reading a sweep file, and checking every trial it can make before any starts; writing one.

The sweep file goes through the presets' own YAML reader and error rendering (`hw3tui.preset`),
so its problems read like a preset's: `sweep.yaml:7:19: axes.schedule.lr: ...`. Then each `set`
entry and each axis value is applied to the base preset exactly as `hw3tui run --set` would, and
a value that makes the preset invalid is reported at its own place in the sweep file, naming the
axis. Nothing here imports Optuna.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hw3tui.preset import Preset, PresetError, Problem, builtin_presets, validate_text
from hw3tui.preset.explain import explain, locate
from hw3tui.preset.io import LoadedPreset, field_path, load_preset, parse_override, resolve
from hw3tui.preset.shorten import EPOCHS
from hw3tui.preset.yamlio import (
    Document,
    dump,
    flow,
    flow_node,
    parse,
    read_file,
    set_in_text,
    to_plain,
)
from hw3tui.sweeps.model import (
    SEED_PATH,
    Axis,
    Choice,
    HalvingPrune,
    IntRange,
    LogUniform,
    MedianPrune,
    Sweep,
    Uniform,
    values_of,
)

SWEEP_KEYS = ("base", "presets", "axes")
"""Top-level keys that make a YAML file a sweep file rather than a preset."""


@dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep, the text it came from, and the presets its trials start from."""

    sweep: Sweep
    text: str
    """The sweep file as it will be frozen: `base`/`presets` absolute, `--set` merged into `set`."""
    source: str
    starts: tuple[str, ...]
    """What each trial's `hw3tui run` is given: an absolute preset path or a built-in name."""
    warnings: tuple[str, ...] = field(default=())
    monitor: str = "val_acc"
    """The base preset's `checkpoint.monitor`: the value trials are ranked and pruned by."""
    seeds: tuple[int, ...] = ()
    """Each start's own `seed` once `set` is applied (as `starts`): seed k of a configuration
    runs with this + k."""

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The `--set` overrides of a trial with these axis values."""
        fixed = [f"{path}={flow_value(value)}" for path, value in self.sweep.set.items()]
        return fixed + [f"{path}={flow_value(value)}" for path, value in params.items()]

    def seed_of(self, start: str, params: Mapping[str, Any], k: int = 0) -> int | None:
        """The `seed` that seed k of the configuration (`start`, `params`) runs with: an axis's
        value (only with repeat 1), else the start's own seed + k; None if unknown."""
        for path, value in params.items():
            if field_path(path) == SEED_PATH:  # a grid's value comes back as its YAML text
                text = str(value)
                return int(text) if text.isdigit() else None
        if start not in self.starts or len(self.seeds) != len(self.starts):
            return None
        return self.seeds[self.starts.index(start)] + k

    def run_overrides(self, start: str, params: Mapping[str, Any], k: int = 0) -> list[str]:
        """The `--set` overrides of seed k of a configuration: its axis values, and with
        `repeat` above 1 its `seed` (the start's seed + k)."""
        out = self.overrides(params)
        seed = self.seed_of(start, params, k)
        if self.sweep.repeat > 1 and seed is not None:
            out.append(f"seed={seed}")
        return out


def flow_value(value: Any) -> str:
    """`flow(value)`, remembered for scalars: a grid writes the same values on thousands of trial
    lines, and each YAML dump costs a fraction of a millisecond."""
    if type(value) is int:
        return str(value)  # what the YAML writer gives for a plain int, without it
    if isinstance(value, str | float | bool) or value is None:
        return _flow_scalar(type(value).__name__, value)
    return flow(value)


@functools.lru_cache(maxsize=1 << 16)
def _flow_scalar(kind: str, value: Any) -> str:
    return flow(value)  # `kind` keeps 1, 1.0 and True apart (they hash alike)


def is_sweep_file(path: Path) -> bool:
    """Whether a YAML file is a sweep file (else it is taken as a preset, e.g. in a queue)."""
    try:
        document = _document(read_file(path, str(path)), str(path))
    except (OSError, PresetError):
        return False
    return isinstance(document, Mapping) and any(key in document for key in SWEEP_KEYS)


def load_sweep(path: Path, overrides: Sequence[str] = ()) -> LoadedSweep:
    """Read and check a sweep file; `PresetError` lists every problem, located."""
    source = str(path)
    return check_sweep_text(read_file(path, source), source, path.parent, overrides)


def queue_sweep(presets: Sequence[str], overrides: Sequence[str] = ()) -> LoadedSweep:
    """A queue: these presets one after another, as a sweep (relative to the working directory)."""
    text = dump_sweep({"name": "queue", "presets": [str(p) for p in presets]})
    return check_sweep_text(text, "queue", Path.cwd(), overrides)


def preset_sweep(
    preset: str,
    *,
    kind: str,
    overrides: Sequence[str] = (),
    **keys: Any,
) -> LoadedSweep:
    """A sweep of one preset with no axes, named `<preset's name>-<kind>` (`hw3tui repeat`:
    kind `repeat`, keys `repeat=N`); `keys` are more sweep file keys. The preset's own problems
    and the overrides' are reported like any sweep file's (`PresetError`)."""
    name = load_preset(preset, overrides).preset.name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[: 63 - len(kind)] or "preset"
    text = dump_sweep({"name": f"{safe}-{kind}", "base": preset, **keys})
    return check_sweep_text(text, kind, Path.cwd(), overrides)


def dump_sweep(sweep: Mapping[str, Any], *, comment: str = "") -> str:
    """A sweep file's YAML: `sweep`'s keys in order, `set` and `axes` one dotted path a line,
    every value on one line in flow style (`[sgd, adam]`), quoted wherever YAML needs it, so
    `load_sweep` reads back exactly these values. The one writer of the format (the TUI's sweep
    dialog, queues); `comment` goes on the first line. The values are not checked here: the
    reader does that, locating each problem in this text."""
    document = CommentedMap()
    for key, value in sweep.items():
        if key in ("set", "axes") and isinstance(value, Mapping):
            document[key] = CommentedMap((str(p), flow_node(v)) for p, v in value.items())
        elif key == "variants" and isinstance(value, list):
            document[key] = CommentedSeq(flow_node(v) for v in value)  # one variant a line
        else:
            document[key] = flow_node(value)
    if comment:
        document.yaml_set_start_comment(comment)
    return dump(Document(data=document))


def check_sweep_text(
    text: str, source: str, folder: Path, overrides: Sequence[str] = ()
) -> LoadedSweep:
    """Validate sweep text whose relative preset paths resolve against `folder`."""
    document = _document(text, source)
    if not isinstance(document, Mapping):
        raise PresetError.single(
            source, "a sweep file is a mapping (name, base, set, axes, ...)", line=1, column=1
        )
    plain = to_plain(document)
    try:
        sweep = Sweep.model_validate(plain)
    except ValidationError as exc:
        found = explain(exc, document, source, root=Sweep)
        found += _still_checkable(plain, document, source, folder)
        order = sorted(dict.fromkeys(found), key=lambda p: (p.source != source, p.line or 0))
        raise PresetError(order) from None
    starts = tuple(_start(name, folder, document, source) for name in sweep.sources)
    fixed = dict(sweep.set)
    for override in overrides:  # `hw3tui sweep --set`: frozen into the file's `set`
        path, value = parse_override(override)
        if sweep.repeat > 1 and path == SEED_PATH:
            message = f"`repeat: {sweep.repeat}` runs seeds seed..seed+{sweep.repeat - 1} itself"
            raise PresetError.single(f"--set {override}", message)
        # replacing the file's own entry for that field, however it is spelt there
        dotted = next((k for k in fixed if field_path(k) == path), ".".join(map(str, path)))
        text = set_in_text(text, ("set", dotted), value, source)
        fixed[dotted] = value
    key = "base" if sweep.base is not None else "presets"
    start: str | list[str] = starts[0] if key == "base" else list(starts)
    text = set_in_text(text, (key,), start, source)
    edits: dict[str, Any] = {"set": fixed, key: start}
    if sweep.runs is not None and not Path(sweep.runs).is_absolute():
        # absolute as written (no symlinks resolved): a shared mount has the same path on
        # every machine, its target need not
        edits["runs"] = os.path.normpath((folder / sweep.runs).absolute())
        text = set_in_text(text, ("runs",), edits["runs"], source)
    # the model of the text just written, without parsing it again (a big grid's file takes
    # a YAML parser long): the same edits made on the plain data
    frozen = Sweep.model_validate({**plain, **edits})
    loaded = LoadedSweep(frozen, text, source, starts)
    return _checked(loaded, document)


@functools.lru_cache(maxsize=2)
def _document(text: str, source: str) -> Any:
    """The parsed sweep file, read only here (`is_sweep_file` then `load_sweep` parse it once)."""
    return parse(text, source).data


def _start(name: str, folder: Path, document: Any, source: str) -> str:
    """An absolute preset path (relative to the sweep file), or a built-in preset's name."""
    candidate = Path(name) if Path(name).is_absolute() else folder / name
    if candidate.is_file():
        return str(candidate.resolve())
    if name in builtin_presets():
        return name
    where = ("base",) if document.get("base") == name else ("presets",)
    line, column = locate(document, where)
    known = ", ".join(sorted(builtin_presets()))
    raise PresetError(
        [
            Problem(
                source,
                f"no preset file {candidate} (built-in presets: {known})",
                where[0],
                line,
                column,
            )
        ]
    )


def _still_checkable(
    plain: Mapping[str, Any], document: Any, source: str, folder: Path
) -> list[Problem]:
    """For a sweep file that fails its own checks, the problems of the values that can still be
    tried on the preset: an empty or misspelt axis must not hide a bad value in another."""
    method = plain.get("method", "grid")
    partial: dict[str, Any] = {k: plain[k] for k in ("base", "presets", "set") if k in plain}
    partial["method"] = method if method in ("grid", "random", "tpe") else "random"
    partial["axes"] = {}
    seen: set[tuple[str | int, ...]] = set()
    axes = plain.get("axes")
    for path, axis in axes.items() if isinstance(axes, Mapping) else ():
        ranged = values_of(axis) is None and not isinstance(axis, list)
        usable = _valid_axis(axis) and not (ranged and partial["method"] == "grid")
        if usable and isinstance(path, str) and field_path(path) not in seen:
            seen.add(field_path(path))
            partial["axes"][path] = axis
    try:
        sweep = Sweep.model_validate(partial)  # e.g. over the grid cap: nothing more to say
        starts = tuple(_start(name, folder, document, source) for name in sweep.sources)
    except ValidationError:
        return []
    except PresetError as exc:
        return list(exc.problems)
    return _tried(LoadedSweep(sweep, "", source, starts), document).problems


_AXIS: TypeAdapter[Any] = TypeAdapter(Axis)


def _valid_axis(axis: Any) -> bool:
    try:
        _AXIS.validate_python(axis)
    except ValidationError:
        return False
    return True


@dataclass
class _Tried:
    """What applying every set entry and axis value to the presets found."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    monitors: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    """Each start's own seed (set applied), in order."""
    epochs: list[int] = field(default_factory=list)
    """schedule.epochs of every preset a trial may run (for the pruning check)."""


def _checked(loaded: LoadedSweep, document: Any) -> LoadedSweep:
    """`loaded` once every set entry and axis value is known to give a valid preset."""
    tried = _tried(loaded, document)
    if tried.problems:
        raise PresetError(dict.fromkeys(tried.problems))
    if len(set(tried.monitors)) > 1:
        raise PresetError.single(
            loaded.source, "the presets of a queue must monitor the same checkpoint.monitor"
        )
    moot = _never_pruned(loaded.sweep, document, loaded.source, max(tried.epochs))
    return LoadedSweep(
        loaded.sweep,
        loaded.text,
        loaded.source,
        loaded.starts,
        tuple(dict.fromkeys([*tried.warnings, *moot])),
        tried.monitors[0],
        tuple(tried.seeds),
    )


def _tried(loaded: LoadedSweep, document: Any) -> _Tried:
    """Apply the set entries to each preset, then each axis value on top, as `--set` would."""
    tried = _Tried()
    sweep = loaded.sweep
    fixed = loaded.overrides({})
    for start in loaded.starts:
        text = read_file(resolve(start), start)
        name = start if start in builtin_presets() else str(Path(start).name)
        try:
            base = validate_text(text, name, fixed)
        except PresetError as exc:
            tried.problems += [_moved(p, document, loaded.source, fixed) for p in exc.problems]
            continue
        tried.warnings += base.warnings
        tried.monitors.append(base.preset.checkpoint.monitor)
        tried.seeds.append(base.preset.seed)
        tried.epochs.append(base.preset.schedule.epochs)
        quick = _QuickCheck(base, fixed)
        for axis, value, where in _axis_values(sweep):
            preset = quick.valid(axis, value)
            if preset is not None:
                tried.epochs.append(preset.schedule.epochs)
                continue
            try:  # the located check: its message, its warnings
                checked = validate_text(text, name, [*fixed, f"{axis}={flow_value(value)}"])
            except PresetError as exc:
                tried.problems += [
                    _at_axis(p, document, loaded.source, fixed, (axis, value, where))
                    for p in exc.problems
                ]
                continue
            tried.warnings += checked.warnings
            tried.epochs.append(checked.preset.schedule.epochs)
        for i, variant in enumerate(sweep.variants):
            sets = [f"{path}={flow_value(value)}" for path, value in variant.set.items()]
            try:
                checked = validate_text(text, name, [*fixed, *sets])
            except PresetError as exc:
                line, column = locate(document, ("variants", i))
                tried.problems += [
                    Problem(
                        loaded.source,
                        f"variant {variant.name!r} is refused: {p.field}: {p.message}"
                        if p.field
                        else f"variant {variant.name!r} is refused: {p.message}",
                        f"variants.{i}",
                        line,
                        column,
                    )
                    for p in exc.problems
                ]
                continue
            tried.epochs.append(checked.preset.schedule.epochs)
    return tried


class _QuickCheck:
    """Whether one axis value keeps a preset valid, decided on plain data: pydantic alone takes a
    few hundredths of a millisecond where the located check (a YAML round trip of the preset)
    takes tens, which made a 4,000-value axis a minute's wait. A value that fails here, or one
    the located check would rewrite (a shortened run's schedule), goes the located way."""

    def __init__(self, base: LoadedPreset, fixed: Sequence[str]) -> None:
        self.plain = to_plain(parse(base.text, base.source).data)
        # with schedule.epochs overridden, the located check cuts schedule entries past the end
        self.cut = any(field_path(o.partition("=")[0]) == EPOCHS for o in fixed)

    def valid(self, axis: str, value: Any) -> Preset | None:
        """The preset with `axis` set to `value` if valid (None: ask the located check)."""
        path = field_path(axis)
        # what a cut may shorten: a per-epoch mapping or list, or one entry of one
        per_epoch = isinstance(value, dict | list) or len(path) > 2
        if path == EPOCHS or (self.cut and path[0] == "schedule" and per_epoch):
            return None
        trial = _with(self.plain, path, value)
        if trial is None:
            return None
        try:
            return Preset.model_validate(trial)
        except ValidationError:
            return None


def _with(plain: Any, path: tuple[str | int, ...], value: Any) -> dict[str, Any] | None:
    """A copy of `plain` with `value` at `path` (mappings on the way copied, the rest shared);
    None where the path crosses something other than a mapping."""
    if not isinstance(plain, dict):
        return None
    out = dict(plain)
    node = out
    for part in path[:-1]:
        child = node.get(part, {})
        if not isinstance(child, dict):
            return None
        node[part] = dict(child)
        node = node[part]
    node[path[-1]] = value
    return out


def _never_pruned(sweep: Sweep, document: Any, source: str, longest: int) -> list[str]:
    """A warning when pruning waits as long as the longest trial trains, so never happens.

    A warning, not an error, like a schedule entry a shortened run never reaches: the file is
    valid, and a quick try of a long sweep (`--set schedule.epochs=1`) should not need its
    pruning edited out. Optuna may stop a trial at a reported epoch (numbered from 0) from
    `after_epochs` / `min_epochs` on."""
    prune = sweep.prune
    if isinstance(prune, MedianPrune):
        key, wait, what = ("median", "after_epochs"), prune.median.after_epochs, "pruning"
    elif isinstance(prune, HalvingPrune):
        key, wait, what = ("halving", "min_epochs"), prune.halving.min_epochs, "the first cut"
    else:
        return []
    if wait < longest:
        return []
    line, column = locate(document, ("prune", *key))
    message = f"{wait} epochs before {what}, but schedule.epochs is {longest}: "
    message += "no trial is ever pruned"
    return [str(Problem(source, message, "prune." + ".".join(key), line, column))]


def _axis_values(sweep: Sweep) -> Iterator[tuple[str, Any, tuple[str | int, ...]]]:
    """Each value to check per axis, and where it is written: every listed value, or a range's
    two ends."""
    for axis_path, axis in sweep.axes.items():
        listed = values_of(axis)
        if listed is not None:
            at: tuple[str | int, ...] = ("axes", axis_path)
            if isinstance(axis, Choice):
                at = (*at, "choice")
            for i, value in enumerate(listed):
                yield axis_path, value, (*at, i)
            continue
        if isinstance(axis, Uniform | LogUniform):
            low, high = axis.uniform if isinstance(axis, Uniform) else axis.loguniform
            form = "uniform" if isinstance(axis, Uniform) else "loguniform"
        else:
            assert isinstance(axis, IntRange)
            (low, high), form = axis.int_, "int"
        for i, value in enumerate((low, high)):
            yield axis_path, value, ("axes", axis_path, form, i)


def _moved(problem: Problem, document: Any, source: str, fixed: Sequence[str]) -> Problem:
    """A problem found by applying a `set` entry, pointed at the sweep file's line that wrote it."""
    if not problem.source.startswith("--set "):
        return problem  # a problem of the base preset itself, located in that file
    override = problem.source[len("--set ") :]
    dotted = override.partition("=")[0]
    named = problem.field and problem.field != dotted
    detail = f"{problem.field}: {problem.message}" if named else problem.message
    if override in fixed:
        line, column = locate(document, ("set", dotted))
        if line is None:
            return Problem(f"--set {override}", detail)  # from the command line
        return Problem(source, detail, f"set.{dotted}", line, column)
    return problem


def _at_axis(
    problem: Problem,
    document: Any,
    source: str,
    fixed: Sequence[str],
    axis: tuple[str, Any, tuple[str | int, ...]],
) -> Problem:
    """A problem that one axis value causes, at that value's place in the sweep file and naming
    its axis; where the problem shows elsewhere (a field of the base preset, a `set` entry),
    that place too: `s.yaml:3:25: axes.optimizer.name: value adamw is refused: sgd.yaml:13:3:
    optimizer.momentum: momentum applies to sgd; adamw uses `betas``."""
    path, value, where = axis
    line, column = locate(document, where)
    if problem.source == f"--set {path}={flow_value(value)}":
        named = problem.field and problem.field != path
        detail = f"{problem.field}: {problem.message}" if named else problem.message
    else:  # the base preset was valid without this value: it is still this value's doing
        detail = str(_moved(problem, document, source, fixed))
    return Problem(
        source, f"value {flow_value(value)} is refused: {detail}", f"axes.{path}", line, column
    )
