"""The jit-compiled train step (rtpe_jax/train/train_step.py)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_train_config

from rtpe_jax.models import hrnet, weights
from rtpe_jax.train import config as config_lib
from rtpe_jax.train import losses, model_factory, optim, train_step

# A teacher stem shaped like the published ones (256 channels at 1/4) with one
# bottleneck instead of four: the same mechanics, a third of the compile time.
SMALL_STEM = dataclasses.replace(hrnet.ARCHS["w32_512"], layer1_blocks=1, name="small_stem")
# Each test compiles a train step (about 25 s on a 2-core CPU): slow, run in CI.
pytestmark = pytest.mark.slow


@pytest.fixture
def small_teacher_stem(monkeypatch):
  monkeypatch.setitem(hrnet.ARCHS, "small_stem", SMALL_STEM)
  return "small_stem"


def _state(config, steps=100):
  module = model_factory.build_model(config)
  variables = model_factory.init_variables(module, config, jax.random.key(0))
  trained, _ = optim.split_frozen(variables["params"], config.optimizer.frozen)
  tx = optim.make_optimizer(config.optimizer, trained, steps)
  state = train_step.create_state(variables, config, tx, jax.random.key_data(jax.random.key(1)))
  return module, tx, state


def _fields(batch, config, teacher=False):
  return {k: batch[k] for k in train_step.batch_fields(config, teacher)}


def test_nonfinite_step_is_skipped(synthetic_root, fixed_batch):
  config = tiny_train_config(synthetic_root)
  config.precision = "float16"
  config.optimizer.ema = 0.9  # the moving average stays as it was too
  module, tx, state = _state(config)
  step = train_step.make_train_step(module, config, tx)
  batch = _fields(fixed_batch, config)
  for _ in range(20):  # the first float16 steps may overflow at the initial scale 2^15
    state, metrics = step(state, batch)
    if float(metrics["finite"]):
      break
  assert float(metrics["finite"]) == 1.0
  start, longest = int(state.step), int(state.longest_nonfinite_run)
  before = jax.device_get((state.params, state.ema_params, state.opt_state, state.batch_stats))
  scale = float(state.loss_scale.scale)
  bad = dict(batch, weights_4=np.full_like(batch["weights_4"], np.nan))
  for run in (1, 2):
    state, metrics = step(state, bad)
    assert float(metrics["finite"]) == 0.0 and int(metrics["nonfinite_run"]) == run
  after = jax.device_get((state.params, state.ema_params, state.opt_state, state.batch_stats))
  jax.tree.map(np.testing.assert_array_equal, before, after)  # nothing changed
  assert float(state.loss_scale.scale) == scale / 4  # halved per skipped float16 step
  assert int(state.step) == start + 2 and int(state.longest_nonfinite_run) == max(2, longest)
  state, metrics = step(state, batch)
  assert float(metrics["finite"]) == 1.0 and int(state.nonfinite_run) == 0


def test_bfloat16_compute_keeps_float32_params(synthetic_root, fixed_batch):
  config = tiny_train_config(synthetic_root)
  config.precision = "bfloat16"
  config.optimizer.ema = 0.999
  module, tx, state = _state(config)
  assert module.dtype == jnp.bfloat16
  start = jax.device_get(state.params)
  state, metrics = train_step.make_train_step(module, config, tx)(
    state, _fields(fixed_batch, config)
  )
  # the same first step in float32: bfloat16's 8 significant bits move the loss by a few %
  config.precision = "float32"
  module32, tx32, state32 = _state(config)
  _, metrics32 = train_step.make_train_step(module32, config, tx32)(
    state32, _fields(fixed_batch, config)
  )
  assert float(metrics["total"]) == pytest.approx(float(metrics32["total"]), rel=0.05)
  assert float(metrics["total"]) != float(metrics32["total"])  # bfloat16 did compute
  assert {x.dtype for x in jax.tree.leaves(state.params)} == {np.dtype(np.float32)}
  # The average after step 0 holds a tenth of the start (decay min(0.999, 1/10)),
  # and it is what the state's variables (evaluation, export) hold.
  params, average = jax.device_get((state.params, state.ema_params))
  expected = jax.tree.map(lambda a, p: a * np.float32(0.1) + p * np.float32(0.9), start, params)
  jax.tree.map(
    lambda e, a: np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7), expected, average
  )
  assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, start, params)))
  held = jax.device_get(state.variables()["params"])
  jax.tree.map(np.testing.assert_array_equal, optim.merge(average, state.frozen), held)


def test_frozen_teacher_stem_gets_no_update_no_state(
  synthetic_root, fixed_batch, small_teacher_stem
):
  config = tiny_train_config(synthetic_root)
  config.model.student.stem = "teacher"
  config.model.student.teacher_arch = small_teacher_stem
  config.model.student.stem_features = 256
  config.optimizer.frozen = ("teacher_stem",)
  config.loss.alpha = 0.5
  config.loss.tag_regression = 1.0
  module, tx, state = _state(config)
  assert "teacher_stem" not in state.params and "teacher_stem" in state.frozen
  frozen_sizes = {x.size for x in jax.tree.leaves(state.frozen)}
  assert not any(x.size in frozen_sizes and x.size > 1000 for x in jax.tree.leaves(state.opt_state))
  before = jax.device_get((state.frozen, state.batch_stats["teacher_stem"]))
  batch = dict(_fields(fixed_batch, config))
  h = config.data.input_size // 4
  rng = np.random.default_rng(0)
  batch["teacher_heatmaps"] = rng.random((4, h, h, 17), np.float32)
  batch["teacher_tags"] = rng.normal(size=(4, h, h, 17)).astype(np.float32)
  # the step reports the loss of the parameters it started from
  terms, _, _ = train_step.forward_and_loss(module, config, state.variables(), batch, True)
  want = {k: float(jnp.mean(v)) for k, v in terms.items()}
  state, metrics = train_step.make_train_step(module, config, tx)(state, batch)
  assert set(want) == {"segmentation", "heatmap", "push", "pull", "tag_regression", "total"}
  for key, value in want.items():
    assert float(metrics[key]) == pytest.approx(value, rel=1e-5), key
  after = jax.device_get((state.frozen, state.batch_stats["teacher_stem"]))
  jax.tree.map(np.testing.assert_array_equal, before, after)


def test_own_stem_distillation_term(synthetic_root, fixed_batch, small_teacher_stem):
  config = tiny_train_config(synthetic_root)
  config.model.student.distill_stem = True
  config.model.student.teacher_arch = small_teacher_stem
  config.model.student.stem_features = 256
  config.optimizer.frozen = ("teacher_stem",)
  config.loss.stem = 1.0
  module, tx, state = _state(config)
  batch = _fields(fixed_batch, config)
  # the term is the mean squared difference of the own stem's features to the teacher stem's
  _, outputs, _ = train_step.forward_and_loss(module, config, state.variables(), batch, True)
  want = float(jnp.mean((outputs["stem"] - outputs["teacher_stem"]) ** 2))
  state, metrics = train_step.make_train_step(module, config, tx)(state, batch)
  assert float(metrics["stem"]) == pytest.approx(want, rel=1e-5) and want > 1e-3
  assert model_factory.model_arch(config)["config"]["distill_stem"] is False


def test_teacher_task_step(synthetic_root, fixed_batch, tiny_model_dir):
  config = tiny_train_config(synthetic_root, task="teacher")
  config.data.output_strides = (4, 2)
  arch = weights.read_arch(tiny_model_dir)["config"]
  # The tiny HigherHRNet (two outputs, strides 4 and 2) with one module per stage
  # and one layer1 block: the same heads and losses, half the compile time.
  arch["stages"] = [dict(stage, num_modules=1) for stage in arch["stages"]]
  config.model = dict(arch=dict(arch, layer1_blocks=1))
  module, tx, state = _state(config)
  batch = {k: fixed_batch[k] for k in ("image", "weights_4", "heatmaps_4", "tags")}
  h = config.data.input_size // 2  # the fixed batch has the 1/4 targets: make the 1/2 ones
  batch["heatmaps_2"] = np.repeat(np.repeat(batch["heatmaps_4"], 2, 2), 2, 3)
  batch["weights_2"] = np.ones((4, h, h), np.float32)
  step = train_step.make_train_step(module, config, tx)
  first = None
  for _ in range(8):
    state, metrics = step(state, batch)
    first = first if first is not None else float(metrics["total"])
  assert {"heatmap_0", "heatmap_1", "push_0", "pull_0"} <= set(metrics)
  assert float(metrics["total"]) < first


def test_every_loss_weight_zero_is_an_error(synthetic_root, fixed_batch):
  config = tiny_train_config(synthetic_root)
  for key in ("segmentation", "heatmap", "push_pull"):
    config.loss[key] = 0.0
  # Traced, not compiled: the error comes while the step is traced.
  module = model_factory.build_model(config)
  variables = jax.eval_shape(
    lambda: model_factory.init_variables(module, config, jax.random.key(0))
  )
  trained, _ = optim.split_frozen(variables["params"], config.optimizer.frozen)
  tx = optim.make_optimizer(config.optimizer, trained, 100)
  key = jax.random.key_data(jax.random.key(1))
  state = jax.eval_shape(lambda v: train_step.create_state(v, config, tx, key), variables)
  with pytest.raises(ValueError, match="every loss weight is 0"):
    jax.eval_shape(
      train_step.make_train_step(module, config, tx), state, _fields(fixed_batch, config)
    )


def test_loss_decreases_on_a_fixed_batch_heatmaps_at_strides_4_and_2(synthetic_root):
  """25 steps on one batch of the quickstart's kind of student (a fine heatmap
  head at 1/2 beside the 1/4 outputs): the loss falls, every term is reported."""
  from rtpe_jax.data import pipeline

  config = tiny_train_config(synthetic_root)
  config.data.output_strides = (4, 2)
  config.model.student.fine_heatmaps = True
  fields = train_step.batch_fields(config, with_teacher=False)
  assert {"heatmaps_2", "weights_2", "heatmaps_4"} <= set(fields)
  batch = _fields(
    next(iter(pipeline.train_dataset(config.data).take(1).as_numpy_iterator())), config
  )
  module, tx, state = _state(config)
  step = train_step.make_train_step(module, config, tx)
  losses, fine = [], []
  for _ in range(25):
    state, metrics = step(state, batch)
    losses.append(float(metrics["total"]))
    fine.append(float(metrics["heatmap_2"]))
  assert np.mean(losses[-3:]) < 0.6 * losses[0], losses
  assert int(state.step) == 25 and int(state.nonfinite_total) == 0
  assert {"heatmap", "heatmap_2", "segmentation", "push", "pull", "grad_norm", "loss_scale"} <= set(
    metrics
  )
  assert np.mean(fine[-3:]) < 0.8 * fine[0], fine  # the stride-2 head learns too


def test_unlabelled_samples_learn_from_the_teacher_alone():
  """A sample with labelled False: heatmaps against the teacher's maps only
  (alpha_unlabelled 1), no segmentation term; a labelled one mixes by alpha."""
  lc = config_lib.loss_config()
  lc.alpha, lc.push_pull = 0.5, 0.0
  rng = np.random.default_rng(0)
  maps = lambda: jnp.asarray(rng.uniform(0, 1, (2, 8, 8, 17)), jnp.float32)
  outputs = {
    "heatmaps": maps(),
    "tags": jnp.zeros((2, 8, 8, 0)),
    "segmentation": jnp.asarray(rng.normal(size=(2, 8, 8)), jnp.float32),
  }
  batch = {
    "weights_4": jnp.ones((2, 8, 8)),
    "person_mask_4": jnp.ones((2, 8, 8)),
    "heatmaps_4": maps()[:, None],
    "teacher_heatmaps": maps(),
    "labelled": jnp.array([True, False]),
  }
  terms = losses.student_loss(outputs, batch, lc)
  mse = lambda target: jnp.mean((outputs["heatmaps"] - target) ** 2, axis=(1, 2, 3))
  truth, teacher = mse(batch["heatmaps_4"][:, 0]), mse(batch["teacher_heatmaps"])
  np.testing.assert_allclose(terms["heatmap"][0], 0.5 * teacher[0] + 0.5 * truth[0], rtol=1e-6)
  np.testing.assert_allclose(terms["heatmap"][1], teacher[1], rtol=1e-6)
  assert terms["segmentation"][0] > 0 and terms["segmentation"][1] == 0
  without = losses.student_loss(outputs, {k: v for k, v in batch.items() if k != "labelled"}, lc)
  np.testing.assert_allclose(without["heatmap"][0], terms["heatmap"][0], rtol=1e-6)
  assert without["segmentation"][1] > 0
