"""Model directories: an orbax checkpoint of `{params, batch_stats}` plus `arch.json`.

Layout of a model directory written by `save_model`::

    DIR/arch.json      {"model": "higher_hrnet", "config": {...}, ...metadata}
    DIR/variables/     orbax checkpoint of {"params": ..., "batch_stats": ...}
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from rtpe_jax.models.hrnet import HigherHRNet, HRNetConfig

ARCH_FILE = "arch.json"
VARIABLES_DIR = "variables"


def input_channels(module) -> int:
  """Channels of the module's input image: 3 (RGB), or its config's `input_channels`."""
  return getattr(getattr(module, "config", None), "input_channels", 3)


def abstract_variables(module, input_hw: tuple[int, int] = (64, 64)) -> Any:
  """Shapes and dtypes of `module`'s variables, without allocating them."""
  x = jax.ShapeDtypeStruct((1, *input_hw, input_channels(module)), jnp.float32)
  return jax.eval_shape(lambda x: module.init(jax.random.key(0), x, train=False), x)


def save_model(out_dir: str, variables: dict, arch: dict) -> None:
  """Writes `variables` (orbax) and `arch` (json) into the new directory `out_dir`."""
  out_dir = os.path.abspath(out_dir)
  os.makedirs(out_dir)
  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(
      os.path.join(out_dir, VARIABLES_DIR), jax.tree.map(np.asarray, dict(variables))
    )
  with open(os.path.join(out_dir, ARCH_FILE), "w") as f:
    json.dump(arch, f, indent=1)


def export_model(directory: str, variables: dict, arch: dict) -> None:
  """Writes a model directory atomically (a temporary one renamed over the old)."""
  temporary = directory.rstrip("/") + ".tmp"
  shutil.rmtree(temporary, ignore_errors=True)
  save_model(temporary, variables, arch)
  shutil.rmtree(directory, ignore_errors=True)
  os.rename(temporary, directory)


def read_arch(model_dir: str) -> dict:
  path = os.path.join(model_dir, ARCH_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(
      f"{model_dir}: not a model directory (no {ARCH_FILE}); "
      "convert a checkpoint with convert_hrnet_weights.py first"
    )
  with open(path) as f:
    return json.load(f)


def restore_variables(model_dir: str, module, target: Any = None) -> dict:
  """Restores the variables of `module` from `model_dir`, checking their structure
  against `target` (shapes and dtypes; default: those of an image model)."""
  target = abstract_variables(module) if target is None else target
  path = os.path.join(os.path.abspath(model_dir), VARIABLES_DIR)
  if not os.path.isdir(path):
    raise FileNotFoundError(f"{model_dir}: no {VARIABLES_DIR}/ checkpoint")
  with ocp.StandardCheckpointer() as checkpointer:
    try:
      restored = checkpointer.restore(path, target)
    except (ValueError, KeyError) as err:
      raise ValueError(f"{model_dir}: variables do not match {ARCH_FILE}: {err}") from err
  # orbax restores the stored shapes whatever the target's: compare them here
  want = flax.traverse_util.flatten_dict(target)
  have = flax.traverse_util.flatten_dict(restored)
  for key in sorted(set(want) | set(have)):
    w, h = want.get(key), have.get(key)
    if w is None or h is None or tuple(w.shape) != tuple(np.shape(h)):
      raise ValueError(
        f"{model_dir}: variables do not match {ARCH_FILE}: {'/'.join(key)} is "
        f"{None if h is None else tuple(np.shape(h))} there, {None if w is None else tuple(w.shape)} "
        "in the model it describes"
      )
  return restored


def module_for_arch(arch: dict, dtype: Any = jnp.float32):
  """The module an `arch.json` describes: a HigherHRNet or an attention student."""
  from rtpe_jax.models.student import AttentionStudent, StudentConfig

  if arch.get("model") == "higher_hrnet":
    return HigherHRNet(config=HRNetConfig.from_dict(arch["config"]), dtype=dtype)
  if arch.get("model") == "attention_student":
    return AttentionStudent(config=StudentConfig.from_dict(arch["config"]), dtype=dtype)
  raise ValueError(f"unknown model {arch.get('model')!r} (higher_hrnet or attention_student)")


def load_model(model_dir: str, dtype: Any = jnp.float32) -> tuple[Any, dict]:
  """Loads any model directory (a converted teacher, a trained student or teacher):
  `(module, variables)`."""
  module = module_for_arch(read_arch(model_dir), dtype)
  return module, restore_variables(model_dir, module)


def load_teacher(model_dir: str, dtype: Any = jnp.float32) -> tuple[HigherHRNet, dict]:
  """Loads a converted HigherHRNet: `(module, variables)`.

  `module.apply(variables, x, train=False)` with x (B, H, W, 3) normalised RGB
  returns the list of outputs in the published order, NHWC float32.
  """
  arch = read_arch(model_dir)
  if arch.get("model") != "higher_hrnet":
    raise ValueError(f"{model_dir}: holds a {arch.get('model')!r} model, not higher_hrnet")
  module = HigherHRNet(config=HRNetConfig.from_dict(arch["config"]), dtype=dtype)
  return module, restore_variables(model_dir, module)
