"""The built-in `shapes` data set: coloured shapes on cluttered, noisy backgrounds, from a seed.

No download and no files: every image is drawn procedurally, so the same seed gives the same
pixels on every machine. Each image holds one large shape (the class) of a random colour, size,
position and tilt, over a random gradient with smaller clutter strokes and pixel noise, so a
model has to learn shapes rather than colours or positions. Validation images come from a different
seed stream than training images.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

SHAPES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "cross",
    "ring",
    "star",
    "hexagon",
    "crescent",
)
"""Class names in order; a data set with `classes: n` uses the first n."""

SUPERSAMPLE = 2
"""Shapes are drawn at twice the size and downscaled: smooth edges, like real photographs."""

TILT = math.radians(25)
"""Largest tilt of a shape either way: enough to vary, little enough that a triangle stays a
triangle pointing up (a small model from scratch learns upright shapes in minutes on a CPU)."""

Point = tuple[float, float]


def draw_shapes(
    *, classes: int, per_class: int, image_size: int, seed: np.random.SeedSequence
) -> tuple[torch.Tensor, torch.Tensor]:
    """`classes * per_class` images, uint8 (N, 3, S, S), and labels (N,); classes alternate."""
    if not 2 <= classes <= len(SHAPES):
        raise ValueError(f"shapes: classes must be 2..{len(SHAPES)}, got {classes}")
    rng = np.random.default_rng(seed)
    count = classes * per_class
    images = torch.empty((count, 3, image_size, image_size), dtype=torch.uint8)
    labels = torch.arange(count, dtype=torch.int64) % classes
    for index in range(count):
        pixels = _draw_one(SHAPES[index % classes], image_size, rng)
        images[index] = torch.from_numpy(pixels.transpose(2, 0, 1).copy())
    return images, labels


def _draw_one(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    big = size * SUPERSAMPLE
    canvas = Image.fromarray(_background(big, rng))
    pen = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(3, 7))):
        _clutter(pen, big, rng)
    colour = _contrasting_colour(canvas, rng)
    radius = big * rng.uniform(0.22, 0.36)
    centre = (
        big / 2 + rng.uniform(-0.14, 0.14) * big,
        big / 2 + rng.uniform(-0.14, 0.14) * big,
    )
    _shape(pen, canvas, shape, centre, radius, rng.uniform(-TILT, TILT), colour)
    small = canvas.resize((size, size), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.float64)
    noisy = pixels + rng.normal(0.0, rng.uniform(4.0, 16.0), pixels.shape)
    return np.asarray(np.clip(noisy, 0, 255), dtype=np.uint8)


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A two-colour linear gradient in a random direction."""
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    t = (xs * math.cos(angle) + ys * math.sin(angle) + 1.5) / 3.0
    gradient = start + (end - start) * t[..., None]
    return np.asarray(gradient.clip(0, 255), dtype=np.uint8)


def _clutter(pen: ImageDraw.ImageDraw, size: int, rng: np.random.Generator) -> None:
    """A stroke or a small blob: distractors smaller and thinner than the shape."""
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    x, y = rng.uniform(0, size, 2)
    if rng.random() < 0.6:
        length = size * rng.uniform(0.1, 0.35)
        angle = rng.uniform(0, 2 * math.pi)
        end = (x + length * math.cos(angle), y + length * math.sin(angle))
        pen.line([(x, y), end], fill=colour, width=max(1, int(size * rng.uniform(0.01, 0.03))))
    else:
        r = size * rng.uniform(0.02, 0.06)
        pen.ellipse([x - r, y - r * rng.uniform(0.5, 1.0), x + r, y + r], fill=colour)


def _contrasting_colour(canvas: Image.Image, rng: np.random.Generator) -> tuple[int, int, int]:
    """A random colour whose brightness stands out from the background's average."""
    background = float(np.asarray(canvas.convert("L"), dtype=np.float32).mean())
    for _ in range(20):
        colour = rng.integers(0, 256, 3)
        if abs(float(colour @ np.array([0.299, 0.587, 0.114])) - background) > 50:
            break
    return (int(colour[0]), int(colour[1]), int(colour[2]))


def _polygon(centre: Point, radii: list[float], start: float) -> list[Point]:
    step = 2 * math.pi / len(radii)
    return [
        (centre[0] + r * math.cos(start + i * step), centre[1] + r * math.sin(start + i * step))
        for i, r in enumerate(radii)
    ]


def _rotated(points: list[Point], centre: Point, angle: float) -> list[Point]:
    c, s = math.cos(angle), math.sin(angle)
    return [
        (centre[0] + (x - centre[0]) * c - (y - centre[1]) * s,
         centre[1] + (x - centre[0]) * s + (y - centre[1]) * c)
        for x, y in points
    ]  # fmt: skip


def _shape(
    pen: ImageDraw.ImageDraw,
    canvas: Image.Image,
    shape: str,
    centre: Point,
    r: float,
    angle: float,
    colour: tuple[int, int, int],
) -> None:
    cx, cy = centre
    if shape == "circle":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "square":
        pen.polygon(_polygon(centre, [r * 1.2] * 4, angle), fill=colour)
    elif shape == "triangle":
        pen.polygon(_polygon(centre, [r * 1.2] * 3, angle), fill=colour)
    elif shape == "cross":
        arm = r * 0.36
        bar = [(cx - r, cy - arm), (cx + r, cy - arm), (cx + r, cy + arm), (cx - r, cy + arm)]
        post = [(cx - arm, cy - r), (cx + arm, cy - r), (cx + arm, cy + r), (cx - arm, cy + r)]
        pen.polygon(_rotated(bar, centre, angle), fill=colour)
        pen.polygon(_rotated(post, centre, angle), fill=colour)
    elif shape == "ring":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=max(2, int(r * 0.35)))
    elif shape == "star":
        pen.polygon(_polygon(centre, [r * 1.15, r * 0.45] * 5, angle), fill=colour)
    elif shape == "hexagon":
        pen.polygon(_polygon(centre, [r * 1.05] * 6, angle), fill=colour)
    elif shape == "crescent":
        bite = (cx + r * 0.55 * math.cos(angle), cy + r * 0.55 * math.sin(angle))
        # the bite takes the background's colour there, so the crescent has no outline to learn
        background = _pick(canvas, bite)
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        b = r * 0.85
        pen.ellipse([bite[0] - b, bite[1] - b, bite[0] + b, bite[1] + b], fill=background)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def _pick(canvas: Image.Image, point: Point) -> tuple[int, int, int]:
    x = min(canvas.width - 1, max(0, int(point[0])))
    y = min(canvas.height - 1, max(0, int(point[1])))
    red, green, blue = np.asarray(canvas)[y, x][:3]
    return (int(red), int(green), int(blue))
