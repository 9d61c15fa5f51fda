"""One synthetic image and its COCO annotations, a pure function of (seed, split,
index, parameters): figures of small, medium and large size, sometimes a crowd
region, sometimes people without keypoints, as in COCO; `SceneParams` says how
many, how tall and how crowded (`DEFAULT`: the quickstart's data;
`data.synthetic.benchmark.PARAMS`: the students' benchmark)."""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import ImageDraw

from rtpe_jax.data.synthetic import annotations as annotations_lib
from rtpe_jax.data.synthetic import drawing, figures

SPLITS = {"train2017": 0, "val2017": 1, "unlabelled2017": 2, "selection2017": 3, "benchmark2017": 4}
UNLABELLED = "unlabelled2017"
WITHHELD = "withheld_person_keypoints_{split}.json"  # the unlabelled split's labels


@dataclasses.dataclass(frozen=True)
class HeightBin:
  """Figures `low` to `high` px tall (fractions of the image's height when
  `of_image_height`), drawn with this probability."""

  name: str
  probability: float
  low: float
  high: float
  of_image_height: bool = False


@dataclasses.dataclass(frozen=True)
class SceneParams:
  """What a scene holds. Ordinary scenes: `people` (min, max) figures of the
  `heights` mix, those of the bin `unannotated_bin` left without keypoints with
  probability `unannotated`. With probability `crowd_scene` a scene is a crowd
  instead: `crowd_people` figures `crowd_heights` px tall, their centres in the
  band `crowd_band` (fractions of the height) so that they overlap and hide one
  another. With probability `crowd_region` a crowd region (iscrowd=1) is drawn
  behind the people."""

  people: tuple[int, int] = (0, 6)
  heights: tuple[HeightBin, ...] = (
    HeightBin("small", 0.3, 30.0, 60.0),
    HeightBin("medium", 0.45, 60.0, 140.0),
    HeightBin("large", 0.25, 0.55, 1.0, of_image_height=True),
  )
  unannotated_bin: str = "small"
  unannotated: float = 0.25
  crowd_scene: float = 0.0
  crowd_people: tuple[int, int] = (10, 14)
  crowd_heights: tuple[float, float] = (40.0, 130.0)
  crowd_band: tuple[float, float] = (0.35, 0.85)
  crowd_region: float = 0.15


DEFAULT = SceneParams()


def image_id(split: str, index: int) -> int:
  """Distinct ids across splits: train 1.., val 1_000_001.., unlabelled 2_000_001..,
  selection 3_000_001.., benchmark 4_000_001.."""
  return SPLITS[split] * 1_000_000 + index + 1


def _scale(b: HeightBin, h: int) -> float:
  return float(h) if b.of_image_height else 1.0


def _people(rng, params: SceneParams, w: int, h: int) -> list:
  """(joints (17, 2), height, its drawing rng, annotate keypoints) of each figure."""
  people = []
  if params.crowd_scene and rng.random() < params.crowd_scene:
    low, high = params.crowd_people
    top, bottom = params.crowd_band
    for _ in range(rng.integers(low, high + 1)):
      height = rng.uniform(*params.crowd_heights)
      center = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(top, bottom) * h])
      joints = figures.make_pose(rng, center, height)
      people.append((joints, height, np.random.default_rng(rng.integers(2**32)), True))
    return people
  names = [b.name for b in params.heights]
  for _ in range(rng.integers(params.people[0], params.people[1] + 1)):
    kind = rng.choice(names, p=[b.probability for b in params.heights])
    # A height is drawn for every bin and the kind's kept: the stream the quickstart's
    # data was always made from.
    drawn = {
      b.name: rng.uniform(b.low * _scale(b, h), b.high * _scale(b, h)) for b in params.heights
    }
    height = drawn[kind]
    center = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(0.2, 1.0) * h])
    joints = figures.make_pose(rng, center, height)
    # Some people are left without keypoints, as COCO annotators did with small ones.
    with_keypoints = not (kind == params.unannotated_bin and rng.random() < params.unannotated)
    people.append((joints, height, np.random.default_rng(rng.integers(2**32)), with_keypoints))
  return people


def make_image(seed: int, split: str, index: int, size: int = 256, params: SceneParams = DEFAULT):
  """One synthetic image and its annotations (without annotation ids)."""
  rng = np.random.default_rng([seed, SPLITS[split], index])
  w = int(size * rng.choice([0.75, 1.0, 1.25]))
  h = size
  image = drawing.background(rng, w, h)
  draw = ImageDraw.Draw(image)
  people = _people(rng, params, w, h)

  crowd = None
  if rng.random() < params.crowd_region:
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
