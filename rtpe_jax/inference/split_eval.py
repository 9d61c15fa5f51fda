"""A model scored on a split of a COCO-layout dataset: its images read once, each
through a `find(image) -> (keypoints (P, 17, 3), scores (P,))`, the people
scored by COCOeval."""

from __future__ import annotations

import numpy as np
import tqdm

from rtpe_jax.inference import coco_metrics, predictor, protocol


def read_split(root: str, split: str, ids=None, max_images: int = 0):
  """(ground truth COCO, image ids, images (H, W, 3) uint8) of a split: the ids
  `ids` (default all), the first `max_images` of them (0: all)."""
  from rtpe_jax.data import coco
  from rtpe_jax.data.images import read_image

  ground_truth = coco.load_coco(root, split)
  image_ids = coco.select_image_ids(ground_truth, whitelist=ids)
  if max_images:
    image_ids = image_ids[:max_images]
  images = [
    read_image(coco.image_path(root, split, info["file_name"]), info["id"])
    for info in ground_truth.loadImgs(image_ids)
  ]
  return ground_truth, image_ids, images


def results(find, image_ids, images: list[np.ndarray], progress: str = "") -> list[dict]:
  """COCO keypoint results of `find` on each image (a progress bar when
  `progress` names it)."""
  out = []
  pairs = zip(image_ids, images)
  if progress:
    pairs = tqdm.tqdm(pairs, total=len(image_ids), desc=progress, unit="image")
  for image_id, image in pairs:
    out += protocol.coco_results(image_id, *find(image))
  return out


def evaluate_model(
  model_dir: str, root: str, split: str, max_images: int = 0, progress: str = ""
) -> dict:
  """A model directory's COCOeval by size (`coco_metrics.evaluate_by_size`) on a
  split (its first `max_images`; 0: all), through the predictor with exactly the
  published protocol's input and the input size, flip test and grouping its
  arch.json names."""
  ground_truth, image_ids, images = read_split(root, split, max_images=max_images)
  model = predictor.load(model_dir)
  find = lambda image: predictor.predict_image(model, image, buckets=())
  return coco_metrics.evaluate_by_size(
    ground_truth, results(find, image_ids, images, progress), image_ids
  )
