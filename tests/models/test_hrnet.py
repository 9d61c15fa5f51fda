"""HigherHRNet (rtpe_jax/models/hrnet.py): variants, shapes, dtypes, batch statistics, the stem."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMALL_HRNET as SMALL

from rtpe_jax.models import (
  HigherHRNet,
  HRNetConfig,
  HRNetStem,
  StageConfig,
  conversion,
  load_teacher,
)
from rtpe_jax.models.complexity import conv_equations

VARIANTS = {
  "published_like": SMALL,
  "shared_tag": dataclasses.replace(SMALL, tag_per_joint=False),
  "final_kernel_3": dataclasses.replace(SMALL, final_kernel=3),
  "two_deconvs_cat_then_plain": dataclasses.replace(
    SMALL,
    deconv_channels=(8, 4),
    deconv_kernels=(4, 4),
    deconv_cat=(True, False),
    with_ae=(True, False, False),
  ),
  "deconv_kernel_2_and_3": dataclasses.replace(
    SMALL,
    deconv_channels=(8, 8),
    deconv_kernels=(2, 3),
    deconv_cat=(False, True),
    with_ae=(True, True, False),
  ),
  "no_deconv": dataclasses.replace(
    SMALL, deconv_channels=(), deconv_kernels=(), deconv_cat=(), with_ae=(True,), deconv_blocks=0
  ),
  "stage_changes_last_branch": HRNetConfig(
    stages=(StageConfig(1, (1, 1), (8, 16)), StageConfig(2, (1, 2, 1), (8, 12, 24))),
    deconv_channels=(8,),
    deconv_kernels=(4,),
    deconv_cat=(True,),
    with_ae=(False, True),
    deconv_blocks=2,
    stem_channels=16,
    layer1_blocks=2,
    layer1_planes=8,
  ),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_output_shapes_and_auto_inference(name):
  cfg = VARIANTS[name]
  module = HigherHRNet(config=cfg)
  x = jnp.ones((2, 64, 96, 3))
  variables = module.init(jax.random.key(0), x)
  outputs = module.apply(variables, x)
  assert len(outputs) == cfg.num_outputs
  for i, out in enumerate(outputs):
    assert out.shape == (2, 16 * 2**i, 24 * 2**i, cfg.output_channels(i))
    assert np.isfinite(np.asarray(out)).all()
  # The converter reads every variant back from PyTorch key names and shapes.
  shapes = conversion.expected_torch_shapes(cfg)
  assert conversion.infer_config(shapes) == cfg


def test_fresh_heads_start_near_zero():
  # HigherHRNet's init: training from scratch then learns; heads of O(1) output
  # collapsed a small teacher to all-zero heatmaps on the synthetic data.
  module = HigherHRNet(config=SMALL)
  x = jax.random.normal(jax.random.key(1), (2, 64, 64, 3))
  variables = module.init(jax.random.key(0), x)
  for out in module.apply(variables, x, train=True, mutable=["batch_stats"])[0]:
    assert 0 < float(jnp.abs(out).max()) < 0.05


def test_output_channels_follow_tags():
  assert SMALL.output_channels(0) == 34 and SMALL.output_channels(1) == 17
  assert VARIANTS["shared_tag"].output_channels(0) == 18


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_compute_dtype_keeps_float32_params(dtype):
  module = HigherHRNet(config=SMALL, dtype=dtype)
  x = jnp.ones((1, 64, 64, 3))
  variables = module.init(jax.random.key(0), x)
  assert {v.dtype for v in jax.tree.leaves(variables)} == {np.dtype(np.float32)}
  jaxpr = jax.make_jaxpr(lambda v, x: module.apply(v, x))(variables, x).jaxpr
  conv_dtypes = {v.aval.dtype for eqn in conv_equations(jaxpr) for v in eqn.invars}
  assert conv_dtypes == {jnp.dtype(dtype)}
  assert all(o.dtype == jnp.float32 for o in module.apply(variables, x))


def test_train_mode_updates_batch_stats():
  module = HigherHRNet(config=SMALL)
  x = jax.random.normal(jax.random.key(1), (2, 64, 64, 3))
  variables = module.init(jax.random.key(0), x)
  _, updates = module.apply(variables, x, train=True, mutable=["batch_stats"])
  before = variables["batch_stats"]["stem"]["bn1"]["mean"]
  after = updates["batch_stats"]["stem"]["bn1"]["mean"]
  assert not np.allclose(before, after)
  np.testing.assert_allclose(before, 0.0)


def test_input_size_must_be_multiple_of_32():
  module = HigherHRNet(config=SMALL)
  with pytest.raises(ValueError, match="multiples of 32"):
    module.init(jax.random.key(0), jnp.ones((1, 64, 80, 3)))


@pytest.mark.parametrize(
  "bad, match",
  [
    (dict(deconv_kernels=(5,)), "kernel 5"),
    (dict(with_ae=(True,)), "one per output"),
    (
      dict(stages=(StageConfig(1, (1, 1), (8, 16)), StageConfig(1, (1, 1, 1), (12, 16, 24)))),
      "last branch only",
    ),
  ],
)
def test_invalid_configs_are_rejected(bad, match):
  with pytest.raises(ValueError, match=match):
    dataclasses.replace(SMALL, **bad)


def test_config_json_round_trip():
  for cfg in VARIANTS.values():
    assert HRNetConfig.from_dict(cfg.to_dict()) == cfg


def test_stem_reuses_teacher_weights(tiny_model_dir, tiny_reference):
  module, variables = load_teacher(tiny_model_dir)
  stem = HRNetStem.for_config(module.config)
  stem_variables = {c: v["stem"] for c, v in variables.items()}
  features = stem.apply(stem_variables, tiny_reference["input"])
  assert features.shape == (1, 32, 24, 256)
  _, inter = module.apply(
    variables, tiny_reference["input"], capture_intermediates=True, mutable=["intermediates"]
  )
  np.testing.assert_array_equal(features, inter["intermediates"]["stem"]["__call__"][0])


def test_tag_coordinates_add_the_learnt_plane_to_the_tags_only():
  cfg = dataclasses.replace(
    VARIANTS["deconv_kernel_2_and_3"], tag_coordinates=True, with_ae=(True, True, False)
  )
  module = HigherHRNet(config=cfg)
  x = jax.random.normal(jax.random.key(1), (1, 64, 96, 3))
  variables = module.init(jax.random.key(0), x)
  names = {k for k in variables["params"] if k.startswith("tag_coordinates")}
  assert names == {"tag_coordinates_0", "tag_coordinates_1"}  # outputs with tags only
  plain = module.apply(variables, x)  # the slopes start at 0: as without
  params = dict(variables["params"], tag_coordinates_1=jnp.array([0.5, -2.0]))
  shifted = module.apply({**variables, "params": params}, x)
  np.testing.assert_array_equal(shifted[0], plain[0])
  np.testing.assert_array_equal(shifted[1][..., :17], plain[1][..., :17])
  # output 1 is at stride 2: cell (row r, column c) is at (2c, 2r) input pixels, / 64
  rows, cols = np.meshgrid(np.arange(32), np.arange(48), indexing="ij")
  plane = 0.5 * cols * 2 / 64 - 2.0 * rows * 2 / 64
  np.testing.assert_allclose(
    shifted[1][0, ..., 17:] - plain[1][0, ..., 17:], np.repeat(plane[..., None], 17, -1), atol=1e-5
  )
