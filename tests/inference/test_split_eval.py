"""A model scored on a split (rtpe_jax/inference/split_eval.py): the images read
in the ground truth's order, each image's people turned into COCO results."""

import numpy as np
import pytest

from rtpe_jax import coordinates
from rtpe_jax.inference import coco_metrics, split_eval


def test_the_ground_truths_people_found_score_one(synthetic_root):
  ground_truth, image_ids, images = split_eval.read_split(synthetic_root, "val2017")
  assert image_ids == sorted(ground_truth.getImgIds()) and len(images) == len(image_ids)
  info = ground_truth.loadImgs(image_ids)
  assert [im.shape[:2] for im in images] == [(i["height"], i["width"]) for i in info]
  queue = list(image_ids)

  def find(image):  # the next image's annotated people, as a perfect network gives them
    anns = ground_truth.loadAnns(ground_truth.getAnnIds(imgIds=[queue.pop(0)]))
    people = [a for a in anns if a["num_keypoints"] > 0 and not a["iscrowd"]]
    keypoints = np.array([np.reshape(a["keypoints"], (17, 3)) for a in people], float)
    keypoints = coordinates.from_coco_keypoints(keypoints.reshape(-1, 17, 3))
    return keypoints, np.ones(len(people))

  results = split_eval.results(find, image_ids, images)
  truth = coco_metrics.ground_truth_results(ground_truth, image_ids)
  # The labelled joints' positions back in COCO's convention exactly.
  got = np.array([r["keypoints"] for r in results]).reshape(-1, 17, 3)
  want = np.array([t["keypoints"] for t in truth], float).reshape(-1, 17, 3)
  labelled = want[..., 2] > 0
  assert np.array_equal(got[labelled][:, :2], want[labelled][:, :2]) and labelled.sum() > 50
  assert coco_metrics.evaluate_by_size(ground_truth, results, image_ids)["AP"] == pytest.approx(1.0)
  _, first, _ = split_eval.read_split(synthetic_root, "val2017", max_images=3)
  assert first == image_ids[:3]
