"""What runs on a GPU machine without TensorFlow imports without it."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_IMPORTS = """
import sys
sys.modules["tensorflow"] = None  # any import of tensorflow now fails
import rtpe_jax.models, rtpe_jax.models.student, rtpe_jax.train.losses, rtpe_jax.preprocess
import rtpe_jax.inference.grouping, rtpe_jax.inference.protocol, rtpe_jax.inference.coco_metrics, rtpe_jax.inference.overlays
import rtpe_jax.inference.teacher_run, rtpe_jax.data.teacher_store
import rtpe_jax.train.train_step, rtpe_jax.train.optim, rtpe_jax.precision
import rtpe_jax.inference.predictor, rtpe_jax.models.folding, rtpe_jax.export.formats, rtpe_jax.export.cli
import rtpe_jax.threed.metrics3d, rtpe_jax.threed.lifter, rtpe_jax.threed.skeleton3d, rtpe_jax.threed.synthetic3d
import infer_teacher, predict
import rtpe_jax.train.config, configs.quickstart, configs.teacher_synthetic, configs.distill_coco_w48
import configs.student_stem_coco, configs.distill_synthetic, configs.lifting
import bench.run_all, bench.optimisations, bench.profile_student, bench.teacher_forward
print("ok")
"""


def test_model_inference_and_teacher_run_import_without_tensorflow():
  result = subprocess.run(
    [sys.executable, "-c", _IMPORTS], cwd=ROOT, capture_output=True, text=True, timeout=300
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().endswith("ok")


_TRAIN_STEP_ROW = """
import sys
sys.modules["tensorflow"] = None
from bench import run_all
rows = run_all.main(["--quick", "--skip", "network", "whole", "grouping"])
print("kinds", [r["kind"] for r in rows])
"""


@pytest.mark.slow
def test_the_benchmarks_train_step_row_runs_without_tensorflow():
  """The quick benchmark's train-step row runs where TensorFlow is missing (the GPU
  machine); the input-pipeline row, which needs it, is left out."""
  result = subprocess.run(
    [sys.executable, "-c", _TRAIN_STEP_ROW], cwd=ROOT, capture_output=True, text=True, timeout=600
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().splitlines()[-1] == "kinds ['train step']"
