"""Device-side network inputs: normalisation and the LAB/HSV input."""

import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow as tf

from rtpe_jax import preprocess


def test_normalise_uses_imagenet_statistics():
  image = np.array([[[0, 128, 255]]], np.uint8)
  want = (image / 255 - preprocess.MEAN_RGB) / preprocess.STD_RGB
  np.testing.assert_allclose(preprocess.normalise(jnp.asarray(image)), want, atol=1e-6)
  assert preprocess.normalise(jnp.asarray(image), jnp.bfloat16).dtype == jnp.bfloat16


def test_lab_of_known_colours():
  rgb = np.array([[255, 0, 0], [255, 255, 255], [0, 0, 0], [128, 128, 128]], np.uint8)
  lab = np.asarray(preprocess.rgb_to_lab(jnp.asarray(rgb)))
  np.testing.assert_allclose(lab[0], (53.24, 80.09, 67.20), atol=0.05)  # sRGB red, D65
  np.testing.assert_allclose(lab[1], (100, 0, 0), atol=0.05)
  np.testing.assert_allclose(lab[2], (0, 0, 0), atol=1e-3)
  np.testing.assert_allclose(lab[3], (53.59, 0, 0), atol=0.05)  # sRGB 128 grey


def test_lab_matches_the_formula_in_float64():
  rgb = np.random.default_rng(0).integers(0, 256, (1000, 3)).astype(np.uint8)
  v = rgb / 255.0
  linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
  xyz = linear @ np.array(preprocess._RGB_TO_XYZ).T / preprocess._D65_WHITE
  f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
  want = np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], -1)
  np.testing.assert_allclose(preprocess.rgb_to_lab(jnp.asarray(rgb)), want, atol=2e-4)


def test_hsv_matches_tensorflow():
  rgb = np.random.default_rng(0).integers(0, 256, (500, 3)).astype(np.uint8)
  rgb[:3] = [[0, 0, 0], [200, 200, 200], [255, 0, 0]]
  got = preprocess.alternate_colour_space(jnp.asarray(rgb), "hsv")
  want = tf.image.rgb_to_hsv(rgb.astype(np.float32) / 255).numpy()
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_network_inputs_and_unknown_space():
  images = jnp.zeros((2, 8, 8, 3), jnp.uint8)
  rgb, alternate = preprocess.network_inputs(images, "lab")
  assert rgb.shape == alternate.shape == (2, 8, 8, 3)
  assert preprocess.network_inputs(images)[1] is None
  with pytest.raises(ValueError, match="colour space 'xyz'"):
    preprocess.alternate_colour_space(images, "xyz")
