"""COCO keypoint evaluation through pycocotools' COCOeval."""

from __future__ import annotations

import contextlib
import io
import json

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

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


def format_table(stats: dict[str, float]) -> str:
  """A two-line table of the ten numbers."""
  head = " | ".join(f"{name:>7}" for name in STAT_NAMES)
  row = " | ".join(f"{stats[name]:7.4f}" for name in STAT_NAMES)
  return f"{head}\n{row}"


def ground_truth_results(ground_truth: COCO, image_ids=None) -> list[dict]:
  """The annotations of people with keypoints, as results with score 1."""
  anns = ground_truth.loadAnns(ground_truth.getAnnIds(imgIds=image_ids or []))
  return [
    {"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": 1.0}
    for a in anns
    if a["num_keypoints"] > 0 and not a["iscrowd"]
  ]
