"""The 3D metrics on cases worked out by hand (rtpe_jax/threed/metrics3d.py)."""

import numpy as np
import pytest

from rtpe_jax.threed import metrics3d

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def person(seed: int, root_xyz=(0.0, 0.0, 4000.0)) -> np.ndarray:
  """(17, 3) mm: joints scattered about a standing person's extent, the mid-hip
  at `root_xyz`."""
  rng = np.random.default_rng(seed)
  joints = rng.uniform([-250, -900, -150], [250, 800, 150], (17, 3))
  return joints - metrics3d.root(joints) + np.asarray(root_xyz)


def project(poses: np.ndarray) -> np.ndarray:
  """(N, 17, 3) mm -> (N, 17, 3): pixel positions and visibility 2."""
  uvw = poses @ K.T
  return np.concatenate([uvw[..., :2] / uvw[..., 2:], np.full(poses.shape[:-1] + (1,), 2.0)], -1)


def rotation(axis, angle: float) -> np.ndarray:
  axis = np.asarray(axis, float) / np.linalg.norm(axis)
  x = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
  return np.eye(3) + np.sin(angle) * x + (1 - np.cos(angle)) * x @ x


def test_procrustes_undoes_a_similarity_and_not_a_mirror():
  truth = person(0)
  moved = 1.3 * truth @ rotation([1, 2, 3], 0.7).T + [40.0, -25.0, 300.0]
  assert metrics3d.joint_errors(moved[None], truth[None], "procrustes").max() < 1e-9
  assert metrics3d.joint_errors(moved[None], truth[None], "root").mean() > 100
  mirrored = truth * [-1.0, 1.0, 1.0]
  assert metrics3d.joint_errors(mirrored[None], truth[None], "procrustes").mean() > 10


def test_root_alignment_removes_a_translation_the_absolute_error_keeps():
  truth = person(1)[None]
  shifted = truth + [30.0, 40.0, 0.0]  # 50 mm
  np.testing.assert_allclose(metrics3d.joint_errors(shifted, truth, "root"), 0, atol=1e-9)
  np.testing.assert_allclose(metrics3d.joint_errors(shifted, truth, "none"), 50.0)
  with pytest.raises(ValueError, match="align='mean'"):
    metrics3d.joint_errors(shifted, truth, "mean")


def test_pck_and_its_auc_by_hand():
  errors = np.array([0.0, 10.0, 100.0, 200.0])
  assert metrics3d.pck(errors) == 0.75
  # thresholds 0, 5, ..., 150: error 0 within all 31, 10 within 29, 100 within 11, 200 within 0.
  assert metrics3d.pck_auc(errors) == pytest.approx((31 + 29 + 11 + 0) / (4 * 31), abs=1e-12)


def test_people_are_matched_in_2d_one_to_one():
  truth = np.stack([person(2, (-800, 0, 4000)), person(3, (900, 0, 5000))])
  truth_2d = project(truth)
  far = project(person(4, (0, -3000, 9000))[None])[0, :, :2]
  predicted_2d = np.stack([truth_2d[1, :, :2] + 3.0, far, truth_2d[0, :, :2] - 2.0])
  assert metrics3d.match_people(predicted_2d, truth_2d) == [(2, 0), (0, 1)]
  unlabelled = truth_2d.copy()
  unlabelled[0, :, 2] = 0  # nothing labelled: nothing to match against
  assert metrics3d.match_people(predicted_2d, unlabelled) == [(0, 1)]
  assert metrics3d.match_people(np.zeros((0, 17, 2)), truth_2d) == []


def test_root_ap_by_hand():
  truth = [np.array([[0.0, 0.0, 3000.0], [1000.0, 0.0, 5000.0]])]
  predicted = [np.array([[10.0, 0.0, 3100.0], [0.0, 0.0, 8000.0], [1000.0, 0.0, 5200.0]])]
  scores = [np.array([0.9, 0.8, 0.7])]
  # hit, miss, hit: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1; made monotone 1, 2/3, 2/3.
  assert metrics3d.root_ap(predicted, scores, truth) == pytest.approx(0.5 + 0.5 * 2 / 3)
  # A second prediction on a taken root is a false positive.
  twice = [np.array([[0.0, 0.0, 3000.0], [0.0, 0.0, 3001.0]])]
  assert metrics3d.root_ap(twice, [np.array([0.9, 0.8])], [truth[0][:1]]) == 1.0
  assert metrics3d.root_ap(twice, [np.array([0.8, 0.9])], [truth[0][:1]]) == 1.0


def test_depth_order_counts_pairs():
  truth = np.array([[0, 0, 3000.0], [0, 0, 4000.0], [0, 0, 6000.0]])
  predicted = np.array([[0, 0, 4100.0], [0, 0, 3900.0], [0, 0, 7000.0]])  # the first two swapped
  assert metrics3d.depth_order(predicted, truth) == (2, 3)


def _split():
  truths, predictions = [], []
  for image in range(3):
    poses = np.stack(
      [person(10 * image + i, (700.0 * i - 700, 100.0, 3000.0 + 1500 * i)) for i in range(3)]
    )
    truths.append({"keypoints_2d": project(poses), "keypoints_3d": poses})
    predictions.append(
      {"keypoints_2d": project(poses)[..., :2], "keypoints_3d": poses.copy(), "scores": np.ones(3)}
    )
  return predictions, truths


def test_a_perfect_split_and_one_with_its_roots_moved():
  predictions, truths = _split()
  table = metrics3d.evaluate(predictions, truths)
  assert table["MPJPE"] == table["MRPE"] == 0.0 and table["PA-MPJPE"] < 1e-9
  for key in ("3DPCK", "3DPCK all", "AUC", "3DPCK abs", "root AP 25cm", "depth order"):
    assert table[key] == 1.0, key
  assert (table["matched"], table["people"]) == (9, 9)

  for p in predictions:  # every person 96 mm too far and 72 mm too low: 120 mm
    p["keypoints_3d"] = p["keypoints_3d"] + [0.0, 72.0, 96.0]
  table = metrics3d.evaluate(predictions, truths)
  assert table["MPJPE"] < 1e-9 and table["3DPCK"] == 1.0
  assert table["MRPE"] == pytest.approx(120.0)
  assert (table["MRPE x"], table["MRPE y"], table["MRPE z"]) == pytest.approx((0, 72, 96))
  assert table["3DPCK abs"] == 1.0 and table["root AP 25cm"] == 1.0
  for p in predictions:
    p["keypoints_3d"] = p["keypoints_3d"] + [0.0, 0.0, 150.0]  # now 256 mm off
  table = metrics3d.evaluate(predictions, truths)
  assert table["3DPCK abs"] == 0.0 and table["root AP 25cm"] == 0.0
  assert table["depth order"] == 1.0


def test_a_missed_person_counts_in_all_only():
  predictions, truths = _split()
  predictions[0] = {k: v[1:] for k, v in predictions[0].items()}  # person 0 of image 0 missed
  predictions[1]["keypoints_3d"][2, 5] += [0.0, 0.0, 400.0]  # one joint 400 mm off
  table = metrics3d.evaluate(predictions, truths)
  assert (table["matched"], table["people"]) == (8, 9)
  assert table["3DPCK"] == pytest.approx(1 - 1 / (8 * 17))
  assert table["3DPCK all"] == pytest.approx((8 * 17 - 1) / (9 * 17))
  assert table["MPJPE"] == pytest.approx(
    metrics3d.joint_errors(
      predictions[1]["keypoints_3d"][2:], truths[1]["keypoints_3d"][2:], "root"
    ).sum()
    / (8 * 17)
  )
  assert table["root AP 25cm"] == pytest.approx(8 / 9)


def test_labelled_only_scores_the_joints_in_the_image():
  predictions, truths = _split()
  truths[0]["keypoints_2d"][1, 13:, 2] = 0  # person 1 of image 0: knees and ankles out of frame
  predictions[0]["keypoints_3d"][1, 13:] += [0.0, 0.0, 900.0]  # and those 900 mm off
  every = metrics3d.evaluate(predictions, truths)
  seen = metrics3d.evaluate(predictions, truths, labelled_only=True)
  assert every["MPJPE"] > 0 and every["3DPCK"] == pytest.approx(1 - 4 / (9 * 17))
  assert seen["MPJPE"] == 0.0 and seen["PA-MPJPE"] < 1e-9 and seen["3DPCK"] == 1.0
  predictions[0] = {k: v[2:] for k, v in predictions[0].items()}  # persons 0 and 1 missed
  seen = metrics3d.evaluate(predictions, truths, labelled_only=True)
  labelled = 9 * 17 - 4
  assert seen["3DPCK all"] == pytest.approx((labelled - 17 - 13) / labelled)
