"""Augmentation: one affine for image, masks, joints and teacher maps; flips swap sides."""

import os

import numpy as np
import pytest
import tensorflow as tf

from rtpe_jax import coordinates, keypoints
from rtpe_jax.data import augment, coco, coco_source, pipeline
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.train import config as config_lib


def _config(size=256, **augmentation):
  cfg = config_lib.data_config()
  cfg.input_size = size
  cfg.augment.update(augmentation)
  return cfg


def _raw(image, joints, ignore, people, teacher_heatmaps, teacher_tags, stride=2):
  return {
    "image_id": tf.constant(1, tf.int64),
    "image": tf.constant(image, tf.uint8),
    "joints": tf.constant(joints, tf.float32),
    "ignore_mask": tf.constant(ignore, tf.uint8),
    "person_mask": tf.constant(people, tf.uint8),
    **{
      k: tf.constant(v)
      for k, v in coco_source.teacher_fields(
        ts.TeacherPrediction(
          np.asarray(teacher_heatmaps, np.float32),
          np.asarray(teacher_tags, np.float32),
          np.array([[stride, 0, 0], [0, stride, 0]], np.float32),
        )
      ).items()
    },
  }


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
  cfg = _config(
    size=256, max_rotation=0.0, min_scale=1.0, max_scale=1.0, max_translate=0.0, flip=1.0
  )
  sample = pipeline.train_sample(raw, tf.constant([0, 0], tf.int64), cfg)
  # Crop: the shorter side (200) onto 256 around the centre; mirrored: x -> 300 - x.
  scale = 256 / 200
  to_crop = lambda x, y: ((w - x - w / 2) * scale + 128, (y - h / 2) * scale + 128)
  got = sample["joints"].numpy()[0]
  np.testing.assert_allclose(got[9, :2], to_crop(200, 60), atol=1e-3)  # was the right wrist
  np.testing.assert_allclose(got[10, :2], to_crop(120, 100), atol=1e-3)
  centre = sample["teacher_heatmaps"].numpy()[32]
  np.testing.assert_allclose(centre[32], np.asarray(keypoints.FLIP_INDEX, np.float32), atol=1e-4)
  np.testing.assert_allclose(
    sample["teacher_tags"].numpy()[32, 32], keypoints.FLIP_INDEX, atol=1e-4
  )
  # The ground-truth heatmap of the left wrist now peaks where the right wrist went.
  peak = np.unravel_index(sample["heatmaps_4"].numpy()[0, ..., 9].argmax(), (64, 64))
  assert np.abs(np.array(peak[::-1]) - np.array(to_crop(200, 60)) / 4).max() <= 1


def test_no_flip_keeps_channels():
  h, w = 64, 64
  teacher = np.broadcast_to(np.arange(17, dtype=np.float32), (32, 32, 17))
  raw = _raw(
    np.zeros((h, w, 3)), np.zeros((0, 17, 3)), np.zeros((h, w)), np.zeros((h, w)), teacher, teacher
  )
  cfg = _config(
    size=64, max_rotation=0.0, min_scale=1.0, max_scale=1.0, max_translate=0.0, flip=0.0
  )
  sample = pipeline.train_sample(raw, tf.constant([0, 0], tf.int64), cfg)
  np.testing.assert_allclose(sample["teacher_heatmaps"].numpy()[8, 8], np.arange(17), atol=1e-4)
  assert sample["joints"].shape == (30, 17, 3) and not sample["joints"].numpy().any()


def _blob_world(h=240, w=320):
  """An image whose white regions are also the masks and teacher channel 0 (nose)."""
  yy, xx = np.mgrid[:h, :w]
  mask = (
    ((xx - 90) ** 2 + (yy - 120) ** 2 < 50**2) | ((xx > 200) & (xx < 280) & (yy > 30) & (yy < 200))
  ).astype(np.uint8)
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
  matrix, _ = augment.random_affine(
    np.random.default_rng([seed, 7]), image.shape[:2], 256, cfg.augment
  )
  inside = coordinates.warp(np.ones(image.shape[:2], np.float32), matrix, (256, 256)) > 0.5
  for s in (4, 2):
    picture = bright[::s, ::s] > 0.5
    # Weights: 0 where ignored (here: off the blobs), 1 beyond the image (black, nothing there).
    for name, value, want in (
      (f"person_mask_{s}", sample[f"person_mask_{s}"], picture),
      (f"weights_{s}", sample[f"weights_{s}"], picture | ~inside[::s, ::s]),
    ):
      agree = np.mean(want == (np.asarray(value) > 0.5))
      assert agree > 0.97, (name, agree)
    assert picture.sum() > 50
  teacher0 = sample["teacher_heatmaps"].numpy()[..., 0] > 0.5
  agree = np.mean(teacher0 == (bright[::4, ::4] > 0.5))
  assert agree > 0.97, agree


def test_augmented_noses_land_on_the_drawn_noses(synthetic_root):
  """In plain and mirrored crops the labelled nose sits at the centroid of the
  red disc drawn for it, to a fifth of a pixel on average (the image, its labels
  and the augmentation share one convention, rtpe_jax.coordinates)."""
  source = coco_source.CocoSource(synthetic_root, "train2017")
  cfg = _config(size=256)
  offsets = {False: [], True: []}
  for index in range(len(source)):
    raw = source.load_dict(index)
    tensors = {k: tf.constant(v) for k, v in raw.items()}
    for seed in range(6):
      flipped = augment.random_affine(
        np.random.default_rng([seed, index]), raw["image"].shape[:2], 256, cfg.augment
      )[1]
      sample = pipeline.train_sample(tensors, tf.constant([seed, index], tf.int64), cfg)
      red = np.abs(sample["image"].numpy().astype(int) - (150, 40, 40)).max(-1) < 30
      for x, y, v in sample["joints"].numpy()[:, 0]:
        r, c = int(y), int(x)
        if v != 2 or not (5 <= r < 251 and 5 <= c < 251):
          continue
        rows, cols = np.nonzero(red[r - 4 : r + 5, c - 4 : c + 5])
        if len(rows) >= 4:  # pixel centres sit at + 0.5
          offsets[flipped].append((c - 4 + cols.mean() + 0.5 - x, r - 4 + rows.mean() + 0.5 - y))
  for flipped, found in offsets.items():
    assert len(found) >= 30, (flipped, len(found))
    assert np.abs(np.mean(found, 0)).max() <= 0.2, (flipped, np.mean(found, 0))


def test_colour_jitter_changes_colours_but_not_geometry():
  image, mask, teacher = _blob_world()
  raw = _raw(image, np.zeros((0, 17, 3)), 1 - mask, mask, teacher, teacher)
  plain = _config(size=128)
  jitter = _config(
    size=128, colour_jitter=dict(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
  )
  seed = tf.constant([1, 2], tf.int64)
  a, b = pipeline.train_sample(raw, seed, plain), pipeline.train_sample(raw, seed, jitter)
  assert np.abs(a["image"].numpy() - b["image"].numpy()).max() > 0.1
  np.testing.assert_array_equal(a["person_mask_4"], b["person_mask_4"])


def _peak(maps: np.ndarray, x: float, y: float, k: int, radius: int = 3):
  """Sub-pixel peak (x, y) of channel k near map position (x, y): a parabola
  through the logarithms around the window's maximum (exact for a Gaussian);
  None near the border or where the window is flat."""
  h, w = maps.shape[:2]
  cx, cy = int(x), int(y)
  if not (radius + 1 <= cx < w - radius - 1 and radius + 1 <= cy < h - radius - 1):
    return None
  window = maps[cy - radius - 1 : cy + radius + 2, cx - radius - 1 : cx + radius + 2, k]
  if window.max() <= 0.2:
    return None
  iy, ix = np.unravel_index(window[1:-1, 1:-1].argmax(), (2 * radius + 1,) * 2)
  iy, ix = iy + 1, ix + 1
  log = np.log(np.maximum(window, 1e-6))

  def vertex(before, at, after):
    curvature = before - 2 * at + after
    return 0.0 if curvature >= 0 else 0.5 * (before - after) / curvature

  return np.array(
    [
      cx - radius - 1 + ix + vertex(*log[iy, ix - 1 : ix + 2]),
      cy - radius - 1 + iy + vertex(*log[iy - 1 : iy + 2, ix]),
    ]
  )


@pytest.fixture(scope="module")
def perfect_teacher_store(quickstart_root, tmp_path_factory):
  """The store a perfect HigherHRNet (outputs at 1/4 and 1/2: the project's
  targets) leaves after the teacher run (`teacher_run.run`) on the
  quickstart's 16 training images, at a 256-px input with the flip test."""
  from conftest import perfect_network, perfect_outputs

  from rtpe_jax import coordinates
  from rtpe_jax.inference import predictor, protocol, teacher_run, teacher_work

  out = str(tmp_path_factory.mktemp("perfect_teacher"))
  items, ground_truth = teacher_work.coco_work(quickstart_root, "train2017")
  spec = protocol.OutputSpec()  # HigherHRNet's: heatmaps + tags at 1/4, heatmaps at 1/2
  for item in items:
    ann = coco.image_annotations(ground_truth, quickstart_root, "train2017", item.image_id)
    size, center, scale = protocol.scale_size(item.height, item.width, 256, 1.0, 1.0)
    joints = ann.joints.copy()
    joints[..., :2] = coordinates.apply(
      protocol.resize_affine(center, scale, size), joints[..., :2]
    )
    variables = perfect_outputs(joints, (size[1], size[0]), (4, 2), flip=True)
    model = predictor.Model(perfect_network, variables, spec, 256)
    teacher_run.run(model, [item], out, progress=False)
  return os.path.join(out, "teacher")


@pytest.mark.parametrize("stride", [4, 2])
def test_stored_teacher_maps_land_on_the_ground_truth_of_the_crop(
  quickstart_root, perfect_teacher_store, stride
):
  """A perfect teacher's maps, stored and read back, warped by the training
  augmentation (rotation, scale, translation, flip) onto the crop's grid at
  `stride`, peak where the crop's ground-truth targets peak (and the masks sit
  where the image's people are)."""
  cfg = _config(size=256, max_rotation=30.0, min_scale=0.75, max_scale=1.5, flip=0.5)
  cfg.root, cfg.train_split, cfg.teacher_store = quickstart_root, "train2017", perfect_teacher_store
  cfg.teacher_stride, cfg.output_strides = stride, (stride,)
  source = pipeline.make_source(cfg, cfg.train_split, require_people=True)
  offsets, mask_offsets = [], []
  for index in range(len(source)):
    raw = {k: tf.constant(v) for k, v in source.load_dict(index).items()}
    for seed in range(2):
      sample = pipeline.train_sample(raw, tf.constant([seed, index], tf.int64), cfg)
      sample = {k: np.asarray(v) for k, v in sample.items()}
      truth, teacher = sample[f"heatmaps_{stride}"][0], sample["teacher_heatmaps"]
      for person in sample["joints"]:
        for k, (x, y, v) in enumerate(person):
          want = _peak(truth, x / stride, y / stride, k) if v > 0 else None
          got = _peak(teacher, x / stride, y / stride, k) if want is not None else None
          if got is not None:
            offsets.append(got - want)
      mask_offsets.append(_mask_offset(raw, sample, index, seed, cfg, stride))
  offsets = np.array(offsets)
  assert len(offsets) > 300
  assert np.abs(np.median(offsets, 0)).max() <= 0.1, np.median(offsets, 0)
  assert np.abs(np.median(np.array(mask_offsets), 0)).max() <= 0.1, np.median(mask_offsets, 0)


def _mask_offset(raw, sample, index, seed, cfg, stride):
  """Centroid of the pipeline's person mask at `stride` minus that of the image's
  person mask carried into the crop at full resolution and averaged over
  stride x stride blocks, in output cells."""
  from rtpe_jax import coordinates
  from rtpe_jax.data import augment

  rng = np.random.default_rng([seed, index])
  matrix, _ = augment.random_affine(rng, raw["image"].shape[:2], cfg.input_size, cfg.augment)
  full = coordinates.warp(
    raw["person_mask"].numpy().astype(np.float32),
    matrix,
    (cfg.input_size, cfg.input_size),
    nearest=True,
  )
  n = cfg.input_size // stride
  blocks = full.reshape(n, stride, n, stride).mean((1, 3))
  centroid = lambda m: (
    np.array([(m.sum(0) * np.arange(n)).sum(), (m.sum(1) * np.arange(n)).sum()])
    / max(m.sum(), 1e-6)
  )
  return centroid(sample[f"person_mask_{stride}"]) - centroid(blocks)
