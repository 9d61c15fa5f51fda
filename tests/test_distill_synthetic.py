"""Distillation end to end on the synthetic data, CI-sized (`make distill` is the
full-sized run): train a small teacher -> store its predictions with
infer_teacher.py -> distill the student from them -> evaluate and compare both."""

import os

import pytest

import infer_teacher
from configs import distill_synthetic, teacher_synthetic
from rtpe_jax import trainer
from rtpe_jax.data import teacher_store
from rtpe_jax.models import weights

from bench import compare_models

pytestmark = pytest.mark.slow


def test_teacher_store_student_chain(synthetic_root, tmp_path):
  teacher_dir, student_dir = str(tmp_path / "teacher"), str(tmp_path / "student")
  config = teacher_synthetic.get_config("runlocal")
  config.data.root = synthetic_root
  teacher_stats = trainer.train_and_evaluate(config, teacher_dir)
  assert set(teacher_stats) >= {"AP", "AR"}
  teacher_model = os.path.join(teacher_dir, "export")
  assert weights.read_arch(teacher_model)["model"] == "higher_hrnet"

  predictions = str(tmp_path / "predictions")
  infer_teacher.main(
    [
      "--teacher",
      teacher_model,
      "--coco",
      synthetic_root,
      "--split",
      "train2017",
      "--out",
      predictions,
      "--input-size",
      "64",
      "--no-progress",
    ]
  )
  store = teacher_store.TeacherStore(os.path.join(predictions, "teacher"))
  assert len(store) == 24

  config = distill_synthetic.get_config("runlocal")
  config.data.root = synthetic_root
  config.data.teacher_store = os.path.join(predictions, "teacher")
  student_stats = trainer.train_and_evaluate(config, student_dir)
  assert set(student_stats) >= {"AP", "AR"}

  rows = compare_models.main(
    [teacher_model, os.path.join(student_dir, "export"), "--input-size", "64", "--runs", "2"]
  )
  assert [r["kind"] for r in rows] == ["higher_hrnet", "attention_student"]
  assert all(r["gmac_conv"] > 0 and r["latency_ms"] > 0 for r in rows)
