"""What runs on a GPU machine without TensorFlow imports without it."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_IMPORTS = """
import sys
sys.modules["tensorflow"] = None  # any import of tensorflow now fails
import rtpe_jax.models, rtpe_jax.models.student, rtpe_jax.losses, rtpe_jax.preprocess
import rtpe_jax.grouping, rtpe_jax.inference, rtpe_jax.evaluation, rtpe_jax.visualize
import rtpe_jax.teacher_inference, rtpe_jax.data.teacher_store
import rtpe_jax.training, rtpe_jax.optim, rtpe_jax.precision
import rtpe_jax.predict, rtpe_jax.models.folding, rtpe_jax.export
import infer_teacher, predict
import bench.run_all, bench.optimisations, bench.profile_student, bench.teacher_forward
print("ok")
"""


def test_model_inference_and_teacher_run_import_without_tensorflow():
  result = subprocess.run([sys.executable, "-c", _IMPORTS], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().endswith("ok")
