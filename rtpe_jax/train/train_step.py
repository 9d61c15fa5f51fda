"""The training step as pure functions: the train state and one jit-compiled
`train_step(state, batch) -> (state, metrics)` of a config's task (the loss of
each task: `rtpe_jax.train.losses`; the module: `rtpe_jax.train.model_factory`).

No TensorFlow here: the step runs on a machine without it. Batches are dicts
of arrays as the input pipeline makes them (`rtpe_jax.data.pipeline`).
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rtpe_jax import preprocess
from rtpe_jax.data import schema
from rtpe_jax.precision import LossScale, all_finite, compute_dtype
from rtpe_jax.train import losses, optim
from rtpe_jax.train.config import STUDENT_STRIDE

# The fields of a training sample (`data.schema.sample_fields`) each task's step
# reads; `s` is an output stride.
STUDENT_FIELDS = ("image", "weights_{s}", "heatmaps_{s}", "person_mask_{s}", "tags")
TEACHER_FIELDS = ("image", "weights_{s}", "heatmaps_{s}", "tags")
TEACHER_MAPS = ("teacher_heatmaps", "teacher_tags")


def batch_fields(config, with_teacher: bool) -> list[str]:
  """Names of the batch entries the train step reads."""
  strides = config.data.output_strides
  names = STUDENT_FIELDS if config.task == "student" else TEACHER_FIELDS
  if config.task == "student":
    strides = [STUDENT_STRIDE]
    fine = ["heatmaps_2", "weights_2"] if config.model.student.get("fine_heatmaps") else []
  out = []
  for name in names:
    out += [name.format(s=s) for s in strides] if "{s}" in name else [name]
  if config.task == "student":
    out += fine + (list(TEACHER_MAPS) if with_teacher else [])
    out += [f.name for f in schema.labelled_fields(config.data)]
    if config.model.student.get("depth"):
      d = config.data.depth_stride
      out += [f"depth_{d}", f"depth_weights_{d}"]
  return out


# ---------------------------------------------------------------- state


class TrainState(flax.struct.PyTreeNode):
  """Everything a run carries from step to step (and checkpoints).

  step: batches consumed (skipped ones included: the data position is
  step * batch size); params: the trained parameters; ema_params: their
  exponential moving average (`optimizer.ema`; {} when off), what evaluation,
  pictures and the export read; frozen: parameters that are not trained;
  nonfinite_run: skipped steps in a row; longest_nonfinite_run: the longest
  such run so far; nonfinite_total.
  """

  step: jax.Array
  params: Any
  ema_params: Any
  frozen: Any
  batch_stats: Any
  opt_state: Any
  loss_scale: LossScale
  rng: jax.Array  # raw key data (uint32), split every step
  nonfinite_run: jax.Array
  longest_nonfinite_run: jax.Array
  nonfinite_total: jax.Array

  def variables(self) -> dict:
    """The model's variables as evaluated and exported: the averaged parameters
    where there is an average."""
    params = self.ema_params if jax.tree.leaves(self.ema_params) else self.params
    return {"params": optim.merge(params, self.frozen), "batch_stats": self.batch_stats}


def create_state(variables: dict, config, tx: optax.GradientTransformation, rng) -> TrainState:
  """A state at step 0 from full variables; `config.optimizer.frozen` groups are held out."""
  trained, frozen = optim.split_frozen(variables["params"], config.optimizer.frozen)
  if not jax.tree.leaves(trained):
    raise ValueError(f"every parameter is frozen (optimizer.frozen={config.optimizer.frozen})")
  zero = lambda: jnp.zeros((), jnp.int32)  # separate buffers: the state is donated
  return TrainState(
    step=zero(),
    params=trained,
    # a copy, not the same buffers: the state is donated
    ema_params=jax.tree.map(jnp.array, trained) if config.optimizer.ema else {},
    frozen=frozen,
    batch_stats=variables.get("batch_stats", {}),
    opt_state=tx.init(trained),
    loss_scale=LossScale.for_policy(config.precision),
    rng=rng,
    nonfinite_run=zero(),
    longest_nonfinite_run=zero(),
    nonfinite_total=zero(),
  )


def _keep_frozen_stats(new_stats, old_stats, frozen):
  """Batch statistics of frozen groups stay as they were."""
  if not frozen or not old_stats:
    return new_stats
  trained_new, _ = optim.split_frozen(new_stats, frozen)
  _, frozen_old = optim.split_frozen(old_stats, frozen)
  return optim.merge(trained_new, frozen_old)


def forward_and_loss(module, config, variables, batch, train: bool, divisor=1.0, rng=None):
  """(terms, outputs, new batch_stats) of one batch; `rng` feeds any "dropout"."""
  dtype = compute_dtype(config.precision)
  x = preprocess.model_input(module, batch["image"], dtype)
  kwargs = {"attention_divisor": divisor} if config.task == "student" else {}
  if train:
    rngs = {"dropout": rng} if rng is not None else {}
    outputs, updates = module.apply(
      variables, x, train=True, mutable=["batch_stats"], rngs=rngs, **kwargs
    )
    new_stats = updates["batch_stats"]
  else:
    outputs, new_stats = module.apply(variables, x, train=False, **kwargs), variables["batch_stats"]
  if config.task == "student":
    terms = losses.student_loss(outputs, batch, config.loss, STUDENT_STRIDE)
  else:
    terms = losses.teacher_loss(
      outputs, batch, config.loss, module.config, config.data.output_strides
    )
  return terms, outputs, new_stats


def make_train_step(module, config, tx: optax.GradientTransformation):
  """`train_step(state, batch) -> (state, metrics)`, jit-compiled, state donated.

  A step whose loss or gradients are not finite changes nothing but the step,
  the loss scale (halved under float16) and the non-finite counters.
  metrics: the mean of every loss term, grad_norm, loss_scale, finite (0/1),
  attention_divisor, nonfinite_run, longest_nonfinite_run.
  """
  frozen_groups = tuple(config.optimizer.frozen)
  att = config.get("attention", None)

  def step_fn(state: TrainState, batch: dict):
    rng, step_key = jax.random.split(jax.random.wrap_key_data(state.rng))
    divisor = (
      optim.attention_divisor(state.step, att.divisor, att.steps) if att else jnp.float32(1.0)
    )

    grads, (terms, new_stats) = _gradients(module, config, state, batch, divisor, step_key)
    finite = all_finite(grads) & jnp.isfinite(terms["total"])
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ema_params = optim.ema_update(state.ema_params, params, config.optimizer.ema, state.step)
    new_stats = _keep_frozen_stats(new_stats, state.batch_stats, frozen_groups)
    # One branch for the whole state, not a select per leaf: XLA fused the finiteness
    # test's 227-way reduction into each of about 800 selects (an 80-s CPU compile).
    params, ema_params, opt_state, new_stats = jax.lax.cond(
      finite,
      lambda new, old: new,
      lambda new, old: old,
      (params, ema_params, opt_state, new_stats),
      (state.params, state.ema_params, state.opt_state, state.batch_stats),
    )
    run = jnp.where(finite, 0, state.nonfinite_run + 1).astype(jnp.int32)
    new_state = state.replace(
      step=state.step + 1,
      rng=jax.random.key_data(rng),
      params=params,
      ema_params=ema_params,
      opt_state=opt_state,
      batch_stats=new_stats,
      loss_scale=state.loss_scale.adjust(finite),
      nonfinite_run=run,
      longest_nonfinite_run=jnp.maximum(state.longest_nonfinite_run, run),
      nonfinite_total=state.nonfinite_total + (~finite).astype(jnp.int32),
    )
    metrics = {
      **terms,
      "grad_norm": optax.global_norm(grads),
      "loss_scale": state.loss_scale.scale,
      "finite": finite.astype(jnp.float32),
      "attention_divisor": divisor,
      "nonfinite_run": run,
      "longest_nonfinite_run": new_state.longest_nonfinite_run,
    }
    return new_state, metrics

  return jax.jit(step_fn, donate_argnums=0)


def _gradients(module, config, state, batch, divisor, key):
  """(gradients of the trained parameters, (mean loss terms, new batch stats)),
  through the state's loss scale (the gradients unscaled)."""

  def loss_fn(params):
    variables = {"params": optim.merge(params, state.frozen), "batch_stats": state.batch_stats}
    terms, _, new_stats = forward_and_loss(module, config, variables, batch, True, divisor, key)
    terms = {k: jnp.mean(v) for k, v in terms.items()}
    return state.loss_scale.scale_loss(terms["total"]), (terms, new_stats)

  grads, aux = jax.grad(loss_fn, has_aux=True)(state.params)
  return state.loss_scale.unscale(grads), aux


def make_gradients(module, config):
  """`gradients(state, batch) -> grads` of the trained parameters, as the train
  step computes them (for histograms)."""
  att = config.get("attention", None)

  def fn(state, batch):
    divisor = (
      optim.attention_divisor(state.step, att.divisor, att.steps) if att else jnp.float32(1.0)
    )
    return _gradients(module, config, state, batch, divisor, None)[0]

  return jax.jit(fn)


def make_predict(module, config):
  """`predict(variables, images uint8) -> outputs` in inference mode (for pictures)."""
  dtype = compute_dtype(config.precision)

  def fn(variables, images):
    return module.apply(variables, preprocess.model_input(module, images, dtype), train=False)

  return jax.jit(fn)


def host_tree(tree):
  """NumPy copy of a (replicated) tree, also when it spans several processes."""
  return jax.tree.map(
    lambda a: np.asarray(a.addressable_data(0)) if isinstance(a, jax.Array) else np.asarray(a), tree
  )
