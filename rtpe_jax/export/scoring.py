"""Each exported format scored with COCOeval beside the JAX path (`predictor` with
the published protocol's exact input, what the trainer scores)."""

from __future__ import annotations

import os

from rtpe_jax.export import formats
from rtpe_jax.export import settings as settings_lib
from rtpe_jax.inference import coco_metrics, predictor, split_eval


def evaluate_formats(
  model_dir: str, out_dir: str, root: str, split: str, ids=None, max_images: int = 0
) -> dict[str, dict[str, float]]:
  """COCOeval of each exported format and of the JAX path (`predict`, exact
  protocol sizes, what the trainer scores) on a COCO-layout split (the image ids
  `ids`, default all; the first `max_images`): {"jax": stats, format: stats}."""
  settings = settings_lib.read_settings(out_dir)
  ground_truth, image_ids, images = split_eval.read_split(root, split, ids, max_images)
  model = predictor.load(model_dir, input_size=settings.input_size)
  people = {
    "jax": lambda image: predictor.predict_image(
      model, image, settings.flip, buckets=(), cfg=settings.grouping
    )
  }
  for name in formats.FORMATS:
    run = formats.load_runner(os.path.join(out_dir, name))
    people[name] = lambda image, run=run: formats.exported_people(run, image, settings)
  return {
    name: coco_metrics.evaluate(
      ground_truth, split_eval.results(find, image_ids, images), image_ids
    )
    for name, find in people.items()
  }
