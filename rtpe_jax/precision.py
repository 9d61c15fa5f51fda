"""Precision policies: parameters always float32, compute in float32, bfloat16 or
float16; float16 with dynamic loss scaling.

Dynamic loss scaling (as in mixed-precision training, Micikevicius et al. 2018):
the loss is multiplied by `scale` before differentiation and the gradients
divided by it; a step whose gradients are not finite is skipped and halves the
scale, `period` finite steps in a row double it.
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def compute_dtype(policy: str):
  if policy not in COMPUTE_DTYPES:
    raise ValueError(f"compute dtype {policy!r}: use one of {sorted(COMPUTE_DTYPES)}")
  return COMPUTE_DTYPES[policy]


class LossScale(flax.struct.PyTreeNode):
  """scale (f32 scalar); good_steps: finite steps since the last change (int32);
  dynamic False: a fixed scale of 1 (float32 and bfloat16)."""

  scale: jax.Array
  good_steps: jax.Array
  dynamic: bool = flax.struct.field(pytree_node=False, default=False)
  period: int = flax.struct.field(pytree_node=False, default=2000)

  @classmethod
  def for_policy(cls, policy: str, initial: float = 2.0**15, period: int = 2000) -> "LossScale":
    dynamic = compute_dtype(policy) == jnp.float16
    return cls(jnp.float32(initial if dynamic else 1.0), jnp.int32(0), dynamic, period)

  def scale_loss(self, loss):
    return loss * self.scale if self.dynamic else loss

  def unscale(self, grads):
    if not self.dynamic:
      return grads
    return jax.tree.map(lambda g: g / self.scale, grads)

  def adjust(self, finite) -> "LossScale":
    """The scale after a step whose gradients were (not) finite."""
    if not self.dynamic:
      return self
    grow = finite & (self.good_steps + 1 >= self.period)
    scale = jnp.where(
      finite, jnp.where(grow, self.scale * 2.0, self.scale), jnp.maximum(self.scale / 2.0, 1.0)
    )
    good = jnp.where(finite & ~grow, self.good_steps + 1, 0)
    return self.replace(scale=scale, good_steps=good.astype(jnp.int32))


def all_finite(tree) -> jax.Array:
  """True when every leaf of `tree` is finite (a scalar bool on the device)."""
  leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)
