"""The lifter: one person's 2D joints -> root-relative 3D joints (mm), an MLP in
the manner of Martinez et al. (ICCV 2017), trained on an endless stream of
generated people (`rtpe_jax.threed.skeleton3d`) seen by random cameras: no
images, no rendering.

  python train.py --config configs/lifting.py --workdir out/lifting   (rtpe_jax.threed.lifter_training)
  python -m rtpe_jax.threed.lifter --model out/lifting/export --poses poses.npz

The input is camera-independent: each joint's viewing ray ((u - cx) / fx,
(v - cy) / fy) from the intrinsics, taken relative to the mid-hip's ray and
divided by the person's spread, the visibility, and the mid-hip's ray itself
(where in the view the person stands changes how the pose projects). The
output is the 17 joints in camera coordinates (x right, y down, z forward), mm,
relative to the mid-hip. Importable without TensorFlow.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from rtpe_jax import keypoints
from rtpe_jax.models import weights
from rtpe_jax.threed import metrics3d, skeleton3d, synthetic3d

JOINTS = keypoints.NUM_JOINTS
FEATURES = JOINTS * 3 + 2  # relative rays (17 x 2), visibility (17), the root's ray (2)


class Lifter(nn.Module):
  """(N, FEATURES) -> (N, 17, 3) mm: residual blocks of two pre-normed dense
  layers (LayerNorm, ReLU, dropout)."""

  width: int = 512
  blocks: int = 2
  dropout: float = 0.1

  @nn.compact
  def __call__(self, x, train: bool = False):
    h = nn.Dense(self.width)(x)
    for _ in range(self.blocks):
      skip = h
      for _ in range(2):
        h = nn.Dense(self.width)(nn.relu(nn.LayerNorm()(h)))
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
      h = h + skip
    out = nn.Dense(JOINTS * 3)(nn.relu(nn.LayerNorm()(h)))
    return out.reshape(-1, JOINTS, 3) * 1000.0  # trained in metres, given in mm


def rays(keypoints_2d: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
  """(N, 17, 2+) pixel indices -> (N, 17, 2) viewing rays (x / z, y / z)."""
  K = np.asarray(intrinsics, np.float64)
  uv = np.asarray(keypoints_2d, np.float64)[..., :2]
  return (uv - K[[0, 1], [2, 2]]) / K[[0, 1], [0, 1]]


def features(ray: np.ndarray, visible: np.ndarray) -> np.ndarray:
  """(N, 17, 2) rays and (N, 17) visibility -> (N, FEATURES) float32.

  The root is the mid-hip (one hip if only one is seen, the seen joints' mean
  if neither); the rays relative to it are divided by their RMS spread."""
  visible = np.asarray(visible, bool)
  hips = np.zeros_like(visible)
  hips[:, metrics3d.ROOT_JOINTS] = visible[:, metrics3d.ROOT_JOINTS]
  weight = np.where(hips.any(1, keepdims=True), hips, visible).astype(np.float64)
  root = (weight[..., None] * ray).sum(1) / np.maximum(weight.sum(1), 1.0)[:, None]
  relative = (ray - root[:, None]) * visible[..., None]
  spread = np.sqrt((relative**2).sum((1, 2)) / np.maximum(visible.sum(1), 1.0))
  relative = relative / np.maximum(spread, 1e-6)[:, None, None]
  return np.concatenate(
    [relative.reshape(len(ray), -1), visible.astype(np.float64), root], 1
  ).astype(np.float32)


def sample_people(
  rng: np.random.Generator,
  n: int,
  noise_px: float = 0.0,
  drop: float = 0.0,
  focal_px=250.0,
  uniform: float = 0.0,
):
  """n generated people as a camera sees them: (features (n, FEATURES),
  root-relative camera joints (n, 17, 3) mm, camera joints (n, 17, 3) mm).

  Each stands on the floor 2-9 m away, turned at random, inside the field of
  view of a camera of random height and pitch (synthetic3d's ranges); the rays
  get Gaussian noise of `noise_px` pixels at a focal length of `focal_px`, and
  each joint is hidden with probability `drop`; a share `uniform` of the people
  take angles uniform within the limits instead of the generator's modes
  (`skeleton3d.sample_uniform_angles`: poses the modes never make)."""
  bodies = skeleton3d.sample_bodies(rng, n)
  angles = skeleton3d.sample_angles(rng, n)
  if uniform:
    chosen = rng.uniform(size=n) < uniform
    other = skeleton3d.sample_uniform_angles(rng, n)
    angles = {k: np.where(chosen, other[k], v) for k, v in angles.items()}
  joints = skeleton3d.pose(bodies, angles)
  distance = rng.uniform(*synthetic3d.DISTANCE_MM, n)
  half_fov = np.radians(rng.uniform(*synthetic3d.HORIZONTAL_FOV_DEG, n)) / 2
  across = rng.uniform(-0.85, 0.85, n) * distance * np.tan(half_fov)
  placed = skeleton3d.place(joints, rng.uniform(0.0, 360.0, n), np.stack([across, distance], 1))
  height = rng.uniform(*synthetic3d.CAMERA_HEIGHT_MM, n)[:, None]
  pitch = rng.uniform(*synthetic3d.CAMERA_PITCH_DEG, n)[:, None]
  camera = synthetic3d.world_to_camera(placed, height, pitch)
  ray = camera[..., :2] / camera[..., 2:]
  if noise_px:
    ray = ray + rng.normal(0.0, noise_px / focal_px, ray.shape)
  visible = rng.uniform(size=(n, JOINTS)) >= drop
  return features(ray, visible), metrics3d.root_relative(camera), camera


class Model(NamedTuple):
  module: Lifter
  variables: Any


def load(model_dir: str) -> Model:
  """A lifter's model directory (`train.py --config configs/lifting.py` leaves
  one in WORKDIR/export)."""
  arch = weights.read_arch(model_dir)
  if arch.get("model") != "lifter":
    raise ValueError(f"{model_dir}: holds a {arch.get('model')!r} model, not a lifter")
  module = Lifter(**arch["config"])
  target = _abstract_variables(module)
  return Model(module, weights.restore_variables(model_dir, module, target))


def _abstract_variables(module: Lifter):
  x = jax.ShapeDtypeStruct((1, FEATURES), jnp.float32)
  return jax.eval_shape(lambda x: module.init(jax.random.key(0), x), x)


@functools.partial(jax.jit, static_argnums=0)
def apply(module: Lifter, variables, x):
  """The lifter's (N, 17, 3) mm for features x (N, FEATURES), jit-compiled per module."""
  return module.apply(variables, x)


def lift(model: Model, keypoints_2d: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
  """People's 2D joints (N, 17, 3: x, y in pixel indices, visibility > 0 where
  seen) and the camera's intrinsics (3, 3) -> (N, 17, 3) mm, camera axes,
  relative to the mid-hip."""
  keypoints_2d = np.asarray(keypoints_2d, np.float64).reshape(-1, JOINTS, 3)
  if not len(keypoints_2d):
    return np.zeros((0, JOINTS, 3))
  x = features(rays(keypoints_2d, intrinsics), keypoints_2d[..., 2] > 0)
  return np.asarray(apply(model.module, model.variables, jnp.asarray(x)), np.float64)


def errors(lifted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
  """MPJPE and PA-MPJPE (mm) of lifted root-relative poses against the truth."""
  return {
    "MPJPE": float(metrics3d.joint_errors(lifted, truth, "root").mean()),
    "PA-MPJPE": float(metrics3d.joint_errors(lifted, truth, "procrustes").mean()),
  }


# ---------------------------------------------------------------- command line


def main(argv=None) -> dict:
  parser = argparse.ArgumentParser(
    description="Lifts poses from their exact projections; prints MPJPE and PA-MPJPE (mm)."
  )
  parser.add_argument("--model", required=True, help="a lifter's model directory")
  parser.add_argument(
    "--poses",
    required=True,
    help=".npz with joints_3d (N, 17, 3) camera mm (x right, y down, z forward; COCO "
    "order) and K (3, 3)",
  )
  args = parser.parse_args(argv)
  with np.load(args.poses) as data:
    missing = {"joints_3d", "K"} - set(data.files)
    if missing:
      raise SystemExit(f"{args.poses}: missing {', '.join(sorted(missing))}")
    joints, K = np.asarray(data["joints_3d"], np.float64), np.asarray(data["K"], np.float64)
  if joints.ndim != 3 or joints.shape[1:] != (JOINTS, 3) or K.shape != (3, 3):
    raise SystemExit(
      f"{args.poses}: joints_3d {joints.shape}, K {K.shape}: need (N, 17, 3), (3, 3)"
    )
  if (joints[..., 2] <= 0).any():
    raise SystemExit(f"{args.poses}: joints at z <= 0 are behind the camera")
  uv = synthetic3d.project(joints, K)
  lifted = lift(load(args.model), np.concatenate([uv, np.ones_like(uv[..., :1])], -1), K)
  stats = errors(lifted, joints)
  print(f"{len(joints)} poses: MPJPE {stats['MPJPE']:.1f} mm, PA-MPJPE {stats['PA-MPJPE']:.1f} mm")
  return stats


if __name__ == "__main__":
  main()
