"""Augmentation: one random affine per sample, applied to everything (NumPy + OpenCV).

Positions follow `rtpe_jax.coordinates` (pixel p spans [p, p + 1)). The affine
`M` (3, 3) maps image positions to positions in the (S, S) training crop; the
masks at stride s see the image through `to_stride(s) @ M` (the area of each
map pixel), the joints' peaks through `to_map(s) @ M` (`data.targets`). The
teacher's maps carry their own affine `A` (map position of a peak -> the joint's
image position), so they are resampled through to_map(s) @ M @ A onto the
student's output grid: a teacher peak lands where the student's target for
the same joint would be. A horizontal flip
is part of M (x -> W - x) and also swaps the left/right joint channels
(`keypoints.FLIP_INDEX`) of joints, heatmaps and tags.

Crops stay uint8 RGB; normalisation and the LAB/HSV input are computed on the
device (`rtpe_jax.preprocess`). OpenCV does the resampling (it releases the GIL,
so tf.data's parallel calls run it on all cores).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from rtpe_jax import coordinates, depth
from rtpe_jax.keypoints import FLIP_INDEX

cv2.setNumThreads(1)  # tf.data parallelises over samples


def crop_affine(center, crop_side: float, rotation_deg: float, out_size: int) -> np.ndarray:
  """(3, 3): the square of side `crop_side` around `center` (x, y), rotated, onto
  an (out_size, out_size) crop: image position -> crop position."""
  a = math.radians(rotation_deg)
  rotation = np.array(
    [[math.cos(a), math.sin(a), 0.0], [-math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]]
  )
  half = out_size / 2.0
  return (
    coordinates.translation(half, half)
    @ rotation
    @ coordinates.scaling(out_size / crop_side)
    @ coordinates.translation(-center[0], -center[1])
  )


def random_affine(rng: np.random.Generator, image_hw, out_size: int, cfg):
  """One random (3, 3) image -> crop affine and whether it flips."""
  h, w = image_hw
  sides = {"short": min(h, w), "long": max(h, w), "none": out_size}
  if cfg.scale_type not in sides:
    raise ValueError(f"scale_type {cfg.scale_type!r}: use one of {sorted(sides)}")
  side = sides[cfg.scale_type]
  crop_side = side * rng.uniform(cfg.min_scale, cfg.max_scale)
  rotation = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
  shift = crop_side * cfg.max_translate
  center = (w / 2 + rng.uniform(-shift, shift), h / 2 + rng.uniform(-shift, shift))
  flip = bool(rng.uniform() < cfg.flip)
  matrix = crop_affine(center, crop_side, rotation, out_size)
  return (matrix @ coordinates.flip(w) if flip else matrix), flip


def transform_joints(joints: np.ndarray, matrix: np.ndarray, flip: bool) -> np.ndarray:
  """joints (P, 17, 3) in the image -> (P, 17, 3) in the crop; visibility kept;
  a flip also swaps left and right joints."""
  out = joints.astype(np.float32).copy()
  out[..., :2] = coordinates.apply(matrix, joints[..., :2])
  return out[:, FLIP_INDEX] if flip else out


def swap_channels(maps: np.ndarray, flip: bool) -> np.ndarray:
  """(..., 17) maps: left/right channels swapped when `flip`."""
  return maps[..., FLIP_INDEX] if flip else maps


def warp_teacher(
  quantised: np.ndarray, low, step, teacher_affine, matrix, stride: float, out_hw
) -> np.ndarray:
  """Stored teacher maps resampled onto the crop's output grid at `stride`.

  quantised (h, w, C) uint8 as in the store (value = low + q * step per channel),
  teacher_affine (2, 3) map position of a peak -> the joint's image position
  (`coordinates.from_map`). Returns (out_h, out_w, C) float32, 0
  outside the teacher's map; channels not swapped. The warp is linear, so it runs
  on the codes and on a plane of ones and dequantises after:
  low * warp(1) + step * warp(q) is the warp of the dequantised maps.
  """
  to_output = coordinates.to_map(stride) @ matrix @ coordinates.as_3x3(teacher_affine)
  codes = coordinates.warp(quantised.astype(np.float32), to_output, out_hw)
  inside = coordinates.warp(np.ones(quantised.shape[:2], np.float32), to_output, out_hw)
  return codes * step + inside[..., None] * low


def colour_jitter(image: np.ndarray, rng: np.random.Generator, cfg) -> np.ndarray:
  """uint8 RGB (H, W, 3): random brightness (+-b of the range), contrast and
  saturation (factor in [1 - c, 1 + c]) and hue (+-h of a turn); 0 disables one."""
  x = image.astype(np.float32)
  if cfg.brightness > 0:
    x = x + 255 * rng.uniform(-cfg.brightness, cfg.brightness)
  if cfg.contrast > 0:
    x = (x - x.mean()) * rng.uniform(1 - cfg.contrast, 1 + cfg.contrast) + x.mean()
  if cfg.saturation > 0:
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = (x - grey[..., None]) * rng.uniform(1 - cfg.saturation, 1 + cfg.saturation) + grey[
      ..., None
    ]
  x = np.clip(x, 0, 255).astype(np.uint8)
  if cfg.hue > 0:
    hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV_FULL)
    hsv[..., 0] = (
      hsv[..., 0].astype(np.int32) + int(round(256 * rng.uniform(-cfg.hue, cfg.hue)))
    ) % 256
    x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)
  return x


def augment_example(
  raw: dict,
  seed,
  input_size: int,
  mask_stride: int,
  teacher_stride: int,
  cfg,
  depth_stride: int = 0,
) -> dict:
  """The geometric and colour part of one training sample.

  raw: image (H, W, 3) uint8, joints (P, 17, 3), ignore_mask and person_mask
  (H, W) uint8, and optionally the teacher's quantised planes: teacher_heatmap_q
  (h, w, 17) and teacher_tag_q (h', w', T) uint8 with their low/step and
  teacher_heatmap_affine / teacher_tag_affine (2, 3), and optionally depths
  (P, 18) mm and focal (pixels) of 3D data. seed: two ints. Returns image
  (S, S, 3) uint8, joints (P, 17, 3) as crop positions, masks (S/m, S/m, 2) uint8 [valid, person] at
  `mask_stride` m, teacher_heatmaps / teacher_tags (S/t, S/t, C) float32, and with
  `depth_stride` d > 0 the depth targets and weights depth_{d}, depth_weights_{d}
  (S/d, S/d, 18) (`rtpe_jax.depth`: the crop's scale changes the focal length, a
  flip swaps the people's left and right depths, an in-plane rotation nothing).
  """
  rng = np.random.default_rng([int(s) for s in seed])
  matrix, flip = random_affine(rng, raw["image"].shape[:2], input_size, cfg)
  image = coordinates.warp(raw["image"], matrix, (input_size, input_size))
  jitter = cfg.colour_jitter
  if any(jitter[k] > 0 for k in ("brightness", "contrast", "saturation", "hue")):
    image = colour_jitter(image, rng, jitter)
  out_hw = (input_size // mask_stride,) * 2
  # Beyond the image the crop is black, as the test protocol pads: nothing to find
  # there, and the loss says so (not ignored, no person).
  masks = np.stack([raw["ignore_mask"], raw["person_mask"]], -1) * np.uint8(255)
  masks = coordinates.warp(masks, coordinates.to_stride(mask_stride) @ matrix, out_hw) > 127
  out = {
    "image": image,
    "joints": transform_joints(raw["joints"], matrix, flip),
    "masks": np.stack([~masks[..., 0], masks[..., 1]], -1).astype(np.uint8),
  }
  if depth_stride:
    depths = depth.flipped(raw["depths"]) if flip else raw["depths"]
    out[f"depth_{depth_stride}"], out[f"depth_weights_{depth_stride}"] = depth.depth_targets(
      out["joints"],
      depths,
      float(raw["focal"]) * depth.affine_scale(matrix),
      (input_size // depth_stride,) * 2,
      depth_stride,
    )
  if "teacher_heatmap_q" in raw:
    out_hw = (input_size // teacher_stride,) * 2
    for kind in ("heatmap", "tag"):
      maps = warp_teacher(
        raw[f"teacher_{kind}_q"],
        raw[f"teacher_{kind}_low"],
        raw[f"teacher_{kind}_step"],
        raw[f"teacher_{kind}_affine"],
        matrix,
        teacher_stride,
        out_hw,
      )
      out[f"teacher_{kind}s"] = swap_channels(maps, flip) if maps.shape[-1] == 17 else maps
  return out
