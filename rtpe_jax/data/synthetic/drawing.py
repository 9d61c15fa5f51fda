"""The synthetic figures drawn as wooden mannequins, and the textured backgrounds
with distractor shapes they stand on (PIL)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from rtpe_jax.data.synthetic import figures


def draw_figure(
  draw: ImageDraw.ImageDraw, j: np.ndarray, height: float, rng: np.random.Generator
) -> list:
  """Draws one figure as a wooden mannequin and returns its mask polygons.

  Every shape is outlined (an arm over the torso stays visible), hands and
  shoes mark the wrists and ankles, and the face (eyes, nose) is drawn only
  when the figure faces the camera; from the back the head is hair. These are
  the cues a photo gives about which joint is which.
  """
  shapes = figures.body_polygons(j, height, rng)
  hair = tuple(int(v) for v in rng.integers(10, 90, 3))
  shoe = tuple(int(v) for v in rng.integers(0, 70, 3))
  width = max(1, int(round(0.012 * height)))
  for poly, colour in shapes:
    draw.polygon(poly, fill=colour, outline=tuple(c // 3 for c in colour), width=width)
  skin = shapes[-1][1]
  disc = lambda c, r, fill: draw.ellipse([*(c - r), *(c + r)], fill=fill)
  for k in (9, 10):
    disc(j[k], 0.035 * height, skin)
  for k in (15, 16):
    disc(j[k], 0.04 * height, shoe)
  head = (j[3] + j[4]) / 2
  r = max(1.5, 0.012 * height)
  if figures.facing_camera(j):
    for k in (1, 2):
      disc(j[k], r, (20, 20, 20))
    disc(j[0], r, (150, 40, 40))
  else:
    draw.ellipse(
      [
        head[0] - 0.075 * height,
        head[1] - 0.09 * height,
        head[0] + 0.075 * height,
        head[1] + 0.09 * height,
      ],
      fill=hair,
    )
  hands = [figures.ellipse_polygon(j[k], 0.035 * height, 0.035 * height, 8) for k in (9, 10)]
  feet = [figures.ellipse_polygon(j[k], 0.04 * height, 0.04 * height, 8) for k in (15, 16)]
  return [p for p, _ in shapes] + hands + feet


def background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
  yy, xx = np.mgrid[0:h, 0:w]
  base = rng.uniform(40, 215, 3)
  slope = rng.normal(0, 0.25, (2, 3))
  img = base + xx[..., None] * slope[0] + yy[..., None] * slope[1]
  period = rng.uniform(6, 40)
  img += 18 * np.sin((xx * np.cos(period) + yy * np.sin(period)) / period)[..., None]
  img += rng.normal(0, 8, (h, w, 3))
  image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
  draw = ImageDraw.Draw(image)
  for _ in range(rng.integers(2, 8)):
    x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
    size = rng.uniform(8, max(w, h) / 4)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    kind = rng.integers(3)
    if kind == 0:
      draw.ellipse([x0, y0, x0 + size, y0 + size * rng.uniform(0.3, 1.5)], fill=colour)
    elif kind == 1:
      draw.rectangle([x0, y0, x0 + size * rng.uniform(0.2, 2), y0 + size], fill=colour)
    else:
      pts = [(x0 + rng.uniform(-size, size), y0 + rng.uniform(-size, size)) for _ in range(3)]
      draw.polygon(pts, fill=colour)
  return image
