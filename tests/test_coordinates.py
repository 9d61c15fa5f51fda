"""The one position convention and its conversions at the boundaries."""

import numpy as np

from rtpe_jax import coordinates


def test_a_peak_and_its_joint_convert_both_ways():
  xy = np.array([[10.25, 3.5], [0.5, 0.5]])
  for stride in (1, 2, 4):
    on_map = coordinates.apply(coordinates.to_map(stride), xy)
    np.testing.assert_allclose(on_map, (xy - 0.5) / stride)
    np.testing.assert_allclose(coordinates.apply(coordinates.from_map(stride), on_map), xy)
  # maps averaged with their mirror's peak at x / s horizontally
  np.testing.assert_allclose(
    coordinates.apply(coordinates.from_map(4, flip_averaged=True), [[2.0, 2.0]]), [[8.0, 8.5]]
  )


def test_coco_indices_are_positions_minus_half_a_pixel_and_unlabelled_joints_stay_zero():
  coco = np.array([[[9.0, 4.0, 2.0], [0.0, 0.0, 0.0]]])
  positions = coordinates.from_coco_keypoints(coco)
  np.testing.assert_array_equal(positions, [[[9.5, 4.5, 2.0], [0.0, 0.0, 0.0]]])
  np.testing.assert_array_equal(coordinates.to_coco_keypoints(positions[:, :1]), coco[:, :1])


def test_the_mirror_and_opencvs_indices():
  flip = coordinates.flip(10.0)
  np.testing.assert_allclose(coordinates.apply(flip, [[2.0, 3.0]]), [[8.0, 3.0]])
  np.testing.assert_allclose(flip @ flip, np.eye(3))
  m = coordinates.scaling(2.0) @ coordinates.translation(1.0, -3.0)
  np.testing.assert_allclose(coordinates.from_opencv(coordinates.opencv_affine(m)), m)
  # a 2x upscale: output pixel (2, 2), centre at position 2.5, samples input position
  # 1.25, index 0.75: bilinear 0.75 of the way from pixels 0 to 1 in x and in y
  image = np.arange(16, dtype=np.float32).reshape(4, 4)
  out = coordinates.warp(image, coordinates.scaling(2.0), (8, 8))
  assert out.shape == (8, 8) and out.dtype == np.float32
  want = 0.0625 * image[0, 0] + 0.1875 * (image[0, 1] + image[1, 0]) + 0.5625 * image[1, 1]
  np.testing.assert_allclose(out[2, 2], want, atol=1e-5)
