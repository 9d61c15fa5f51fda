import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtpe_jax import resize


def _general(x, hw):
  return jax.image.resize(x, (x.shape[0], *hw, x.shape[-1]), "linear", antialias=False)


@pytest.mark.parametrize(
  "shape, hw",
  [
    ((2, 16, 16, 3), (32, 32)),
    ((1, 8, 12, 5), (32, 48)),
    ((1, 7, 5, 2), (21, 10)),
    ((1, 4, 4, 1), (4, 8)),
  ],
)
def test_integer_factors_give_the_general_resize(shape, hw):
  x = jnp.asarray(np.random.default_rng(0).normal(size=shape).astype(np.float32))
  np.testing.assert_allclose(resize.bilinear(x, hw), _general(x, hw), rtol=0, atol=1e-6)
  # Its gradient too (the student trains through it).
  cotangent = jnp.asarray(np.random.default_rng(1).normal(size=(shape[0], *hw, shape[3])))
  grad = lambda f: jax.grad(lambda v: jnp.sum(f(v, hw) * cotangent))(x)
  np.testing.assert_allclose(grad(resize.bilinear), grad(_general), rtol=0, atol=1e-5)


def test_the_border_repeats_and_a_ramp_stays_a_ramp():
  # Half-pixel centres: x[0] up to output 1 of a 2x resize, then the ramp's halves.
  x = jnp.arange(4.0).reshape(1, 1, 4, 1)
  row = np.asarray(resize.bilinear(jnp.tile(x, (1, 2, 1, 1)), (2, 8)))[0, 0, :, 0]
  np.testing.assert_array_equal(row, [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0])


def test_other_sizes_and_bfloat16_go_through():
  x = jnp.asarray(np.random.default_rng(2).normal(size=(1, 6, 6, 2)).astype(np.float32))
  np.testing.assert_array_equal(resize.bilinear(x, (9, 15)), _general(x, (9, 15)))
  half = resize.bilinear(x.astype(jnp.bfloat16), (24, 24))
  assert half.dtype == jnp.bfloat16
  np.testing.assert_allclose(half.astype(jnp.float32), _general(x, (24, 24)), atol=0.05)
