"""The declared data layout: stages, strides, random batches in range."""

import numpy as np

from rtpe_jax.data import schema
from rtpe_jax.train import config as config_lib


def _cfg():
  cfg = config_lib.data_config()
  cfg.input_size, cfg.output_strides, cfg.sigmas = 128, (4, 2), (2.0, 1.0)
  return cfg


def test_sample_maps_carry_their_stride_and_size():
  fields = {f.name: f for f in schema.sample_fields(_cfg(), tag_channels=1)}
  assert fields["heatmaps_2"].shape == (2, 64, 64, 17) and fields["heatmaps_2"].stride == 2
  assert fields["weights_4"].shape == (32, 32) and fields["weights_4"].stride == 4
  assert fields["teacher_tags"].shape == (32, 32, 1)
  assert "teacher_heatmaps" not in schema.names(schema.sample_fields(_cfg()))


def test_raw_and_augmented_stages():
  assert schema.names(schema.raw_fields())[:2] == ["image_id", "image"]
  teacher = {f.name: f for f in schema.raw_fields(teacher=True, tag_channels=3)}
  assert teacher["teacher_tag_low"].shape == (3,) and teacher["teacher_heatmap_low"].shape == (17,)
  assert set(schema.TEACHER_FIELDS) <= set(teacher)
  masks = {f.name: f for f in schema.augmented_fields(_cfg())}["masks"]
  assert masks.shape == (64, 64, 2) and masks.stride == 2  # the finest stride


def test_random_batch_is_in_range():
  fields = schema.sample_fields(_cfg(), tag_channels=17)
  batch = schema.random_batch(fields, 3)
  assert batch["image"].dtype == np.uint8 and batch["image"].shape == (3, 128, 128, 3)
  index = batch["tags"][..., 0]
  assert index.min() >= 0 and index.max() < 32 * 32  # flat indices into the stride-4 map
  assert 0 <= batch["heatmaps_4"].min() and batch["heatmaps_4"].max() <= 1


def test_3d_data_adds_depths_and_depth_targets_at_stride_4():
  cfg = _cfg()
  assert "depth_4" not in schema.names(schema.sample_fields(cfg))
  cfg.depth = True
  raw = {f.name: f for f in schema.raw_fields(depth=True)}
  assert raw["depths"].shape == (None, 18) and raw["focal"].shape == ()
  sample = {f.name: f for f in schema.sample_fields(cfg)}
  assert sample["depth_4"].shape == sample["depth_weights_4"].shape == (32, 32, 18)
  assert sample["depth_4"].stride == 4
  augmented = schema.names(schema.augmented_fields(cfg))
  assert augmented[-2:] == ["depth_4", "depth_weights_4"]
