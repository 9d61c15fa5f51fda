"""COCO keypoint evaluation through pycocotools' COCOeval, and the person
segmentation's IoU, precision and recall."""

from __future__ import annotations

import contextlib
import copy
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


def _results(ground_truth: COCO, results: list[dict] | str, image_ids) -> tuple[list, list]:
  """The image ids (sorted) and the results on them; results for images the ground
  truth lacks are an error."""
  if isinstance(results, str):
    with open(results) as f:
      results = json.load(f)
  image_ids = sorted(ground_truth.getImgIds() if image_ids is None else image_ids)
  unknown = {r["image_id"] for r in results} - set(ground_truth.getImgIds())
  if unknown:
    raise ValueError(
      f"results for {len(unknown)} images not in the ground truth, e.g. {sorted(unknown)[:5]}"
    )
  wanted = set(image_ids)
  return image_ids, [r for r in results if r["image_id"] in wanted]


def _evaluated(ground_truth: COCO, kept: list[dict], image_ids, area_ranges=None) -> COCOeval:
  """COCOeval after `evaluate()` (OKS and matches per image), quietly; with
  `area_ranges` ({label: (low, high)}) in place of COCO's all/medium/large."""
  with contextlib.redirect_stdout(io.StringIO()):
    predictions = ground_truth.loadRes(copy.deepcopy(kept))
    evaluator = COCOeval(ground_truth, predictions, "keypoints")
    evaluator.params.imgIds = image_ids
    if area_ranges:
      evaluator.params.areaRng = [list(r) for r in area_ranges.values()]
      evaluator.params.areaRngLbl = list(area_ranges)
    evaluator.evaluate()
  return evaluator


def evaluate(ground_truth: COCO, results: list[dict] | str, image_ids=None) -> dict[str, float]:
  """The ten standard keypoint numbers of `results` (a list of COCO result dicts or
  a json file), restricted to `image_ids` (default: every image of the ground truth)."""
  image_ids, kept = _results(ground_truth, results, image_ids)
  if not kept:
    return {name: 0.0 for name in STAT_NAMES}
  evaluator = _evaluated(ground_truth, kept, image_ids)
  with contextlib.redirect_stdout(io.StringIO()):
    evaluator.accumulate()
    evaluator.summarize()
  return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats)}


# COCO's area ranges (px^2, the person's segmentation area) with "small", which its
# keypoint summary leaves out, and figure heights (px, the box's height).
AREA_RANGES = {"AP (S)": (0, 32**2), "AP (M)": (32**2, 96**2), "AP (L)": (96**2, 1e10)}
HEIGHT_BINS = {"AP h<64": (0, 64), "AP h64-128": (64, 128), "AP h>128": (128, 1e5)}
SIZE_NAMES = ("AP", "AP .5", "AP .75", "AR", *AREA_RANGES, *HEIGHT_BINS)


def _mean_ap(evaluator: COCOeval, a: int) -> float:
  """AP over OKS thresholds and recall points of area range `a` (-1: no person)."""
  precision = evaluator.eval["precision"][:, :, :, a, -1]
  kept = precision[precision > -1]
  return float(kept.mean()) if kept.size else -1.0


def evaluate_by_size(ground_truth: COCO, results: list[dict] | str, image_ids=None) -> dict:
  """AP, AP .5, AP .75 and AR of `results` as `evaluate` gives them, AP by COCO's
  area ranges with small included (`AREA_RANGES`) and AP by figure height
  (`HEIGHT_BINS`): the OKS of every match stays COCO's (scaled by the area); only
  which people count changes. A person's height is its box's; an unmatched
  prediction counts in the bin of its keypoints' vertical extent (COCO: the area
  of their box). -1 where a range holds no person."""
  image_ids, kept = _results(ground_truth, results, image_ids)
  if not kept:
    return {name: 0.0 for name in SIZE_NAMES}
  stats = evaluate(ground_truth, kept, image_ids)
  out = {name: stats[name] for name in ("AP", "AP .5", "AP .75", "AR")}
  ranges = {"all": (0, 1e10), **AREA_RANGES}
  evaluator = _evaluated(ground_truth, kept, image_ids, ranges)
  with contextlib.redirect_stdout(io.StringIO()):
    evaluator.accumulate()
  out.update({name: _mean_ap(evaluator, a + 1) for a, name in enumerate(AREA_RANGES)})
  # Heights: the matches are made per range from the OKS already computed, with each
  # person's "area" read as its height squared (copies: the indexes stay as they are).
  squared = {name: (low**2, high**2) for name, (low, high) in HEIGHT_BINS.items()}
  p = evaluator.params
  p.areaRng, p.areaRngLbl = [list(r) for r in squared.values()], list(squared)
  for key in list(evaluator._gts):
    evaluator._gts[key] = [dict(g, area=g["bbox"][3] ** 2) for g in evaluator._gts[key]]
  for key in list(evaluator._dts):
    evaluator._dts[key] = [dict(d, area=d["bbox"][3] ** 2) for d in evaluator._dts[key]]
  max_det = p.maxDets[-1]
  evaluator.evalImgs = [
    evaluator.evaluateImg(i, c, r, max_det) for c in p.catIds for r in p.areaRng for i in p.imgIds
  ]
  evaluator._paramsEval = copy.deepcopy(p)
  with contextlib.redirect_stdout(io.StringIO()):
    evaluator.accumulate()
  out.update({name: _mean_ap(evaluator, a) for a, name in enumerate(HEIGHT_BINS)})
  return out


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
