"""The model a training config describes: the module to train, its fresh
variables, and what its export carries (`arch.json`: the inference model, the
protocol's input size, the grouping thresholds, the flip test).

No TensorFlow here.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from rtpe_jax.models import weights
from rtpe_jax.models.hrnet import ARCHS, HRNetConfig
from rtpe_jax.models.student import StudentConfig
from rtpe_jax.precision import compute_dtype


def _training_arch(config) -> dict:
  """An `arch.json`-style description of `config.model` as trained."""
  m = config.model
  if config.task == "student":
    return {
      "model": "attention_student",
      "config": StudentConfig.from_dict(m.student.to_dict()).to_dict(),
    }
  if config.task == "teacher":
    arch = ARCHS[m.arch] if isinstance(m.arch, str) else HRNetConfig.from_dict(m.arch.to_dict())
    return {"model": "higher_hrnet", "config": arch.to_dict()}
  raise ValueError(f"task {config.task!r}: use 'student' or 'teacher'")


def build_model(config, dtype=None):
  """The module of `config.model` in the compute dtype of `config.precision`
  (`weights.module_for_arch`, as a model directory is loaded)."""
  return weights.module_for_arch(_training_arch(config), dtype or compute_dtype(config.precision))


def model_arch(config) -> dict:
  """The `arch.json` of the model's exported inference variables (a student
  without the teacher stem it may distill from), the protocol's input size, the
  grouping settings and the flip test it was evaluated with, unbiased
  (`protocol.flip_shift`; `predict.load` and the export read them)."""
  arch = _training_arch(config)
  if config.task == "student":
    arch["config"]["distill_stem"] = False
  arch["grouping"] = grouping_settings(config)
  arch["input_size"] = int(config.eval.input_size or config.data.input_size)  # the protocol's
  arch["flip"] = bool(config.eval.flip)
  arch["map_stride"] = int(config.eval.map_stride)  # the maps the grouping reads
  arch["unbiased_flip"] = True  # trained here: the flip test without the reference's bias
  return arch


def inference_variables(variables: dict, config) -> dict:
  """The variables `model_arch`'s model holds: without the teacher stem that a
  student with its own stem ran beside it to distill from (distill_stem)."""
  student = config.model.student if config.task == "student" else {}
  if not (student and student.get("stem") == "own" and student.get("distill_stem")):
    return variables
  return {
    k: {n: v for n, v in tree.items() if n != "teacher_stem"} for k, tree in variables.items()
  }


def grouping_settings(config) -> dict:
  """The grouping thresholds the config evaluates with (config.eval); they travel
  with the exported model (arch.json "grouping", read by `predict.load`)."""
  return {
    "detection_threshold": float(config.eval.detection_threshold),
    "tag_threshold": float(config.eval.tag_threshold),
  }


def init_variables(module, config, rng) -> dict:
  """Freshly initialised variables of `module` for the configured input size."""
  size = config.data.input_size
  channels = getattr(getattr(module, "config", None), "input_channels", 3)
  x = jnp.zeros((1, size, size, channels), jnp.float32)
  return jax.jit(functools.partial(module.init, train=False))(rng, x)
