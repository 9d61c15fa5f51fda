"""COCO annotations of the synthetic figures: masks from their shapes, COCO's
uncompressed RLE for crowds, and keypoint labels written as COCO writes them."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from rtpe_jax.data.synthetic import figures


def polygon_mask(polygons, w: int, h: int) -> np.ndarray:
  mask = Image.new("L", (w, h), 0)
  draw = ImageDraw.Draw(mask)
  for poly in polygons:
    draw.polygon(poly, fill=1)
  return np.asarray(mask, dtype=bool)


def annotation(mask: np.ndarray, polygons, keypoints: np.ndarray | None, iscrowd: bool):
  """COCO annotation fields (no ids) of one person or crowd region; None if unseen."""
  rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
  area = float(mask_utils.area(rle))
  if area < 4:
    return None
  bbox = [round(float(v), 2) for v in mask_utils.toBbox(rle)]
  if iscrowd:
    segmentation = uncompressed_rle(mask)
  else:
    segmentation = [[round(float(c), 2) for pt in poly for c in pt] for poly in polygons]
  kps = np.zeros((17, 3)) if keypoints is None else keypoints
  return {
    "segmentation": segmentation,
    "area": area,
    "bbox": bbox,
    "iscrowd": int(iscrowd),
    "keypoints": [
      round(float(v), 2) if i % 3 < 2 else int(v) for i, v in enumerate(kps.reshape(-1))
    ],
    "num_keypoints": int((kps[:, 2] > 0).sum()),
    "category_id": 1,
  }


def uncompressed_rle(mask: np.ndarray) -> dict:
  """COCO's crowd format: run lengths of the column-major mask, starting with zeros."""
  flat = mask.reshape(-1, order="F").astype(np.uint8)
  changes = np.flatnonzero(np.diff(flat)) + 1
  bounds = np.concatenate([[0], changes, [flat.size]])
  counts = np.diff(bounds).tolist()
  if flat[0]:
    counts = [0] + counts
  return {"counts": counts, "size": list(mask.shape)}


FACE = (0, 1, 2)  # nose and eyes: drawn only on figures that face the camera


def keypoint_labels(joints: np.ndarray, later_masks, w: int, h: int) -> np.ndarray:
  """COCO keypoints (17, 3) of a figure drawn at `joints` (17, 2), positions as in
  `rtpe_jax.coordinates` (PIL draws in that convention), written as COCO writes
  them: pixel indices, x - 0.5 and y - 0.5, in [0, W - 1] x [0, H - 1]. v = 1
  where a figure drawn later covers the joint, v = 2 where it is seen, and
  unlabelled (0, 0, 0) outside that range and where a photo would not show it:
  the nose and eyes of a figure seen from the back (its head is hair), as COCO
  annotators leave unseen face joints out."""
  keypoints = np.zeros((17, 3))
  facing = figures.facing_camera(joints)
  for k, (x, y) in enumerate(joints):
    if not (0.5 <= x <= w - 0.5 and 0.5 <= y <= h - 0.5) or (k in FACE and not facing):
      continue
    covered = any(m[min(int(y), h - 1), min(int(x), w - 1)] for m in later_masks)
    keypoints[k] = (x - 0.5, y - 0.5, 1 if covered else 2)
  return keypoints
