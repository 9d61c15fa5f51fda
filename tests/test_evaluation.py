"""COCO keypoint evaluation: perfect predictions score 1, a known loss a known AP."""

import numpy as np
import pytest

from rtpe_jax import evaluation
from rtpe_jax.data import coco


def expected_ap_for_recall(recall: float) -> float:
  """COCO AP of perfectly placed, equally confident predictions that find a
  fraction `recall` of the people: precision 1 at the 101 recall thresholds up to it."""
  return float(np.mean(np.linspace(0, 1, 101) <= recall + 1e-12))


@pytest.fixture(scope="module")
def ground_truth(synthetic_root):
  return coco.load_coco(synthetic_root, "val2017")


def test_ground_truth_scores_one(ground_truth):
  stats = evaluation.evaluate(ground_truth, evaluation.ground_truth_results(ground_truth))
  assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
  assert "AP (M)" in evaluation.format_table(stats)


def test_missing_half_of_the_people_gives_the_known_ap(ground_truth):
  results = evaluation.ground_truth_results(ground_truth)
  kept = results[: len(results) // 2]
  stats = evaluation.evaluate(ground_truth, kept)
  recall = len(kept) / len(results)
  assert stats["AP"] == pytest.approx(expected_ap_for_recall(recall), abs=1e-6)
  assert stats["AR"] == pytest.approx(recall, abs=1e-6)


def test_shifted_keypoints_score_lower(ground_truth):
  results = evaluation.ground_truth_results(ground_truth)
  for r in results:
    k = np.array(r["keypoints"], float).reshape(17, 3)
    k[:, :2] += 6.0
    r["keypoints"] = k.reshape(-1).tolist()
  assert evaluation.evaluate(ground_truth, results)["AP"] < 0.9


def test_restricted_to_the_listed_images(ground_truth):
  ids = sorted(ground_truth.getImgIds())
  with_people = [i for i in ids if evaluation.ground_truth_results(ground_truth, [i])]
  results = evaluation.ground_truth_results(ground_truth, with_people[:1])
  assert evaluation.evaluate(ground_truth, results, with_people[:1])["AP"] == pytest.approx(1.0)
  assert evaluation.evaluate(ground_truth, results)["AP"] < 1.0
  with pytest.raises(ValueError, match="not in the ground truth"):
    evaluation.evaluate(
      ground_truth, [{"image_id": 12345678, "category_id": 1, "keypoints": [0] * 51, "score": 1.0}]
    )
