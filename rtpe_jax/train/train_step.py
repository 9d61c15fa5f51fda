"""The training step as pure functions: model from the config, losses per task,
train state, one jit-compiled `train_step(state, batch) -> (state, metrics)`.

Tasks (`config.task`):
  "student"  the attention student (phases 1-2; phase 3 with its own stem):
             segmentation BCE, heatmaps against the teacher's stored maps and/or
             the ground truth (distillation mix, background weighting, hard
             joint mining), tags by associative embedding and/or regression to
             the teacher, stem feature distillation.
  "teacher"  a HigherHRNet from ground truth (its multi-resolution loss).

No TensorFlow here: the step runs on a machine without it. Batches are dicts
of arrays as the input pipeline makes them (`rtpe_jax.data.pipeline`).
"""

from __future__ import annotations

import functools
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from rtpe_jax import preprocess
from rtpe_jax.data import schema
from rtpe_jax.models import weights
from rtpe_jax.models.hrnet import ARCHS, HRNetConfig
from rtpe_jax.models.student import StudentConfig
from rtpe_jax.precision import LossScale, all_finite, compute_dtype
from rtpe_jax.train import losses, optim

# The fields of a training sample (`data.schema.sample_fields`) each task's step
# reads; `s` is an output stride.
STUDENT_FIELDS = ("image", "weights_{s}", "heatmaps_{s}", "person_mask_{s}", "tags")
TEACHER_FIELDS = ("image", "weights_{s}", "heatmaps_{s}", "tags")
TEACHER_MAPS = ("teacher_heatmaps", "teacher_tags")
STUDENT_STRIDE = 4  # the student's maps are at 1/4 of its input


def default_loss_config() -> ml_collections.ConfigDict:
  """Loss weights (0 switches a term off) and settings."""
  return ml_collections.ConfigDict(
    dict(
      segmentation=1.0,
      segmentation_pos_weight=7.0,
      heatmap=1.0,
      heatmap_kind="mse",  # "mse" or "bce" (logits; the student's heatmap_sigmoid)
      heatmap_pos_weight=100.0,  # bce only
      sigma_index=0,  # which of data.sigmas the ground truth uses
      alpha=0.0,  # distillation mix: alpha * teacher + (1 - alpha) * ground truth (0: none)
      # the same mix on unlabelled images (data.unlabelled), "ground truth" there being
      # the teacher's people: 1 learns their heatmaps from the teacher's maps alone
      alpha_unlabelled=1.0,
      background=1.0,  # weight of background pixels (target <= 0.01)
      ohkm_top=0,  # online hard keypoint mining: the top-M joints per sample (0: off)
      push_pull=1e-3,  # associative embedding on the ground-truth joints
      tag_regression=0.0,  # tags regressed to the teacher's
      stem=0.0,  # stem feature distillation (own stem with distill_stem)
      depth=1.0,  # masked L1 of a 3D student's depth maps (root and relative: `rtpe_jax.depth`)
    )
  )


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
  grouping settings and the flip test it was evaluated with (`predict.load` and
  the export read them)."""
  arch = _training_arch(config)
  if config.task == "student":
    arch["config"]["distill_stem"] = False
  arch["grouping"] = grouping_settings(config)
  arch["input_size"] = int(config.eval.input_size or config.data.input_size)  # the protocol's
  arch["flip"] = bool(config.eval.flip)
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


# ---------------------------------------------------------------- losses


def _heatmap_per_joint(pred, target, weights, lc):
  if lc.heatmap_kind == "mse":
    return losses.per_joint_mse(pred, target, weights)
  if lc.heatmap_kind == "bce":
    return losses.per_joint_bce_with_logits(
      pred, jnp.clip(target, 0.0, 1.0), weights, lc.heatmap_pos_weight
    )
  raise ValueError(f"heatmap_kind {lc.heatmap_kind!r}: use mse or bce")


def _weighted(target, weights, background):
  return losses.background_weights(target, weights, background) if background < 1 else weights


def student_loss(outputs: dict, batch: dict, lc, stride: int = STUDENT_STRIDE) -> dict:
  """Terms (B,) of the student's loss and their sum "total". outputs: the student's
  dict; batch: the pipeline's fields at the student's stride (+ teacher maps)."""
  weights = batch[f"weights_{stride}"]
  # (B,) 1 for labelled samples, 0 where the teacher's people stand in for labels
  labelled = batch["labelled"].astype(jnp.float32) if "labelled" in batch else None
  terms = {}
  if lc.segmentation:
    terms["segmentation"] = lc.segmentation * losses.segmentation_bce(
      outputs["segmentation"], batch[f"person_mask_{stride}"], weights, lc.segmentation_pos_weight
    )
    if labelled is not None:  # no person masks on unlabelled images
      terms["segmentation"] = terms["segmentation"] * labelled
  if lc.heatmap:
    truth = batch[f"heatmaps_{stride}"][:, lc.sigma_index]
    per_joint = _heatmap_per_joint(
      outputs["heatmaps"], truth, _weighted(truth, weights, lc.background), lc
    )
    if "teacher_heatmaps" in batch and (lc.alpha or labelled is not None):
      teacher = batch["teacher_heatmaps"]
      to_teacher = _heatmap_per_joint(
        outputs["heatmaps"], teacher, _weighted(teacher, weights, lc.background), lc
      )
      alpha = lc.alpha
      if labelled is not None:
        alpha = jnp.where(labelled > 0, lc.alpha, lc.alpha_unlabelled)[:, None]
      per_joint = losses.distillation_mix(to_teacher, per_joint, alpha)
    reduced = (
      losses.hard_joint_mining(per_joint, lc.ohkm_top) if lc.ohkm_top else jnp.mean(per_joint, -1)
    )
    terms["heatmap"] = lc.heatmap * reduced
    if "heatmaps_2" in outputs:
      truth, weights_2 = batch["heatmaps_2"][:, lc.sigma_index], batch["weights_2"]
      per_joint = _heatmap_per_joint(
        outputs["heatmaps_2"], truth, _weighted(truth, weights_2, lc.background), lc
      )
      terms["heatmap_2"] = lc.heatmap * (
        losses.hard_joint_mining(per_joint, lc.ohkm_top) if lc.ohkm_top else jnp.mean(per_joint, -1)
      )
  if outputs["tags"].shape[-1]:
    if lc.push_pull:
      push, pull = losses.associative_embedding(outputs["tags"], batch["tags"])
      terms["push"], terms["pull"] = lc.push_pull * push, lc.push_pull * pull
    if lc.tag_regression and "teacher_tags" in batch:
      terms["tag_regression"] = lc.tag_regression * losses.tag_regression(
        outputs["tags"], batch["teacher_tags"], batch["tags"]
      )
  if "depth" in outputs and lc.depth:
    values, weights = batch[f"depth_{stride}"], batch[f"depth_weights_{stride}"]
    terms["depth_root"] = lc.depth * losses.masked_l1(
      outputs["depth"][..., :1], values[..., :1], weights[..., :1]
    )
    terms["depth_relative"] = lc.depth * losses.masked_l1(
      outputs["depth"][..., 1:], values[..., 1:], weights[..., 1:]
    )
  if lc.stem:
    if "teacher_stem" not in outputs:
      raise ValueError("loss.stem needs a student with its own stem and distill_stem=True")
    terms["stem"] = lc.stem * losses.feature_distillation(outputs["stem"], outputs["teacher_stem"])
  if not terms:
    raise ValueError("every loss weight is 0")
  terms["total"] = sum(terms.values())
  return terms


def teacher_loss(outputs: list, batch: dict, lc, arch: HRNetConfig, strides) -> dict:
  """HigherHRNet's loss: outputs in order of `strides` (4, 2)."""
  return losses.higher_hrnet_loss(
    outputs,
    [batch[f"heatmaps_{s}"][:, lc.sigma_index] for s in strides],
    [batch[f"weights_{s}"] for s in strides],
    batch["tags"],
    arch.num_joints,
    arch.with_ae,
    lc.push_pull,
    lc.heatmap,
    lc.ohkm_top,
  )


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


def init_variables(module, config, rng) -> dict:
  """Freshly initialised variables of `module` for the configured input size."""
  size = config.data.input_size
  channels = getattr(getattr(module, "config", None), "input_channels", 3)
  x = jnp.zeros((1, size, size, channels), jnp.float32)
  return jax.jit(functools.partial(module.init, train=False))(rng, x)


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
    terms = student_loss(outputs, batch, config.loss, STUDENT_STRIDE)
  else:
    terms = teacher_loss(outputs, batch, config.loss, module.config, config.data.output_strides)
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
