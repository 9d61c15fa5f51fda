"""The training loop: `train_and_evaluate(config, workdir)`.

  workdir/checkpoints/  orbax: the latest `keep_checkpoints` train states (resume)
  workdir/best/         orbax: the state with the best minival AP so far
  workdir/export/       the student's (or teacher's) inference variables, a model
                        directory (`rtpe_jax.models.weights.load_model`)
  workdir/minival_results.json  the last evaluation's COCO keypoint results
  workdir/overlays/     the people found in the first eval images (`rtpe_jax.train.minival`)
  workdir/             TensorBoard events (clu metric_writers; panels and
                        histograms: `rtpe_jax.train.writers`)

A run restarted with the same workdir resumes from the latest checkpoint: the
same step, parameters, optimizer state, RNG and data position (the input
stream is a pure function of the sample index, `rtpe_jax.data.pipeline`).

Data parallelism: a 1-D mesh over the devices of all processes; every batch
is sharded along its first axis, the state replicated (`jax.sharding`). Start
one process per host with `--multiprocess` (`jax.distributed.initialize`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import flax.traverse_util as traverse_util
import jax
import ml_collections
import numpy as np
from clu import periodic_actions
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from rtpe_jax.data import pipeline
from rtpe_jax.inference import coco_metrics
from rtpe_jax.models import weights
from rtpe_jax.models.student import with_teacher_stem
from rtpe_jax.train import config as config_lib
from rtpe_jax.train import checkpoints as checkpoints_lib
from rtpe_jax.train import model_factory, optim, train_step, writers
from rtpe_jax.train.minival import Evaluator


class NonFiniteLossError(RuntimeError):
  """Training stopped: too many steps in a row with a non-finite loss or gradient."""


# ---------------------------------------------------------------- setup


def make_mesh(devices: int = 0) -> Mesh:
  """A 1-D ("data") mesh over all devices, or the first `devices` local ones."""
  chosen = jax.devices() if not devices else jax.local_devices()[:devices]
  if devices and len(chosen) < devices:
    raise ValueError(f"{devices} devices asked for, {len(chosen)} present")
  return Mesh(np.array(chosen), ("data",))


def _copy_matching(target: dict, source: dict) -> int:
  """Copies leaves of `source` into `target` (flat dicts) where path and shape match."""
  n = 0
  for key, value in source.items():
    if key in target and np.shape(target[key]) == np.shape(value):
      target[key] = np.asarray(value, target[key].dtype)
      n += 1
  return n


def initial_variables(module, config) -> dict:
  """Fresh variables, then the teacher stem and/or an exported model copied in."""
  variables = jax.device_get(
    model_factory.init_variables(module, config, jax.random.key(config.seed))
  )
  if config.init.teacher:
    _, teacher = weights.load_teacher(config.init.teacher)
    variables = with_teacher_stem(variables, teacher, config.init.teacher)
    logging.info("teacher stem from %s", config.init.teacher)
  flat = traverse_util.flatten_dict(variables)
  if config.init.model:
    _, source = weights.load_model(config.init.model)
    n = _copy_matching(flat, traverse_util.flatten_dict(source))
    if not n:
      raise ValueError(f"{config.init.model}: no variable matches the model")
    logging.info("init: %d of %d variables from %s", n, len(flat), config.init.model)
  return traverse_util.unflatten_dict(flat)


# ---------------------------------------------------------------- the loop


def _device_batch(batch: dict, fields, sharding) -> dict:
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(batch[k])) for k in fields}


def _mean_metrics(history: list[dict]) -> dict[str, float]:
  fetched = [train_step.host_tree(m) for m in history]
  out = {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
  for k in ("nonfinite_run", "longest_nonfinite_run", "loss_scale"):
    out[k] = float(fetched[-1][k])
  out["skipped"] = float(sum(1.0 - m["finite"] for m in fetched))
  del out["finite"]
  return out


def train_and_evaluate(
  config: ml_collections.ConfigDict,
  workdir: str,
  on_log: Callable[[int, dict[str, float]], None] | None = None,
) -> dict:
  """Trains, checkpoints, evaluates; returns the last evaluation's numbers.

  on_log(step, scalars): called every `log_every` steps with what goes to
  TensorBoard (`train/loss`, `train/heatmap`, `lr/...`), e.g. to draw the loss
  curve in a notebook as it trains."""
  config_lib.check(config)  # every value and file, before any data or compilation
  pipeline.keep_tensorflow_off_accelerators()
  workdir = os.path.abspath(workdir)
  os.makedirs(workdir, exist_ok=True)
  lead = jax.process_index() == 0
  writer, image_writer = writers.create(workdir, lead)
  mesh = make_mesh(config.devices)
  replicated = NamedSharding(mesh, PartitionSpec())
  data_sharding = NamedSharding(mesh, PartitionSpec("data"))
  if config.data.batch_size % mesh.size:
    raise ValueError(f"batch size {config.data.batch_size} is not divisible by {mesh.size} devices")

  module = model_factory.build_model(config)
  variables = initial_variables(module, config)
  trained, _ = optim.split_frozen(variables["params"], config.optimizer.frozen)
  tx = optim.make_optimizer(config.optimizer, trained, config.total_steps)
  schedules = optim.group_schedules(
    config.optimizer,
    config.total_steps,
    traverse_util.flatten_dict(optim.param_labels(trained)).values(),
  )
  state = train_step.create_state(
    variables, config, tx, jax.random.key_data(jax.random.key(config.seed + 1))
  )
  state = jax.device_put(state, replicated)

  evaluator = Evaluator(module, config)
  checkpoints = checkpoints_lib.manager(
    os.path.join(workdir, "checkpoints"), config.keep_checkpoints
  )
  best = checkpoints_lib.manager(os.path.join(workdir, "best"), 1, best=evaluator.best_metric)
  state, start = checkpoints_lib.resume(checkpoints, state, best)
  if start:
    logging.info("resumed from step %d (%s)", start, checkpoints.directory)
  else:
    writer.write_texts(0, {"config": f"<pre>{config}</pre>"})
    writer.write_hparams({k: v for k, v in _named_config(config).items()})

  with_teacher = bool(config.data.teacher_store) and config.task == "student"
  fields = train_step.batch_fields(config, with_teacher)
  stride = (
    config_lib.STUDENT_STRIDE if config.task == "student" else min(config.data.output_strides)
  )
  per_process = config.data.batch_size // jax.process_count()
  dataset = pipeline.train_dataset(config.data, start=start * per_process)
  batches = iter(dataset.as_numpy_iterator())
  step_fn = train_step.make_train_step(module, config, tx)
  gradients = train_step.make_gradients(module, config) if config.histogram_every else None
  predict = train_step.make_predict(module, config) if config.image_every else None
  arch = model_factory.model_arch(config)

  report = periodic_actions.ReportProgress(
    num_train_steps=config.total_steps,
    writer=writer,
    every_steps=config.log_every,
    every_secs=None,  # only at the log steps, where the host has waited for the device
  )
  history, stats = [], {}

  def save(step):
    checkpoints_lib.save(checkpoints, step, state)

  def evaluate(step):
    host = train_step.host_tree(state.variables())
    result = evaluator(host, os.path.join(workdir, "minival_results.json") if lead else "")
    writer.write_scalars(step, {f"minival/{k}": v for k, v in result.items()})
    logging.info("step %d minival\n%s", step, coco_metrics.format_table(result))
    if step not in best.all_steps():
      metric = evaluator.best_metric
      checkpoints_lib.save(best, step, state, metrics={metric: result[metric]})
    return result

  try:
    for step in range(start + 1, config.total_steps + 1):
      with jax.profiler.StepTraceAnnotation("train", step_num=step):
        host_batch = next(batches)
        batch = _device_batch(host_batch, fields, data_sharding)
        state, metrics = step_fn(state, batch)
      history.append(metrics)
      if step % config.log_every == 0 or step == config.total_steps:
        summary = _mean_metrics(history)
        history = []
        for label, fn in schedules.items():
          summary[f"lr/{label}"] = float(fn(step - 1))
        scalars = {k if "/" in k else f"train/{k}": v for k, v in summary.items()}
        writer.write_scalars(step, scalars)
        if on_log:
          on_log(step, scalars)
        if summary["longest_nonfinite_run"] >= config.max_nonfinite:
          save(step)
          raise NonFiniteLossError(
            f"{int(summary['longest_nonfinite_run'])} steps in a row (limit max_nonfinite="
            f"{config.max_nonfinite}) had a non-finite loss or gradient, last at step {step}; "
            f"the parameters are those of the last finite step, saved as checkpoint {step} "
            f"in {checkpoints.directory}. Lower the learning rate, clip gradients or check "
            "the data."
          )
      # After the metrics reached the host: steps are dispatched ahead of their
      # compute, so a rate taken before would count dispatches, not steps done.
      report(step)
      # Every process computes (the arrays span them all); the first one writes.
      if config.histogram_every and step % config.histogram_every == 0:
        params = writers.named_leaves(train_step.host_tree(state.params))
        grads = writers.named_leaves(train_step.host_tree(gradients(state, batch)))
        if image_writer:
          image_writer.write_histograms(
            step,
            {
              **{f"params/{k}": v for k, v in params.items()},
              **{f"grads/{k}": v for k, v in grads.items()},
            },
          )
      if config.image_every and step % config.image_every == 0:
        outputs = train_step.host_tree(predict(state.variables(), batch["image"]))
        if image_writer:
          image_writer.write_images(
            step, writers.pictures(host_batch, outputs, config.task, stride)
          )
      if step % config.checkpoint_every == 0 or step == config.total_steps:
        save(step)
      if config.eval_every and step % config.eval_every == 0 and step != config.total_steps:
        stats = evaluate(step)
    step = config.total_steps
    if start < step or not stats:
      stats = evaluate(step)
    if lead:
      host = train_step.host_tree(state.variables())
      weights.export_model(
        os.path.join(workdir, "export"), model_factory.inference_variables(host, config), arch
      )
      evaluator.write_overlays(
        host, os.path.join(workdir, "overlays"), config.eval.overlays, config.eval.overlay_min_score
      )
  finally:
    del batches  # an endless tf.data iterator must go before the interpreter exits
    checkpoints_lib.close(checkpoints, best)
    writer.flush()
  return stats


def _named_config(config) -> dict:
  """Scalar settings of the config, for TensorBoard's hparams."""
  flat = traverse_util.flatten_dict(config.to_dict())
  return {"/".join(k): v for k, v in flat.items() if isinstance(v, (int, float, str, bool))}
