"""Unlabelled images: the teacher's people as joints, the source, the labelled /
unlabelled mix of the pipeline, and its clear errors."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from rtpe_jax.data import coco, ground_truth_teacher, pipeline, schema
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.data.unlabelled import UnlabelledSource, pseudo_joints
from rtpe_jax.train import config as config_lib


def _person(score, values, x=10.0):
  k = np.zeros((17, 3))
  k[:, 0], k[:, 1], k[:, 2] = x, 20.0, values
  return {"keypoints": k.reshape(-1).tolist(), "score": score}


def test_pseudo_joints_keep_confident_people_and_joints_as_positions():
  values = np.full(17, 0.5)
  values[3] = 0.05
  people = [_person(0.6, values), _person(0.1, np.ones(17)), _person(0.9, np.zeros(17))]
  joints = pseudo_joints(people, min_score=0.2, min_joint_score=0.1)
  assert joints.shape == (1, 17, 3)  # the 0.1 person goes; so does one without a joint
  expected = np.tile([10.5, 20.5, 2.0], (17, 1))  # COCO pixel index 10 -> position 10.5
  expected[3] = 0.0
  np.testing.assert_array_equal(joints[0], expected)
  assert pseudo_joints([], 0.2, 0.1).shape == (0, 17, 3)


@pytest.fixture(scope="module")
def pool(synthetic_root, tmp_path_factory):
  """The val images as an unlabelled pool: stand-in maps, the ground truth as people."""
  out = str(tmp_path_factory.mktemp("pool_predictions"))
  ground_truth_teacher.write_stand_in_store(
    synthetic_root, ("val2017",), os.path.join(out, "teacher")
  )
  ground_truth_teacher.write_stand_in_people(synthetic_root, "val2017", out)
  return coco.image_dir(synthetic_root, "val2017"), out


def test_source_reads_the_teachers_people_and_maps(synthetic_root, pool):
  images, predictions = pool
  source = UnlabelledSource(images, predictions, min_score=0.2, min_joint_score=0.1)
  index = coco.load_coco(synthetic_root, "val2017")
  assert source.image_ids == coco.select_image_ids(index)
  example = source.load_dict(2)
  truth = coco.image_annotations(index, synthetic_root, "val2017", source.image_ids[2])
  labelled = truth.joints[:, :, 2] > 0
  people = labelled.any(1)
  np.testing.assert_allclose(
    example["joints"][..., :2], truth.joints[people][..., :2] * labelled[people][..., None], 1e-3
  )
  np.testing.assert_array_equal(example["joints"][..., 2], 2.0 * labelled[people])
  assert not example["ignore_mask"].any() and not example["person_mask"].any()
  assert example["labelled"] == np.False_
  assert set(schema.names(source.fields)) | {"labelled"} == set(example)
  assert len(UnlabelledSource(images, predictions, count=3)) == 3


def test_source_names_missing_predictions(synthetic_root, pool, tmp_path):
  images, _ = pool
  empty = str(tmp_path / "none")
  ground_truth_teacher.write_stand_in_store(
    synthetic_root, ("val2017",), os.path.join(empty, "teacher")
  )
  with pytest.raises(ts.MissingPrediction, match="--people"):
    UnlabelledSource(images, empty)  # maps, but no people


def test_a_corrupt_record_is_named_or_its_sample_dropped(pool, tmp_path):
  images, predictions = pool
  copy = str(tmp_path / "predictions")
  shutil.copytree(predictions, copy)
  source = UnlabelledSource(images, copy)
  victim = source.image_ids[1]
  bin_path, offset, length = source.store._where[victim]
  with open(bin_path, "r+b") as f:
    f.seek(offset + length - 5)
    f.write(b"\x00\x01\x02")
  with pytest.raises(ts.CorruptPrediction, match=rf"image {victim}"):
    source.load_dict(1)
  skipping = UnlabelledSource(images, copy, skip_corrupt=True)
  assert not skipping.load_dict(1)["teacher_ok"] and skipping.load_dict(0)["teacher_ok"]


def test_mixed_index_takes_the_fraction_in_order_and_resumes():
  def mix(start):
    pairs = [
      pipeline.mixed_index(tf.constant(g, tf.int64), 0.25, 10, 6, 3) for g in range(start, 40)
    ]
    return np.array([bool(w) for w, _ in pairs]), np.array([int(i) for _, i in pairs])

  which, index = mix(0)
  assert which.sum() == 10 and not which[:3].any() and which[3]
  # each stream reads its images once per epoch, in its own permutation
  assert sorted(index[~which][:10]) == list(range(10))
  assert sorted(index[which][:6]) == list(range(6))
  later_which, later_index = mix(17)
  np.testing.assert_array_equal(later_which, which[17:])
  np.testing.assert_array_equal(later_index, index[17:])


@pytest.fixture
def cfg(synthetic_root, synthetic_store, pool):
  cfg = config_lib.data_config()
  cfg.root, cfg.teacher_store = synthetic_root, synthetic_store
  cfg.input_size, cfg.batch_size = 128, 4
  cfg.unlabelled.images, cfg.unlabelled.predictions = pool
  cfg.unlabelled.fraction = 0.5
  return cfg


def test_the_pipeline_mixes_labelled_and_unlabelled_samples(cfg, synthetic_root):
  ds = pipeline.train_dataset(cfg, batch=False, process_count=1, process_index=0)
  samples = [dict(x) for x in ds.take(8).as_numpy_iterator()]
  labelled = np.array([s["labelled"] for s in samples])
  np.testing.assert_array_equal(labelled, [True, False] * 4)
  val = set(coco.select_image_ids(coco.load_coco(synthetic_root, "val2017")))
  assert all((s["image_id"] in val) != s["labelled"] for s in samples)
  for s in samples:
    if not s["labelled"]:
      assert s["person_mask_4"].max() == 0 and s["weights_4"].min() == 1
      seen = (s["joints"][..., 2] > 0) & (s["joints"][..., :2] >= 0).all(-1)
      seen &= (s["joints"][..., :2] < 128).all(-1)
      assert (s["teacher_heatmaps"].max() > 0.5) == seen.any()  # the stand-in's maps
  resumed = pipeline.train_dataset(cfg, start=5, batch=False, process_count=1, process_index=0)
  again = [dict(x) for x in resumed.take(3).as_numpy_iterator()]
  for a, b in zip(samples[5:], again):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])
  declared = schema.sample_fields(cfg, tag_channels=17)
  assert {f.name for f in declared} == set(samples[0])


def test_a_different_teacher_for_the_pool_is_refused(cfg, synthetic_root, tmp_path):
  other = str(tmp_path / "one_tag")
  with ts.TeacherStoreWriter(os.path.join(other, "teacher"), 17, 1) as writer:
    for image_id, p in ground_truth_teacher.ground_truth_stand_ins(synthetic_root, "val2017"):
      writer.add(
        image_id, ts.TeacherPrediction(p.heatmaps, p.tags[..., :1], p.affine, p.tag_affine)
      )
  ground_truth_teacher.write_stand_in_people(synthetic_root, "val2017", other)
  cfg.unlabelled.predictions = other
  with pytest.raises(ValueError, match="the same teacher must label both"):
    pipeline.train_dataset(cfg)
