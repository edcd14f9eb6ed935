"""The preset editor: open, inline errors with `hw3tui validate`'s messages, comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import COMMENTED
from textual.widgets import ContentSwitcher, Input, OptionList, Select, Static, TextArea
from tui_pilot import run, text_of, wait_for

from hw3tui.cli import cli
from hw3tui.preset import builtin_presets
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.choice import ChoiceScreen
from hw3tui.tui.screens.editor import EditorScreen
from hw3tui.tui.screens.home import HomeScreen
from hw3tui.tui.screens.path_prompt import PathPrompt
from hw3tui.tui.widgets.field_help import FieldHelp
from hw3tui.tui.widgets.preset_field import PresetField
from hw3tui.tui.widgets.presets_table import PresetsTable
from hw3tui.tui.widgets.problem_list import ProblemList
from hw3tui.tui.widgets.schedule_editor import ScheduleEditor

SIZE = (100, 34)


def app_for(presets_dir: Path, runs_dir: Path) -> Hw3tuiApp:
    return Hw3tuiApp(presets_dir=Path("presets"), runs_dir=Path("runs"))


async def open_tiny(pilot, app: Hw3tuiApp) -> EditorScreen:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: app.screen.query_one(PresetsTable).row_count >= 2)
    table = app.screen.query_one(PresetsTable)
    while table.highlighted is None or table.highlighted.name != "tiny":
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen), what="the editor")
    return app.screen  # type: ignore[return-value]


async def show_section(pilot, editor: EditorScreen, title: str) -> None:  # type: ignore[no-untyped-def]
    sections = editor.query_one("#sections", OptionList)
    sections.focus()
    while str(sections.get_option_at_index(sections.highlighted or 0).prompt) != title:
        await pilot.press("down")
    await pilot.pause()


async def retype(pilot, field: Input, text: str) -> None:  # type: ignore[no-untyped-def]
    field.focus()
    await pilot.press("end", *["backspace"] * len(field.value), *text)
    await pilot.pause()


def validate_lines(path: str) -> list[str]:
    result = CliRunner().invoke(cli, ["validate", path])
    return result.output.splitlines()


def test_open_a_preset_shows_its_values(presets_dir: Path, runs_dir: Path) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            editor = await open_tiny(pilot, app)
            assert editor.query_one("#field-name Input", Input).value == "tiny"
            await pilot.press("tab", "tab")  # sections → name → seed
            help_text = text_of(editor.query_one(FieldHelp))
            assert help_text.startswith("seed: Seed for data splits, shuffling, augmentation")
            assert help_text.endswith("(default: 0)")
            await pilot.click("#sections", offset=(3, 6))  # the mouse works too (Schedule)
            await pilot.pause()
            assert editor.query_one("#forms", ContentSwitcher).current == "section-schedule"
            assert editor.query_one("#schedule-lr", ScheduleEditor).display
            await show_section(pilot, editor, "Augment")
            flip = editor.query_one("#field-augment-horizontal_flip Input", Input)
            assert flip.value == "0.5"
            await show_section(pilot, editor, "Optimizer")
            assert editor.query_one("#field-optimizer-name Select", Select).value == "adamw"
            assert "✓ valid" in text_of(editor.query_one(ProblemList))

    run(scenario())


def test_invalid_value_shows_validates_message_inline_and_fixing_it_saves_comments(
    presets_dir: Path, runs_dir: Path
) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            editor = await open_tiny(pilot, app)
            await show_section(pilot, editor, "Augment")
            flip = editor.query_one("#field-augment-horizontal_flip Input", Input)
            await retype(pilot, flip, "1.5")

            # what `hw3tui validate` says about the same text, from the same file name
            Path("presets/tiny.yaml").write_text(editor.document.text)
            expected = validate_lines("presets/tiny.yaml")
            Path("presets/tiny.yaml").write_text(COMMENTED)
            field = editor.query_one("#field-augment-horizontal_flip", PresetField)
            inline = text_of(field.query_one(".error", Static))
            assert inline, "no inline error"
            assert any(
                line.endswith(f": augment.horizontal_flip: {inline}") for line in expected
            ), (inline, expected)
            assert field.has_class("-invalid")
            listed = text_of(editor.query_one(ProblemList))
            assert next(line for line in expected if "horizontal_flip" in line) in listed

            await retype(pilot, flip, "0.25")
            assert not field.has_class("-invalid")
            assert "✓ valid" in text_of(editor.query_one(ProblemList))
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not editor.document.dirty, what="the save")

        saved = Path("presets/tiny.yaml").read_text()
        assert saved == COMMENTED.replace("horizontal_flip: 0.5 #", "horizontal_flip: 0.25 #")

    run(scenario())


def test_schedule_editor_changes_the_form_and_plots_each_epoch(
    presets_dir: Path, runs_dir: Path
) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            editor = await open_tiny(pilot, app)
            await show_section(pilot, editor, "Schedule")
            lr = editor.query_one("#schedule-lr", ScheduleEditor)
            form = lr.query_one("#form", Select)
            form.focus()
            form.value = "linear"  # as picking it from the menu does
            await pilot.pause()
            await retype(pilot, lr.query_one("#linear-end", Input), "0.0001")
            assert "  lr: {linear: {start: 0.001, end: 0.0001}}            # small" in (
                editor.document.text
            )
            plotted = lr.query_one("Curves").series  # type: ignore[attr-defined]
            assert list(plotted[0].ys) == pytest.approx([0.001, 0.0001])  # epochs 0 and 1
            assert "✓ valid" in text_of(editor.query_one(ProblemList))

    run(scenario())


def test_unsaved_edits_are_never_lost_silently(presets_dir: Path, runs_dir: Path) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            editor = await open_tiny(pilot, app)
            await retype(pilot, editor.query_one("#field-seed Input", Input), "7")
            assert editor.document.dirty
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("k")  # keep editing
            await wait_for(pilot, lambda: app.screen is editor)
            await pilot.press("ctrl+q")  # quitting asks too
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("k")
            await wait_for(pilot, lambda: app.screen is editor)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("d")  # discard
            await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert Path("presets/tiny.yaml").read_text() == COMMENTED

    run(scenario())


def test_builtin_presets_are_listed_in_a_fresh_folder_and_saved_as_a_copy(runs_dir: Path) -> None:
    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count >= 3)
            assert "quickstart (built-in)" in [str(table.get_row_at(i)[1]) for i in range(3)]
            while table.highlighted is None or table.highlighted.name != "quickstart":
                await pilot.press("down")
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
            editor = app.screen
            assert editor.document.read_only
            await retype(pilot, editor.query_one("#field-seed Input", Input), "3")
            await pilot.press("ctrl+s")  # read-only: asks where to save
            await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
            assert app.screen.query_one(Input).value == "presets/quickstart.yaml"
            await pilot.press("enter")
            await wait_for(pilot, lambda: not editor.document.dirty, what="the save")
        saved = Path("presets/quickstart.yaml").read_text()
        shipped = builtin_presets()["quickstart"].read_text()
        assert saved == shipped.replace("seed: 0", "seed: 3")
        assert "# Quickstart: trains in a couple of minutes" in saved

    run(scenario())


def test_raw_yaml_edits_are_validated_and_the_forms_follow(
    presets_dir: Path, runs_dir: Path
) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            editor = await open_tiny(pilot, app)
            await show_section(pilot, editor, "YAML")
            area = editor.query_one(TextArea)
            assert area.text == COMMENTED
            area.focus()
            await pilot.press("ctrl+end", *"optimiser: {}", "enter")  # a misspelt section
            await wait_for(pilot, lambda: "optimiser" in editor.document.text)
            listed = text_of(editor.query_one(ProblemList))
            assert "optimiser: unknown key 'optimiser'; did you mean 'optimizer'?" in listed
            area.text = area.text.replace("seed: 0", "seed: 11").replace("optimiser: {}\n", "")
            await pilot.pause()
            await show_section(pilot, editor, "General")
            assert editor.query_one("#field-seed Input", Input).value == "11"
            assert "✓ valid" in text_of(editor.query_one(ProblemList))

    run(scenario())


def test_open_a_preset_file_by_path(presets_dir: Path, runs_dir: Path, isolated: Path) -> None:
    elsewhere = isolated / "elsewhere.yaml"
    elsewhere.write_text(COMMENTED.replace("name: tiny ", "name: elsewhere "))

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one(PresetsTable).row_count == 2)
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
            await pilot.press(*"nowhere.yaml", "enter")
            assert "nowhere.yaml: no such file" in text_of(app.screen.query_one("#error"))
            app.screen.query_one(Input).value = "elsewhere.yaml"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
            assert app.screen.document.source == "elsewhere.yaml"  # type: ignore[attr-defined]
            await pilot.press("escape")
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count == 3, what="the opened file listed")

    run(scenario())
