"""bench/unusual_poses.py: poses no mode makes, in front of the camera, as the
lifter's command line reads them."""

import numpy as np

from bench import unusual_poses
from rtpe_jax.threed import metrics3d, synthetic3d


def test_poses_stand_in_view_and_differ_only_in_the_prior(tmp_path):
  path = str(tmp_path / "poses.npz")
  unusual_poses.main(["--out", path, "--count", "64"])
  with np.load(path) as data:
    joints, K = data["joints_3d"], data["K"]
  assert joints.shape == (64, 17, 3) and K.shape == (3, 3)
  assert (joints[..., 2] > 1000).all()
  uv = synthetic3d.project(metrics3d.root(joints)[:, None], K)[:, 0]
  assert (uv[:, 0] > 0).all() and (uv[:, 0] < 320).all()  # every mid-hip in the image
  modes, _ = unusual_poses.poses(7, 64, "modes")
  # the same bodies and places: the mid-hips stand at the same depths, the poses differ
  np.testing.assert_allclose(metrics3d.root(modes)[:, 2], metrics3d.root(joints)[:, 2], rtol=1e-9)
  assert not np.allclose(modes, joints)
