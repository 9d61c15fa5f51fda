"""Model directories: variables and arch.json written, read back, and refused with a
clear error when they do not match."""

import jax
import numpy as np
import pytest

from conftest import QUICKSTART_STUDENT
from rtpe_jax.models import student, weights


def _student():
  cfg = student.StudentConfig(**QUICKSTART_STUDENT)
  module = student.AttentionStudent(config=cfg)
  arch = {"model": "attention_student", "config": cfg.to_dict()}
  return module, jax.device_get(module.init(jax.random.key(0), np.zeros((1, 64, 64, 6)))), arch


def test_a_model_directory_round_trips_bit_for_bit(tmp_path):
  module, variables, arch = _student()
  weights.export_model(str(tmp_path / "m"), variables, arch)
  weights.export_model(str(tmp_path / "m"), variables, arch)  # over an old one, atomically
  loaded_module, loaded = weights.load_model(str(tmp_path / "m"))
  assert loaded_module.config == module.config
  assert (
    student.StudentConfig.from_dict(weights.read_arch(str(tmp_path / "m"))["config"])
    == module.config
  )
  jax.tree.map(np.testing.assert_array_equal, variables, jax.device_get(loaded))
  assert not (tmp_path / "m.tmp").exists()


def test_what_is_not_a_model_directory_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="not a model directory"):
    weights.read_arch(str(tmp_path))
  module, variables, arch = _student()
  weights.save_model(str(tmp_path / "m"), variables, arch)
  with pytest.raises(ValueError, match="holds a 'attention_student' model, not higher_hrnet"):
    weights.load_teacher(str(tmp_path / "m"))
  other = student.AttentionStudent(
    config=student.StudentConfig(**{**QUICKSTART_STUDENT, "channels": 16})
  )
  with pytest.raises(
    ValueError, match=r"variables do not match arch.json: .* is \(8,\) there, \(4,\) in"
  ):
    weights.restore_variables(str(tmp_path / "m"), other)
