"""Optimizers from the config: schedules, parameter groups, frozen parameters.

Parameters are split by the label of their top-level module (`param_labels`):
the labels listed in `config.frozen` are taken out of the trained tree
altogether (no gradient, no update, no optimizer state); every other label is
a parameter group with its own learning-rate schedule (`optax.multi_transform`).

The settings are `config.optimizer` (`rtpe_jax.train.config.optimizer_config`:
the keys, their defaults and checks).
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import flax.traverse_util as traverse_util
import jax
import jax.numpy as jnp
import optax

# Top-level modules of the students, the HigherHRNet and their parameter group.
GROUPS = {
  "teacher_stem": "teacher_stem",
  "own_stem": "stem",
  "stem": "stem",
  "mid": "attention",
  "mid_bn": "attention",
  "segmentation": "attention",
}
DEFAULT_GROUP = "detector"


def label_of(path: tuple[str, ...]) -> str:
  """Parameter group of a parameter at `path` (its top-level module decides)."""
  return GROUPS.get(path[0], DEFAULT_GROUP)


def param_labels(params: Mapping) -> dict:
  """A tree like `params` holding each leaf's group label."""
  flat = traverse_util.flatten_dict(params)
  return traverse_util.unflatten_dict({k: label_of(k) for k in flat})


def split_frozen(params: Mapping, frozen) -> tuple[dict, dict]:
  """(trained, frozen) trees of `params`: leaves whose label is in `frozen` go to the second."""
  flat = traverse_util.flatten_dict(params)
  frozen = set(frozen)
  trained = {k: v for k, v in flat.items() if label_of(k) not in frozen}
  held = {k: v for k, v in flat.items() if label_of(k) in frozen}
  return traverse_util.unflatten_dict(trained), traverse_util.unflatten_dict(held)


def merge(trained: Mapping, frozen: Mapping) -> dict:
  """The full parameter tree from the two parts of `split_frozen`."""
  flat = {**traverse_util.flatten_dict(trained), **traverse_util.flatten_dict(frozen)}
  return traverse_util.unflatten_dict(flat)


def cosine_restarts(
  peak: float,
  floor: float,
  period: int,
  total_steps: int,
  warmup: int = 0,
  peak_decay: float = 1.0,
  floor_decay: float = 1.0,
  period_mult: float = 1.0,
) -> optax.Schedule:
  """Cosine annealing with warm restarts (SGDR) whose peak, floor and period are
  multiplied per cycle by peak_decay, floor_decay and period_mult; an optional
  linear warm-up from 0 to the first peak. Covers `total_steps` (the last value
  holds after)."""
  schedules, boundaries, step, cycle = [], [], 0, 0
  if warmup:
    schedules.append(optax.linear_schedule(0.0, peak, warmup))
    step = warmup
  while step < total_steps or not schedules:
    if schedules:
      boundaries.append(step)
    length = max(1, int(round(period * period_mult**cycle)))
    p, f = peak * peak_decay**cycle, floor * floor_decay**cycle
    schedules.append(optax.cosine_decay_schedule(p, length, alpha=f / p if p else 0.0))
    step += length
    cycle += 1
  return optax.join_schedules(schedules, boundaries) if boundaries else schedules[0]


def schedule(cfg, total_steps: int, lr_scale: float = 1.0) -> optax.Schedule:
  """The learning-rate schedule of `cfg.schedule` times `lr_scale`."""
  s = cfg.schedule
  if s.kind == "cosine_restarts":
    base = cosine_restarts(
      s.peak, s.floor, s.period, total_steps, s.warmup, s.peak_decay, s.floor_decay, s.period_mult
    )
  elif s.kind == "cosine":
    base = optax.warmup_cosine_decay_schedule(
      0.0, s.peak, s.warmup, max(total_steps, s.warmup + 1), s.floor
    )
  elif s.kind == "constant":
    base = optax.constant_schedule(s.peak)
  else:
    raise ValueError(f"schedule kind {s.kind!r}: use cosine_restarts, cosine or constant")
  return lambda step: base(step) * lr_scale


def group_schedules(cfg, total_steps: int, labels) -> dict[str, Callable]:
  """{label: schedule} for the trained groups present in `labels`."""
  out = {}
  for label in sorted(set(labels)):
    scale = cfg.groups[label].lr_scale if label in cfg.groups else 1.0
    out[label] = schedule(cfg, total_steps, scale)
  return out


def _base(cfg, lr) -> optax.GradientTransformation:
  if cfg.name == "sgd":
    parts = [optax.add_decayed_weights(cfg.weight_decay)] if cfg.weight_decay else []
    parts.append(optax.sgd(lr, momentum=cfg.momentum or None, nesterov=cfg.nesterov))
    return optax.chain(*parts)
  if cfg.name == "adam":
    if cfg.weight_decay:
      return optax.adamw(lr, cfg.b1, cfg.b2, cfg.eps, weight_decay=cfg.weight_decay)
    return optax.adam(lr, cfg.b1, cfg.b2, cfg.eps)
  raise ValueError(f"optimizer {cfg.name!r}: use sgd or adam")


def make_optimizer(cfg, trained_params: Mapping, total_steps: int) -> optax.GradientTransformation:
  """Clipping, then one optimizer per parameter group of `trained_params`."""
  labels = param_labels(trained_params)
  flat_labels = set(traverse_util.flatten_dict(labels).values())
  schedules = group_schedules(cfg, total_steps, flat_labels)
  tx = optax.multi_transform({k: _base(cfg, s) for k, s in schedules.items()}, labels)
  if cfg.clip_norm:
    tx = optax.chain(optax.clip_by_global_norm(cfg.clip_norm), tx)
  return tx


def ema_update(average, params, decay: float, step):
  """The moving average after the update that made `params` at `step` (0-based):
  `average * d + params * (1 - d)` with d = min(decay, (1 + step) / (10 + step)),
  so that the first steps' parameters do not linger in it (TensorFlow's
  ExponentialMovingAverage with num_updates). `average` {} (off) stays {}."""
  if not decay:
    return average
  step = jnp.asarray(step, jnp.float32)
  d = jnp.minimum(decay, (1.0 + step) / (10.0 + step))
  return jax.tree.map(lambda a, p: a * d + p * (1.0 - d), average, params)


def attention_divisor(step, start: float, steps: int):
  """The attention-logit divisor: decays geometrically from `start` to 1 over `steps`."""
  if start <= 1.0 or steps <= 0:
    return jnp.float32(1.0)
  fraction = jnp.clip(jnp.asarray(step, jnp.float32) / steps, 0.0, 1.0)
  return jnp.exp(math.log(start) * (1.0 - fraction))
