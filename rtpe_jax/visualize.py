"""Overlays: the COCO skeleton of every person on the image, and map panels.

  python -m rtpe_jax.visualize --teacher models/hrnet_w48_640 --image FILE --out PNG \
      [--input-size N] [--threshold 0.1]

Left side of the body in blue, right side in orange, the centre line in green;
joints below the threshold are left out. Beside the overlay: the heatmaps (max
over joints) and the first tag map, at the input resolution.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from rtpe_jax import coordinates, inference
from rtpe_jax.data.images import read_image
from rtpe_jax.data.synthetic import SKELETON

LEFT, RIGHT, CENTRE = (40, 110, 255), (255, 140, 0), (30, 200, 80)


def heat(x: np.ndarray) -> np.ndarray:
  """(H, W) in [0, 1] -> (H, W, 3) uint8, black-red-yellow-white."""
  x = np.clip(x, 0, 1)[..., None]
  return (255 * np.clip(3 * x - np.array([0, 1, 2]), 0, 1)).astype(np.uint8)


def diverging(x: np.ndarray) -> np.ndarray:
  """(H, W) signed -> blue (negative), white (0), red (positive), scaled to max |x|."""
  x = x / max(float(np.abs(x).max()), 1e-6)
  pos, neg = np.clip(x, 0, 1)[..., None], np.clip(-x, 0, 1)[..., None]
  rgb = np.ones_like(pos) - pos * np.array([0, 1, 1]) - neg * np.array([1, 1, 0])
  return (255 * rgb).astype(np.uint8)


def _side(k: int):
  return CENTRE if k == 0 else (LEFT if k % 2 == 1 else RIGHT)


def limb_colour(a: int, b: int):
  """A limb between two joints of one side takes that side's colour, else the centre's."""
  return _side(a) if _side(a) == _side(b) else CENTRE


def draw_people(image: np.ndarray, keypoints: np.ndarray, threshold: float = 0.1) -> Image.Image:
  """image (H, W, 3) uint8, keypoints (P, 17, 3) x, y, value -> the overlay."""
  canvas = Image.fromarray(image).convert("RGB")
  draw = ImageDraw.Draw(canvas)
  width = max(2, round(min(canvas.size) / 200))
  for person in keypoints:
    seen = person[:, 2] > threshold
    xy = coordinates.to_drawing(person[:, :2])
    for a, b in SKELETON:
      a, b = a - 1, b - 1
      if seen[a] and seen[b]:
        draw.line([tuple(xy[a]), tuple(xy[b])], fill=limb_colour(a, b), width=width)
    for k in np.nonzero(seen)[0]:
      x, y = xy[k]
      r = width + 1
      draw.ellipse([x - r, y - r, x + r, y + r], fill=_side(k), outline=(0, 0, 0))
  return canvas


def _unit(x: np.ndarray) -> np.ndarray:
  """Heatmaps as they are when in [0, 1], else scaled by their max (untrained networks)."""
  return x / max(1.0, float(x.max()))


def overlay_with_maps(network, variables, spec, image: np.ndarray, cfg: inference.ProtocolConfig,
                      threshold: float = 0.1) -> Image.Image:
  """The overlay, then the heatmap and tag panels, side by side at the image's height."""
  heatmaps, tags, (center, scale, size) = inference.multi_person_maps(network, variables, spec,
                                                                      image, cfg)
  (keypoints, _), = inference.group_and_map(heatmaps, tags, center, scale, size, cfg.grouping)
  panels = [draw_people(image, keypoints, threshold),
            Image.fromarray(heat(_unit(np.asarray(heatmaps[0]).max(-1)))),
            Image.fromarray(diverging(np.asarray(tags[0, ..., 0, 0])))]
  h = image.shape[0]
  panels = [p.resize((max(1, round(p.width * h / p.height)), h)) for p in panels]
  out = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), h), "white")
  x = 0
  for p in panels:
    out.paste(p, (x, 0))
    x += p.width + 8
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(description="Draws the people a teacher finds in an image.")
  parser.add_argument("--teacher", required=True)
  parser.add_argument("--image", required=True)
  parser.add_argument("--out", required=True)
  parser.add_argument("--input-size", type=int)
  parser.add_argument("--threshold", type=float, default=0.1)
  args = parser.parse_args(argv)
  from rtpe_jax.models import load_teacher
  model, variables = load_teacher(args.teacher)
  spec = inference.OutputSpec.for_hrnet(model.config)
  cfg = inference.ProtocolConfig(input_size=args.input_size or model.config.input_size)
  image = read_image(args.image, 0)
  overlay_with_maps(model.apply, variables, spec, image, cfg, args.threshold).save(args.out)
  print(args.out)


if __name__ == "__main__":
  main()
