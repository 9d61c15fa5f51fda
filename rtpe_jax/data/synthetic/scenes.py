"""One synthetic image and its COCO annotations, a pure function of (seed, split,
index): 0 to 6 figures of small, medium and large size, sometimes a crowd
region, sometimes people without keypoints, as in COCO."""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from rtpe_jax.data.synthetic import annotations as annotations_lib
from rtpe_jax.data.synthetic import drawing, figures

SPLITS = {"train2017": 0, "val2017": 1, "unlabelled2017": 2}
UNLABELLED = "unlabelled2017"
WITHHELD = "withheld_person_keypoints_{split}.json"  # the unlabelled split's labels


def image_id(split: str, index: int) -> int:
  """Distinct ids across splits: train 1.., val 1_000_001.., unlabelled 2_000_001.."""
  return SPLITS[split] * 1_000_000 + index + 1


def make_image(seed: int, split: str, index: int, size: int = 256):
  """One synthetic image and its annotations (without annotation ids)."""
  rng = np.random.default_rng([seed, SPLITS[split], index])
  w = int(size * rng.choice([0.75, 1.0, 1.25]))
  h = size
  image = drawing.background(rng, w, h)
  draw = ImageDraw.Draw(image)

  people = []  # (joints (17, 2), height, its drawing rng, annotate keypoints)
  for _ in range(rng.integers(0, 7)):
    kind = rng.choice(["small", "medium", "large"], p=[0.3, 0.45, 0.25])
    height = {
      "small": rng.uniform(30, 60),
      "medium": rng.uniform(60, 140),
      "large": rng.uniform(0.55 * h, h),
    }[kind]
    center = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(0.2, 1.0) * h])
    joints = figures.make_pose(rng, center, height)
    # Small people are sometimes left without keypoints, as COCO annotators did.
    with_keypoints = not (kind == "small" and rng.random() < 0.25)
    people.append((joints, height, np.random.default_rng(rng.integers(2**32)), with_keypoints))

  crowd = None
  if rng.random() < 0.15:
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.3, 0.7) * h
    cw, ch = rng.uniform(0.2, 0.4) * w, rng.uniform(0.12, 0.2) * h
    crowd = []
    for _ in range(rng.integers(4, 9)):
      c = np.array([rng.uniform(cx - cw / 2, cx + cw / 2), rng.uniform(cy - ch / 2, cy + ch / 2)])
      joints = figures.make_pose(rng, c, ch)
      crowd.extend(figures.body_polygons(joints, ch, rng))

  if crowd:
    for poly, colour in crowd:
      draw.polygon(poly, fill=colour)
  outlines = []  # each person's mask polygons
  for joints, height, figure_rng, _ in people:
    outlines.append(drawing.draw_figure(draw, joints, height, figure_rng))
  masks = [annotations_lib.polygon_mask(polygons, w, h) for polygons in outlines]

  annotations = []
  for p, (joints, _, _, with_keypoints) in enumerate(people):
    keypoints = None
    if with_keypoints:
      keypoints = annotations_lib.keypoint_labels(joints, masks[p + 1 :], w, h)
      if not keypoints[:, 2].any():
        keypoints = None
    ann = annotations_lib.annotation(masks[p], outlines[p], keypoints, iscrowd=False)
    if ann:
      annotations.append(ann)
  if crowd:
    ann = annotations_lib.annotation(
      annotations_lib.polygon_mask([p for p, _ in crowd], w, h), None, None, iscrowd=True
    )
    if ann:
      annotations.append(ann)

  info = {
    "id": image_id(split, index),
    "file_name": f"{image_id(split, index):012d}.jpg",
    "width": w,
    "height": h,
  }
  return image, info, annotations
