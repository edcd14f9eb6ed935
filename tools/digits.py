"""Write scikit-learn's handwritten digits (1,797 real 8x8 scans) as an image folder.

    pip install scikit-learn
    python tools/digits.py digits          # digits/train/<0-9>/*.png, digits/val/<0-9>/*.png

A real, multi-class data set that ships inside a wheel: what the README's mixup and repeat
examples train on where nothing can be downloaded. Every fifth image of each digit goes to val
(stratified, the same split every time). The 8x8 scans (ink 0-16) are scaled to 32x32 grey PNGs
with bilinear smoothing, saved as RGB so any backbone takes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

SIZE = 32
VAL_EVERY = 5


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/digits.py FOLDER", file=sys.stderr)
        return 2
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("error: this needs scikit-learn (pip install scikit-learn)", file=sys.stderr)
        return 2
    import numpy as np
    from PIL import Image

    root = Path(argv[0])
    if root.exists() and any(root.iterdir()):
        print(f"error: {root}: not empty (name a new folder)", file=sys.stderr)
        return 2
    digits = load_digits()
    seen: dict[int, int] = {}
    for image, label in zip(digits.images, digits.target, strict=True):
        label = int(label)
        index = seen.get(label, 0)
        seen[label] = index + 1
        split = "val" if index % VAL_EVERY == VAL_EVERY - 1 else "train"
        grey = Image.fromarray(np.uint8(np.clip(image * 16, 0, 255)), mode="L")
        path = root / split / str(label) / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        grey.resize((SIZE, SIZE), Image.Resampling.BILINEAR).convert("RGB").save(path)
    total = sum(seen.values())
    val = sum(n // VAL_EVERY for n in seen.values())
    print(f"{root}: {total - val} train and {val} val images of 10 digits, {SIZE}x{SIZE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
