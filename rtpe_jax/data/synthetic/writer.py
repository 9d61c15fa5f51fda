"""A split written in COCO's layout (images/SPLIT/*.jpg, annotations/*.json),
its images made in parallel processes; the result is the same whatever their
number."""

from __future__ import annotations

import json
import multiprocessing
import os

from rtpe_jax import keypoints
from rtpe_jax.data.synthetic import scenes


def _write_one(args):
  out, seed, split, index, size, make = args
  image, info, annotations = make(seed, split, index, size)
  image.save(os.path.join(out, "images", split, info["file_name"]), quality=92, subsampling=0)
  return info, annotations


def write_split(
  out: str,
  split: str,
  count: int,
  seed: int,
  size: int = 256,
  workers: int | None = None,
  make=scenes.make_image,
  description: str = "rtpe-jax synthetic person keypoints",
  annotation_name: str = "person_keypoints_{split}.json",
) -> str:
  """Writes the images and annotation json of one split; returns the json path.
  `make(seed, split, index, size) -> (PIL image, image info, annotations)`, a
  module-level function (the worker processes import it)."""
  os.makedirs(os.path.join(out, "images", split), exist_ok=True)
  os.makedirs(os.path.join(out, "annotations"), exist_ok=True)
  jobs = [(out, seed, split, i, size, make) for i in range(count)]
  workers = workers or min(os.cpu_count() or 1, 8)
  if workers > 1:
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
      results = pool.map(_write_one, jobs, chunksize=max(1, count // (4 * workers)))
  else:
    results = list(map(_write_one, jobs))
  images, annotations = [], []
  for info, anns in results:
    images.append(info)
    for ann in anns:
      annotations.append({"id": len(annotations) + 1, "image_id": info["id"], **ann})
  dataset = {
    "info": {
      "description": f"{description}, seed {seed}",
      "version": "1.0",
      "year": 2026,
    },
    "licenses": [],
    "images": images,
    "annotations": annotations,
    "categories": [keypoints.CATEGORY],
  }
  path = os.path.join(out, "annotations", annotation_name.format(split=split))
  with open(path, "w") as f:
    json.dump(dataset, f)
  return path
