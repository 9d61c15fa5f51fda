"""tf.data pipelines: shapes, determinism, resumption, sharding, clear errors."""

import logging
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from rtpe_jax.data import coco_source, pipeline, schema
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.data.images import ImageError
from rtpe_jax.train import config as config_lib


@pytest.fixture
def cfg(synthetic_root, synthetic_store):
  cfg = config_lib.data_config()
  cfg.root, cfg.teacher_store = synthetic_root, synthetic_store
  cfg.input_size, cfg.batch_size = 128, 4
  return cfg


def _samples(ds, n):
  return [dict(x) for x in ds.take(n).as_numpy_iterator()]


def test_train_batches_have_fixed_shapes(cfg):
  batch = _samples(pipeline.train_dataset(cfg), 1)[0]
  shapes = {k: v.shape for k, v in batch.items()}
  assert shapes == {
    "image_id": (4,),
    "image": (4, 128, 128, 3),
    "weights_4": (4, 32, 32),
    "person_mask_4": (4, 32, 32),
    "heatmaps_4": (4, 1, 32, 32, 17),
    "weights_2": (4, 64, 64),
    "person_mask_2": (4, 64, 64),
    "heatmaps_2": (4, 1, 64, 64, 17),
    "tags": (4, 30, 17, 2),
    "joints": (4, 30, 17, 3),
    "teacher_heatmaps": (4, 32, 32, 17),
    "teacher_tags": (4, 32, 32, 17),
  }
  assert batch["image"].dtype == np.uint8
  assert batch["heatmaps_4"].max() > 0.9 and batch["teacher_heatmaps"].max() > 0.5
  declared = schema.sample_fields(cfg, tag_channels=17)  # what the schema says a sample is
  assert {f.name: ((4, *f.shape), np.dtype(f.dtype)) for f in declared} == {
    k: (v.shape, v.dtype) for k, v in batch.items()
  }


def test_deterministic_resumable_and_sharded(cfg):
  first = _samples(pipeline.train_dataset(cfg, batch=False, process_count=1, process_index=0), 8)
  again = _samples(pipeline.train_dataset(cfg, batch=False, process_count=1, process_index=0), 8)
  resumed = _samples(
    pipeline.train_dataset(cfg, start=5, batch=False, process_count=1, process_index=0), 3
  )
  for a, b in zip(first, again):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])
  for a, b in zip(first[5:], resumed):
    np.testing.assert_array_equal(a["image"], b["image"])
  # Two processes read disjoint halves of the single-process stream.
  for p in (0, 1):
    part = _samples(pipeline.train_dataset(cfg, batch=False, process_count=2, process_index=p), 4)
    for n, sample in enumerate(part):
      np.testing.assert_array_equal(sample["image"], first[2 * n + p]["image"])
  cfg.seed = 1
  other = _samples(pipeline.train_dataset(cfg, batch=False, process_count=1, process_index=0), 2)
  assert not np.array_equal(other[0]["image"], first[0]["image"])


def test_an_epoch_visits_every_training_image_once(cfg):
  source = pipeline.make_source(cfg, cfg.train_split, require_people=True)
  ids = [
    int(s["image_id"])
    for s in _samples(pipeline.train_dataset(cfg, source=source, batch=False), len(source))
  ]
  assert sorted(ids) == sorted(source.image_ids)
  assert ids != sorted(ids)


def test_corrupt_jpeg_is_named(cfg, synthetic_root, tmp_path):
  root = str(tmp_path / "coco")
  shutil.copytree(synthetic_root, root)
  source = coco_source.CocoSource(root, "train2017")
  info = source.coco.loadImgs(source.image_ids[0])[0]
  path = os.path.join(root, "images", "train2017", info["file_name"])
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 3)
  with pytest.raises(ImageError, match=rf"{path}: image {info['id']} does not decode"):
    source.load(0)
  cfg.root = root
  cfg.teacher_store = ""
  ds = pipeline.train_dataset(cfg, batch=False, process_index=0, process_count=1)
  with pytest.raises(tf.errors.InvalidArgumentError, match=info["file_name"]):
    list(ds.take(len(source)).as_numpy_iterator())  # one epoch reads every image


def test_missing_teacher_entries_are_named_or_skipped(cfg, synthetic_root, tmp_path, caplog):
  source = coco_source.CocoSource(synthetic_root, "train2017")
  kept = source.image_ids[2:]
  store = str(tmp_path / "partial")
  full = ts.TeacherStore(cfg.teacher_store)
  with ts.TeacherStoreWriter(store, 17, 17) as writer:
    for image_id in kept:
      p = full[image_id]
      writer.add(image_id, p)
  cfg.teacher_store = store
  with pytest.raises(
    ts.MissingPrediction,
    match=rf"no teacher prediction for 2 of .* e\.g\. \[{source.image_ids[0]}, ",
  ):
    pipeline.train_dataset(cfg)
  cfg.skip_missing_teacher = True
  with caplog.at_level(logging.WARNING):
    source = pipeline.make_source(cfg, cfg.train_split, require_people=True)
  assert source.image_ids == kept and "skipping 2" in caplog.text


def test_corrupt_teacher_entry_is_named_or_skipped(cfg, tmp_path):
  store = str(tmp_path / "store")
  shutil.copytree(cfg.teacher_store, store)
  source = coco_source.CocoSource(cfg.root, "train2017", store=store)
  victim = source.image_ids[0]
  bin_path, offset, length = source.store._where[victim]
  with open(bin_path, "r+b") as f:
    f.seek(offset + length - 5)
    f.write(b"\x00\x01\x02")
  cfg.teacher_store = store
  one_epoch = len(source)
  with pytest.raises(tf.errors.InvalidArgumentError, match=rf"image {victim} .*checksum"):
    _samples(pipeline.train_dataset(cfg, batch=False), one_epoch)
  cfg.skip_missing_teacher = True
  ids = [
    int(s["image_id"]) for s in _samples(pipeline.train_dataset(cfg, batch=False), one_epoch - 1)
  ]
  assert sorted(ids) == sorted(source.image_ids[1:])


def test_train_ids_the_annotations_lack_are_named_with_their_file_and_key(synthetic_root, tmp_path):
  listed = tmp_path / "ids.txt"
  listed.write_text("1\n2\n999999\n000000888888.jpg\n")  # two of the 24 train images, two not
  cfg = config_lib.data_config()
  cfg.root, cfg.train_ids = synthetic_root, str(listed)
  with pytest.raises(ValueError) as err:
    pipeline.train_source(cfg)
  assert str(err.value) == (
    f"{listed} (config.data.train_ids): 2 listed image ids are not in the annotations "
    f"{synthetic_root}/annotations/person_keypoints_train2017.json, e.g. [888888, 999999]"
  )
