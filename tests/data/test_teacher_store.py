"""Teacher-prediction store: size and error bounds, resumable writing, clear errors."""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest

from rtpe_jax.data import ground_truth_teacher
from rtpe_jax.data import teacher_store as ts


def test_quantisation_error_is_at_most_half_a_step_per_channel():
  rng = np.random.default_rng(0)
  maps = rng.normal(size=(20, 30, 5)).astype(np.float32) * [1, 10, 0.01, 100, 0]
  q, low, step = ts.quantise(maps)
  error = np.abs(ts.dequantise(q, low, step) - maps).max(axis=(0, 1))
  assert np.all(error <= step / 2 + 1e-6 * np.abs(maps).max(axis=(0, 1)))
  assert error[4] == 0  # a constant channel is exact


def test_store_is_a_tenth_of_float32_and_error_is_bounded(synthetic_root, tmp_path):
  originals = dict(ground_truth_teacher.ground_truth_stand_ins(synthetic_root, "train2017"))
  with ts.TeacherStoreWriter(str(tmp_path), 17, 17) as writer:
    for image_id, pred in originals.items():
      writer.add(image_id, pred)
  float_bytes = sum(ground_truth_teacher.float32_bytes(p) for p in originals.values())
  assert ground_truth_teacher.store_bytes(str(tmp_path)) <= float_bytes / 10
  store = ts.TeacherStore(str(tmp_path))
  assert store.image_ids() == sorted(originals)
  for image_id, pred in originals.items():
    got = store[image_id]
    for name in ("heatmaps", "tags"):
      a, b = getattr(got, name), getattr(pred, name)
      assert a.shape == b.shape
      bound = (b.max(axis=(0, 1)) - b.min(axis=(0, 1))) / 510 + 1e-6
      assert np.all(np.abs(a - b).max(axis=(0, 1)) <= bound), (image_id, name)
    np.testing.assert_array_equal(got.affine, pred.affine)
    np.testing.assert_array_equal(got.tag_affine, pred.tag_affine)


_CRASHING_WRITER = """
import os, sys
import numpy as np
from rtpe_jax.data import teacher_store as ts
writer = ts.TeacherStoreWriter(sys.argv[1], 2, 1, shard_size=2)
for i in range(5):
  writer.add(i, ts.TeacherPrediction(np.full((4, 6, 2), i, np.float32), np.zeros((4, 6, 1)), np.eye(2, 3)))
os._exit(1)  # killed before the last shard is complete
"""


def test_interrupted_writing_resumes_without_losing_or_repeating(tmp_path):
  out = str(tmp_path / "store")
  subprocess.run([sys.executable, "-c", _CRASHING_WRITER, out], check=False)
  assert len(glob.glob(os.path.join(out, "*.bin"))) == 3  # two complete, one partial
  with ts.TeacherStoreWriter(out, 2, 1, shard_size=2) as writer:
    assert [i in writer for i in range(7)] == [True] * 4 + [False] * 3
    for i in range(7):
      if i not in writer:
        writer.add(
          i,
          ts.TeacherPrediction(
            np.full((4, 6, 2), i, np.float32), np.zeros((4, 6, 1)), np.eye(2, 3)
          ),
        )
  store = ts.TeacherStore(out)
  assert store.image_ids() == list(range(7))
  for i in range(7):
    np.testing.assert_array_equal(store[i].heatmaps, i)


def test_second_writer_fills_the_same_store(tmp_path):
  out = str(tmp_path)
  for name, ids in (("host0", [1, 2]), ("host1", [3])):
    with ts.TeacherStoreWriter(out, 2, 1, writer=name) as writer:
      for i in ids:
        writer.add(i, ts.TeacherPrediction(np.ones((2, 2, 2)), np.ones((2, 2, 1)), np.eye(2, 3)))
  assert ts.TeacherStore(out).image_ids() == [1, 2, 3]
  with pytest.raises(ts.StoreError, match="already stored"):
    ts.TeacherStoreWriter(out, 2, 1, writer="host2").add(
      3, ts.TeacherPrediction(np.ones((2, 2, 2)), np.ones((2, 2, 1)), np.eye(2, 3))
    )


def test_missing_entry_names_the_image(synthetic_store):
  store = ts.TeacherStore(synthetic_store)
  with pytest.raises(ts.MissingPrediction, match=r"no teacher prediction for image 999"):
    store[999]


def test_corrupt_entry_names_the_image(synthetic_store, tmp_path):
  import shutil

  out = str(tmp_path / "copy")
  shutil.copytree(synthetic_store, out)
  store = ts.TeacherStore(out)
  victim = store.image_ids()[3]
  bin_path, offset, length = store._where[victim]
  with open(bin_path, "r+b") as f:
    f.seek(offset + length // 2)
    f.write(b"\xff\x00\xff")
  with pytest.raises(ts.CorruptPrediction, match=rf"image {victim} .*checksum"):
    store[victim]
  store[store.image_ids()[4]]  # the neighbours still read


def test_bad_maps_and_wrong_channels_are_refused(tmp_path):
  writer = ts.TeacherStoreWriter(str(tmp_path), 2, 1)
  bad = np.ones((3, 3, 2), np.float32)
  bad[1, 1, 0] = np.nan
  with pytest.raises(ts.StoreError, match="image 7: maps contain NaN"):
    writer.add(7, ts.TeacherPrediction(bad, np.ones((3, 3, 1)), np.eye(2, 3)))
  with pytest.raises(ts.StoreError, match="image 8: 3 heatmaps"):
    writer.add(8, ts.TeacherPrediction(np.ones((3, 3, 3)), np.ones((3, 3, 1)), np.eye(2, 3)))
  writer.close()
  with pytest.raises(ts.StoreError, match="holds 2 heatmaps and 1 tag"):
    ts.TeacherStoreWriter(str(tmp_path), 17, 17)
  with pytest.raises(ts.StoreError, match="no teacher store"):
    ts.TeacherStore(str(tmp_path / "nowhere"))
