"""`--lang zh-TW`: the findings and report.md in Traditional Chinese through the gettext catalog,
English unchanged; the shipped .mo is the .po compiled, and every message of the code is in it.

Runs are written by hand (`test_findings.write_run`): no training, no torch.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from test_findings import CLEAN_VAL, FALLING, OVERFIT_VAL, hw3tui, write_run

from hw3tui.results.findings import _sentences as say
from hw3tui.results.i18n import LANGUAGES, LOCALE_DIR, language
from hw3tui.results.report import STATES
from hw3tui.runs.states import RunState

ROOT = Path(__file__).resolve().parents[2]
PO = LOCALE_DIR / "zh_TW" / "LC_MESSAGES" / "hw3tui.po"
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def catalog_tool() -> ModuleType:
    """tools/catalog.py (a dev script, not a package module)."""
    spec = importlib.util.spec_from_file_location("hw3tui_catalog", ROOT / "tools" / "catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ---- what is left in English -------------------------------------------------------------

CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
"""Fenced blocks and code spans: commands and file names, the same in every language."""
LINK = re.compile(r"\]\([^)]*\)")
"""A link's target (a file path)."""
KEYS = re.compile(r"\b[\w.-]*[_.][\w.-]*\b")
"""Metric keys (`val_acc`), preset fields (`optimizer.name`), file names (`curves.png`)."""
WORD = re.compile(r"[A-Za-z]{3,}")


def english_left(text: str, names: set[str]) -> list[str]:
    """ASCII words of 3+ letters that are not a number, a name (`names`: runs, classes, preset
    values, the device), a code span, a link target, a key or a file name."""
    text = LINK.sub("](", CODE.sub(" ", text))
    text = KEYS.sub(" ", text)
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return WORD.findall(text)


def test_the_checker_finds_an_english_sentence_and_passes_names_and_keys() -> None:
    assert english_left("最佳 val_acc 在 `hw3tui note RUN` curves.png", set()) == []
    assert english_left("![x](run-a/curves.png) 執行 alpha", {"alpha"}) == []
    assert english_left("The best val acc came at epoch 3", set()) == [
        "The",
        "best",
        "val",
        "acc",
        "came",
        "epoch",
    ]


# ---- every sentence function -------------------------------------------------------------

NAMES = {"alpha", "beta", "adamw", "sgd", "Welch"}
"""Names given to the sentence functions below (and the statistician's)."""
TEXT_ARGUMENTS = {
    "name": ["lr", "batch_size", "weight_decay"],
    "word": ["best", "better", "worse", "within noise", "one seed"],
    "method_text": ["paired t, n=3", "Welch t, n=3 and 4", "one seed"],
    "changes": [say.changes_text([("optimizer.name", "adamw", "sgd")])],
    "metric": ["val_acc"],
}


def sentence_calls() -> list[tuple[str, Callable[[], str]]]:
    """Each sentence function of `_sentences` with made-up arguments, once per word, method and
    schedule name it can be given."""
    calls = []
    for name, function in inspect.getmembers(say, inspect.isfunction):
        if name.startswith("_") or function.__module__ != say.__name__:
            continue
        if name in ("changes_text", "verdict", "method"):
            continue
        parameters = inspect.signature(function).parameters
        varied = [p for p in parameters if p in ("name", "word", "method_text")] or [None]
        for key in varied:
            for choice in TEXT_ARGUMENTS.get(key or "", [None]):
                arguments: dict[str, object] = {}
                for i, (p, spec) in enumerate(parameters.items()):
                    if p == key:
                        arguments[p] = choice
                    elif p in TEXT_ARGUMENTS:
                        arguments[p] = TEXT_ARGUMENTS[p][0]
                    elif spec.annotation == "str":
                        arguments[p] = "alpha" if i % 2 else "beta"
                    elif spec.annotation == "int":
                        arguments[p] = i + 2
                    else:
                        arguments[p] = 0.125 * (i + 1)
                calls.append((f"{name}({choice})", lambda f=function, a=arguments: f(**a)))
    return calls


NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


# ids are the labels: a lambda's repr holds its address, which differs between pytest-xdist's
# workers (they must collect the same ids)
@pytest.mark.parametrize(
    ("label", "call"), [pytest.param(label, call, id=label) for label, call in sentence_calls()]
)
def test_every_sentence_is_translated_with_its_numbers_and_names(
    label: str, call: Callable[[], str]
) -> None:
    english = call()
    with language("zh-TW"):
        chinese = call()
    assert chinese != english
    assert english_left(chinese, NAMES) == [], chinese
    assert sorted(NUMBER.findall(chinese)) == sorted(NUMBER.findall(english))
    for name in NAMES & set(WORD.findall(english)):
        assert name in chinese


# ---- the commands ------------------------------------------------------------------------


def test_findings_in_zh_tw_leave_no_english_sentence_and_the_same_numbers(
    isolated: Path,
) -> None:
    runs = isolated / "runs"
    write_run(runs / "over", train_loss=FALLING, val_loss=OVERFIT_VAL)
    write_run(runs / "clean", train_loss=FALLING, val_loss=CLEAN_VAL, seed=1)
    write_run(runs / "short", train_loss=FALLING[:3], val_loss=OVERFIT_VAL[:3], seed=2)
    english = hw3tui("findings", "runs/over", "runs/clean", "runs/short", "--no-eval")
    chinese = hw3tui(
        "findings", "runs/over", "runs/clean", "runs/short", "--no-eval", "--lang", "zh-TW"
    )
    assert chinese.exit_code == 0, chinese.output
    assert english_left(chinese.output, {"over", "clean", "short"}) == [], chinese.output
    assert "過擬合" in chinese.output and "學習率" in chinese.output
    assert sorted(NUMBER.findall(chinese.output)) == sorted(NUMBER.findall(english.output))
    assert english.output.splitlines()[0] == "Which epoch is kept"  # English by default


def test_findings_json_keeps_its_keys_and_sections_in_english(isolated: Path) -> None:
    write_run(isolated / "over", train_loss=FALLING, val_loss=OVERFIT_VAL)
    result = hw3tui("findings", "over", "--json", "--no-eval", "--lang", "zh-TW")
    assert result.exit_code == 0, result.output
    (overfitting,) = [
        f for f in json.loads(result.stdout)["findings"] if f["section"] == "Overfitting"
    ]
    assert overfitting["kind"] == "overfitting"
    assert overfitting["sentence"].startswith("自第 5 輪起過擬合：")


def test_a_report_in_zh_tw_has_no_english_sentence_left(isolated: Path) -> None:
    write_run(isolated / "runs" / "over", train_loss=FALLING, val_loss=OVERFIT_VAL)
    result = hw3tui("report", "runs/over", "-o", "rep", "--lang", "zh-TW")
    assert result.exit_code == 0, result.output
    text = (isolated / "rep" / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# 實驗\n")
    for heading in ("## 觀察結果", "### 過擬合", "### 筆記", "### 檢查點", "| 執行 |"):
        assert heading in text
    assert english_left(text, {"over", "cpu"}) == [], text


def test_an_unknown_language_is_one_line_naming_the_available_ones(isolated: Path) -> None:
    write_run(isolated / "over", train_loss=FALLING, val_loss=OVERFIT_VAL)
    for command in (["findings", "over"], ["report", "over", "-o", "rep"]):
        result = hw3tui(*command, "--lang", "fr")
        assert result.exit_code == 2
        assert result.output == "error: --lang fr: no such language (available: en, zh-TW)\n"
    assert not (isolated / "rep").exists()


def test_every_run_state_a_report_may_show_is_in_the_catalog() -> None:
    assert {state.value for state in RunState} <= STATES


# ---- the catalog -------------------------------------------------------------------------


def test_the_shipped_mo_is_the_po_compiled() -> None:
    tool = catalog_tool()
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po"):
        compiled = tool.compile_mo(tool.parse_po(po.read_text(encoding="utf-8")))
        assert po.with_suffix(".mo").read_bytes() == compiled, (
            f"{po.with_suffix('.mo')} is stale: run `python tools/catalog.py`"
        )
    folders = {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/hw3tui.mo")}
    assert folders == {f for f in LANGUAGES.values() if f is not None}


def test_every_message_of_the_code_is_translated_with_the_same_placeholders() -> None:
    tool = catalog_tool()
    used = tool.extract()
    catalog = tool.parse_po(PO.read_text(encoding="utf-8"), keep_empty=True)
    catalog.pop("")  # the header
    missing = [key for key in used if not catalog.get(key, "").replace("\0", "")]
    assert missing == [], "not in the .po (run `python tools/catalog.py --missing`)"
    assert sorted(set(catalog) - set(used)) == [], "in the .po but used nowhere"
    for key, value in catalog.items():
        wanted = {p for part in key.split("\0") for p in PLACEHOLDER.findall(part)}
        for form in value.split("\0"):
            assert set(PLACEHOLDER.findall(form)) == wanted, (key, form)
