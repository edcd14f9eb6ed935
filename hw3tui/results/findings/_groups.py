"""Findings about several runs or a sweep: keeping the best over seeds, what differs between
configurations and its verdict, an ablation's rows, and one run's classes.

Verdicts are never computed here: runs given together are grouped and judged by
`hw3tui.results.comparison` (the verdict of `hw3tui.results.verdicts`), a sweep's by its
configs.csv and ablation.csv as the sweep wrote them.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hw3tui.preset.yamlio import flow
from hw3tui.results.comparison import Comparison, Configuration, RunSide
from hw3tui.results.eval_report import EvalReport
from hw3tui.results.findings import _sentences as say
from hw3tui.results.findings._model import Finding, Number, difference, mean, ratio, std

CONFIG_NUMBERS = ("n", "mean", "std", "min", "max", "delta", "low", "high")
ABLATION_COLUMNS = ("choice", "variant", "n", "mean", "std", "delta", "low", "high", "verdict")
SCHEDULE_CHOICES = {f"schedule.{n}": n for n in ("lr", "batch_size", "weight_decay")}


def over_seeds(comparison: Comparison, gains: Mapping[str, Number]) -> list[Finding]:
    """What keeping the best epoch gained, as mean ± std, for each configuration of 2+ seeds."""
    found = []
    for config in comparison.configurations:
        names = [comparison.sides[m.index].name for m in config.members if m.counted]
        values = [gains[n] for n in names if n in gains]
        if len(values) < 2:
            continue
        numbers = {"seeds": Number(len(values), derived="count", operands=tuple(values))}
        numbers |= {"gain_mean": mean(values), "gain_std": std(values)}
        sentence = say.kept_over_seeds(
            len(values), numbers["gain_mean"].value, numbers["gain_std"].value
        )
        found.append(
            Finding("Which epoch is kept", "kept over seeds", ", ".join(names), sentence, numbers)
        )
    return found


def configurations(comparison: Comparison) -> list[Finding]:
    """One finding per configuration after the first: what differs, the difference, its verdict."""
    configs = comparison.configurations
    if len(configs) < 2:
        return []
    reference = _values(comparison.sides, configs[0])
    found = []
    for config in configs[1:]:
        judged, values = config.verdict, _values(comparison.sides, config)
        if judged is None or not values or not reference:
            continue
        ours, theirs = mean(values), mean(reference)
        delta = difference(ours, theirs)
        changes = say.changes_text(
            [(c.field, flow(c.before), flow(c.after)) for c in config.changes]
        )
        numbers = {
            "mean": ours,
            "seeds": Number(len(values), derived="count", operands=tuple(values)),
        }
        numbers |= {
            "reference_mean": theirs,
            "reference_seeds": Number(len(reference), derived="count", operands=tuple(reference)),
            "delta": delta,
        }
        common = (
            changes,
            config.monitor,
            ours.value,
            len(values),
            theirs.value,
            len(reference),
            delta.value,
        )
        if judged.low is not None and judged.high is not None:
            both = (*reference, *values)
            numbers["low"] = Number(judged.low, derived="interval low", operands=both)
            numbers["high"] = Number(judged.high, derived="interval high", operands=both)
            sentence = say.configuration_interval(
                *common, judged.low, judged.high, judged.word, judged.method
            )
        else:
            sentence = say.configuration(*common, judged.word, judged.method)
        facts = {
            "changes": [
                {"field": c.field, "reference": c.before, "value": c.after} for c in config.changes
            ],
            "verdict": judged.word,
            "method": judged.method,
        }
        subject = ", ".join(comparison.sides[m.index].name for m in config.members if m.counted)
        found.append(
            Finding(
                "Optimizer and augmentation", "configuration", subject, sentence, numbers, facts
            )
        )
    return found


def _values(sides: Sequence[RunSide], config: Configuration) -> list[Number]:
    return [
        Number(m.value, {"run": sides[m.index].name, "file": "status.json", "field": "best.value"})
        for m in config.members
        if m.counted and m.value is not None
    ]


# ---- a sweep's tables ---------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    """A table's rows as text; none when it is missing or unreadable (a reader never crashes)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return [dict(row) for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _cell(row: Mapping[str, Any], name: str) -> float | None:
    try:
        value = float(row.get(name) or "")
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= 1e100 else None


def sweep_configurations(sweep: Path) -> list[Finding]:
    """One finding per row of the sweep's configs.csv (written with `repeat: N`)."""
    rows = _read_csv(sweep / "configs.csv")
    if not rows:
        return []
    axes = [c for c in rows[0] if c not in ("config", *CONFIG_NUMBERS, "verdict")]
    found = []
    for row in rows:
        config = str(row.get("config") or "")

        def number(field: str, config: str = config, row: Mapping[str, Any] = row) -> Number | None:
            value = _cell(row, field)
            source = {"sweep": sweep.name, "file": "configs.csv", "config": config, "field": field}
            return None if value is None else Number(value, source)

        params = ", ".join(f"{axis}={row.get(axis) or ''}" for axis in axes)
        word = str(row.get("verdict") or "")
        n, average = number("n"), number("mean")
        if n is None or average is None or not word:
            continue
        numbers = {"mean": average, "seeds": n}
        facts = {"config": config, "params": {a: row.get(a) for a in axes}, "verdict": word}
        if word == "best":
            sentence = say.sweep_best(config, params, average.value, int(n.value))
        else:
            delta, low, high = number("delta"), number("low"), number("high")
            if delta is None:
                continue
            numbers["delta"] = delta
            if low is not None and high is not None:
                numbers |= {"low": low, "high": high}
                sentence = say.sweep_configuration_interval(
                    config,
                    params,
                    average.value,
                    int(n.value),
                    delta.value,
                    low.value,
                    high.value,
                    word,
                )
            else:
                sentence = say.sweep_configuration(
                    config, params, average.value, int(n.value), delta.value, word
                )
        found.append(
            Finding(
                "Optimizer and augmentation",
                "sweep configuration",
                sweep.name,
                sentence,
                numbers,
                facts,
            )
        )
    return found


def ablation(sweep: Path) -> list[Finding]:
    """One finding per row of the sweep's ablation.csv, and a schedule's verdict under Schedules."""
    found = []
    for row in _read_csv(sweep / "ablation.csv"):
        choice, variant = str(row.get("choice") or ""), str(row.get("variant") or "")
        word = str(row.get("verdict") or "")

        def number(
            field: str, variant: str = variant, row: Mapping[str, Any] = row
        ) -> Number | None:
            value = _cell(row, field)
            source = {
                "sweep": sweep.name,
                "file": "ablation.csv",
                "variant": variant,
                "field": field,
            }
            return None if value is None else Number(value, source)

        n, average, delta = number("n"), number("mean"), number("delta")
        if n is None or average is None:
            continue
        facts = {"choice": choice, "variant": variant, "verdict": word}
        if delta is None:  # the full preset: the reference
            sentence = say.ablation_reference(average.value, int(n.value))
            numbers = {"mean": average, "seeds": n}
            found.append(
                Finding("Ablation", "ablation reference", sweep.name, sentence, numbers, facts)
            )
            continue
        low, high = number("low"), number("high")
        numbers = {"mean": average, "seeds": n, "delta": delta}
        if low is not None and high is not None:
            numbers |= {"low": low, "high": high}
            sentence = say.ablation_row_interval(
                choice,
                variant,
                average.value,
                int(n.value),
                delta.value,
                low.value,
                high.value,
                word,
            )
        else:
            sentence = say.ablation_row(
                choice, variant, average.value, int(n.value), delta.value, word
            )
        found.append(Finding("Ablation", "ablation", sweep.name, sentence, numbers, facts))
        if choice in SCHEDULE_CHOICES:
            cited = say.schedule_ablated(SCHEDULE_CHOICES[choice], word, delta.value)
            found.append(
                Finding("Schedules", "schedule ablated", sweep.name, cited, {"delta": delta}, facts)
            )
    return found


# ---- per class ----------------------------------------------------------------------------


def per_class(run: str, report: EvalReport) -> list[Finding]:
    """The weakest and strongest class at the best checkpoint, and the most confused pair."""
    where = "best checkpoint on the val set"
    classes = [c for c in report.per_class() if c.images]
    if not classes:
        return []

    def count(name: str, field: str, value: int, **more: str) -> Number:
        return Number(
            value, {"run": run, "evaluation": where, "class": name, "field": field, **more}
        )

    def numbers_of(c: Any, prefix: str) -> dict[str, Number]:
        correct, images = count(c.name, "correct", c.correct), count(c.name, "images", c.images)
        return {
            f"{prefix}_acc": ratio(correct, images),
            f"{prefix}_correct": correct,
            f"{prefix}_images": images,
        }

    weakest = min(classes, key=lambda c: (c.correct / c.images, c.index))
    strongest = max(classes, key=lambda c: (c.correct / c.images, -c.index))
    numbers = numbers_of(weakest, "weakest") | numbers_of(strongest, "strongest")
    sentence = say.per_class(
        weakest.name,
        numbers["weakest_acc"].value,
        weakest.correct,
        weakest.images,
        strongest.name,
        numbers["strongest_acc"].value,
        strongest.correct,
        strongest.images,
    )
    facts = {"weakest": weakest.name, "strongest": strongest.name}
    found = [Finding("Per class", "per class", run, sentence, numbers, facts)]
    pairs = report.most_confused(1)
    if not pairs:
        total = Number(report.images, {"run": run, "evaluation": where, "field": "images"})
        found.append(
            Finding(
                "Per class", "no mistakes", run, say.no_mistakes(report.images), {"images": total}
            )
        )
        return found
    pair = pairs[0]
    true_class = next(c for c in classes if c.name == pair.true)
    numbers = {
        "count": count(pair.true, "confusion", pair.count, predicted=pair.predicted),
        "images": count(pair.true, "images", true_class.images),
    }
    sentence = say.confused_pair(pair.true, pair.predicted, pair.count, true_class.images)
    facts = {"true": pair.true, "predicted": pair.predicted}
    found.append(Finding("Per class", "confused pair", run, sentence, numbers, facts))
    return found
