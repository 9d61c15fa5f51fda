"""Each exported format scored with COCOeval beside the JAX path (`predictor` with
the published protocol's exact input, what the trainer scores)."""

from __future__ import annotations

import os

from rtpe_jax.export import formats
from rtpe_jax.export import settings as settings_lib
from rtpe_jax.inference import coco_metrics, predictor, protocol


def evaluate_formats(
  model_dir: str, out_dir: str, root: str, split: str, ids=None, max_images: int = 0
) -> dict[str, dict[str, float]]:
  """COCOeval of each exported format and of the JAX path (`predict`, exact
  protocol sizes, what the trainer scores) on a COCO-layout split (the image ids
  `ids`, default all; the first `max_images`): {"jax": stats, format: stats}."""
  from rtpe_jax.data import coco
  from rtpe_jax.data.images import read_image

  settings = settings_lib.read_settings(out_dir)
  ground_truth = coco.load_coco(root, split)
  image_ids = coco.select_image_ids(ground_truth, whitelist=ids)
  if max_images:
    image_ids = image_ids[:max_images]
  images = [
    read_image(coco.image_path(root, split, info["file_name"]), info["id"])
    for info in ground_truth.loadImgs(image_ids)
  ]
  model = predictor.load(model_dir, input_size=settings.input_size)
  people = {
    "jax": lambda image: predictor.predict_image(
      model, image, settings.flip, buckets=(), cfg=settings.grouping
    )
  }
  for name in formats.FORMATS:
    run = formats.load_runner(os.path.join(out_dir, name))
    people[name] = lambda image, run=run: formats.exported_people(run, image, settings)
  stats = {}
  for name, find in people.items():
    results = []
    for image_id, image in zip(image_ids, images):
      results += protocol.coco_results(image_id, *find(image))
    stats[name] = coco_metrics.evaluate(ground_truth, results, image_ids)
  return stats
