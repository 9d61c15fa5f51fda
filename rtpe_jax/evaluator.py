"""Minival AP during training: the published protocol through the one predictor
(`rtpe_jax.predict`), COCOeval, the COCO results file and overlay pictures."""

from __future__ import annotations

import json
import os

from rtpe_jax import evaluation, grouping, inference, predict, training, visualize
from rtpe_jax.data import coco
from rtpe_jax.data.images import read_image


class Evaluator:
  """Minival AP of a model's variables: the test protocol and COCOeval over the
  eval split's images (read once)."""

  def __init__(self, module, config):
    cfg = config.data
    split = config.eval.split or cfg.eval_split
    ids_file = config.eval.ids or cfg.eval_ids
    ids = coco.read_id_list(ids_file) if ids_file else None
    self.root, self.split = cfg.root, split
    self.ground_truth = coco.load_coco(cfg.root, split)
    self.image_ids = coco.select_image_ids(self.ground_truth, whitelist=ids)
    if config.eval.max_images:
      self.image_ids = self.image_ids[: config.eval.max_images]
    self.images = [
      read_image(coco.image_path(cfg.root, split, info["file_name"]), info["id"])
      for info in self.ground_truth.loadImgs(self.image_ids)
    ]
    # The published protocol: no buckets, the config's scales and flip test.
    self.network, self.spec = predict.network_and_spec(module, fold=False)
    self.input_size = config.eval.input_size or cfg.input_size
    self.scales, self.flip = tuple(config.eval.scales), config.eval.flip
    self.grouping = grouping.GroupingConfig(**training.grouping_settings(config))

  def model(self, variables) -> predict.Model:
    return predict.Model(
      self.network, variables, self.spec, self.input_size, grouping=self.grouping
    )

  def results(self, variables) -> list[dict]:
    model, out = self.model(variables), []
    for image_id, image in zip(self.image_ids, self.images):
      keypoints, scores = predict.predict_image(
        model, image, self.flip, buckets=(), scales=self.scales
      )
      out += inference.coco_results(image_id, keypoints, scores)
    return out

  def __call__(self, variables, results_path: str = "") -> dict[str, float]:
    """AP, AR and the rest of COCOeval's table; with `results_path`, the COCO
    keypoint results are written there too (JSON, written whole then renamed)."""
    results = self.results(variables)
    if results_path:
      with open(results_path + ".tmp", "w") as f:
        json.dump(results, f)
      os.replace(results_path + ".tmp", results_path)
    return evaluation.evaluate(self.ground_truth, results, self.image_ids)

  def write_overlays(
    self, variables, out_dir: str, count: int, min_score: float = 0.2
  ) -> list[str]:
    """Overlay PNGs (people with score >= min_score, ground truth, heatmaps,
    tags) of the first `count` images."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for image_id, image in list(zip(self.image_ids, self.images))[:count]:
      path = os.path.join(out_dir, f"{image_id}.png")
      truth = coco.image_annotations(self.ground_truth, self.root, self.split, image_id).joints
      visualize.overlay_with_maps(
        self.model(variables), image, self.flip, min_score=min_score, truth=truth
      ).save(path)
      paths.append(path)
    return paths
