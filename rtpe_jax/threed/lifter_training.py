"""The lifter's training: an endless stream of generated people seen by random
cameras (`lifter.sample_people`: no images, no rendering), the MPJPE as the loss,
AdamW on a warm-up cosine schedule; checkpoints, resume, metric writing and the
export as the students' trainer does them (`rtpe_jax.train.checkpoints`,
`rtpe_jax.train.writers`, `rtpe_jax.models.weights`).

  python train.py --config configs/lifting.py --workdir out/lifting

The closing table is the MPJPE and PA-MPJPE from exact 2D on `val_people`
generated validation people, the same whatever the training seed.
"""

from __future__ import annotations

import concurrent.futures
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from rtpe_jax.models import weights
from rtpe_jax.threed.lifter import FEATURES, Lifter, Model, apply, errors, sample_people
from rtpe_jax.train import checkpoints as checkpoints_lib
from rtpe_jax.train import writers
from rtpe_jax.train.config import ConfigError

VALIDATION_SEED = 0  # the validation people's stream, apart from the training seed's


def check_config(config) -> None:
  """One ConfigError naming every bad value of a lifting config."""
  problems = []
  for key in ("total_steps", "batch_size", "log_every", "checkpoint_every", "val_people"):
    value = config[key]
    if not isinstance(value, int) or value < 1:
      problems.append(f"config.{key}: {value!r}: must be an integer >= 1")
  for key in ("width", "blocks"):
    if not isinstance(config.model[key], int) or config.model[key] < 1:
      problems.append(f"config.model.{key}: {config.model[key]!r}: must be an integer >= 1")
  for key, value in (
    ("model.dropout", config.model.dropout),
    ("data.drop", config.data.drop),
    ("data.uniform", config.data.uniform),
  ):
    if not 0.0 <= value < 1.0:
      problems.append(f"config.{key}: {value!r}: must lie in [0, 1)")
  if not 0.0 < config.optimizer.peak <= 1.0:
    problems.append(f"config.optimizer.peak: {config.optimizer.peak}: must lie in (0, 1]")
  if not 0.0 <= config.optimizer.floor <= config.optimizer.peak:
    problems.append("config.optimizer.floor: must lie in [0, optimizer.peak]")
  if config.data.noise_px < 0:
    problems.append(f"config.data.noise_px: {config.data.noise_px}: must be >= 0")
  if problems:
    raise ConfigError(problems)


def _batch(config, step: int):
  """The training batch of `step`: the same for the same (seed, step), so a
  resumed run sees what an uninterrupted one would."""
  rng = np.random.default_rng([config.seed, 1, step])
  data = config.data
  x, y, _ = sample_people(
    rng, config.batch_size, data.noise_px, data.drop, data.focal_px, data.uniform
  )
  return x, (y / 1000.0).astype(np.float32)


def validation_set(config):
  """(features, root-relative truth mm): `val_people` people from exact 2D, the
  same whatever the training seed (runs of several seeds are compared on them)."""
  rng = np.random.default_rng([VALIDATION_SEED, 2])
  x, y, _ = sample_people(rng, config.val_people)
  return x, y


def _train_step(module: Lifter, tx):
  def loss_fn(params, x, y, key):
    pred = module.apply({"params": params}, x, train=True, rngs={"dropout": key}) / 1000.0
    return jnp.linalg.norm(pred - y, axis=-1).mean()  # the MPJPE, in metres

  def step(state, x, y):
    key = jax.random.fold_in(jax.random.wrap_key_data(state["key"]), state["step"])
    loss, grads = jax.value_and_grad(loss_fn)(state["params"], x, y, key)
    updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    new = {**state, "params": params, "opt_state": opt_state, "step": state["step"] + 1}
    return new, loss

  return jax.jit(step, donate_argnums=0)


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains the lifter, resumable from WORKDIR/checkpoints; evaluates it from
  exact 2D on the validation people; writes WORKDIR/export. Returns the table."""
  check_config(config)
  workdir = os.path.abspath(workdir)
  os.makedirs(workdir, exist_ok=True)
  module = Lifter(config.model.width, config.model.blocks, config.model.dropout)
  schedule = optax.warmup_cosine_decay_schedule(
    0.0, config.optimizer.peak, config.optimizer.warmup, config.total_steps, config.optimizer.floor
  )
  tx = optax.adamw(schedule, weight_decay=config.optimizer.weight_decay)
  params = module.init(jax.random.key(config.seed), jnp.zeros((1, FEATURES)))["params"]
  state = {
    "params": params,
    "opt_state": tx.init(params),
    "step": jnp.asarray(0, jnp.int32),
    "key": jax.random.key_data(jax.random.key(config.seed + 1)),
  }
  checkpoints = checkpoints_lib.manager(os.path.join(workdir, "checkpoints"), keep=2)
  state, start = checkpoints_lib.resume(checkpoints, state)
  if start:
    logging.info("resumed from step %d", start)
  writer, _ = writers.create(workdir)
  step_fn = _train_step(module, tx)
  losses, begun = [], time.perf_counter()
  try:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the next batch while one trains
      upcoming = pool.submit(_batch, config, start + 1)
      for step in range(start + 1, config.total_steps + 1):
        x, y = upcoming.result()
        if step < config.total_steps:
          upcoming = pool.submit(_batch, config, step + 1)
        state, loss = step_fn(state, x, y)
        losses.append(loss)
        if step % config.log_every == 0 or step == config.total_steps:
          mean = float(np.mean(jax.device_get(losses))) * 1000.0
          if not np.isfinite(mean):
            raise FloatingPointError(
              f"lifter: the loss is not finite by step {step}; the last checkpoint in "
              f"{checkpoints.directory} is from before. Lower config.optimizer.peak."
            )
          rate = len(losses) / (time.perf_counter() - begun)
          writer.write_scalars(
            step, {"train/mpjpe_mm": mean, "lr": float(schedule(step - 1)), "steps_per_s": rate}
          )
          losses, begun = [], time.perf_counter()
        if step % config.checkpoint_every == 0 or step == config.total_steps:
          checkpoints_lib.save(checkpoints, step, state)
  finally:
    checkpoints_lib.close(checkpoints)
    writer.flush()
  model = Model(module, {"params": jax.device_get(state["params"])})
  x, truth = validation_set(config)
  stats = errors(np.asarray(apply(module, model.variables, jnp.asarray(x)), np.float64), truth)
  writer.write_scalars(config.total_steps, {f"val/{k}": v for k, v in stats.items()})
  writer.flush()
  arch = {"model": "lifter", "config": config.model.to_dict(), "features": FEATURES}
  weights.export_model(os.path.join(workdir, "export"), model.variables, arch)
  return stats


def format_table(stats: dict) -> str:
  return f"{'MPJPE':>9} | {'PA-MPJPE':>9}\n{stats['MPJPE']:6.1f} mm | {stats['PA-MPJPE']:6.1f} mm"
