"""No pickle anywhere: checkpoints, weights and presets come from other people.

Scans every module of the package (its syntax tree, so comments and docstrings don't count) for
pickle-like imports, `torch.load` without `weights_only=True`, unsafe YAML loaders, `eval`/`exec`,
and `numpy.load(allow_pickle=True)`. The scanner is tested on snippets too, so it can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hw3tui"

PICKLING_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "marshal", "shelve"}
PICKLING_MODULES |= {"joblib", "pandas.read_pickle"}
UNSAFE_YAML_CALLS = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load"}
UNSAFE_YAML_CALLS |= {"full_load_all"}
UNSAFE_YAML_LOADERS = {"Loader", "UnsafeLoader", "FullLoader", "UnsafeConstructor"}
UNSAFE_YAML_TYPS = {"unsafe", "full"}


def findings(source: str, filename: str = "<snippet>") -> list[str]:
    """Every unsafe deserialisation or code execution in `source`, as `file:line: what`."""
    found: list[str] = []

    def flag(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PICKLING_MODULES:
                    flag(node, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            names = {alias.name for alias in node.names}
            if root in PICKLING_MODULES:
                flag(node, f"imports from {node.module}")
            if root == "torch" and "load" in names:
                flag(node, "imports torch's load (call torch.load(..., weights_only=True))")
            if root == "yaml" and names & (UNSAFE_YAML_CALLS | UNSAFE_YAML_LOADERS):
                flag(node, "imports an unsafe YAML loader")
            if root == "pandas" and "read_pickle" in names:
                flag(node, "imports pandas.read_pickle")
        elif isinstance(node, ast.Call):
            _check_call(node, flag)
    return found


def _check_call(node: ast.Call, flag: Callable[[ast.AST, str], None]) -> None:
    func = node.func
    name = _dotted(func)
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    if name in ("eval", "exec", "builtins.eval", "builtins.exec"):
        flag(node, f"calls {name}()")
    elif name in ("__import__", "importlib.import_module") and node.args:
        target = node.args[0]
        if isinstance(target, ast.Constant) and str(target.value).split(".")[0] in (
            PICKLING_MODULES
        ):
            flag(node, f"imports {target.value} dynamically")
    elif name == "torch.load" or name.endswith(".torch.load"):
        weights_only = keywords.get("weights_only")
        if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
            flag(node, "calls torch.load without weights_only=True")
    elif name.startswith("yaml.") and name.split(".")[-1] in UNSAFE_YAML_CALLS:
        loader = keywords.get("Loader")
        if name.split(".")[-1] not in ("load", "load_all") or not (
            loader is not None and _dotted(loader).endswith(("SafeLoader", "CSafeLoader"))
        ):
            flag(node, f"calls {name} (use hw3tui.preset.io)")
    elif name.split(".")[-1] == "YAML":
        typ = keywords.get("typ")
        if isinstance(typ, ast.Constant) and typ.value in UNSAFE_YAML_TYPS:
            flag(node, f"builds an unsafe ruamel YAML(typ={typ.value!r})")
    elif name.split(".")[-1] == "load" and name.split(".")[0] in ("np", "numpy"):
        allow = keywords.get("allow_pickle")
        if isinstance(allow, ast.Constant) and allow.value is True:
            flag(node, "calls numpy.load(allow_pickle=True)")
    elif name.endswith("read_pickle"):
        flag(node, f"calls {name}")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def test_package_never_unpickles() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10
    found = [f for m in modules for f in findings(m.read_text(), str(m.relative_to(PACKAGE)))]
    assert found == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import pickle",
        "import cloudpickle as cp",
        "from pickle import loads",
        "import dill.settings",
        "importlib.import_module('pickle')",
        "torch.load(path)",
        "torch.load(path, weights_only=False)",
        "torch.load(path, map_location='cpu', weights_only=flag)",
        "from torch import load",
        "yaml.load(text)",
        "yaml.load(text, Loader=yaml.Loader)",
        "yaml.unsafe_load(text)",
        "yaml.full_load(text)",
        "from yaml import FullLoader",
        "YAML(typ='unsafe').load(text)",
        "ruamel.yaml.YAML(typ='full')",
        "eval(expression)",
        "exec(code)",
        "np.load(path, allow_pickle=True)",
        "pandas.read_pickle(path)",
    ],
)
def test_scanner_catches(snippet: str) -> None:
    assert len(findings(snippet)) == 1


@pytest.mark.parametrize(
    "snippet",
    [
        "torch.load(path, map_location='cpu', weights_only=True)",
        "yaml.load(text, Loader=yaml.SafeLoader)",
        "yaml.safe_load(text)",
        "YAML(typ='safe').load(text)",
        "YAML(typ='rt')",
        "np.load(path)",
        "safetensors.torch.load_file(path)",
        "model.eval()",
        "'do not eval(this)'  # eval(text) in a comment",
        "json.loads(text)",
    ],
)
def test_scanner_allows(snippet: str) -> None:
    assert findings(snippet) == []


CHECKED_LOADER = "engine/checkpoint.py"


def test_safetensors_read_only_through_the_checked_loader() -> None:
    """Every tensor read goes through `hw3tui.engine.checkpoint`, which checks the header first."""
    offenders = []
    for module in sorted(PACKAGE.rglob("*.py")):
        where = module.relative_to(PACKAGE).as_posix()
        if where == CHECKED_LOADER:
            continue
        for node in ast.walk(ast.parse(module.read_text(), where)):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name.split(".")[-1] in ("load_file", "safe_open") or name.endswith(
                    "safetensors.torch.load"
                ):
                    offenders.append(f"{where}:{node.lineno}: {name}()")
    assert offenders == []
