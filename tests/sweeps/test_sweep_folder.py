"""The sweep folder read without Optuna: claims, the leaderboard, the sweep list."""

from __future__ import annotations

from pathlib import Path

from hw3tui.sweeps.folder import Row, SweepDir, list_sweeps, read_leaderboard, write_leaderboard


def test_a_claimed_trial_is_refused_to_others_until_released(tmp_path: Path) -> None:
    folder = SweepDir.create(tmp_path, "s")

    with folder.claim(0) as mine, folder.claim(0) as again:
        assert (mine, again) == (True, False)
    with folder.claim(0) as later:
        assert later  # released with its worker


def test_the_leaderboard_reads_back_what_was_written(tmp_path: Path) -> None:
    folder = SweepDir.create(tmp_path, "s")
    rows = [
        Row(1, "done", 0.75, 3, "runs/trial-001-s1", {"schedule.lr": "0.01"}, seed=8),
        Row(0, "pruned", None, None, "runs/trial-000-s0", {"schedule.lr": "1e-09"}, seed=7),
    ]

    write_leaderboard(folder, rows, ["schedule.lr"])

    lines = folder.leaderboard_file.read_text().splitlines()
    assert lines[:2] == [
        "trial,state,value,epoch,run,config,seed,schedule.lr",
        "1,done,0.75,3,runs/trial-001-s1,1,8,0.01",
    ]
    assert read_leaderboard(folder) == (["schedule.lr"], rows)


def test_a_leaderboard_from_before_repeats_still_reads(tmp_path: Path) -> None:
    folder = SweepDir.create(tmp_path, "s")
    folder.leaderboard_file.write_text(
        "trial,state,value,epoch,run,schedule.lr\n2,done,0.5,1,runs/trial-002,0.01\n"
    )

    axes, (row,) = read_leaderboard(folder)

    assert (axes, row.trial, row.config, row.seed, row.params) == (
        ["schedule.lr"],
        2,
        2,
        None,
        {"schedule.lr": "0.01"},
    )


def test_sweeps_lists_only_sweep_folders(tmp_path: Path) -> None:
    folder = SweepDir.create(tmp_path, "s")
    folder.sweep_file.write_text("name: s\nbase: quickstart\naxes:\n  seed: [1, 2, 3]\n")
    (tmp_path / "not-a-sweep").mkdir()

    (summary,) = list_sweeps(tmp_path)

    assert (summary.name, summary.state, summary.ended, summary.planned) == (
        folder.name,
        "stopped",
        0,
        3,
    )
    assert Path(summary.path) == folder.path


def test_failed_trials_queued_again_count_on_top_of_the_planned_ones(tmp_path: Path) -> None:
    folder = SweepDir.create(tmp_path, "s")
    folder.sweep_file.write_text("name: s\nbase: quickstart\naxes:\n  seed: [1, 2]\n")
    done = Row(0, "done", 0.5, 1, "runs/trial-000", {"seed": "1"})
    failed = Row(1, "failed", None, None, "runs/trial-001", {"seed": "2"})
    retry = Row(2, "waiting", None, None, "runs/trial-002", {"seed": "2"})  # --retry-failed

    write_leaderboard(folder, [done, failed, retry], ["seed"])
    (waiting,) = list_sweeps(tmp_path)
    again = Row(2, "done", 0.6, 1, "runs/trial-002", {"seed": "2"})
    write_leaderboard(folder, [done, failed, again], ["seed"])
    (ended,) = list_sweeps(tmp_path)

    assert (waiting.state, waiting.ended, waiting.planned) == ("stopped", 2, 3)
    assert (ended.state, ended.ended, ended.planned) == ("done", 3, 3)


def test_axis_values_are_written_as_a_preset_spells_them() -> None:
    from hw3tui.preset.io import load_preset
    from hw3tui.sweeps.study import shown

    cells = shown({"data.val_split": None, "runtime.channels_last": False, "schedule.lr": 0.1})

    assert cells == {
        "data.val_split": "null",
        "runtime.channels_last": "false",
        "schedule.lr": "0.1",
    }
    # a row's `name=value`, pasted into --set, means the value the trial trained with
    overrides = [f"{k}={v}" for k, v in cells.items()]
    preset = load_preset("quickstart", overrides).preset
    assert (preset.data.val_split, preset.runtime.channels_last) == (None, False)
