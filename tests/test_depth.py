"""The 3D student's depth maps (rtpe_jax/depth.py): targets by hand, the camera
ray inverted, and a perfect network's maps through the whole protocol to
camera-space people scored against the synthetic 3D truth."""

import numpy as np
import pytest
from conftest import mirrored_as_in_training, perfect_maps, perfect_network

from rtpe_jax import coordinates, depth
from rtpe_jax.data import coco
from rtpe_jax.data.synthetic import writer as synthetic_writer
from rtpe_jax.inference import predictor, protocol
from rtpe_jax.threed import metrics3d, synthetic3d
from rtpe_jax.train.minival import truth_3d


def test_targets_hold_the_root_and_relative_depths_around_each_joint():
  joints = np.zeros((2, 17, 3), np.float32)
  joints[0, 0] = [10.5, 6.5, 2]  # map position (2.5, 1.5) at stride 4: pixel (1, 2)'s centre
  joints[0, 5] = [30.5, 22.5, 1]  # (7.5, 5.5)
  joints[1, 0] = [14.5, 6.5, 2]  # one map pixel right of person 0's nose, nearer
  depths = np.zeros((2, 18), np.float32)
  depths[0, :17], depths[0, 17] = 5200.0, 5000.0
  depths[1, :17], depths[1, 17] = 3300.0, 3000.0
  focal = 250.0
  values, weights = depth.depth_targets(joints, depths, focal, (12, 12), 4)
  assert values.shape == weights.shape == (12, 12, 18)
  # Person 0's shoulder alone at (7.5, 5.5): the 3 x 3 pixels around it and the
  # 4 at distance 1.5 straight out... the disc of radius 1.5 holds 9 centres.
  assert weights[..., 6].sum() == 9 and weights[5, 7, 6] == 1 and weights[5, 9, 6] == 0
  np.testing.assert_allclose(values[5, 7, 0], 5000.0 / (250.0 * 20.0))
  np.testing.assert_allclose(values[5, 7, 6], 0.2)
  # Around both noses the nearer person (1) wins where the discs overlap.
  np.testing.assert_allclose(values[1, 3, 0], 3000.0 / 5000.0)
  np.testing.assert_allclose(values[1, 3, 1], 0.3)
  np.testing.assert_allclose(values[1, 1, 0], 1.0)  # only person 0 reaches column 1
  assert weights[..., 2:6].sum() == 0 and weights[..., 7:].sum() == 0  # unlabelled joints


def test_a_flip_swaps_left_and_right_depths_and_keeps_the_root():
  depths = np.arange(18, dtype=np.float32)[None]
  swapped = depth.flipped(depths)[0]
  assert swapped[17] == 17 and swapped[1] == 2 and swapped[2] == 1 and swapped[0] == 0
  assert depth.FLIP_CHANNELS[:3] == (0, 1, 3)


def test_back_projection_inverts_the_camera():
  K = synthetic3d.intrinsics(320, 256, 60.0)
  points = np.array([[[-800.0, 300.0, 4000.0], [1200.0, -500.0, 7000.0]]])
  positions = synthetic3d.project(points, K) + 0.5  # indices -> positions
  np.testing.assert_allclose(depth.back_project(positions, points[..., 2], K), points, atol=1e-6)
  assert depth.affine_scale(coordinates.scaling(0.75) @ coordinates.flip(100)) == pytest.approx(
    0.75
  )


@pytest.fixture(scope="module")
def val3d(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("synthetic3d"))
  synthetic_writer.write_split(out, "val2017", 16, seed=0, workers=1, make=synthetic3d.make_image)
  return out


def perfect_3d_outputs(joints, depths, focal, hw, flip: bool, stride: int = 4):
  """A perfect 3D student's outputs for one input of `hw` holding `joints`:
  heatmaps and tags at 1/stride, and the depth targets at 1/4 (the mirror's too)."""
  runs = [(joints, depths)]
  if flip:
    runs.append((mirrored_as_in_training(joints, hw), depth.flipped(depths)))
  out_hw = (hw[0] // 4, hw[1] // 4)
  maps = [perfect_maps(j, hw, stride) for j, _ in runs]
  depth_maps = [depth.depth_targets(j, d, focal, out_hw, 4)[0] for j, d in runs]
  return {"outputs": [np.stack(maps), np.stack(depth_maps)]}


# Measured (flip off / on), MPJPE and PA-MPJPE of the split's joints in the image,
# and the MPJPE of the people seen whole, in mm: heatmaps at stride 4: 28.0 / 28.3,
# 22.7, 18.8 / 19.9; at stride 1: 12.7 / 12.8, 10.4, 4.4 / 4.5.
BOUNDS = {4: (32.0, 26.0, 21.0), 1: (14.0, 11.5, 5.0)}


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("stride", [4, 1])
def test_a_perfect_network_gives_the_people_in_camera_space(val3d, flip, stride):
  """Synthetic 3D labels -> depth targets at the protocol's input -> the
  predictor (flip test, grouping, reading, back-projection) -> people in mm.
  The depth of every joint seen in the image comes back exact; x and y carry
  the 2D chain's error (a quarter of a 4-px map pixel is 20 mm at 9 m: with
  heatmaps at 1/4 the people seen whole are within 21 mm, with heatmaps at
  full resolution within 5); joints under a nearer person read the nearer
  one's values, which caps the split's figures; joints outside the image
  (v = 0) are not scored (no figure under them)."""
  ground_truth = coco.load_coco(val3d, "val2017")
  spec = protocol.OutputSpec(with_heatmaps=(True,), with_tags=(True,), depth=True)
  predictions, truths, depth_errors, whole = [], [], [], []
  for image_id in coco.select_image_ids(ground_truth):
    ann = coco.image_annotations(ground_truth, val3d, "val2017", image_id)
    K = np.asarray(ground_truth.imgs[image_id]["intrinsics"])
    size, center, scale = protocol.scale_size(ann.height, ann.width, 256, 1.0, 1.0)
    to_input = protocol.resize_affine(center, scale, size)
    joints = ann.joints.copy()
    joints[..., :2] = coordinates.apply(to_input, joints[..., :2])
    focal = ann.focal * depth.affine_scale(to_input)
    variables = perfect_3d_outputs(joints, ann.depths, focal, (size[1], size[0]), flip, stride)
    model = predictor.Model(perfect_network, variables, spec, 256, flip=flip)
    image = np.zeros((ann.height, ann.width, 3), np.uint8)
    keypoints, scores, keypoints_3d = predictor.predict_image_3d(model, image, K, buckets=())
    predictions.append({"keypoints_2d": keypoints, "keypoints_3d": keypoints_3d, "scores": scores})
    truth = truth_3d(ground_truth, image_id)
    truths.append(truth)
    for p, g in metrics3d.match_people(keypoints[..., :2], truth["keypoints_2d"]):
      seen = truth["keypoints_2d"][g, :, 2] == 2
      if seen.all():
        whole.append(
          metrics3d.joint_errors(keypoints_3d[p : p + 1], truth["keypoints_3d"][g : g + 1], "root")
        )
        depth_errors.append(np.abs(keypoints_3d[p, :, 2] - truth["keypoints_3d"][g, :, 2]))
  table = metrics3d.evaluate(predictions, truths, labelled_only=True)
  assert table["people"] >= 30 and table["matched"] == table["people"]
  mpjpe, pa_mpjpe, whole_mpjpe = BOUNDS[stride]
  assert table["MPJPE"] < mpjpe and table["PA-MPJPE"] < pa_mpjpe, table
  assert table["3DPCK"] > 0.97 and table["depth order"] == 1.0, table
  assert table["root AP 25cm"] > 0.9, table
  assert len(whole) >= 10
  assert np.max(depth_errors) < 0.5  # mm: the joints' depth as written (0.1-mm json rounding)
  assert np.mean(whole) < whole_mpjpe, np.mean(whole)  # mm: the 2D chain's error, projected
