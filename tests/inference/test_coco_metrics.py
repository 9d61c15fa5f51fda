"""COCO keypoint evaluation: perfect predictions score 1, a known loss a known AP."""

import numpy as np
import pytest

from rtpe_jax.data import coco
from rtpe_jax.inference import coco_metrics


def expected_ap_for_recall(recall: float) -> float:
  """COCO AP of perfectly placed, equally confident predictions that find a
  fraction `recall` of the people: precision 1 at the 101 recall thresholds up to it."""
  return float(np.mean(np.linspace(0, 1, 101) <= recall + 1e-12))


@pytest.fixture(scope="module")
def ground_truth(synthetic_root):
  return coco.load_coco(synthetic_root, "val2017")


def test_ground_truth_scores_one(ground_truth):
  stats = coco_metrics.evaluate(ground_truth, coco_metrics.ground_truth_results(ground_truth))
  assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
  assert "AP (M)" in coco_metrics.format_table(stats)


def test_missing_half_of_the_people_gives_the_known_ap(ground_truth):
  results = coco_metrics.ground_truth_results(ground_truth)
  kept = results[: len(results) // 2]
  stats = coco_metrics.evaluate(ground_truth, kept)
  recall = len(kept) / len(results)
  assert stats["AP"] == pytest.approx(expected_ap_for_recall(recall), abs=1e-6)
  assert stats["AR"] == pytest.approx(recall, abs=1e-6)


def test_shifted_keypoints_score_lower(ground_truth):
  results = coco_metrics.ground_truth_results(ground_truth)
  for r in results:
    k = np.array(r["keypoints"], float).reshape(17, 3)
    k[:, :2] += 6.0
    r["keypoints"] = k.reshape(-1).tolist()
  assert coco_metrics.evaluate(ground_truth, results)["AP"] < 0.9


def test_restricted_to_the_listed_images(ground_truth):
  ids = sorted(ground_truth.getImgIds())
  with_people = [i for i in ids if coco_metrics.ground_truth_results(ground_truth, [i])]
  results = coco_metrics.ground_truth_results(ground_truth, with_people[:1])
  assert coco_metrics.evaluate(ground_truth, results, with_people[:1])["AP"] == pytest.approx(1.0)
  assert coco_metrics.evaluate(ground_truth, results)["AP"] < 1.0
  with pytest.raises(ValueError, match="not in the ground truth"):
    coco_metrics.evaluate(
      ground_truth, [{"image_id": 12345678, "category_id": 1, "keypoints": [0] * 51, "score": 1.0}]
    )


def test_segmentation_counts_and_scores_by_hand():
  """A 4 x 4 image: people in the left half, a crowd (ignored) in the top-right
  cell; the prediction covers the left three columns and that cell."""
  person = np.zeros((4, 4), bool)
  person[:, :2] = True
  ignore = np.zeros((4, 4), bool)
  ignore[0, 3] = True
  probability = np.zeros((4, 4))
  probability[:, :3] = 0.9
  probability[0, 3] = 1.0  # in the ignored cell: counted nowhere
  probability[3, 0] = 0.4  # below the threshold: a missed person pixel
  counts = coco_metrics.segmentation_counts(probability, person, ignore)
  np.testing.assert_array_equal(counts, [7, 4, 1])  # tp, fp, fn
  scores = coco_metrics.segmentation_scores(counts + counts)  # summed over two images
  assert scores == pytest.approx(
    {"segmentation_iou": 7 / 12, "segmentation_precision": 7 / 11, "segmentation_recall": 7 / 8}
  )
  empty = coco_metrics.segmentation_scores(np.zeros(3, np.int64))
  assert empty == {name: 0.0 for name in coco_metrics.SEGMENTATION_NAMES}
  table = coco_metrics.format_table({**scores, "AP": 0.5})
  assert table.splitlines()[0].split("|")[0].strip() == "AP" and "seg. iou" in table


def _people(ground_truth):
  anns = ground_truth.loadAnns(ground_truth.getAnnIds())
  return [a for a in anns if a["num_keypoints"] > 0 and not a["iscrowd"]]


def _as_result(a):
  return {
    "image_id": a["image_id"],
    "category_id": 1,
    "keypoints": list(a["keypoints"]),
    "score": 1.0,
  }


def test_ap_by_size_of_perfect_predictions_is_one_in_every_range(ground_truth):
  heights = np.array([a["bbox"][3] for a in _people(ground_truth)])
  assert heights.min() < 64 and heights.max() > 128  # every height bin holds people
  stats = coco_metrics.evaluate_by_size(
    ground_truth, coco_metrics.ground_truth_results(ground_truth)
  )
  assert set(stats) == set(coco_metrics.SIZE_NAMES)
  areas = np.array([a["area"] for a in _people(ground_truth)])
  for name, (low, high) in coco_metrics.AREA_RANGES.items():
    held = ((areas >= low) & (areas <= high)).any()
    assert stats[name] == (pytest.approx(1.0) if held else -1.0), name
  for name in ("AP", "AR", *coco_metrics.HEIGHT_BINS):
    assert stats[name] == pytest.approx(1.0), name


def test_ap_by_height_counts_only_the_bins_people(ground_truth):
  """Without the people under 64 px tall: the other bins stay perfect, the first
  finds nobody; the overall numbers and COCO's medium and large are `evaluate`'s."""
  kept = [_as_result(a) for a in _people(ground_truth) if a["bbox"][3] >= 64]
  stats = coco_metrics.evaluate_by_size(ground_truth, kept)
  assert stats["AP h64-128"] == pytest.approx(1.0) and stats["AP h>128"] == pytest.approx(1.0)
  assert stats["AP h<64"] == 0.0, stats
  standard = coco_metrics.evaluate(ground_truth, kept)
  for name in ("AP", "AP .5", "AP .75", "AR", "AP (M)", "AP (L)"):
    assert stats[name] == pytest.approx(standard[name], abs=1e-12), name
  assert stats["AP"] < 0.95
