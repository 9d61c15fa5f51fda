"""The lifter (rtpe_jax/threed/lifter.py): camera-free features, the generated stream,
learning a few people by heart, resumable training and the command line."""

import os

import numpy as np

from rtpe_jax.threed import lifter, synthetic3d

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_features_do_not_depend_on_the_camera_or_the_scale():
  _, _, camera = lifter.sample_people(np.random.default_rng(0), 8)
  K1 = synthetic3d.intrinsics(320, 256, 60.0)
  K2 = synthetic3d.intrinsics(640, 480, 45.0)
  seen = np.ones((8, 17), bool)
  from_1 = lifter.features(lifter.rays(synthetic3d.project(camera, K1), K1), seen)
  from_2 = lifter.features(lifter.rays(synthetic3d.project(camera, K2), K2), seen)
  np.testing.assert_allclose(from_1, from_2, atol=1e-5)
  # A scene twice as large, twice as far, looks the same.
  ray = camera[..., :2] / camera[..., 2:]
  np.testing.assert_allclose(from_1, lifter.features(ray, seen), atol=1e-5)
  np.testing.assert_allclose(
    from_1, lifter.features(2 * camera[..., :2] / (2 * camera[..., 2:]), seen), atol=1e-5
  )
  # The root's ray is the mean of the hips' rays; the relative rays spread with RMS 1.
  np.testing.assert_allclose(from_1[:, -2:], ray[:, 11:13].mean(1), atol=1e-6)
  relative = from_1[:, :34].reshape(8, 17, 2)
  np.testing.assert_allclose((relative**2).sum((1, 2)) / 17, 1.0, rtol=1e-5)


def test_hidden_joints_are_zero_and_the_root_falls_back_to_what_is_seen():
  _, _, camera = lifter.sample_people(np.random.default_rng(1), 2)
  ray = camera[..., :2] / camera[..., 2:]
  seen = np.ones((2, 17), bool)
  seen[0, 12] = False  # one hip hidden: the root is the other hip
  seen[1, 11:13] = False  # both hidden: the root is the mean of the seen joints
  x = lifter.features(ray, seen)
  relative = x[:, :34].reshape(2, 17, 2)
  assert (relative[0, 12] == 0).all() and (relative[1, 11:13] == 0).all()
  np.testing.assert_allclose(x[:, 34:51], seen)
  np.testing.assert_allclose(x[0, -2:], ray[0, 11], atol=1e-6)
  np.testing.assert_allclose(x[1, -2:], ray[1][seen[1]].mean(0), atol=1e-6)
