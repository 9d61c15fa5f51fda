"""Network inputs from uint8 RGB images, on the device (JAX, no TensorFlow).

The input pipeline ships uint8 (B, H, W, 3) crops (a quarter of the bytes of
float32, and no host time spent on arithmetic); the train step and inference
turn them into the networks' inputs here.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

# RGB in [0, 1] is normalised with ImageNet's statistics, as the teacher was trained.
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)
COLOUR_SPACES = ("", "lab", "hsv")

_RGB_TO_XYZ = (
  (0.412453, 0.357580, 0.180423),
  (0.212671, 0.715160, 0.072169),
  (0.019334, 0.119193, 0.950227),
)
_D65_WHITE = (0.950456, 1.0, 1.088754)


def normalise(images, dtype=jnp.float32):
  """uint8 RGB (..., 3) -> (x / 255 - mean) / std in `dtype`."""
  scale = 1.0 / (255.0 * jnp.asarray(STD_RGB))
  offset = -jnp.asarray(MEAN_RGB) / jnp.asarray(STD_RGB)
  return (images.astype(jnp.float32) * scale + offset).astype(dtype)


def _srgb_to_linear_table() -> np.ndarray:
  """(256,) float32: the sRGB transfer function undone for each uint8 value."""
  v = np.arange(256) / 255.0
  return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


_SRGB_TO_LINEAR = _srgb_to_linear_table()


def rgb_to_lab(images):
  """uint8 sRGB (..., 3) -> CIE L*a*b* (D65): L in [0, 100], a, b about [-128, 127].
  The transfer function is a 256-entry table and the 3 x 3 matrix written out as
  sums: on a CPU a third faster than the power and a K = 3 matmul (the train
  step converts every crop)."""
  linear = jnp.asarray(_SRGB_TO_LINEAR)[images.astype(jnp.int32)]
  r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
  xyz = [(m[0] * r + m[1] * g + m[2] * b) / white for m, white in zip(_RGB_TO_XYZ, _D65_WHITE)]
  fx, fy, fz = (jnp.where(t > 0.008856, jnp.cbrt(t), 7.787 * t + 16 / 116) for t in xyz)
  return jnp.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], -1)


def rgb_to_hsv(rgb):
  """RGB in [0, 1] (..., 3) -> HSV, each in [0, 1] (hue as a fraction of a turn)."""
  r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
  value = rgb.max(-1)
  chroma = value - rgb.min(-1)
  safe = jnp.where(chroma > 0, chroma, 1.0)
  hue = jnp.where(
    value == r, ((g - b) / safe) % 6, jnp.where(value == g, (b - r) / safe + 2, (r - g) / safe + 4)
  )
  hue = jnp.where(chroma > 0, hue / 6, 0.0)
  saturation = jnp.where(value > 0, chroma / jnp.where(value > 0, value, 1.0), 0.0)
  return jnp.stack([hue, saturation, value], -1)


def alternate_colour_space(images, space: str, dtype=jnp.float32):
  """uint8 RGB -> the student's second input, scaled to about [-1, 1]:
  "lab": (L / 100, a / 128, b / 128); "hsv": HSV in [0, 1]."""
  if space == "lab":
    out = rgb_to_lab(images) / jnp.asarray([100.0, 128.0, 128.0])
  elif space == "hsv":
    out = rgb_to_hsv(images.astype(jnp.float32) / 255.0)
  else:
    raise ValueError(f"colour space {space!r}: use one of {COLOUR_SPACES[1:]}")
  return out.astype(dtype)


def network_inputs(images, colour_space: str = "", dtype=jnp.float32):
  """uint8 (B, H, W, 3) -> (normalised RGB, alternate colour space or None)."""
  alternate = alternate_colour_space(images, colour_space, dtype) if colour_space else None
  return normalise(images, dtype), alternate


def model_input(module, images, dtype=jnp.float32):
  """uint8 RGB (B, H, W, 3) -> what `module` takes: normalised RGB, with a
  student's alternate colour space appended, (B, H, W, 6), when it has one."""
  cfg = getattr(module, "config", None)
  space = cfg.colour_space if getattr(cfg, "colour_channels", 0) else ""
  rgb, alternate = network_inputs(images, space, dtype)
  return rgb if alternate is None else jnp.concatenate([rgb, alternate], -1)
