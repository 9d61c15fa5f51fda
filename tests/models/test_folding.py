"""Batch norm folded into convolutions: the same outputs, fewer ops."""

import jax
import pytest
from conftest import QUICKSTART_STUDENT, perturbed_variables, relative_error

from rtpe_jax.models import folding, student, weights


def _student():
  module = student.AttentionStudent(config=student.StudentConfig(**QUICKSTART_STUDENT))
  x = jax.random.normal(jax.random.key(1), (2, 96, 128, 6))
  return module, perturbed_variables(module.init(jax.random.key(0), x[:1])), x


def test_folded_student_matches_unfolded():
  module, variables, x = _student()
  folded = folding.fold_batch_norm(module, variables, x)
  assert "batch_stats" not in folded  # every BatchNorm of the student follows a conv
  assert len(folded["folded_bias"]) == len(jax.tree.leaves(variables["batch_stats"])) // 2
  reference = jax.jit(lambda v, x: module.apply(v, x, train=False))(variables, x)
  out = jax.jit(lambda f, x: folding.folded_apply(module, f, x))(folded, x)
  for key in ("heatmaps", "tags", "segmentation", "stem"):
    assert relative_error(out[key], reference[key]) < 1e-5, key


def test_folded_teacher_matches_unfolded(tiny_model_dir):
  module, variables = weights.load_model(tiny_model_dir)
  variables = perturbed_variables(variables, seed=3)
  x = jax.random.normal(jax.random.key(2), (1, 128, 128, 3))
  folded = folding.fold_batch_norm(module, variables, x)
  assert "batch_stats" not in folded  # conv or transposed conv -> BN everywhere
  reference = module.apply(variables, x, train=False)
  out = folding.folded_apply(module, folded, x)
  for a, b in zip(out, reference):
    assert relative_error(a, b) < 1e-5


def test_folded_variables_from_another_model_are_refused():
  module, variables, x = _student()
  folded = folding.fold_batch_norm(module, variables, x)
  other = student.AttentionStudent(
    config=student.StudentConfig(**{**QUICKSTART_STUDENT, "colour_channels": 0})
  )
  with pytest.raises(Exception):
    folding.folded_apply(other, folded, x[..., :3])
