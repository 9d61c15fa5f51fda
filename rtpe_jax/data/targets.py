"""Training targets from ground-truth joints, as HigherHRNet builds them.

Joints are (P, 17, 3) in input-image pixels (x, y, visibility). An output at
`stride` s has pixel (i, j) at input position (j * s, i * s): a joint at x
lands on output column x / s.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MAX_PEOPLE = 30


def _output_coordinates(joints: np.ndarray, output_hw: tuple[int, int], stride: float):
  """(P, 17, 2) output-pixel coordinates and (P, 17) mask: visible and inside."""
  h, w = output_hw
  joints = np.asarray(joints, np.float32)
  xy = joints[..., :2] / stride
  inside = ((joints[..., 2] > 0) & (xy[..., 0] >= 0) & (xy[..., 0] < w) &
            (xy[..., 1] >= 0) & (xy[..., 1] < h))
  return xy, inside


def gaussian_heatmaps(joints: np.ndarray, output_hw: tuple[int, int], stride: float,
                      sigmas: Sequence[float]) -> np.ndarray:
  """Heatmaps (len(sigmas), H, W, 17) float32: per joint the max over people of a
  Gaussian of standard deviation sigma (output pixels), cut at 3 sigma, peak 1 at
  the joint. Joints with v = 0 or outside the output give nothing.
  """
  h, w = output_hw
  num_joints = joints.shape[1]
  out = np.zeros((len(sigmas), h, w, num_joints), np.float32)
  xy, inside = _output_coordinates(joints, output_hw, stride)
  for s, sigma in enumerate(sigmas):
    radius = int(np.ceil(3 * sigma))
    for p, k in zip(*np.nonzero(inside)):
      x, y = xy[p, k]
      x0, x1 = max(0, int(x) - radius), min(w, int(x) + radius + 2)
      y0, y1 = max(0, int(y) - radius), min(h, int(y) + radius + 2)
      gx = np.arange(x0, x1, dtype=np.float32) - x
      gy = np.arange(y0, y1, dtype=np.float32) - y
      d2 = gy[:, None] ** 2 + gx[None, :] ** 2
      g = np.where(d2 <= (3 * sigma) ** 2, np.exp(-d2 / (2 * sigma**2)), 0.0)
      region = out[s, y0:y1, x0:x1, k]
      np.maximum(region, g, out=region)
  return out


def tag_targets(joints: np.ndarray, output_hw: tuple[int, int], stride: float,
                max_people: int = MAX_PEOPLE) -> np.ndarray:
  """Associative-embedding targets (max_people, 17, 2) int32: per person and joint
  the flat output position y * W + x and a valid flag (visible and inside).
  People beyond `max_people` are dropped.
  """
  w = output_hw[1]
  out = np.zeros((max_people, joints.shape[1], 2), np.int32)
  xy, valid = _output_coordinates(joints[:max_people], output_hw, stride)
  col, row = xy[..., 0].astype(np.int64), xy[..., 1].astype(np.int64)
  n = len(xy)
  out[:n, :, 0] = np.where(valid, row * w + col, 0)
  out[:n, :, 1] = valid
  return out


def loss_weights(ignore_mask: np.ndarray) -> np.ndarray:
  """Per-pixel loss weights (H, W) float32 from an ignore mask at output resolution."""
  return (~np.asarray(ignore_mask, bool)).astype(np.float32)
