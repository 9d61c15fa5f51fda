"""Precision policies and dynamic loss scaling (rtpe_jax/precision.py)."""

import jax.numpy as jnp
import pytest

from rtpe_jax import precision


def test_fixed_scale_for_float32_and_bfloat16():
  for policy in ("float32", "bfloat16"):
    s = precision.LossScale.for_policy(policy)
    assert not s.dynamic and float(s.scale) == 1.0
    assert float(s.scale_loss(jnp.float32(3.0))) == 3.0
    assert float(s.adjust(jnp.bool_(False)).scale) == 1.0


def test_dynamic_scale_halves_on_overflow_and_doubles_after_period():
  s = precision.LossScale.for_policy("float16", initial=8.0, period=3)
  assert s.dynamic and float(s.scale_loss(jnp.float32(2.0))) == 16.0
  assert float(s.unscale({"g": jnp.float32(16.0)})["g"]) == 2.0
  s = s.adjust(jnp.bool_(False))
  assert float(s.scale) == 4.0 and int(s.good_steps) == 0
  for _ in range(2):
    s = s.adjust(jnp.bool_(True))
  assert float(s.scale) == 4.0 and int(s.good_steps) == 2
  s = s.adjust(jnp.bool_(True))
  assert float(s.scale) == 8.0 and int(s.good_steps) == 0


def test_all_finite_and_unknown_policy():
  assert bool(precision.all_finite({"a": jnp.ones(3), "b": jnp.zeros(2)}))
  assert not bool(precision.all_finite({"a": jnp.array([1.0, jnp.inf])}))
  with pytest.raises(ValueError, match="float8"):
    precision.compute_dtype("float8")
