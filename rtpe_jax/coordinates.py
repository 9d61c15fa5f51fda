"""Where a pixel sits: the one coordinate convention of rtpe-jax.

Positions are continuous (x, y) in pixels. Pixel (i, j) of an image is the unit
square [j, j + 1) x [i, i + 1); its centre is (j + 0.5, i + 0.5). Inside the
project every joint, box and affine is in positions.

At the boundaries, data keeps its own convention and is converted there:
- COCO keypoints (annotations and results) are pixel indices: x = j names the
  centre of column j, in [0, W - 1] (detectron2 reads them the same way).
  `from_coco_keypoints` adds 0.5 where annotations are read
  (`rtpe_jax.data.coco`), `to_coco_keypoints` takes it off where results are
  written (`rtpe_jax.inference.protocol.coco_results`); the synthetic generator writes
  its labels as COCO does. COCO's polygons and boxes are positions already (a
  polygon's vertices lie on pixel edges, as pycocotools rasterises them).
- OpenCV's matrices index pixels (centres at integers): `warp` converts
  (`opencv_affine`), and the reference test protocol's matrices are read back
  with `from_opencv`.
- PIL draws at positions (a disc drawn around c has its centroid at c).

Maps (heatmaps, tags) follow HigherHRNet, whose published weights and test
protocol fix it: a map at stride s shows a joint at input position x as a peak
at map position (x - 0.5) / s, the joint's pixel index over s (HigherHRNet's
targets put the joint in map pixel int(i / s) of its input index i: at map
position i / s on average). `to_map(s)` is that affine, `from_map(s)` its
inverse; the training targets (`data.targets`) follow it, and the test protocol
reads every map with `from_map` (`inference.people_in_image`), which is exactly
what the reference does with its OpenCV matrices. What a map's pixels cover (masks,
loss weights) is `to_stride(s)`: map pixel p covers input [s p, s (p + 1)).

Mirroring an array of width W maps position x to W - x at every stride
(`flip`). A network that follows the map convention on an image and on its
mirror puts the mirror's peak, mirrored back, at (x + 0.5) / s: the flip test's
average of the two sits at x / s, half an input pixel right of the convention,
and the protocol reports x + 0.5 (in input pixels; + 0.5 / k in an image the
protocol resized by k). That is the published protocol's own bias; it is kept
for converted published weights, so that HigherHRNet's people are the
reference's to the last digit, and taken off for models trained here
(`inference.protocol.flip_shift`; docs/teacher.md measures both). Maps averaged
over the flip test say so where they are stored (`from_map(s, flip_averaged=True)`).

Tested in tests/test_coordinates.py and by the chain tests of
tests/inference/test_protocol.py and tests/data/test_augment.py (a perfect network through
the whole protocol, the augmentation and the teacher store).
"""

from __future__ import annotations

import cv2
import numpy as np


def translation(dx: float, dy: float) -> np.ndarray:
  """(3, 3): x -> x + dx, y -> y + dy."""
  return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def scaling(sx: float, sy: float | None = None) -> np.ndarray:
  """(3, 3): x -> sx * x, y -> sy * y (sy = sx by default)."""
  return np.diag([sx, sx if sy is None else sy, 1.0])


def to_stride(stride: float) -> np.ndarray:
  """(3, 3): input position -> position on a map at `stride` of that input: the
  area a map pixel covers (masks, loss weights); peaks follow `to_map`."""
  return scaling(1.0 / stride)


def to_map(stride: float) -> np.ndarray:
  """(3, 3): a joint's input position -> the map position of its peak at `stride`,
  (x - 0.5) / s."""
  return scaling(1.0 / stride) @ translation(-0.5, -0.5)


def from_map(stride: float, flip_averaged: bool = False) -> np.ndarray:
  """(3, 3): the map position of a peak at `stride` -> the joint's input position,
  s u + 0.5 (the inverse of `to_map`). flip_averaged: of maps averaged with their
  mirror image's (the flip test), which peak at x / s horizontally."""
  return translation(0.0 if flip_averaged else 0.5, 0.5) @ scaling(stride)


def from_coco_keypoints(keypoints: np.ndarray) -> np.ndarray:
  """COCO keypoints (..., 3) (x, y pixel indices, v) -> positions; unlabelled
  joints (v = 0) keep their zeros."""
  out = np.array(keypoints, np.float32)
  out[..., :2] += np.where(out[..., 2:3] > 0, 0.5, 0.0).astype(np.float32)
  return out


def to_coco_keypoints(keypoints: np.ndarray) -> np.ndarray:
  """Positions (..., >= 2) -> COCO's pixel indices (x - 0.5, y - 0.5); other
  columns kept."""
  out = np.array(keypoints, np.float64)
  out[..., :2] -= 0.5
  return out


def flip(width: float) -> np.ndarray:
  """(3, 3): the mirror image of an array `width` pixels wide, x -> width - x."""
  return np.array([[-1.0, 0.0, width], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def as_3x3(matrix) -> np.ndarray:
  """A (2, 3) or (3, 3) affine as (3, 3) float64."""
  m = np.asarray(matrix, np.float64)
  return np.vstack([m, [0.0, 0.0, 1.0]]) if m.shape == (2, 3) else m


def opencv_affine(matrix) -> np.ndarray:
  """(2, 3): the affine of positions `matrix` as OpenCV indexes pixels (centres
  at integers): index -> index."""
  return (translation(-0.5, -0.5) @ as_3x3(matrix) @ translation(0.5, 0.5))[:2]


def from_opencv(matrix) -> np.ndarray:
  """(3, 3): the affine of positions that an OpenCV (2, 3) index matrix applies."""
  return translation(0.5, 0.5) @ as_3x3(matrix) @ translation(-0.5, -0.5)


def apply(matrix, xy: np.ndarray) -> np.ndarray:
  """Positions (..., 2) through an affine (2, 3) or (3, 3)."""
  m = as_3x3(matrix)
  return np.asarray(xy) @ m[:2, :2].T + m[:2, 2]


def warp(image: np.ndarray, matrix, out_hw, nearest: bool = False) -> np.ndarray:
  """image (H, W[, C]) resampled so that out(matrix @ position) = image(position),
  bilinear (or nearest), 0 outside; keeps the dtype."""
  flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
  out = cv2.warpAffine(
    image,
    opencv_affine(matrix),
    (int(out_hw[1]), int(out_hw[0])),
    flags=flags,
    borderMode=cv2.BORDER_CONSTANT,
    borderValue=0,
  )
  return out.reshape(*out_hw, *image.shape[2:])
