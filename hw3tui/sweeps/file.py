"""Reading a sweep file, and checking every trial it can make before any starts; writing one.

The sweep file goes through the presets' own YAML reader and error rendering (`hw3tui.preset`),
so its problems read like a preset's: `sweep.yaml:7:19: axes.schedule.lr: ...`. Then each `set`
entry and each axis value is applied to the base preset exactly as `hw3tui run --set` would, and
a value that makes the preset invalid is reported at its own place in the sweep file, naming the
axis. Nothing here imports Optuna.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap

from hw3tui.preset import PresetError, Problem, builtin_presets, validate_text
from hw3tui.preset.explain import explain, locate
from hw3tui.preset.io import parse_override, resolve
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
    Choice,
    IntRange,
    LogUniform,
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

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """The `--set` overrides of a trial with these axis values."""
        fixed = [f"{path}={flow(value)}" for path, value in self.sweep.set.items()]
        return fixed + [f"{path}={flow(value)}" for path, value in params.items()]


def is_sweep_file(path: Path) -> bool:
    """Whether a YAML file is a sweep file (else it is taken as a preset, e.g. in a queue)."""
    try:
        document = parse(read_file(path, str(path)), str(path)).data
    except PresetError:
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
        else:
            document[key] = flow_node(value)
    if comment:
        document.yaml_set_start_comment(comment)
    return dump(Document(data=document))


def check_sweep_text(
    text: str, source: str, folder: Path, overrides: Sequence[str] = ()
) -> LoadedSweep:
    """Validate sweep text whose relative preset paths resolve against `folder`."""
    document = parse(text, source).data
    if not isinstance(document, Mapping):
        raise PresetError.single(
            source, "a sweep file is a mapping (name, base, set, axes, ...)", line=1, column=1
        )
    try:
        sweep = Sweep.model_validate(to_plain(document))
    except ValidationError as exc:
        raise PresetError(explain(exc, document, source, root=Sweep)) from None
    starts = tuple(_start(name, folder, document, source) for name in sweep.sources)
    for override in overrides:  # `hw3tui sweep --set`: frozen into the file's `set`
        dotted, value = parse_override(override)
        text = set_in_text(text, ("set", ".".join(str(p) for p in dotted)), value, source)
    key = "base" if sweep.base is not None else "presets"
    text = set_in_text(text, (key,), starts[0] if key == "base" else list(starts), source)
    frozen = Sweep.model_validate(to_plain(parse(text, source).data))
    loaded = LoadedSweep(frozen, text, source, starts)
    return _checked(loaded, document)


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


def _checked(loaded: LoadedSweep, document: Any) -> LoadedSweep:
    """`loaded` once every set entry and axis value is known to give a valid preset."""
    problems: list[Problem] = []
    warnings: list[str] = []
    monitors: list[str] = []
    sweep = loaded.sweep
    fixed = loaded.overrides({})
    for start in loaded.starts:
        text = resolve(start).read_text(encoding="utf-8")
        name = start if start in builtin_presets() else str(Path(start).name)
        try:
            base = validate_text(text, name, fixed)
        except PresetError as exc:
            problems += [_moved(p, document, loaded.source, fixed, {}) for p in exc.problems]
            continue
        warnings += base.warnings
        monitors.append(base.preset.checkpoint.monitor)
        for axis, value, where in _axis_values(sweep):
            trial = [*fixed, f"{axis}={flow(value)}"]
            try:
                warnings += validate_text(text, name, trial).warnings
            except PresetError as exc:
                located = {trial[-1]: (axis, value, where)}
                problems += [
                    _moved(p, document, loaded.source, fixed, located) for p in exc.problems
                ]
    if problems:
        raise PresetError(dict.fromkeys(problems))
    if len(set(monitors)) > 1:
        raise PresetError.single(
            loaded.source, "the presets of a queue must monitor the same checkpoint.monitor"
        )
    return LoadedSweep(
        sweep,
        loaded.text,
        loaded.source,
        loaded.starts,
        tuple(dict.fromkeys(warnings)),
        monitors[0],
    )


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


def _moved(
    problem: Problem,
    document: Any,
    source: str,
    fixed: Sequence[str],
    axes: Mapping[str, tuple[str, Any, tuple[str | int, ...]]],
) -> Problem:
    """A problem found by applying an override, pointed at the sweep file's line that wrote it."""
    if not problem.source.startswith("--set "):
        return problem  # a problem of the base preset itself, located in that file
    override = problem.source[len("--set ") :]
    dotted = override.partition("=")[0]
    named = problem.field and problem.field != dotted
    detail = f"{problem.field}: {problem.message}" if named else problem.message
    if override in axes:
        axis, value, where = axes[override]
        line, column = locate(document, where)
        return Problem(
            source, f"value {flow(value)} is refused: {detail}", f"axes.{axis}", line, column
        )
    if override in fixed:
        line, column = locate(document, ("set", dotted))
        if line is None:
            return Problem(f"--set {override}", detail)  # from the command line
        return Problem(source, detail, f"set.{dotted}", line, column)
    return problem
