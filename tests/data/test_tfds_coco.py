"""The TFDS build holds the same raw examples as the COCO layout and feeds the pipeline."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from rtpe_jax.data import coco_source, pipeline, schema, tfds_coco
from rtpe_jax.train import config as config_lib

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tfds_dir(synthetic_root, synthetic_store, tmp_path_factory):
  out = str(tmp_path_factory.mktemp("tfds"))
  tfds_coco.build(synthetic_root, out, teacher_store=synthetic_store)
  return out


def test_build_holds_the_raw_examples(tfds_dir, synthetic_root, synthetic_store):
  source = coco_source.CocoSource(synthetic_root, "train2017", store=synthetic_store)
  ds = tfds.load("coco_distill/with_teacher", split="train", data_dir=tfds_dir, download=False)
  examples = {int(e["image_id"]): e for e in tfds.as_numpy(ds)}
  assert sorted(examples) == source.image_ids
  for index in (0, 5):
    want = source.load_dict(index)
    got = examples[int(want["image_id"])]
    # The same JPEG bytes; TensorFlow's and Pillow's decoders differ by a few levels.
    difference = np.abs(got["image"].astype(int) - want["image"])
    assert difference.max() <= 10 and difference.mean() < 2  # another image: tens
    np.testing.assert_array_equal(got["joints"], want["joints"])
    np.testing.assert_array_equal(got["ignore_mask"][..., 0], want["ignore_mask"])
    np.testing.assert_array_equal(got["person_mask"][..., 0], want["person_mask"])
    for key in schema.TEACHER_FIELDS:
      np.testing.assert_array_equal(got[key], want[key])
  validation = tfds.load(
    "coco_distill/with_teacher", split="validation", data_dir=tfds_dir, download=False
  )
  assert len(list(validation)) == 8


def test_pipeline_reads_the_build(tfds_dir, synthetic_root, synthetic_store):
  cfg = config_lib.data_config()
  cfg.root, cfg.teacher_store, cfg.tfds_dir = synthetic_root, synthetic_store, tfds_dir
  cfg.input_size, cfg.batch_size = 128, 4
  batch = next(
    pipeline.train_dataset(cfg, process_index=0, process_count=1).take(1).as_numpy_iterator()
  )
  assert batch["image"].shape == (4, 128, 128, 3)
  assert batch["teacher_heatmaps"].shape == (4, 32, 32, 17)
  assert batch["heatmaps_4"].max() > 0.9


def test_command_line(synthetic_root, tmp_path):
  out = str(tmp_path / "tfds")
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "rtpe_jax.data.build_tfds",
      "--manual_dir",
      synthetic_root,
      "--data_dir",
      out,
    ],
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert os.path.isdir(os.path.join(out, "coco_distill", "plain"))
