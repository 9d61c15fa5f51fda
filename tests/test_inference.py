"""The test protocol end to end: a stand-in network with known maps, and the tiny teacher."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtpe_jax import inference, preprocess
from rtpe_jax.models import load_teacher

BLOBS = ((60.0, 80.0, 0.0), (220.0, 130.0, 1.0))  # x, y, green (-> tag)


def _image(h, w, blobs=BLOBS, sigma=6.0):
  yy, xx = np.mgrid[:h, :w].astype(np.float32)
  image = np.zeros((h, w, 3), np.float32)
  for x, y, green in blobs:
    g = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    image[..., 0] = np.maximum(image[..., 0], g)
    image[..., 1] = np.where(g > 0.05, green, image[..., 1])
  return (255 * image).round().astype(np.uint8)


def stand_in(variables, x):
  """Heatmaps: the red channel; tags: 3 x green; as HigherHRNet's two outputs."""
  del variables
  rgb = x * jnp.asarray(preprocess.STD_RGB) + jnp.asarray(preprocess.MEAN_RGB)
  pool = lambda a, k: jax.lax.reduce_window(a, 0.0, jax.lax.add, (1, k, k, 1), (1, k, k, 1),
                                            "VALID") / k**2
  red, green = rgb[..., :1], rgb[..., 1:2]
  quarter = jnp.concatenate([jnp.repeat(pool(red, 4), 17, -1),
                             jnp.repeat(3 * pool(green, 4), 17, -1)], -1)
  return [quarter, jnp.repeat(pool(red, 2), 17, -1)]


@pytest.mark.parametrize("hw, scales, flip", [
    ((200, 300), (1.0,), True), ((300, 200), (1.0,), False), ((200, 300), (2.0, 1.0, 0.5), True)])
def test_people_land_on_the_known_positions(hw, scales, flip):
  h, w = hw
  blobs = BLOBS if w > h else tuple((y, x, g) for x, y, g in BLOBS)
  image = _image(h, w, blobs)
  cfg = inference.ProtocolConfig(input_size=256, scales=scales, flip=flip)
  keypoints, scores = inference.predict_people(stand_in, {}, inference.OutputSpec(), image, cfg)
  assert keypoints.shape == (2, 17, 3)
  for (x, y, _), person in zip(sorted(blobs), sorted(keypoints, key=lambda p: p[0, 0])):
    np.testing.assert_allclose(person[:, 0], x, atol=1.0)
    np.testing.assert_allclose(person[:, 1], y, atol=1.0)
  assert np.all(scores > 0.5)


def test_tags_per_scale_and_flip():
  image = _image(200, 300)
  spec = inference.OutputSpec()
  for scales, flip, all_scales, depth in (((1.0,), True, False, 2), ((1.0,), False, False, 1),
                                          ((2.0, 1.0), True, False, 2), ((2.0, 1.0), True, True, 4)):
    cfg = inference.ProtocolConfig(input_size=128, scales=scales, flip=flip,
                                   tags_from_all_scales=all_scales)
    heatmaps, tags, (_, _, size) = inference.multi_person_maps(stand_in, {}, spec, image, cfg)
    assert heatmaps.shape == (1, size[1], size[0], 17)
    assert tags.shape == (1, size[1], size[0], 17, depth)


def test_sizes_follow_the_reference_rule():
  assert inference.scale_size(480, 640, 512, 1.0, 1.0)[0] == (704, 512)
  assert inference.scale_size(640, 480, 512, 1.0, 1.0)[0] == (512, 704)
  size, center, scale = inference.scale_size(427, 640, 512, 2.0, 0.5)
  assert size == (1536, 1024) and tuple(center) == (320, 214)
  np.testing.assert_allclose(inference.to_image(
      np.array([[size[0] / 2, size[1] / 2]]), center, scale, size), [center])


def test_tiny_teacher_runs_the_protocol(tiny_model_dir):
  model, variables = load_teacher(tiny_model_dir)
  spec = inference.OutputSpec.for_hrnet(model.config)
  image = np.random.default_rng(0).integers(0, 256, (150, 200, 3), np.uint8)
  cfg = inference.ProtocolConfig(input_size=128)
  keypoints, scores = inference.predict_people(model.apply, variables, spec, image, cfg)
  assert keypoints.shape[1:] == (17, 3) and scores.shape == (len(keypoints),)
  results = inference.coco_results(7, keypoints, scores)
  assert all(len(r["keypoints"]) == 51 and r["image_id"] == 7 for r in results)
