"""Minival numbers during training: AP by the published protocol through the one
predictor (`rtpe_jax.inference.predictor`) and COCOeval, with the COCO results file and
overlay pictures; a student's person segmentation (IoU, precision, recall of
its attention map), the measure of phase 1; and a 3D student's people in camera
space against the 3D annotations (`rtpe_jax.threed.metrics3d`), phase 4.
`config.eval.metrics` chooses."""

from __future__ import annotations

import json
import os

import numpy as np

from rtpe_jax import coordinates, resize
from rtpe_jax.data import coco
from rtpe_jax.data.images import read_image
from rtpe_jax.inference import coco_metrics, grouping, overlays, predictor, protocol
from rtpe_jax.threed import metrics3d
from rtpe_jax.train import model_factory


@protocol.inference_jit(static_argnames=("network",))
def _person_probability(network, variables, images):
  """images (1, H, W, 3) uint8 -> the person probability (H, W), the segmentation
  map resized to the input (bilinear, half-pixel centres)."""
  probability = network(variables, images)[..., None]
  return resize.bilinear(probability, images.shape[1:3])[0, ..., 0]


class Evaluator:
  """Minival numbers of a model's variables over the eval split's images (read
  once): AP by the test protocol and COCOeval, and/or the person segmentation."""

  def __init__(self, module, config):
    cfg = config.data
    split = config.eval.split or cfg.eval_split
    ids_file = config.eval.ids or cfg.eval_ids
    ids = coco.read_id_list(ids_file) if ids_file else None
    key = "eval.ids" if config.eval.ids else "data.eval_ids"
    self.root, self.split = cfg.root, split
    self.ground_truth = coco.load_coco(cfg.root, split)
    self.image_ids = coco.select_image_ids(
      self.ground_truth,
      whitelist=ids,
      listed_in=f"{ids_file} (config.{key})",
      annotations=coco.annotation_file(cfg.root, split),
    )
    if config.eval.max_images:
      self.image_ids = self.image_ids[: config.eval.max_images]
    self.images = [
      read_image(coco.image_path(cfg.root, split, info["file_name"]), info["id"])
      for info in self.ground_truth.loadImgs(self.image_ids)
    ]
    # The published protocol: no buckets, the config's scales, flip test and map stride.
    self.network, self.spec = predictor.network_and_spec(module, fold=False)
    self.input_size = config.eval.input_size or cfg.input_size
    self.scales, self.flip = tuple(config.eval.scales), config.eval.flip
    self.map_stride = int(config.eval.map_stride)
    self.grouping = grouping.GroupingConfig(**model_factory.grouping_settings(config))
    self.metrics = tuple(config.eval.metrics)
    # The BCE's positive weight w moves a trained probability from p to
    # w p / (w p + 1 - p): a person pixel (p >= 0.5) is one at >= w / (1 + w).
    pos_weight = float(config.loss.segmentation_pos_weight)
    self.segmentation_threshold = pos_weight / (1.0 + pos_weight)
    self.segmentation_network = None
    if "segmentation" in self.metrics:
      from rtpe_jax.models.student import segmentation_output

      self.segmentation_network = segmentation_output(module)

  def model(self, variables) -> predictor.Model:
    # Trained here: the flip test without the reference's bias (`protocol.flip_shift`).
    return predictor.Model(
      self.network,
      variables,
      self.spec,
      self.input_size,
      grouping=self.grouping,
      unbiased_flip=True,
      map_stride=self.map_stride,
    )

  def results(self, variables) -> list[dict]:
    return self._predictions(variables)[0]

  def _predictions(self, variables) -> tuple[list[dict], list[dict]]:
    """COCO keypoint results, and with "3d" in the metrics each image's people in
    2D and 3D (`metrics3d.evaluate`'s predictions; one network run for both)."""
    model, out, people_3d = self.model(variables), [], []
    for image_id, image in zip(self.image_ids, self.images):
      if "3d" in self.metrics:
        K = self.ground_truth.imgs[image_id]["intrinsics"]
        keypoints, scores, keypoints_3d = predictor.predict_image_3d(
          model, image, K, self.flip, buckets=()
        )
        people_3d.append(
          {"keypoints_2d": keypoints, "keypoints_3d": keypoints_3d, "scores": scores}
        )
      else:
        keypoints, scores = predictor.predict_image(
          model, image, self.flip, buckets=(), scales=self.scales
        )
      out += protocol.coco_results(image_id, keypoints, scores)
    return out, people_3d

  def truths_3d(self) -> list[dict]:
    """Per image the 3D annotations of its people with keypoints (crowds left
    out): keypoints_2d (G, 17, 3) positions, keypoints_3d (G, 17, 3) mm."""
    return [truth_3d(self.ground_truth, image_id) for image_id in self.image_ids]

  @property
  def best_metric(self) -> str:
    """What the best checkpoint is chosen by: AP, or the segmentation's IoU."""
    return "AP" if "keypoints" in self.metrics else "segmentation_iou"

  def segmentation(self, variables) -> dict[str, float]:
    """IoU, precision and recall of the person segmentation over the split: the
    probability at the protocol's scale-1 input (no flip), mapped back onto each
    image, at `segmentation_threshold` (0.5 after the loss's positive weight:
    7 / 8 for HigherHRNet's weight 7) against the union of its people's masks
    (crowds and people without keypoints left out, as in training)."""
    counts = np.zeros(3, np.int64)
    for image_id, image in zip(self.image_ids, self.images):
      resized, center, scale, size = protocol.protocol_resize(image, self.input_size)
      probability = np.asarray(
        _person_probability(self.segmentation_network, variables, resized[None])
      )
      to_image = np.linalg.inv(protocol.resize_affine(center, scale, size))
      probability = coordinates.warp(probability, to_image, image.shape[:2])
      ann = coco.image_annotations(self.ground_truth, self.root, self.split, image_id)
      counts += coco_metrics.segmentation_counts(
        probability, ann.person_mask, ann.ignore_mask, self.segmentation_threshold
      )
    return coco_metrics.segmentation_scores(counts)

  def __call__(self, variables, results_path: str = "") -> dict[str, float]:
    """What `config.eval.metrics` asks for: AP, AR and the rest of COCOeval's table
    (with `results_path`, the COCO keypoint results are written there too: JSON,
    written whole then renamed) and/or the segmentation's IoU, precision, recall."""
    stats = {}
    if "keypoints" in self.metrics:
      results, people_3d = self._predictions(variables)
      if results_path:
        with open(results_path + ".tmp", "w") as f:
          json.dump(results, f)
        os.replace(results_path + ".tmp", results_path)
      stats.update(coco_metrics.evaluate(self.ground_truth, results, self.image_ids))
      if people_3d:
        table = metrics3d.evaluate(people_3d, self.truths_3d(), labelled_only=True)
        stats.update({f"3d/{k}": v for k, v in table.items()})
    if self.segmentation_network is not None:
      stats.update(self.segmentation(variables))
    return stats

  def write_overlays(
    self, variables, out_dir: str, count: int, min_score: float = 0.2
  ) -> list[str]:
    """Overlay PNGs (people with score >= min_score, ground truth, heatmaps,
    tags, and for a 3D student the top view) of the first `count` images."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for image_id, image in list(zip(self.image_ids, self.images))[:count]:
      path = os.path.join(out_dir, f"{image_id}.png")
      truth = coco.image_annotations(self.ground_truth, self.root, self.split, image_id).joints
      three_d = {}
      if "3d" in self.metrics:  # the people seen from above, the truth in grey beneath
        three_d = {
          "intrinsics": self.ground_truth.imgs[image_id]["intrinsics"],
          "truth_3d": truth_3d(self.ground_truth, image_id)["keypoints_3d"],
        }
      overlays.overlay_with_maps(
        self.model(variables), image, self.flip, min_score=min_score, truth=truth, **three_d
      ).save(path)
      paths.append(path)
    return paths


def truth_3d(ground_truth, image_id: int) -> dict:
  """The 3D annotations of one image of a COCO index (`data.synthetic3d`): its
  people with keypoints, crowds left out, as `metrics3d.evaluate` takes them."""
  anns = ground_truth.loadAnns(ground_truth.getAnnIds(imgIds=image_id))
  people = [a for a in anns if a["num_keypoints"] > 0 and not a["iscrowd"]]
  if any("keypoints_3d" not in a for a in people):
    raise ValueError(f"image {image_id}: people without keypoints_3d (not 3D data)")
  keypoints = np.reshape([a["keypoints"] for a in people], (-1, 17, 3)).astype(np.float32)
  return {
    "keypoints_2d": coordinates.from_coco_keypoints(keypoints),
    "keypoints_3d": np.reshape([a["keypoints_3d"] for a in people], (-1, 17, 3)),
  }
