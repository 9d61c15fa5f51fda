"""Augmentation in TensorFlow: one random affine per sample, applied to everything.

Coordinates are pixel indices (pixel centres at integers). The affine `M` (3, 3)
maps image coordinates to input coordinates of the (S, S) training crop; an
output map at stride s has pixel p at input position p * s, so it sees the image
through diag(1/s, 1/s, 1) @ M. The teacher's maps carry their own affine `A`
(map pixel -> image), so they are resampled through A^-1 @ M^-1 @ diag(s, s, 1)
onto the student's output grid. A horizontal flip is part of M and also swaps
the left/right joint channels (`coco.FLIP_INDEX`) of joints, heatmaps and tags.
"""

from __future__ import annotations

import math

import ml_collections
import tensorflow as tf

from rtpe_jax.data.coco import FLIP_INDEX

# RGB in [0, 1] is normalised with ImageNet's statistics, as the teacher was trained.
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)


def default_config() -> ml_collections.ConfigDict:
  """HigherHRNet's training augmentation (translation as a fraction of the crop side)."""
  return ml_collections.ConfigDict(dict(
      max_rotation=30.0,  # degrees, uniform in [-r, r]
      min_scale=0.75,  # the crop covers scale x the image's shorter (or longer) side
      max_scale=1.5,
      scale_type="short",  # "short" or "long"
      max_translate=0.2,  # of the crop side, uniform in [-t, t] per axis
      flip=0.5,  # probability of a horizontal flip
      colour_jitter=dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0),  # 0: off
  ))


def _translation(dx, dy):
  return tf.stack([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _scaling(s):
  return tf.stack([[s, 0.0, 0.0], [0.0, s, 0.0], [0.0, 0.0, 1.0]])


def crop_affine(center, crop_side, rotation_deg, out_size: int) -> tf.Tensor:
  """(3, 3): the square of side `crop_side` around `center` (x, y), rotated, onto
  an (out_size, out_size) crop. Image (x, y, 1) -> crop (x, y, 1)."""
  center = tf.cast(center, tf.float32)
  a = tf.cast(rotation_deg, tf.float32) * (math.pi / 180.0)
  cos, sin = tf.cos(a), tf.sin(a)
  rotation = tf.stack([[cos, sin, 0.0], [-sin, cos, 0.0], [0.0, 0.0, 1.0]])
  half = out_size / 2.0
  return (_translation(half, half) @ rotation @
          _scaling(out_size / tf.cast(crop_side, tf.float32)) @ _translation(-center[0], -center[1]))


def horizontal_flip(width) -> tf.Tensor:
  """(3, 3): x -> width - 1 - x."""
  w = tf.cast(width, tf.float32)
  return tf.stack([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def random_affine(seed, image_hw, out_size: int, cfg) -> tuple[tf.Tensor, tf.Tensor]:
  """One random (3, 3) image -> crop affine and whether it flips. seed: (2,) int."""
  seeds = tf.random.experimental.stateless_split(seed, 5)
  h, w = tf.cast(image_hw[0], tf.float32), tf.cast(image_hw[1], tf.float32)
  side = tf.minimum(h, w) if cfg.scale_type == "short" else tf.maximum(h, w)
  uniform = lambda i, lo, hi: tf.random.stateless_uniform([], seeds[i], lo, hi)
  crop_side = side * uniform(0, cfg.min_scale, cfg.max_scale)
  rotation = uniform(1, -cfg.max_rotation, cfg.max_rotation)
  shift = crop_side * cfg.max_translate
  center = tf.stack([w / 2 + uniform(2, -shift, shift), h / 2 + uniform(3, -shift, shift)])
  flip = uniform(4, 0.0, 1.0) < cfg.flip
  matrix = crop_affine(center, crop_side, rotation, out_size)
  matrix = tf.cond(flip, lambda: matrix @ horizontal_flip(w), lambda: matrix)
  return matrix, flip


def warp(image, output_to_source, out_hw, interpolation: str = "BILINEAR", fill: float = 0.0):
  """Resamples image (H, W, C) at source = output_to_source @ (x, y, 1) for every
  output pixel of (out_h, out_w); outside the image reads `fill`. Returns float32."""
  m = tf.cast(output_to_source, tf.float32)
  m = m / m[2, 2]
  transform = tf.concat([tf.reshape(m[:2], [6]), m[2, :2]], 0)[None]
  return tf.raw_ops.ImageProjectiveTransformV3(
      images=tf.cast(image, tf.float32)[None], transforms=transform,
      output_shape=tf.constant(out_hw, tf.int32), fill_value=tf.constant(fill, tf.float32),
      interpolation=interpolation, fill_mode="CONSTANT")[0]


def at_stride(matrix, stride: float) -> tf.Tensor:
  """Image -> output-map affine for a map at `stride` of the crop."""
  return _scaling(1.0 / stride) @ matrix


def transform_joints(joints, matrix, flip) -> tf.Tensor:
  """joints (P, 17, 3) in the image -> (P, 17, 3) in the crop; visibility kept;
  a flip also swaps left and right joints."""
  xy1 = tf.concat([joints[..., :2], tf.ones_like(joints[..., :1])], -1)
  xy = tf.einsum("ij,pkj->pki", tf.cast(matrix, tf.float32)[:2], xy1)
  out = tf.concat([xy, joints[..., 2:]], -1)
  return tf.cond(flip, lambda: tf.gather(out, FLIP_INDEX, axis=1), lambda: out)


def swap_channels(maps, flip) -> tf.Tensor:
  """(..., 17) maps: left/right channels swapped when `flip`."""
  return tf.cond(flip, lambda: tf.gather(maps, FLIP_INDEX, axis=-1), lambda: maps)


def warp_teacher(maps, teacher_affine, matrix, stride: float, out_hw) -> tf.Tensor:
  """Teacher maps (h, w, C) with affine (2, 3) map pixel -> image, resampled onto
  the crop's output grid at `stride`: (out_h, out_w, C). Channels not swapped."""
  a = tf.concat([tf.cast(teacher_affine, tf.float32), [[0.0, 0.0, 1.0]]], 0)
  output_to_map = tf.linalg.inv(a) @ tf.linalg.inv(at_stride(matrix, stride))
  return warp(maps, output_to_map, out_hw)


def colour_jitter(image, seed, cfg) -> tf.Tensor:
  """image (H, W, 3) in [0, 1]; each enabled jitter with its own derived seed."""
  seeds = tf.random.experimental.stateless_split(seed, 4)
  if cfg.brightness > 0:
    image = tf.image.stateless_random_brightness(image, cfg.brightness, seeds[0])
  if cfg.contrast > 0:
    image = tf.image.stateless_random_contrast(image, 1 - cfg.contrast, 1 + cfg.contrast, seeds[1])
  if cfg.saturation > 0:
    image = tf.image.stateless_random_saturation(image, 1 - cfg.saturation, 1 + cfg.saturation,
                                                 seeds[2])
  if cfg.hue > 0:
    image = tf.image.stateless_random_hue(image, cfg.hue, seeds[3])
  return tf.clip_by_value(image, 0.0, 1.0)


def normalise(image, mean=MEAN_RGB, std=STD_RGB) -> tf.Tensor:
  """RGB in [0, 1] -> (x - mean) / std."""
  return (image - tf.constant(mean, tf.float32)) / tf.constant(std, tf.float32)


_RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423),
               (0.212671, 0.715160, 0.072169),
               (0.019334, 0.119193, 0.950227))
_D65_WHITE = (0.950456, 1.0, 1.088754)


def rgb_to_lab(image) -> tf.Tensor:
  """sRGB in [0, 1] -> CIE L*a*b* (D65): L in [0, 100], a and b about [-128, 127]."""
  linear = tf.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4)
  xyz = tf.einsum("...c,kc->...k", linear, tf.constant(_RGB_TO_XYZ)) / tf.constant(_D65_WHITE)
  f = tf.where(xyz > 0.008856, tf.pow(tf.maximum(xyz, 1e-12), 1 / 3), 7.787 * xyz + 16 / 116)
  fx, fy, fz = tf.unstack(f, axis=-1)
  return tf.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], -1)


def alternate_colour_space(image, space: str) -> tf.Tensor:
  """RGB in [0, 1] -> the student's second input, scaled to about [-1, 1]:
  "lab": (L / 100, a / 128, b / 128); "hsv": tf.image's HSV in [0, 1]."""
  if space == "lab":
    return rgb_to_lab(image) / tf.constant([100.0, 128.0, 128.0])
  if space == "hsv":
    return tf.image.rgb_to_hsv(image)
  raise ValueError(f"colour space {space!r}: use 'lab' or 'hsv'")
