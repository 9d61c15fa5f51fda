"""Depth maps of the 3D student (phase 4): what they hold, their training
targets, and people read back from them into camera space. NumPy only.

Beside its heatmaps at stride 4 the 3D student outputs 18 depth maps
(`CHANNELS`), SMAP's representation (Zhen et al., ECCV 2020):
  channel 0       the person's root depth (mid-hip, `evaluation3d.root`) over
                  the focal length in the network's input pixels, in units of
                  `ROOT_UNIT_MM` mm per pixel: Z / (f * 20). A person H mm tall
                  and h pixels tall has Z / f = H / h, so this is what the
                  figure's size in the input says, whatever the camera and the
                  resize; written around every joint of the person, so it is
                  read wherever the grouping finds one
  channels 1-17   joint k's depth relative to the root, (Z_k - Z_root) in
                  metres (`RELATIVE_UNIT_MM`), around joint k
"Around" a joint: the map pixels whose centre lies within `RADIUS` map pixels
of its peak (map position (x - 0.5) / s, `rtpe_jax.coordinates`); where
people overlap, the nearer one's values win (as in the image). The loss sees
the maps only there (`depth_targets`' weights).

At inference the grouped people are read (`read_people`): each joint's
relative depth at its own position, the root depth as the median over the
person's joints, Z_root = value * 20 * f * k for the image's focal length f
(pixels) and the protocol's resize k, and every joint back-projected along its
pixel's ray through the intrinsics (`back_project`).
"""

from __future__ import annotations

import numpy as np

from rtpe_jax.keypoints import FLIP_INDEX, NUM_JOINTS

CHANNELS = 1 + NUM_JOINTS
ROOT_UNIT_MM = 20.0  # root depth channel: Z / f in units of 20 mm per input pixel
RELATIVE_UNIT_MM = 1000.0  # relative depths in metres
RADIUS = 1.5  # map pixels around a joint's peak that hold its values
FLIP_CHANNELS = (0,) + tuple(1 + k for k in FLIP_INDEX)  # a mirror swaps left and right


def depth_targets(
  joints: np.ndarray,
  depths: np.ndarray,
  focal: float,
  output_hw: tuple[int, int],
  stride: int,
  radius: float = RADIUS,
) -> tuple[np.ndarray, np.ndarray]:
  """Targets (H, W, 18) float32 and weights (H, W, 18) float32 (1 where a
  target is written) of one input.

  joints (P, 17, 3): input positions and visibility (v > 0 is labelled);
  depths (P, 18): each joint's camera depth Z (mm), then the root's; focal:
  the focal length in input pixels (the image's times the crop's scale).
  """
  h, w = output_hw
  values = np.zeros((h, w, CHANNELS), np.float32)
  weights = np.zeros((h, w, CHANNELS), np.float32)
  cols = np.arange(w, dtype=np.float32) + 0.5  # pixel centres, map positions
  rows = np.arange(h, dtype=np.float32) + 0.5
  for p in np.argsort(-depths[:, -1], kind="stable"):  # far to near: the nearer wins
    root = depths[p, -1]
    root_value = root / (focal * ROOT_UNIT_MM)
    for k in range(joints.shape[1]):
      if joints[p, k, 2] <= 0:
        continue
      u, v = (joints[p, k, :2] - 0.5) / stride
      near = ((cols[None, :] - u) ** 2 + (rows[:, None] - v) ** 2) <= radius**2
      if not near.any():
        continue
      values[near, 0] = root_value
      values[near, 1 + k] = (depths[p, k] - root) / RELATIVE_UNIT_MM
      weights[near, 0] = 1.0
      weights[near, 1 + k] = 1.0
  return values, weights


def flipped(depths: np.ndarray) -> np.ndarray:
  """depths (..., 18) of people whose joints a mirror swapped (left <-> right)."""
  return depths[..., list(FLIP_INDEX) + [NUM_JOINTS]]


def affine_scale(matrix: np.ndarray) -> float:
  """How many output pixels an input pixel becomes under a (3, 3) similarity
  (rotation, uniform scale, translation, mirror)."""
  return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix)[:2, :2]))))


def sample(maps: np.ndarray, positions: np.ndarray) -> np.ndarray:
  """maps (h, w, C) at map positions (..., 2): the values (..., C) of the map
  pixels that hold them (clipped to the map)."""
  h, w = maps.shape[:2]
  col = np.clip(np.floor(positions[..., 0]).astype(np.int64), 0, w - 1)
  row = np.clip(np.floor(positions[..., 1]).astype(np.int64), 0, h - 1)
  return maps[row, col]


def back_project(keypoints: np.ndarray, z: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
  """Image positions (..., 2) and depths (...) mm -> camera points (..., 3) mm
  (x right, y down, z forward) through intrinsics (3, 3) that take pixel
  indices (COCO's convention: a position's index is position - 0.5)."""
  index = np.asarray(keypoints, np.float64)[..., :2] - 0.5
  homogeneous = np.concatenate([index, np.ones_like(index[..., :1])], -1)
  rays = homogeneous @ np.linalg.inv(np.asarray(intrinsics, np.float64)).T
  return rays / rays[..., 2:] * np.asarray(z, np.float64)[..., None]


def read_people(
  depth_maps: np.ndarray,
  map_positions: np.ndarray,
  keypoints: np.ndarray,
  intrinsics: np.ndarray,
  input_scale: float,
  stride: int = 4,
) -> np.ndarray:
  """Camera-space people (P, 17, 3) mm from the depth maps (h, w, 18) of one
  input at `stride`.

  map_positions (P, 17, 2): the grouped joints as positions on the network's
  input (stride 1); keypoints (P, 17, 3): the same joints in the image and
  their values;
  input_scale: input pixels per image pixel (the protocol's resize). The root
  depth is the median over the joints whose value is at least half the
  person's best."""
  if len(keypoints) == 0:
    return np.zeros((0, NUM_JOINTS, 3), np.float32)
  at_joints = sample(depth_maps, (np.asarray(map_positions) - 0.5) / stride)  # (P, 17, 18)
  focal = float(intrinsics[0][0]) * input_scale
  # The root from the joints found with at least half the person's best value:
  # a joint outside the image or hidden has no figure of its own under it.
  values = np.asarray(keypoints)[..., 2]
  confident = values >= 0.5 * values.max(axis=1, keepdims=True)
  roots = np.where(confident, at_joints[..., 0], np.nan)
  root = np.nanmedian(roots, axis=1) * focal * ROOT_UNIT_MM  # (P,)
  joint = np.arange(NUM_JOINTS)
  z = root[:, None] + at_joints[:, joint, 1 + joint] * RELATIVE_UNIT_MM
  return back_project(keypoints, z, intrinsics).astype(np.float32)
