"""COCO keypoint evaluation through pycocotools' COCOeval, and the person
segmentation's IoU, precision and recall."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from rtpe_jax.threed import metrics3d

STAT_NAMES = (
  "AP",
  "AP .5",
  "AP .75",
  "AP (M)",
  "AP (L)",
  "AR",
  "AR .5",
  "AR .75",
  "AR (M)",
  "AR (L)",
)


def evaluate(ground_truth: COCO, results: list[dict] | str, image_ids=None) -> dict[str, float]:
  """The ten standard keypoint numbers of `results` (a list of COCO result dicts or
  a json file), restricted to `image_ids` (default: every image of the ground truth)."""
  if isinstance(results, str):
    with open(results) as f:
      results = json.load(f)
  image_ids = sorted(ground_truth.getImgIds() if image_ids is None else image_ids)
  unknown = {r["image_id"] for r in results} - set(ground_truth.getImgIds())
  if unknown:
    raise ValueError(
      f"results for {len(unknown)} images not in the ground truth, e.g. {sorted(unknown)[:5]}"
    )
  kept = [r for r in results if r["image_id"] in set(image_ids)]
  if not kept:
    return {name: 0.0 for name in STAT_NAMES}
  with contextlib.redirect_stdout(io.StringIO()):
    predictions = ground_truth.loadRes(kept)
    evaluator = COCOeval(ground_truth, predictions, "keypoints")
    evaluator.params.imgIds = image_ids
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
  return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats)}


SEGMENTATION_NAMES = ("segmentation_iou", "segmentation_precision", "segmentation_recall")


def segmentation_counts(
  probability: np.ndarray, person_mask: np.ndarray, ignore_mask: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
  """[true positives, false positives, false negatives] (int64) of one image's
  person probability (H, W) at `threshold` against its person mask (H, W) bool,
  the pixels of `ignore_mask` (crowds, people without keypoints: what training
  ignores) left out."""
  predicted = probability >= threshold
  counted = ~np.asarray(ignore_mask, bool)
  truth = np.asarray(person_mask, bool)
  return np.array(
    [
      np.sum(predicted & truth & counted),
      np.sum(predicted & ~truth & counted),
      np.sum(~predicted & truth & counted),
    ],
    np.int64,
  )


def segmentation_scores(counts: np.ndarray) -> dict[str, float]:
  """IoU, precision and recall of the person class from summed `segmentation_counts`
  (over a split: the pixels of all images together)."""
  tp, fp, fn = (float(v) for v in counts)
  ratio = lambda a, b: a / b if b else 0.0
  return {
    "segmentation_iou": ratio(tp, tp + fp + fn),
    "segmentation_precision": ratio(tp, tp + fp),
    "segmentation_recall": ratio(tp, tp + fn),
  }


def format_table(stats: dict[str, float]) -> str:
  """A two-line table of the ten keypoint numbers and/or the segmentation's three,
  whichever `stats` holds; and the 3D table (`metrics3d.format_table`) of a
  3D student's "3d/" numbers under it."""
  names = [n for n in STAT_NAMES + SEGMENTATION_NAMES if n in stats]
  short = lambda n: n.replace("segmentation_", "seg. ")
  width = max(7, *(len(short(n)) for n in names)) if names else 7
  head = " | ".join(f"{short(name):>{width}}" for name in names)
  row = " | ".join(f"{stats[name]:{width}.4f}" for name in names)
  if "3d/MPJPE" in stats:
    return f"{head}\n{row}\n{metrics3d.format_table(stats, '3d/')}"
  return f"{head}\n{row}"


def ground_truth_results(ground_truth: COCO, image_ids=None) -> list[dict]:
  """The annotations of people with keypoints, as results with score 1."""
  anns = ground_truth.loadAnns(ground_truth.getAnnIds(imgIds=image_ids or []))
  return [
    {"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": 1.0}
    for a in anns
    if a["num_keypoints"] > 0 and not a["iscrowd"]
  ]
