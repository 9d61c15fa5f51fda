"""Schedules, parameter groups and frozen parameters (rtpe_jax/train/optim.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtpe_jax.train import config as config_lib
from rtpe_jax.train import optim


def test_cosine_restarts_scale_peak_floor_and_period_per_cycle():
  s = optim.cosine_restarts(
    peak=1.0,
    floor=0.1,
    period=10,
    total_steps=100,
    warmup=5,
    peak_decay=0.5,
    floor_decay=0.5,
    period_mult=2.0,
  )
  assert float(s(0)) == 0.0 and float(s(5)) == pytest.approx(1.0)  # warm-up to the first peak
  # Cycles start at 5, 15, 35, 75 with peaks 1, 0.5, 0.25, 0.125 and lengths 10, 20, 40.
  for start, peak in ((5, 1.0), (15, 0.5), (35, 0.25), (75, 0.125)):
    assert float(s(start)) == pytest.approx(peak)
  # Just before a restart: near that cycle's floor (0.1, 0.05, 0.025).
  for end, floor in ((14, 0.1), (34, 0.05), (74, 0.025)):
    assert float(s(end)) == pytest.approx(floor, abs=0.03 * floor / 0.1 + 0.01)
  values = [float(s(t)) for t in range(15, 35)]
  assert all(a >= b for a, b in zip(values, values[1:]))  # decreasing within a cycle


def test_attention_divisor_decays_from_start_to_one():
  d = [float(optim.attention_divisor(t, 20.0, 100)) for t in (0, 50, 100, 200)]
  assert d[0] == pytest.approx(20.0) and d[1] == pytest.approx(np.sqrt(20.0), rel=1e-5)
  assert d[2] == pytest.approx(1.0) and d[3] == pytest.approx(1.0)
  assert float(optim.attention_divisor(0, 20.0, 0)) == 1.0


def test_ema_update_follows_the_parameters_after_a_warm_up():
  average, params = {"w": jnp.zeros(3)}, {"w": jnp.ones(3)}
  # step 0: decay min(0.9, 1/10) = 0.1; step 90: min(0.9, 91/100) = 0.9
  np.testing.assert_allclose(optim.ema_update(average, params, 0.9, 0)["w"], 0.9, rtol=1e-6)
  np.testing.assert_allclose(optim.ema_update(average, params, 0.9, 90)["w"], 0.1, rtol=1e-5)
  np.testing.assert_allclose(optim.ema_update(average, params, 0.99, 8)["w"], 0.5, rtol=1e-6)
  assert optim.ema_update({}, params, 0.0, 5) == {}


def _params():
  leaf = lambda *s: jnp.ones(s)
  return {
    "teacher_stem": {"conv1": {"kernel": leaf(3, 3, 3, 4)}},
    "segmentation": {"logits": {"kernel": leaf(3, 3, 4, 1)}},
    "mid": {"kernel": leaf(1, 1, 4, 4)},
    "detector_0": {"kernel": leaf(3, 3, 4, 4)},
    "head": {"bias": leaf(18)},
  }


def test_labels_split_and_merge():
  params = _params()
  labels = optim.param_labels(params)
  assert labels["teacher_stem"]["conv1"]["kernel"] == "teacher_stem"
  assert labels["segmentation"]["logits"]["kernel"] == "attention"
  assert labels["mid"]["kernel"] == "attention"
  assert labels["head"]["bias"] == "detector"
  trained, frozen = optim.split_frozen(params, ("teacher_stem",))
  assert "teacher_stem" not in trained and list(frozen) == ["teacher_stem"]
  merged = optim.merge(trained, frozen)
  assert jax.tree.structure(merged) == jax.tree.structure(params)


def test_groups_get_their_own_learning_rate_and_frozen_no_state():
  cfg = config_lib.optimizer_config()
  cfg.name = "sgd"
  cfg.momentum = 0.0
  cfg.schedule.kind = "constant"
  cfg.schedule.peak = 0.1
  cfg.groups.attention.lr_scale = 0.0
  trained, _ = optim.split_frozen(_params(), cfg.frozen)
  tx = optim.make_optimizer(cfg, trained, 10)
  state = tx.init(trained)
  shapes = {tuple(np.shape(x)) for x in jax.tree.leaves(state)}
  assert (3, 3, 3, 4) not in shapes  # nothing for the frozen teacher stem
  grads = jax.tree.map(jnp.ones_like, trained)
  updates, _ = tx.update(grads, state, trained)
  assert float(jnp.abs(updates["segmentation"]["logits"]["kernel"]).max()) == 0.0
  np.testing.assert_allclose(updates["head"]["bias"], -0.1)


def test_weight_decay_and_clipping():
  cfg = config_lib.optimizer_config()
  cfg.name, cfg.momentum, cfg.weight_decay, cfg.clip_norm = "sgd", 0.0, 0.5, 1.0
  cfg.schedule.kind, cfg.schedule.peak = "constant", 1.0
  params = {"head": {"bias": jnp.full((4,), 2.0)}}
  tx = optim.make_optimizer(cfg, params, 10)
  grads = {"head": {"bias": jnp.full((4,), 10.0)}}  # norm 20: clipped to norm 1 (0.5 each)
  updates, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_allclose(updates["head"]["bias"], -(0.5 + 0.5 * 2.0))


def test_unknown_optimizer_and_schedule():
  cfg = config_lib.optimizer_config()
  cfg.name = "lion"
  with pytest.raises(ValueError, match="lion"):
    optim.make_optimizer(cfg, {"head": {"b": jnp.ones(1)}}, 10)
  cfg = config_lib.optimizer_config()
  cfg.schedule.kind = "step"
  with pytest.raises(ValueError, match="step"):
    optim.schedule(cfg, 10)
