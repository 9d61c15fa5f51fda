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


def test_random_batch_is_shaped_and_typed_as_declared():
  fields = schema.sample_fields(_cfg(), tag_channels=17)
  batch = schema.random_batch(fields, 3)
  assert sorted(batch) == sorted(f.name for f in fields)
  for f in fields:
    assert batch[f.name].shape == (3, *f.shape) and batch[f.name].dtype == f.dtype, f.name
  # tags: a flat position into the 32 x 32 stride-4 map and a valid flag per joint
  index, valid = batch["tags"][..., 0], batch["tags"][..., 1]
  assert index.max() < 32 * 32 and index.min() >= 0 and set(np.unique(valid)) == {1}
  assert len(np.unique(index)) > 100  # spread over the map, not one position


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
