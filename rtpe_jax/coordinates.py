"""Where a pixel sits: the one coordinate convention of rtpe-jax.

Positions are continuous (x, y) in pixels. Pixel (i, j) of an image or a map is
the unit square [j, j + 1) x [i, i + 1); its centre is (j + 0.5, i + 0.5).
Keypoints (COCO's and the synthetic data's) are positions in this sense, as
pycocotools rasterises polygons. A map at stride s of an input covers it in
s x s blocks: map position u is input position s * u, and the centre of map
pixel p sits at input position s * (p + 0.5).

Everything else follows, and is tested (tests/test_coordinates.py and the chain
tests of tests/test_inference.py and tests/test_augment.py):
- training targets (`data.targets`) put the Gaussian of a joint at input x on
  the map position x / s, i.e. at pixel index x / s - 0.5, and its tag in the
  pixel that contains it, floor(x / s) (HigherHRNet's int(x / s) places the
  Gaussian there on average);
- a bilinear resize with half-pixel centres (jax.image.resize, PyTorch's
  align_corners=False) scales positions by the size ratio, so the test
  protocol's projection of every output onto the input is exact;
- grouping (`grouping.adjust` / `refine`) reads a peak at pixel index q and
  reports q + 0.5, the position of that pixel's centre (HigherHRNet's "+ 0.5");
- mirroring an array of width W maps x to W - x (`flip`), at every stride;
- affines are (3, 3) matrices on positions; OpenCV's warpAffine puts pixel
  centres at integers, so `warp` converts (`opencv_affine`) and the reference
  test protocol's OpenCV matrices are read back with `from_opencv`;
- PIL draws at float coordinates in this convention too (a disc or polygon
  drawn around c has its centroid at position c), so the synthetic figures are
  drawn, and the overlays draw people, at their positions.
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
  """(3, 3): input position -> position on a map at `stride` of that input."""
  return scaling(1.0 / stride)


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
