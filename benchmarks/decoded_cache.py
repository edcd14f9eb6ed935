"""Trial start-up with and without the decoded-image cache on disk (a sweep's second trial).

    .venv/bin/python benchmarks/decoded_cache.py [--images 2000] [--size 64] [--repeats 3]

Writes an image folder of JPEGs (photo-like noise at 320x240, like a phone picture scaled down),
then times the engine's whole set-up of a run in a fresh process each time (`prepare`: device,
finding and decoding the images, building the model: everything before the first step), cold
(an empty cache folder, as on a first trial) and warm (the cache the cold run left, as on every
later trial), interleaved. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SETUP = """
import sys, time
from pathlib import Path
started = time.perf_counter()
from hw3tui.engine.training.job import prepare
from hw3tui.preset import load_preset
loaded = load_preset(Path(sys.argv[1]))
prepare(loaded, base_dir=Path(sys.argv[2]))
print(time.perf_counter() - started)
"""

PRESET = """name: cache-bench
data: {{source: imagefolder, train: train, val_split: 0.2, image_size: {size}, cache: true}}
backbone: {{name: resnet18, pretrained: false}}
schedule: {{epochs: 1, lr: 0.01, batch_size: 32}}
runtime: {{device: cpu, precision: fp32, channels_last: false}}
"""


def write_images(root: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        label = f"class{i % 10}"
        (root / "train" / label).mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize((320, 240), Image.Resampling.BILINEAR)
        image.save(root / "train" / label / f"{i}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_images(root, args.images)
        preset = root / "bench.yaml"
        preset.write_text(PRESET.format(size=args.size))
        warm_home = root / "warm-cache"
        times: dict[str, list[float]] = {"cold": [], "warm": []}

        def setup(cache_home: Path) -> float:
            env = {"XDG_CACHE_HOME": str(cache_home), "PATH": "/usr/bin:/bin"}
            done = subprocess.run(
                [sys.executable, "-c", SETUP, str(preset), str(root)],
                capture_output=True, text=True, cwd=REPO, env={**env, "PYTHONPATH": str(REPO)},
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                sys.exit(done.stderr[-2000:])
            return float(done.stdout.strip().splitlines()[-1])

        setup(warm_home)  # fills the warm cache (and the OS's file cache, for both)
        for repeat in range(args.repeats):
            times["cold"].append(setup(root / f"cold-cache-{repeat}"))
            times["warm"].append(setup(warm_home))
    cold, warm = statistics.median(times["cold"]), statistics.median(times["warm"])
    print(f"{args.images} JPEGs (320x240) at {args.size} px, resnet18, medians of {args.repeats}:")
    print(f"  set-up, cold (decodes every image): {cold:.2f} s")
    print(f"  set-up, warm (decoded cache on disk): {warm:.2f} s")
    print(f"  warm / cold: {warm / cold:.2f}x (set-up {cold / warm:.1f}x faster)")


if __name__ == "__main__":
    main()
