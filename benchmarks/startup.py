"""Startup: how long `hw3tui --help`, `hw3tui validate` and the TUI's first screen take.

    .venv/bin/python benchmarks/startup.py [--repeats 9] [--markdown]

Each command runs `--repeats` times as a fresh process (interleaved, so load from other programs
hits each alike); the figures are median and min wall times of the whole process, from exec to
exit, and each median over the interpreter's own (`python -c pass`, run in the same rounds): on a
shared machine the absolute times swing, the ratio much less. The TUI row opens the real app
headless (Textual's test driver), waits for the home screen and quits: an upper bound on the time
to the first screen. `import torch` is timed alongside for scale: none of the three imports it
(tests/cli and tests/tui check that), and each row says whether torch was loaded.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRESET = REPO / "hw3tui" / "presets" / "quickstart.yaml"

TUI_FIRST_SCREEN = """
import asyncio, sys
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.home import HomeScreen

async def main():
    app = Hw3tuiApp(presets_dir=__import__("pathlib").Path(sys.argv[1]),
                    runs_dir=__import__("pathlib").Path(sys.argv[2]), opened=[])
    async with app.run_test() as pilot:
        while not isinstance(app.screen, HomeScreen):
            await pilot.pause(0.005)
        await pilot.pause()
asyncio.run(main())
"""

TORCH_PROBE = "import atexit, sys; atexit.register(lambda: print('torch' in sys.modules))\n"


def commands() -> dict[str, list[str]]:
    py = sys.executable
    cli = [py, "-c", TORCH_PROBE + "from hw3tui.cli import main; main()"]
    return {
        "python -c pass (interpreter alone)": [py, "-c", "pass"],
        "hw3tui --help": [*cli, "--help"],
        "hw3tui validate presets/quickstart.yaml": [*cli, "validate", str(PRESET)],
        "hw3tui (TUI first screen, headless)": [
            py,
            "-c",
            TORCH_PROBE + TUI_FIRST_SCREEN,
            str(REPO / "presets"),
            str(REPO / "runs"),
        ],
        "python -c 'import torch' (for scale)": [py, "-c", TORCH_PROBE + "import torch"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    todo = commands()
    times: dict[str, list[float]] = {name: [] for name in todo}
    loaded: dict[str, str] = {}
    for _ in range(args.repeats):
        for name, command in todo.items():
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
            times[name].append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(f"{name} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
            last = done.stdout.strip().splitlines()[-1:] or [""]
            loaded[name] = {"True": "yes", "False": "no"}.get(last[0], "-")
    rows = [(name, statistics.median(t), min(t), loaded[name]) for name, t in times.items()]
    interpreter = rows[0][1]
    if args.markdown:
        print("| command | median | min | × `python -c pass` (median) | torch imported |")
        print("|---|---|---|---|---|")
        for name, median, least, torch in rows:
            print(f"| `{name}` | {median * 1000:.0f} ms | {least * 1000:.0f} ms | "
                  f"{median / interpreter:.1f} | {torch} |")  # fmt: skip
    else:
        for name, median, least, torch in rows:
            print(f"{name:42} median {median * 1000:5.0f} ms  min {least * 1000:5.0f} ms  "
                  f"×{median / interpreter:5.1f}  torch: {torch}")  # fmt: skip


if __name__ == "__main__":
    main()
