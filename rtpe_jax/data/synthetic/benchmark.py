"""The students' benchmark: three synthetic splits from one fixed set of generator
parameters, written by

  python -m rtpe_jax.data.synthetic --benchmark --out data/benchmark

  train2017      2048 images: what every candidate and the synthetic teacher train on
  selection2017   512 images: where designs are chosen and tuned
  benchmark2017   512 images: scores the table and the goals, nothing else

Each split has its own generator seed. Scenes hold 1 to 6 people 30 px to the
image's height (256 px) tall, under 64, 64 to 128 and over 128 px in shares of
35/35/30 % (the height bins the benchmark reports, `coco_metrics.HEIGHT_BINS`),
or, one scene in five, a crowd of 10 to 14 people 40 to 130 px tall standing in
one band, overlapping and hiding one another. The benchmark split holds 2,606
people with keypoints (672 / 1,388 / 546 by height; COCO's small, medium and
large by area 911 / 1,624 / 71), 105 images with 10 or more. This module is the
one place these parameters are fixed: once the benchmark is defined it is not
tuned to (docs/student.md).
"""

from __future__ import annotations

from rtpe_jax.data.synthetic import scenes, writer

PARAMS = scenes.SceneParams(
  people=(1, 6),
  heights=(
    scenes.HeightBin("under 64", 0.35, 30.0, 64.0),
    scenes.HeightBin("64 to 128", 0.35, 64.0, 128.0),
    scenes.HeightBin("over 128", 0.30, 0.5, 1.0, of_image_height=True),
  ),
  unannotated_bin="under 64",
  unannotated=0.1,
  crowd_scene=0.2,
  crowd_people=(10, 14),
  crowd_heights=(40.0, 130.0),
  crowd_band=(0.35, 0.85),
  crowd_region=0.15,
)
SIZE = 256  # the images' height
# split: (generator seed, images)
SPLITS = {
  "train2017": (4601, 2048),
  "selection2017": (4602, 512),
  "benchmark2017": (4603, 512),
}
TRAIN, SELECTION, BENCHMARK = SPLITS


def make_image(seed: int, split: str, index: int, size: int = SIZE):
  """One benchmark image and its annotations (`scenes.make_image` with `PARAMS`)."""
  return scenes.make_image(seed, split, index, size, PARAMS)


def write(out: str, workers: int | None = None, splits=tuple(SPLITS)) -> dict[str, str]:
  """Writes the benchmark's splits (COCO layout) under `out`; returns each split's
  annotation json."""
  paths = {}
  for split in splits:
    seed, count = SPLITS[split]
    paths[split] = writer.write_split(
      out,
      split,
      count,
      seed,
      SIZE,
      workers,
      make=make_image,
      description="rtpe-jax synthetic person keypoints benchmark",
    )
  return paths
