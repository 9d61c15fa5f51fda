"""Students: shapes for every variant, the compute budget, the teacher stem copied in."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtpe_jax.inference import predictor
from rtpe_jax.models import complexity, student
from rtpe_jax.models.hrnet import ARCHS, HRNetStem


def _init(module, hw=(64, 64)):
  x = jnp.zeros((2, *hw, module.config.input_channels))
  return module.init(jax.random.key(0), x), x


@pytest.mark.parametrize(
  "stem, tags, colour", [("teacher", 1, 16), ("own", 17, 0), ("teacher", 0, 0)]
)
def test_outputs_for_every_variant(stem, tags, colour):
  cfg = student.StudentConfig(
    stem=stem,
    tag_channels=tags,
    colour_channels=colour,
    channels=16,
    segmentation_channels=8,
    detector_steps=2,
  )
  module = student.AttentionStudent(config=cfg)
  variables, _ = _init(module)
  x = jax.random.uniform(jax.random.key(3), (2, 64, 64, cfg.input_channels))
  out = module.apply(variables, x, attention_divisor=20.0)
  # each image's maps are its own: the same alone as in the batch, and two images differ
  alone = module.apply(variables, x[1:], attention_divisor=20.0)
  for key in out:
    np.testing.assert_allclose(out[key][1:], alone[key], rtol=1e-5, atol=1e-6)
    if out[key].size:  # no tag maps with tags 0
      assert float(jnp.abs(out[key][0] - out[key][1]).max()) > 1e-4, key
  assert out["heatmaps"].shape == (2, 16, 16, 17)
  assert out["tags"].shape == (2, 16, 16, tags)
  assert out["segmentation"].shape == (2, 16, 16, 1)
  assert out["stem"].shape == (2, 16, 16, 256)
  assert all(v.dtype == jnp.float32 for v in out.values())
  assert student.StudentConfig.from_dict(cfg.to_dict()) == cfg


def test_fresh_head_starts_near_zero():
  cfg = student.StudentConfig(
    stem="own",
    own_stem_channels=(8, 16),
    stem_features=16,
    channels=16,
    segmentation_channels=8,
    detector_steps=2,
  )
  module = student.AttentionStudent(config=cfg)
  x = jax.random.normal(jax.random.key(1), (2, 64, 64, 6))
  variables = module.init(jax.random.key(0), x)
  out = module.apply(variables, x, train=True, mutable=["batch_stats"])[0]
  for key in ("heatmaps", "tags"):
    assert 0 < float(jnp.abs(out[key]).max()) < 0.25, key  # default init: O(1)


def test_default_student_is_a_tenth_of_the_w48_teacher():
  module = student.AttentionStudent()
  row = complexity.summarize(module, (640, 640), with_xla_total=False)
  w48_gmac = complexity.REFERENCE["w48_640"][1]  # measured in tests/models/test_complexity.py
  assert row["gmac_conv"] <= w48_gmac / 10
  assert row["params"] < 1_000_000


def test_bfloat16_compute_keeps_float32_params():
  module = student.AttentionStudent(config=student.StudentConfig(channels=16), dtype=jnp.bfloat16)
  variables, x = _init(module)
  assert all(p.dtype == jnp.float32 for p in jax.tree_util.tree_leaves(variables["params"]))
  assert module.apply(variables, x)["heatmaps"].dtype == jnp.float32


def test_teacher_stem_is_the_teachers():
  stem = HRNetStem.for_config(ARCHS["w48_640"])
  x = jax.random.normal(jax.random.key(1), (1, 64, 64, 3))
  stem_variables = stem.init(jax.random.key(2), x)
  stem_variables = jax.tree_util.tree_map(lambda a: a + 0.1, stem_variables)  # not the init
  teacher_variables = {k: {"stem": v} for k, v in stem_variables.items()}
  module = student.AttentionStudent(config=student.StudentConfig(colour_channels=0, channels=16))
  variables = student.with_teacher_stem(_init(module)[0], teacher_variables)
  np.testing.assert_allclose(
    module.apply(variables, x)["stem"], stem.apply(stem_variables, x), rtol=1e-5, atol=1e-5
  )


def test_student_runs_the_test_protocol():
  module = student.AttentionStudent(config=student.StudentConfig(colour_channels=0, channels=16))
  variables, _ = _init(module)
  model = predictor.from_module(module, variables, fold=False, input_size=64)
  image = np.random.default_rng(0).integers(0, 256, (100, 120, 3), np.uint8)
  keypoints, scores = predictor.predict_image(model, image, buckets=())
  assert keypoints.shape[1:] == (17, 3) and len(scores) == len(keypoints)


def _small_own_stem_config(**changes) -> student.StudentConfig:
  """A small own-stem student with 17 tag maps and RGB input only."""
  base = dict(
    stem="own",
    stem_features=32,
    channels=16,
    segmentation_channels=8,
    detector_steps=1,
    colour_channels=0,
    tag_channels=17,
  )
  return student.StudentConfig(**{**base, **changes})


def test_fine_heatmaps_are_a_second_protocol_output():
  cfg = _small_own_stem_config(fine_heatmaps=True)
  module = student.AttentionStudent(config=cfg)
  variables, x = _init(module)
  out = module.apply(variables, x)
  assert out["heatmaps"].shape == (2, 16, 16, 17) and out["heatmaps_2"].shape == (2, 32, 32, 17)
  network, spec = student.protocol_outputs(module)
  images = jnp.zeros((1, 64, 64, 3), jnp.uint8)
  outputs = network(variables, images)
  assert [o.shape for o in outputs] == [(1, 16, 16, 34), (1, 32, 32, 17)]
  assert spec.with_heatmaps == (True, True) and spec.with_tags == (True, False)


def test_tag_coordinates_add_a_learnt_plane_to_every_tag_map():
  plain = student.AttentionStudent(config=_small_own_stem_config())
  located = student.AttentionStudent(config=_small_own_stem_config(tag_coordinates=True))
  variables, x = _init(located)
  assert variables["params"]["tag_coordinates"].shape == (2,)
  plain_variables = {
    "params": {k: v for k, v in variables["params"].items() if k != "tag_coordinates"},
    "batch_stats": variables["batch_stats"],
  }
  base = plain.apply(plain_variables, x)
  assert np.array_equal(located.apply(variables, x)["tags"], base["tags"])  # starts at 0
  variables["params"]["tag_coordinates"] = jnp.array([1.0, -2.0])
  out = located.apply(variables, x)
  plane = out["tags"] - base["tags"]  # (2, 16, 16, 17): x / 16 - 2 y / 16 in map cells
  rows, cols = np.mgrid[:16, :16]
  np.testing.assert_allclose(plane[1, ..., 5], (cols - 2 * rows) / 16, atol=1e-5)
  assert np.array_equal(out["heatmaps"], base["heatmaps"])


def test_the_benchmarks_ablations_residual_blocks_and_no_segmentation_branch():
  """`block="residual"` puts a `ResidualBlock` (two 3x3 convolutions, a CAM's
  multiply-adds) wherever a CAM stood, `block="inverted"` an `InvertedResidual`
  (its batch norms folded for inference like every other); without the
  segmentation branch its parameters are gone and its output is zeros."""
  base = dict(
    stem="own", own_stem_channels=(8, 16), stem_features=16, channels=18, detector_steps=2
  )
  cams = student.AttentionStudent(config=student.StudentConfig(**base))
  plain = student.AttentionStudent(config=student.StudentConfig(**base, block="residual"))
  cam_params = _init(cams)[0]["params"]
  params = _init(plain)[0]["params"]
  assert set(params) == set(cam_params)  # the same places, other blocks in them
  assert set(params["detector_0"]) == {"conv1", "conv2", "bn1", "bn2"}
  assert params["detector_0"]["conv1"]["kernel"].shape == (3, 3, 18, 11)  # 11 C / 18 wide
  # At C channels a residual block does 18 C (11 C / 18) = 11 C^2 multiply-adds a
  # pixel, a CAM (1/4-wide branches of 3x3 at 1, 2, 3, 4 dilations) 11 C^2 too.
  layer = lambda m: complexity.summarize(m, (64, 64), with_xla_total=False)["gmac_conv"]
  assert layer(plain) == pytest.approx(layer(cams), rel=0.05)
  alone = student.AttentionStudent(
    config=student.StudentConfig(**base, segmentation_attention=False)
  )
  variables, x = _init(alone)
  assert "segmentation" not in variables["params"]
  out = alone.apply(variables, jax.random.uniform(jax.random.key(1), x.shape))
  assert out["segmentation"].shape == (2, 16, 16, 1) and not out["segmentation"].any()
  mobile = student.AttentionStudent(config=student.StudentConfig(**base, block="inverted"))
  variables, x = _init(mobile)
  assert variables["params"]["detector_0"]["depthwise"]["kernel"].shape == (7, 7, 1, 54)
  # Batch norm folds into the depthwise convolutions as into the others.
  images = jax.random.randint(jax.random.key(2), (1, 64, 64, 3), 0, 255).astype(jnp.uint8)
  folded = predictor.from_module(mobile, variables, fold=True)
  plain_model = predictor.from_module(mobile, variables, fold=False)
  a = folded.network(folded.variables, images)[0]
  b = plain_model.network(plain_model.variables, images)[0]
  np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  with pytest.raises(ValueError, match="block 'dense'"):
    _init(student.AttentionStudent(config=student.StudentConfig(**base, block="dense")))


def test_the_fine_heads_join_by_addition():
  """`fine_merge="add"`: a 1x1 conv of the 1/4 features and heatmaps to
  `fine_channels`, upsampled and added to the input's stride-2 conv; the same
  output shapes as the concatenation, under half its multiply-adds (0.058 against
  0.208 GMAC at 256 px in the quickstart),
  its batch norms folded like every other; an unknown join is named."""
  cfg = _small_own_stem_config(fine_heatmaps=True, fine_merge="add")
  module = student.AttentionStudent(config=cfg)
  variables, x = _init(module)
  fine = variables["params"]["fine"]["kernel"]
  assert fine.shape == (1, 1, cfg.channels + 17, cfg.fine_channels)
  out = module.apply(variables, x)
  assert out["heatmaps"].shape == (2, 16, 16, 17) and out["heatmaps_2"].shape == (2, 32, 32, 17)
  images = jax.random.randint(jax.random.key(2), (1, 64, 64, 3), 0, 255).astype(jnp.uint8)
  folded = predictor.from_module(module, variables, fold=True)
  plain = predictor.from_module(module, variables, fold=False)
  for a, b in zip(folded.network(folded.variables, images), plain.network(plain.variables, images)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  gmac = lambda merge: complexity.summarize(
    student.AttentionStudent(config=_small_own_stem_config(fine_heatmaps=True, fine_merge=merge)),
    (256, 256),
    with_xla_total=False,
  )["gmac_conv"]
  plain_gmac = complexity.summarize(
    student.AttentionStudent(config=_small_own_stem_config()), (256, 256), with_xla_total=False
  )["gmac_conv"]
  assert (gmac("add") - plain_gmac) < (gmac("concat") - plain_gmac) / 2
  with pytest.raises(ValueError, match="fine_merge 'sum'"):
    _init(
      student.AttentionStudent(config=_small_own_stem_config(fine_heatmaps=True, fine_merge="sum"))
    )
