"""Augmentation: one affine for image, masks, joints and teacher maps; flips swap sides."""

import numpy as np
import pytest
import tensorflow as tf

from rtpe_jax.data import coco, pipeline, synthetic
from rtpe_jax.data import teacher_store as ts


def _config(size=256, **augmentation):
  cfg = pipeline.default_config()
  cfg.input_size = size
  cfg.augment.update(augmentation)
  return cfg


def _raw(image, joints, ignore, people, teacher_heatmaps, teacher_tags, stride=2):
  return {"image_id": tf.constant(1, tf.int64), "image": tf.constant(image, tf.uint8),
          "joints": tf.constant(joints, tf.float32),
          "ignore_mask": tf.constant(ignore, tf.uint8), "person_mask": tf.constant(people, tf.uint8),
          **{k: tf.constant(v) for k, v in pipeline.teacher_fields(ts.TeacherPrediction(
              np.asarray(teacher_heatmaps, np.float32), np.asarray(teacher_tags, np.float32),
              np.array([[stride, 0, 0], [0, stride, 0]], np.float32))).items()}}


def _unnormalise(image):
  return np.asarray(image, np.float32) / 255


def test_flip_mirrors_and_swaps_left_right_joints_and_teacher_channels():
  h, w = 200, 300
  joints = np.zeros((1, 17, 3), np.float32)
  joints[0, 9] = (120, 100, 2)  # left wrist
  joints[0, 10] = (200, 60, 2)  # right wrist
  channel = np.arange(17, dtype=np.float32)
  teacher = np.broadcast_to(channel, (h // 2, w // 2, 17))
  raw = _raw(np.zeros((h, w, 3)), joints, np.zeros((h, w)), np.zeros((h, w)), teacher, teacher)
  cfg = _config(size=256, max_rotation=0.0, min_scale=1.0, max_scale=1.0, max_translate=0.0,
                flip=1.0)
  sample = pipeline.train_sample(raw, tf.constant([0, 0], tf.int64), cfg)
  # Crop: the shorter side (200) onto 256 around the centre; mirrored: x -> 299 - x.
  scale = 256 / 200
  to_crop = lambda x, y: ((w - 1 - x - w / 2) * scale + 128, (y - h / 2) * scale + 128)
  got = sample["joints"].numpy()[0]
  np.testing.assert_allclose(got[9, :2], to_crop(200, 60), atol=1e-3)  # was the right wrist
  np.testing.assert_allclose(got[10, :2], to_crop(120, 100), atol=1e-3)
  centre = sample["teacher_heatmaps"].numpy()[32]
  np.testing.assert_allclose(centre[32], np.asarray(coco.FLIP_INDEX, np.float32), atol=1e-4)
  np.testing.assert_allclose(sample["teacher_tags"].numpy()[32, 32], coco.FLIP_INDEX, atol=1e-4)
  # The ground-truth heatmap of the left wrist now peaks where the right wrist went.
  peak = np.unravel_index(sample["heatmaps_4"].numpy()[0, ..., 9].argmax(), (64, 64))
  assert np.abs(np.array(peak[::-1]) - np.array(to_crop(200, 60)) / 4).max() <= 1


def test_no_flip_keeps_channels():
  h, w = 64, 64
  teacher = np.broadcast_to(np.arange(17, dtype=np.float32), (32, 32, 17))
  raw = _raw(np.zeros((h, w, 3)), np.zeros((0, 17, 3)), np.zeros((h, w)), np.zeros((h, w)),
             teacher, teacher)
  cfg = _config(size=64, max_rotation=0.0, min_scale=1.0, max_scale=1.0, max_translate=0.0,
                flip=0.0)
  sample = pipeline.train_sample(raw, tf.constant([0, 0], tf.int64), cfg)
  np.testing.assert_allclose(sample["teacher_heatmaps"].numpy()[8, 8], np.arange(17), atol=1e-4)
  assert sample["joints"].shape == (30, 17, 3) and not sample["joints"].numpy().any()


def _blob_world(h=240, w=320):
  """An image whose white regions are also the masks and teacher channel 0 (nose)."""
  yy, xx = np.mgrid[:h, :w]
  mask = (((xx - 90) ** 2 + (yy - 120) ** 2 < 50**2) | ((xx > 200) & (xx < 280) & (yy > 30) &
                                                         (yy < 200))).astype(np.uint8)
  image = np.repeat(mask[..., None] * 255, 3, -1)
  teacher = np.zeros((h // 2, w // 2, 17), np.float32)
  teacher[..., 0] = mask[::2, ::2]
  return image, mask, teacher


@pytest.mark.parametrize("seed", range(6))
def test_masks_and_teacher_maps_stay_aligned_with_the_image(seed):
  image, mask, teacher = _blob_world()
  raw = _raw(image, np.zeros((0, 17, 3)), 1 - mask, mask, teacher, teacher)
  cfg = _config(size=256, max_rotation=45.0, min_scale=0.6, max_scale=1.6, flip=0.5)
  sample = pipeline.train_sample(raw, tf.constant([seed, 7], tf.int64), cfg)
  bright = _unnormalise(sample["image"])[..., 0]
  for s in (4, 2):
    picture = bright[::s, ::s] > 0.5
    for name, value in ((f"person_mask_{s}", sample[f"person_mask_{s}"]),
                        (f"weights_{s}", sample[f"weights_{s}"])):
      agree = np.mean(picture == (np.asarray(value) > 0.5))
      assert agree > 0.97, (name, agree)
    assert picture.sum() > 50
  teacher0 = sample["teacher_heatmaps"].numpy()[..., 0] > 0.5
  agree = np.mean(teacher0 == (bright[::4, ::4] > 0.5))
  assert agree > 0.97, agree


def test_augmented_nose_lands_on_the_drawn_nose(synthetic_root):
  source = pipeline.CocoSource(synthetic_root, "train2017")
  cfg = _config(size=512)
  checked = 0
  for index in range(len(source)):
    image_id, image, joints, ignore, people = source.load(index)
    raw = {"image_id": tf.constant(image_id), "image": tf.constant(image),
           "joints": tf.constant(joints), "ignore_mask": tf.constant(ignore),
           "person_mask": tf.constant(people)}
    for seed in range(3):
      sample = pipeline.train_sample(raw, tf.constant([seed, index], tf.int64), cfg)
      rgb = _unnormalise(sample["image"]) * 255
      for person, drawn in zip(sample["joints"].numpy(), joints):
        x, y, v = person[0]
        facing = drawn[5, 2] > 0 and drawn[6, 2] > 0 and synthetic.facing_camera(drawn)
        if v != 2 or not facing or not (0 <= x < 511 and 0 <= y < 511):
          continue  # noses are drawn on figures that face the camera
        r, c = int(round(y)), int(round(x))
        around = rgb[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].reshape(-1, 3)  # noses are small
        error = np.abs(around - (150, 40, 40)).max(-1).min()
        assert error < 60, (image_id, seed, around)
        checked += 1
  assert checked >= 10


def test_colour_jitter_changes_colours_but_not_geometry():
  image, mask, teacher = _blob_world()
  raw = _raw(image, np.zeros((0, 17, 3)), 1 - mask, mask, teacher, teacher)
  plain = _config(size=128)
  jitter = _config(size=128, colour_jitter=dict(brightness=0.3, contrast=0.3, saturation=0.3,
                                                hue=0.1))
  seed = tf.constant([1, 2], tf.int64)
  a, b = pipeline.train_sample(raw, seed, plain), pipeline.train_sample(raw, seed, jitter)
  assert np.abs(a["image"].numpy() - b["image"].numpy()).max() > 0.1
  np.testing.assert_array_equal(a["person_mask_4"], b["person_mask_4"])
