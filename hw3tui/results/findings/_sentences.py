"""Every sentence a finding says: one function per kind, its numbers and names as arguments.

Only this module holds English words, so a message catalog (gettext) can wrap each template
whole; the callers pass values, never pieces of sentences. Numbers are formatted here: metrics
with 4 decimals, schedule values with `:g`, differences signed.
"""

from __future__ import annotations

from collections.abc import Sequence


def _v(value: float) -> str:
    return f"{value:.4f}"


def _d(value: float) -> str:
    return f"{value:+.4f}"


def _epochs_word(count: int) -> str:
    return f"{count} epoch" + ("" if count == 1 else "s")


def kept(best: float, epoch: int, planned: int, last: float, last_epoch: int, gain: float) -> str:
    return (
        f"The best val acc, {_v(best)}, came at epoch {epoch} (counting from 0) of {planned} "
        f"planned; the last epoch, {last_epoch}, reached {_v(last)}: keeping the best epoch "
        f"instead of the last gained {_d(gain)}."
    )


def kept_last(best: float, epoch: int, planned: int) -> str:
    return (
        f"The best val acc, {_v(best)}, came at the last epoch, {epoch} (counting from 0) of "
        f"{planned} planned: keeping the best epoch gained nothing over the last."
    )


def kept_over_seeds(seeds: int, gain_mean: float, gain_std: float) -> str:
    return (
        f"Over {seeds} seeds of this configuration, keeping the best epoch instead of the last "
        f"gained {_d(gain_mean)} ± {_v(gain_std)} val acc."
    )


def overfitting_loss(
    start: int,
    best: int,
    end: int,
    val_before: float,
    val_after: float,
    train_before: float,
    train_after: float,
) -> str:
    return (
        f"Overfitting from epoch {start}: the model kept fitting the training images (train loss "
        f"{_v(train_before)} at epoch {best} → {_v(train_after)} at epoch {end}) while val loss "
        f"stayed above its lowest ({_v(val_before)} at epoch {best} → {_v(val_after)} at epoch "
        f"{end})."
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
    return (
        f"Overfitting from epoch {start}: train acc stayed ahead of val acc by more than "
        f"{threshold:g} for {patience} epochs or more, up to epoch {end}; the gap went from "
        f"{_v(gap_before)} at epoch {before_epoch} to {_v(gap_after)} at epoch {end} (train acc "
        f"{_v(train_acc)}, val acc {_v(val_acc)})."
    )


def no_overfitting(epochs: int, lowest: float, lowest_epoch: int, patience: int) -> str:
    return (
        f"No overfitting in {_epochs_word(epochs)}: val loss never stayed above its lowest for "
        f"{patience} epochs while train loss fell, nor train acc above val acc by the threshold "
        f"(lowest val loss {_v(lowest)} at epoch {lowest_epoch})."
    )


def too_few_epochs(epochs: int, needed: int) -> str:
    return (
        f"Too few epochs to tell overfitting: {_epochs_word(epochs)} finished, the rule needs "
        f"{needed}."
    )


SCHEDULE_NAMES = {"lr": "lr", "batch_size": "batch size", "weight_decay": "weight decay"}


def schedule_change(
    name: str, epoch: int, before: float, after: float, acc_before: float, acc_after: float
) -> str:
    return (
        f"{SCHEDULE_NAMES.get(name, name)} changed from {before:g} to {after:g} at epoch {epoch}: "
        f"mean val acc {_v(acc_before)} in the epochs before, {_v(acc_after)} from it on "
        "(a before/after of this run, not a measured effect)."
    )


def schedule_change_unseen(name: str, epoch: int, before: float, after: float) -> str:
    return (
        f"{SCHEDULE_NAMES.get(name, name)} changed from {before:g} to {after:g} at epoch {epoch} "
        "(no val acc on both sides of the change)."
    )


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
    return (
        f"{SCHEDULE_NAMES.get(name, name)} moved from {start:g} at epoch {first} to {end:g} at "
        f"epoch {last} in {changes} steps; val acc went from {_v(acc_start)} to {_v(acc_end)} "
        "over those epochs (a before/after of this run, not a measured effect)."
    )


def schedule_ablated(name: str, word: str, delta: float) -> str:
    return (
        f"The ablation of {SCHEDULE_NAMES.get(name, name)} (held constant) says: {word}, "
        f"{_d(delta)} against the full preset."
    )


def changes_text(changes: Sequence[tuple[str, str, str]]) -> str:
    """`optimizer.name adamw → sgd, schedule.lr 0.001 → 0.01`."""
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
    method: str,
) -> str:
    return (
        f"{changes}: mean best {metric} {_v(mean)} over {seeds} seed(s) against "
        f"{_v(reference_mean)} over {reference_seeds}, a difference of {_d(delta)}: "
        f"{word} ({method})."
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
    method: str,
) -> str:
    return (
        f"{changes}: mean best {metric} {_v(mean)} over {seeds} seeds against "
        f"{_v(reference_mean)} over {reference_seeds}, a difference of {_d(delta)} "
        f"(95 % interval {_d(low)} to {_d(high)}): {word} ({method})."
    )


def sweep_configuration(
    config: str, params: str, mean: float, seeds: int, delta: float, word: str
) -> str:
    return (
        f"Configuration {config} ({params}): mean {_v(mean)} over {seeds} seed(s), "
        f"{_d(delta)} against the best configuration: {word}."
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
    return (
        f"Configuration {config} ({params}): mean {_v(mean)} over {seeds} seeds, {_d(delta)} "
        f"against the best configuration (95 % interval {_d(low)} to {_d(high)}): {word}."
    )


def sweep_best(config: str, params: str, mean: float, seeds: int) -> str:
    return f"The best configuration is {config} ({params}): mean {_v(mean)} over {seeds} seed(s)."


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
    return (
        f"At the best checkpoint, the weakest class is {weakest} ({weakest_correct} of "
        f"{weakest_images} val images right, {_v(weakest_acc)}) and the strongest {strongest} "
        f"({strongest_correct} of {strongest_images}, {_v(strongest_acc)})."
    )


def confused_pair(true: str, predicted: str, count: int, images: int) -> str:
    return (
        f"The most frequent mistake: {count} of {images} val images of {true} were predicted "
        f"as {predicted}."
    )


def no_mistakes(images: int) -> str:
    return f"At the best checkpoint, all {images} val images are right: no class is confused."


def ablation_reference(mean: float, seeds: int) -> str:
    return f"The full preset as is: mean {_v(mean)} over {seeds} seed(s)."


def ablation_row(
    choice: str, variant: str, mean: float, seeds: int, delta: float, word: str
) -> str:
    return (
        f"{choice}, {variant}: mean {_v(mean)} over {seeds} seed(s), {_d(delta)} against the "
        f"full preset: {word}."
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
    return (
        f"{choice}, {variant}: mean {_v(mean)} over {seeds} seeds, {_d(delta)} against the full "
        f"preset (95 % interval {_d(low)} to {_d(high)}): {word}."
    )
