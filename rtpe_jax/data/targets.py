"""Training targets from ground-truth joints, as HigherHRNet builds them.

Joints are (P, 17, 3) in input positions (x, y, visibility;
`rtpe_jax.coordinates`). An output at `stride` s holds a joint at input
position x at map position (x - 0.5) / s (`coordinates.to_map`): its Gaussian
is centred there (map pixel index (x - 0.5) / s - 0.5) and its tag target is
the map pixel that holds that centre, floor((x - 0.5) / s). That is the map
convention of HigherHRNet (its targets use the map pixel int(i / s) of the
joint's input index i = x - 0.5, the same on average) and where its test
protocol reads a joint back (`inference.people_in_image`).

The NumPy functions are the reference; the `*_tf` ones compute the same inside
the tf.data pipeline (tested equal).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import tensorflow as tf

from rtpe_jax.data.schema import MAX_PEOPLE


def _output_coordinates(joints, output_hw: tuple[int, int], stride: float):
  """(P, 17, 2) map positions of the joints' peaks and (P, 17) mask: visible and
  inside the map (NumPy arrays or TensorFlow tensors alike)."""
  h, w = output_hw
  xy = (joints[..., :2] - 0.5) / stride
  inside = (
    (joints[..., 2] > 0)
    & (xy[..., 0] >= 0)
    & (xy[..., 0] < w)
    & (xy[..., 1] >= 0)
    & (xy[..., 1] < h)
  )
  return xy, inside


def gaussian_heatmaps(
  joints: np.ndarray, output_hw: tuple[int, int], stride: float, sigmas: Sequence[float]
) -> np.ndarray:
  """Heatmaps (len(sigmas), H, W, 17) float32: per joint the max over people of a
  Gaussian of standard deviation sigma (output pixels), cut at 3 sigma, centred
  at map position ((x - 0.5) / s, (y - 0.5) / s) (module docstring). Joints with v = 0 or outside
  the output give nothing.
  """
  h, w = output_hw
  num_joints = joints.shape[1]
  out = np.zeros((len(sigmas), h, w, num_joints), np.float32)
  xy, inside = _output_coordinates(np.asarray(joints, np.float32), output_hw, stride)
  centres = xy - 0.5
  for s, sigma in enumerate(sigmas):
    radius = int(np.ceil(3 * sigma))
    for p, k in zip(*np.nonzero(inside)):
      x, y = centres[p, k]
      x0, x1 = max(0, int(np.floor(x)) - radius), min(w, int(np.floor(x)) + radius + 2)
      y0, y1 = max(0, int(np.floor(y)) - radius), min(h, int(np.floor(y)) + radius + 2)
      gx = np.arange(x0, x1, dtype=np.float32) - x
      gy = np.arange(y0, y1, dtype=np.float32) - y
      d2 = gy[:, None] ** 2 + gx[None, :] ** 2
      g = np.where(d2 <= (3 * sigma) ** 2, np.exp(-d2 / (2 * sigma**2)), 0.0)
      region = out[s, y0:y1, x0:x1, k]
      np.maximum(region, g, out=region)
  return out


def tag_targets(
  joints: np.ndarray, output_hw: tuple[int, int], stride: float, max_people: int = MAX_PEOPLE
) -> np.ndarray:
  """Associative-embedding targets (max_people, 17, 2) int32: per person and joint
  the flat output position y * W + x and a valid flag (visible and inside).
  People beyond `max_people` are dropped.
  """
  w = output_hw[1]
  out = np.zeros((max_people, joints.shape[1], 2), np.int32)
  xy, valid = _output_coordinates(np.asarray(joints[:max_people], np.float32), output_hw, stride)
  col, row = xy[..., 0].astype(np.int64), xy[..., 1].astype(np.int64)
  n = len(xy)
  out[:n, :, 0] = np.where(valid, row * w + col, 0)
  out[:n, :, 1] = valid
  return out


def loss_weights(ignore_mask: np.ndarray) -> np.ndarray:
  """Per-pixel loss weights (H, W) float32 from an ignore mask at output resolution."""
  return (~np.asarray(ignore_mask, bool)).astype(np.float32)


def gaussian_heatmap_tf(
  joints, output_hw: tuple[int, int], stride: float, sigma: float
) -> tf.Tensor:
  """As `gaussian_heatmaps` for one sigma: (H, W, 17) float32. Scatters a
  (2r + 2)^2 window per visible joint, r = ceil(3 sigma)."""
  h, w = output_hw
  num_joints = joints.shape[-2]
  xy, inside = _output_coordinates(tf.cast(joints, tf.float32), output_hw, stride)
  which = tf.where(inside)  # (N, 2): person, joint
  centres = tf.gather_nd(xy, which) - 0.5  # (N, 2)
  radius = int(math.ceil(3 * sigma))
  offsets = tf.range(-radius, radius + 2, dtype=tf.float32)
  dy, dx = tf.meshgrid(offsets, offsets, indexing="ij")
  base = tf.floor(centres)
  px = base[:, :1] + tf.reshape(dx, [1, -1])  # (N, K)
  py = base[:, 1:] + tf.reshape(dy, [1, -1])
  d2 = (px - centres[:, :1]) ** 2 + (py - centres[:, 1:]) ** 2
  keep = (d2 <= (3 * sigma) ** 2) & (px >= 0) & (px < w) & (py >= 0) & (py < h)
  joint = tf.broadcast_to(tf.cast(which[:, 1:], tf.float32), tf.shape(px))
  indices = tf.cast(tf.stack([py, px, joint], -1), tf.int32)
  values = tf.exp(-d2 / (2 * sigma**2))
  return tf.tensor_scatter_nd_max(
    tf.zeros([h, w, num_joints]), tf.boolean_mask(indices, keep), tf.boolean_mask(values, keep)
  )


def tag_targets_tf(
  joints, output_hw: tuple[int, int], stride: float, max_people: int = MAX_PEOPLE
) -> tf.Tensor:
  """As `tag_targets`: (max_people, 17, 2) int32 from joints (P, 17, 3), any P."""
  joints = tf.cast(joints[:max_people], tf.float32)
  xy, valid = _output_coordinates(joints, output_hw, stride)
  flat = tf.cast(xy[..., 1], tf.int32) * output_hw[1] + tf.cast(xy[..., 0], tf.int32)
  out = tf.stack([tf.where(valid, flat, 0), tf.cast(valid, tf.int32)], -1)
  return tf.pad(out, [[0, max_people - tf.shape(out)[0]], [0, 0], [0, 0]])
