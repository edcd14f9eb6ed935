"""Every sentence a finding says: one function per kind, its numbers and names as arguments.

Only this module holds the findings' words, each template whole inside `_()` so the message
catalog (`hw3tui.results.i18n`, `--lang`) translates the sentence, never a piece of one; the
callers pass values, and the values are filled in after translation, so numbers and names are
the same in every language. Numbers are formatted here: metrics with 4 decimals, schedule
values with `:g`, differences signed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hw3tui.results.i18n import N_, _, ngettext


def _v(value: float) -> str:
    return f"{value:.4f}"


def _d(value: float) -> str:
    return f"{value:+.4f}"


def _epochs_word(count: int) -> str:
    return ngettext("{count} epoch", "{count} epochs", count).format(count=count)


VERDICT_WORDS = (N_("best"), N_("better"), N_("worse"), N_("within noise"), N_("one seed"))
"""The words of `hw3tui.results.verdicts` (a sweep's tables hold them in English)."""


def verdict(word: str) -> str:
    """A verdict word in the language in force; a word that is none of them (a table edited
    by hand) as it is."""
    return _(word) if word in VERDICT_WORDS else word


_PAIRED = re.compile(r"paired t, n=(\d+)")
_WELCH = re.compile(r"Welch t, n=(\d+) and (\d+)")


def method(text: str) -> str:
    """How a verdict's interval was made (`paired t, n=3`, `Welch t, n=3 and 4`, `one seed`),
    in the language in force."""
    if found := _PAIRED.fullmatch(text):
        return _("paired t, n={n}").format(n=found[1])
    if found := _WELCH.fullmatch(text):
        return _("Welch t, n={a} and {b}").format(a=found[1], b=found[2])
    return verdict(text)


def kept(best: float, epoch: int, planned: int, last: float, last_epoch: int, gain: float) -> str:
    return _(
        "The best val acc, {best}, came at epoch {epoch} (counting from 0) of {planned} "
        "planned; the last epoch, {last_epoch}, reached {last}: keeping the best epoch "
        "instead of the last gained {gain}."
    ).format(
        best=_v(best),
        epoch=epoch,
        planned=planned,
        last_epoch=last_epoch,
        last=_v(last),
        gain=_d(gain),
    )


def kept_last(best: float, epoch: int, planned: int) -> str:
    return _(
        "The best val acc, {best}, came at the last epoch, {epoch} (counting from 0) of "
        "{planned} planned: keeping the best epoch gained nothing over the last."
    ).format(best=_v(best), epoch=epoch, planned=planned)


def ema_trails(epoch: int, averaged: float, raw: float, behind: float) -> str:
    return _(
        "The weight average (ema) is what val acc and best/ hold: at the kept epoch, {epoch}, it "
        "reached {averaged} and the raw weights {raw}, {behind} behind them (an average over "
        "more steps than the run trains lags its weights: a smaller ema.decay follows them closer)."
    ).format(epoch=epoch, averaged=_v(averaged), raw=_v(raw), behind=_v(behind))


def ema_helps(epoch: int, averaged: float, raw: float, ahead: float) -> str:
    return _(
        "The weight average (ema) is what val acc and best/ hold: at the kept epoch, {epoch}, it "
        "reached {averaged} and the raw weights {raw}; the average is {ahead} ahead of them."
    ).format(epoch=epoch, averaged=_v(averaged), raw=_v(raw), ahead=_d(ahead))


def kept_over_seeds(seeds: int, gain_mean: float, gain_std: float) -> str:
    return _(
        "Over {seeds} seeds of this configuration, keeping the best epoch instead of the last "
        "gained {mean} ± {std} val acc."
    ).format(seeds=seeds, mean=_d(gain_mean), std=_v(gain_std))


def overfitting_loss(
    start: int,
    best: int,
    end: int,
    val_before: float,
    val_after: float,
    train_before: float,
    train_after: float,
) -> str:
    return _(
        "Overfitting from epoch {start}: the model kept fitting the training images (train loss "
        "{train_before} at epoch {best} → {train_after} at epoch {end}) while val loss "
        "stayed above its lowest ({val_before} at epoch {best} → {val_after} at epoch "
        "{end})."
    ).format(
        start=start,
        best=best,
        end=end,
        train_before=_v(train_before),
        train_after=_v(train_after),
        val_before=_v(val_before),
        val_after=_v(val_after),
    )


def overfitting_gap(
    start: int,
    end: int,
    threshold: float,
    patience: int,
    before_epoch: int,
    gap_before: float,
    gap_after: float,
    train_acc: float,
    val_acc: float,
) -> str:
    return _(
        "Overfitting from epoch {start}: train acc stayed ahead of val acc by more than "
        "{threshold} for {patience} epochs or more, up to epoch {end}; the gap went from "
        "{gap_before} at epoch {before_epoch} to {gap_after} at epoch {end} (train acc "
        "{train_acc}, val acc {val_acc})."
    ).format(
        start=start,
        end=end,
        threshold=f"{threshold:g}",
        patience=patience,
        before_epoch=before_epoch,
        gap_before=_v(gap_before),
        gap_after=_v(gap_after),
        train_acc=_v(train_acc),
        val_acc=_v(val_acc),
    )


def no_overfitting(epochs: int, lowest: float, lowest_epoch: int, patience: int) -> str:
    return _(
        "No overfitting in {epochs}: val loss never stayed above its lowest for "
        "{patience} epochs while train loss fell, nor train acc above val acc by the threshold "
        "(lowest val loss {lowest} at epoch {lowest_epoch})."
    ).format(
        epochs=_epochs_word(epochs), patience=patience, lowest=_v(lowest), lowest_epoch=lowest_epoch
    )


def too_few_epochs(epochs: int, needed: int) -> str:
    return _(
        "Too few epochs to tell overfitting: {epochs} finished, the rule needs {needed}."
    ).format(epochs=_epochs_word(epochs), needed=needed)


SCHEDULE_NAMES = {
    "lr": N_("lr"),
    "batch_size": N_("batch size"),
    "weight_decay": N_("weight decay"),
}


def _schedule(name: str) -> str:
    return _(SCHEDULE_NAMES[name]) if name in SCHEDULE_NAMES else name


def schedule_change(
    name: str, epoch: int, before: float, after: float, acc_before: float, acc_after: float
) -> str:
    return _(
        "{name} changed from {before} to {after} at epoch {epoch}: "
        "mean val acc {acc_before} in the epochs before, {acc_after} from it on "
        "(a before/after of this run, not a measured effect)."
    ).format(
        name=_schedule(name),
        before=f"{before:g}",
        after=f"{after:g}",
        epoch=epoch,
        acc_before=_v(acc_before),
        acc_after=_v(acc_after),
    )


def schedule_change_unseen(name: str, epoch: int, before: float, after: float) -> str:
    return _(
        "{name} changed from {before} to {after} at epoch {epoch} "
        "(no val acc on both sides of the change)."
    ).format(name=_schedule(name), before=f"{before:g}", after=f"{after:g}", epoch=epoch)


def schedule_ramp(
    name: str,
    first: int,
    last: int,
    start: float,
    end: float,
    changes: int,
    acc_start: float,
    acc_end: float,
) -> str:
    return _(
        "{name} moved from {start} at epoch {first} to {end} at "
        "epoch {last} in {changes} steps; val acc went from {acc_start} to {acc_end} "
        "over those epochs (a before/after of this run, not a measured effect)."
    ).format(
        name=_schedule(name),
        start=f"{start:g}",
        first=first,
        end=f"{end:g}",
        last=last,
        changes=changes,
        acc_start=_v(acc_start),
        acc_end=_v(acc_end),
    )


def schedule_ablated(name: str, word: str, delta: float) -> str:
    return _(
        "The ablation of {name} (held constant) says: {verdict}, {delta} against the full preset."
    ).format(name=_schedule(name), verdict=verdict(word), delta=_d(delta))


def changes_text(changes: Sequence[tuple[str, str, str]]) -> str:
    """`optimizer.name adamw → sgd, schedule.lr 0.001 → 0.01` (preset fields and values: the
    same in every language)."""
    return ", ".join(f"{name} {before} → {after}" for name, before, after in changes)


def configuration(
    changes: str,
    metric: str,
    mean: float,
    seeds: int,
    reference_mean: float,
    reference_seeds: int,
    delta: float,
    word: str,
    method_text: str,
) -> str:
    return _(
        "{changes}: mean best {metric} {mean} over {seeds} seed(s) against "
        "{reference_mean} over {reference_seeds}, a difference of {delta}: "
        "{verdict} ({method})."
    ).format(
        changes=changes,
        metric=metric,
        mean=_v(mean),
        seeds=seeds,
        reference_mean=_v(reference_mean),
        reference_seeds=reference_seeds,
        delta=_d(delta),
        verdict=verdict(word),
        method=method(method_text),
    )


def configuration_interval(
    changes: str,
    metric: str,
    mean: float,
    seeds: int,
    reference_mean: float,
    reference_seeds: int,
    delta: float,
    low: float,
    high: float,
    word: str,
    method_text: str,
) -> str:
    return _(
        "{changes}: mean best {metric} {mean} over {seeds} seeds against "
        "{reference_mean} over {reference_seeds}, a difference of {delta} "
        "(95 % interval {low} to {high}): {verdict} ({method})."
    ).format(
        changes=changes,
        metric=metric,
        mean=_v(mean),
        seeds=seeds,
        reference_mean=_v(reference_mean),
        reference_seeds=reference_seeds,
        delta=_d(delta),
        low=_d(low),
        high=_d(high),
        verdict=verdict(word),
        method=method(method_text),
    )


def sweep_configuration(
    config: str, params: str, mean: float, seeds: int, delta: float, word: str
) -> str:
    return _(
        "Configuration {config} ({params}): mean {mean} over {seeds} seed(s), "
        "{delta} against the best configuration: {verdict}."
    ).format(
        config=config,
        params=params,
        mean=_v(mean),
        seeds=seeds,
        delta=_d(delta),
        verdict=verdict(word),
    )


def sweep_configuration_interval(
    config: str,
    params: str,
    mean: float,
    seeds: int,
    delta: float,
    low: float,
    high: float,
    word: str,
) -> str:
    return _(
        "Configuration {config} ({params}): mean {mean} over {seeds} seeds, {delta} "
        "against the best configuration (95 % interval {low} to {high}): {verdict}."
    ).format(
        config=config,
        params=params,
        mean=_v(mean),
        seeds=seeds,
        delta=_d(delta),
        low=_d(low),
        high=_d(high),
        verdict=verdict(word),
    )


def sweep_best(config: str, params: str, mean: float, seeds: int) -> str:
    return _(
        "The best configuration is {config} ({params}): mean {mean} over {seeds} seed(s)."
    ).format(config=config, params=params, mean=_v(mean), seeds=seeds)


def per_class(
    weakest: str,
    weakest_acc: float,
    weakest_correct: int,
    weakest_images: int,
    strongest: str,
    strongest_acc: float,
    strongest_correct: int,
    strongest_images: int,
) -> str:
    return _(
        "At the best checkpoint, the weakest class is {weakest} ({weakest_correct} of "
        "{weakest_images} val images right, {weakest_acc}) and the strongest {strongest} "
        "({strongest_correct} of {strongest_images}, {strongest_acc})."
    ).format(
        weakest=weakest,
        weakest_correct=weakest_correct,
        weakest_images=weakest_images,
        weakest_acc=_v(weakest_acc),
        strongest=strongest,
        strongest_correct=strongest_correct,
        strongest_images=strongest_images,
        strongest_acc=_v(strongest_acc),
    )


def confused_pair(true: str, predicted: str, count: int, images: int) -> str:
    return _(
        "The most frequent mistake: {count} of {images} val images of {true} were predicted "
        "as {predicted}."
    ).format(count=count, images=images, true=true, predicted=predicted)


def no_mistakes(images: int) -> str:
    return _(
        "At the best checkpoint, all {images} val images are right: no class is confused."
    ).format(images=images)


def ablation_reference(mean: float, seeds: int) -> str:
    return _("The full preset as is: mean {mean} over {seeds} seed(s).").format(
        mean=_v(mean), seeds=seeds
    )


def ablation_row(
    choice: str, variant: str, mean: float, seeds: int, delta: float, word: str
) -> str:
    return _(
        "{choice}, {variant}: mean {mean} over {seeds} seed(s), {delta} against the "
        "full preset: {verdict}."
    ).format(
        choice=choice,
        variant=variant,
        mean=_v(mean),
        seeds=seeds,
        delta=_d(delta),
        verdict=verdict(word),
    )


def ablation_row_interval(
    choice: str,
    variant: str,
    mean: float,
    seeds: int,
    delta: float,
    low: float,
    high: float,
    word: str,
) -> str:
    return _(
        "{choice}, {variant}: mean {mean} over {seeds} seeds, {delta} against the full "
        "preset (95 % interval {low} to {high}): {verdict}."
    ).format(
        choice=choice,
        variant=variant,
        mean=_v(mean),
        seeds=seeds,
        delta=_d(delta),
        low=_d(low),
        high=_d(high),
        verdict=verdict(word),
    )
