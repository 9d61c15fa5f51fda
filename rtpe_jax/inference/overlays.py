"""Overlays: the COCO skeletons of the people found on the image, and map panels.

  python -m rtpe_jax.inference.overlays --teacher models/hrnet_w48_640 --image FILE --out PNG \
      [--input-size N] [--threshold 0.1] [--min-score 0.2]

Left side of the body in blue, right side in orange, the centre line in green;
people whose score (mean joint value) is below `min_score` and joints below
`threshold` are left out: the parser returns up to 30 groups per image, most
of them weak stray joints that would bury the real people. Beside the overlay:
the ground truth when it is known (an evaluation's overlays), the heatmaps (max
over joints) and the first tag map, at the input resolution.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from rtpe_jax.data.images import read_image
from rtpe_jax.inference import predictor
from rtpe_jax.keypoints import SKELETON, joint_colour, limb_colour


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


def draw_people(
  image: np.ndarray,
  keypoints: np.ndarray,
  threshold: float = 0.1,
  scores: np.ndarray | None = None,
  min_score: float = 0.0,
) -> Image.Image:
  """image (H, W, 3) uint8, keypoints (P, 17, 3) x, y, value -> the overlay of
  the people whose score (P,) is at least `min_score` (all without scores)."""
  canvas = Image.fromarray(image).convert("RGB")
  draw = ImageDraw.Draw(canvas)
  width = max(2, round(min(canvas.size) / 200))
  for p, person in enumerate(keypoints):
    if scores is not None and scores[p] < min_score:
      continue
    seen = person[:, 2] > threshold
    xy = person[:, :2]  # PIL draws at positions (rtpe_jax.coordinates)
    for a, b in SKELETON:
      a, b = a - 1, b - 1
      if seen[a] and seen[b]:
        draw.line([tuple(xy[a]), tuple(xy[b])], fill=limb_colour(a, b), width=width)
    for k in np.nonzero(seen)[0]:
      x, y = xy[k]
      r = width + 1
      draw.ellipse([x - r, y - r, x + r, y + r], fill=joint_colour(k), outline=(0, 0, 0))
  return canvas


def top_view(
  keypoints_3d: np.ndarray,
  height: int,
  scores: np.ndarray | None = None,
  min_score: float = 0.0,
  max_depth_mm: float = 10000.0,
  truth_3d: np.ndarray | None = None,
) -> Image.Image:
  """The people seen from above (height x height px): camera x (right) across,
  depth z up the picture from the camera at the bottom centre to `max_depth_mm`,
  each person's skeleton in its side colours, a 1-m grid and the camera's
  field of view lines at 45 degrees; `truth_3d` (G, 17, 3) in grey beneath."""
  side = int(height)
  picture = Image.new("RGB", (side, side), (24, 24, 24))
  draw = ImageDraw.Draw(picture)
  scale = side / max_depth_mm  # pixels per mm
  to_px = lambda p: (side / 2 + p[0] * scale, side - 1 - p[2] * scale)
  for metre in range(1000, int(max_depth_mm) + 1, 1000):
    y = side - 1 - metre * scale
    draw.line([(0, y), (side, y)], fill=(48, 48, 48))
    x = metre * scale
    draw.line([(side / 2 + x, 0), (side / 2 + x, side)], fill=(48, 48, 48))
    draw.line([(side / 2 - x, 0), (side / 2 - x, side)], fill=(48, 48, 48))
  draw.line([(side / 2, side), (0, side / 2)], fill=(90, 90, 90))
  draw.line([(side / 2, side), (side, side / 2)], fill=(90, 90, 90))
  people = [(p, None) for p in (truth_3d if truth_3d is not None else [])]
  people += [
    (person, True)
    for i, person in enumerate(keypoints_3d)
    if scores is None or scores[i] >= min_score
  ]
  width = max(1, round(side / 200))
  for person, predicted in people:
    xy = [to_px(p) for p in np.asarray(person, np.float64)]
    for a, b in SKELETON:
      colour = limb_colour(a - 1, b - 1) if predicted else (110, 110, 110)
      draw.line([xy[a - 1], xy[b - 1]], fill=colour, width=width)
  return _captioned(picture, "top view, 1-m grid")


def with_top_view(overlay: Image.Image, top: Image.Image) -> Image.Image:
  """The overlay and the top view side by side."""
  out = Image.new("RGB", (overlay.width + top.width, overlay.height))
  out.paste(overlay, (0, 0))
  out.paste(top, (overlay.width, 0))
  return out


def _captioned(picture: Image.Image, text: str) -> Image.Image:
  draw = ImageDraw.Draw(picture)
  draw.rectangle([0, 0, picture.width, 12], fill=(0, 0, 0))
  draw.text((3, 0), text, fill=(255, 255, 255))
  return picture


def _unit(x: np.ndarray) -> np.ndarray:
  """Heatmaps as they are when in [0, 1], else scaled by their max (untrained networks)."""
  return x / max(1.0, float(x.max()))


def overlay_with_maps(
  model,
  image: np.ndarray,
  flip: bool = True,
  threshold: float = 0.1,
  min_score: float = 0.2,
  truth: np.ndarray | None = None,
  intrinsics: np.ndarray | None = None,
  truth_3d: np.ndarray | None = None,
) -> Image.Image:
  """The people a `predictor.Model` finds in `image` at the published protocol
  (score >= min_score), the ground truth `truth` (P, 17, 3) joints (positions) when
  given, then the heatmap and tag panels, side by side at the image's height;
  with the image's `intrinsics` (a model with depth maps) the top view last, the
  truth's people `truth_3d` (G, 17, 3) mm in grey beneath."""
  frame = predictor.run_network(model, image, flip, buckets=())
  if intrinsics is not None:
    keypoints, scores, people_3d = predictor.group_frame_3d(frame, intrinsics)
  else:
    keypoints, scores = predictor.group_frame(frame)
  heatmaps, tags = frame.heatmaps, frame.tags
  shown = int(np.sum(scores >= min_score))
  panels = [
    _captioned(
      draw_people(image, keypoints, threshold, scores, min_score),
      f"found: {shown} with score >= {min_score:g} (of {len(scores)})",
    )
  ]
  if truth is not None:
    labelled = truth[truth[:, :, 2].max(-1) > 0]
    panels.append(
      _captioned(draw_people(image, labelled, threshold=0.0), f"ground truth: {len(labelled)}")
    )
  panels += [
    Image.fromarray(heat(_unit(np.asarray(heatmaps[0]).max(-1)))),
    Image.fromarray(diverging(np.asarray(tags[0, ..., 0, 0]))),
  ]
  if intrinsics is not None:
    panels.append(top_view(people_3d, image.shape[0], scores, min_score, truth_3d=truth_3d))
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
  parser.add_argument("--threshold", type=float, default=0.1, help="joints drawn above this")
  parser.add_argument(
    "--min-score",
    type=float,
    default=0.2,
    help="people drawn from this score (mean joint value) up",
  )
  args = parser.parse_args(argv)
  model = predictor.load(args.teacher, input_size=args.input_size)
  image = read_image(args.image, 0)
  overlay_with_maps(model, image, True, args.threshold, args.min_score).save(args.out)
  print(args.out)


if __name__ == "__main__":
  main()
