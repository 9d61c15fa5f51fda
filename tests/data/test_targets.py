"""Ground-truth heatmaps, associative-embedding targets and loss weights."""

import numpy as np
import tensorflow as tf

from rtpe_jax.data import targets


def person(points, visibility=2):
  joints = np.zeros((17, 3), np.float32)
  for k, (x, y) in points.items():
    joints[k] = (x, y, visibility)
  return joints


def test_heatmap_peaks_at_the_joints_at_two_strides_and_spreads():
  """A joint at input position x peaks at map position (x - 0.5) / s, i.e. in
  column (x - 0.5) / s - 0.5: where the test protocol (half-pixel bilinear
  resize, grouping's + 0.5, then `coordinates.from_map`'s + 0.5) reports x."""
  for stride, size in ((4, (64, 64)), (2, (128, 128))):
    at = lambda column, row: (stride * (column + 0.5) + 0.5, stride * (row + 0.5) + 0.5)
    joints = np.stack([person({0: at(10, 6), 5: at(25, 15)}), person({0: at(50, 30)})])
    maps = targets.gaussian_heatmaps(joints, size, stride, sigmas=(2.0, 1.0))
    assert maps.shape == (2, *size, 17)
    for column, row, k in ((10, 6, 0), (25, 15, 5), (50, 30, 0)):
      np.testing.assert_allclose(maps[:, row, column, k], 1.0)
      upsampled = stride * column + (stride - 1) / 2  # bilinear, half-pixel centres
      assert upsampled + 0.5 + 0.5 == at(column, row)[0]  # grouping's + 0.5, from_map's
    # A wider Gaussian puts more mass around the same peak; joints without annotations are 0.
    assert maps[0, ..., 0].sum() > maps[1, ..., 0].sum()
    assert not maps[..., 1].any()


def test_heatmap_value_follows_the_gaussian_and_is_cut_at_three_sigma():
  maps = targets.gaussian_heatmaps(person({3: (21.0, 21.0)})[None], (32, 32), 1, sigmas=(2.0,))
  np.testing.assert_allclose(maps[0, 20, 22, 3], np.exp(-4 / 8), rtol=1e-6)
  np.testing.assert_allclose(maps[0, 23, 20, 3], np.exp(-9 / 8), rtol=1e-6)
  assert maps[0, 20, 27, 3] == 0  # 7 px > 3 sigma


def test_overlapping_people_take_the_maximum_not_the_sum():
  joints = np.stack([person({0: (11.0, 11.0)}), person({0: (13.0, 11.0)})])
  maps = targets.gaussian_heatmaps(joints, (24, 24), 1, sigmas=(2.0,))
  assert maps.max() <= 1.0
  np.testing.assert_allclose(maps[0, 10, 11, 0], np.exp(-1 / 8), rtol=1e-6)


def test_invisible_and_outside_joints_give_nothing():
  joints = np.stack([person({0: (10, 10)}, visibility=0), person({1: (-5, 4), 2: (40, 4)})])
  maps = targets.gaussian_heatmaps(joints, (16, 16), 1, sigmas=(1.0,))
  assert not maps.any()
  tags = targets.tag_targets(joints, (16, 16), 1)
  assert not tags[..., 1].any()


def test_tag_targets_hold_flat_positions_of_visible_joints():
  """The tag of a joint sits in the map pixel of its peak, floor((x - 0.5) / s)."""
  joints = np.stack([person({0: (8.5, 4.5), 16: (13.5, 9.5)}), person({5: (2.5, 15.5)}, 1)])
  tags = targets.tag_targets(joints, (32, 32), 2)
  assert tags.shape == (30, 17, 2) and tags.dtype == np.int32
  assert tuple(tags[0, 0]) == (2 * 32 + 4, 1)
  assert tuple(tags[0, 16]) == (4 * 32 + 6, 1)
  assert tuple(tags[1, 5]) == (7 * 32 + 1, 1)
  assert tags[..., 1].sum() == 3
  # Half a pixel before the map pixel's start: the peak is in the pixel before.
  tags = targets.tag_targets(person({0: (8.25, 4.5)})[None], (32, 32), 2)
  assert tuple(tags[0, 0]) == (2 * 32 + 3, 1)


def test_tag_targets_keep_at_most_max_people():
  joints = np.stack([person({0: (i + 0.5, i + 0.5)}) for i in range(40)])
  tags = targets.tag_targets(joints, (64, 64), 1)
  assert tags.shape[0] == 30 and tags[:, 0, 1].sum() == 30


def test_loss_weights_zero_in_ignored_regions():
  ignore = np.zeros((4, 6), bool)
  ignore[1:3, 2:5] = True
  weights = targets.loss_weights(ignore)
  assert weights.dtype == np.float32 and weights.sum() == 24 - 6
  assert not weights[ignore].any()


def test_tf_targets_equal_the_numpy_reference():
  rng = np.random.default_rng(3)
  joints = np.concatenate([rng.uniform(-20, 150, (5, 17, 2)), rng.integers(0, 3, (5, 17, 1))], -1)
  for stride, sigma in ((4, 2.0), (2, 1.0), (4, 3.5)):
    want = targets.gaussian_heatmaps(joints, (32, 40), stride, [sigma])[0]
    got = targets.gaussian_heatmap_tf(tf.constant(joints, tf.float32), (32, 40), stride, sigma)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-6)
  want = targets.tag_targets(joints, (32, 40), 4, max_people=30)
  got = targets.tag_targets_tf(tf.constant(joints, tf.float32), (32, 40), 4, max_people=30)
  np.testing.assert_array_equal(got.numpy(), want)
  got = targets.tag_targets_tf(tf.constant(joints, tf.float32), (32, 40), 4, max_people=3)
  np.testing.assert_array_equal(got.numpy(), targets.tag_targets(joints, (32, 40), 4, 3))
