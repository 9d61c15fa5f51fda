"""Losses against values computed by hand."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from rtpe_jax.train import losses


def test_masked_mse_counts_ignored_pixels_with_weight_zero():
  pred = jnp.zeros((1, 1, 2, 1)).at[0, 0, 0, 0].set(2.0).at[0, 0, 1, 0].set(4.0)
  target = jnp.zeros((1, 1, 2, 1))
  weights = jnp.array([[[1.0, 0.0]]])
  assert float(losses.masked_mse(pred, target, weights)[0]) == pytest.approx(4.0 / 2)


def test_bce_with_logits_and_positive_weight():
  logits = jnp.array([0.0, 2.0]).reshape(1, 1, 2, 1)
  target = jnp.array([1.0, 0.0]).reshape(1, 1, 2, 1)
  weights = jnp.ones((1, 1, 2))
  # pixel 1: -3 * log(sigmoid(0)) = 3 log 2; pixel 2: -log(1 - sigmoid(2)) = log(1 + e^2)
  want = (3 * math.log(2) + math.log(1 + math.e**2)) / 2
  got = losses.masked_bce_with_logits(logits, target, weights, pos_weight=3.0)
  assert float(got[0]) == pytest.approx(want, rel=1e-6)
  seg = losses.segmentation_bce(logits[..., 0], target[..., 0], weights, pos_weight=3.0)
  assert float(seg[0]) == pytest.approx(want, rel=1e-6)


def test_distillation_mix_and_background_weights():
  assert losses.distillation_mix(2.0, 10.0, 0.25) == pytest.approx(0.25 * 2 + 0.75 * 10)
  target = jnp.array([0.0, 0.5]).reshape(1, 1, 2, 1)
  w = losses.background_weights(target, jnp.ones((1, 1, 2)), background=0.1)
  np.testing.assert_allclose(w.reshape(-1), [0.1, 1.0])


def test_hard_joint_mining_keeps_the_largest():
  per_joint = jnp.array([[1.0, 5.0, 3.0, 2.0]])
  assert float(losses.hard_joint_mining(per_joint, top_m=2)[0]) == pytest.approx(4.0)


def _targets(people):
  """people: list of lists of (flat index or None) per joint (J = 2)."""
  out = np.zeros((1, 4, 2, 2), np.int32)
  for p, joints in enumerate(people):
    for k, index in enumerate(joints):
      if index is not None:
        out[0, p, k] = (index, 1)
  return jnp.asarray(out)


def test_associative_embedding_by_hand():
  # A 1 x 4 map, 2 joints, one tag per joint (D = 1).
  tags = jnp.array([[1.0, 0.0], [3.0, 0.0], [0.0, 0.0], [0.0, 4.0]]).reshape(1, 1, 4, 2)
  # person 0: joint 0 at x=0 (tag 1), joint 1 at x=3 (tag 4); person 1: joint 0 at x=1 (tag 3)
  targets = _targets([[0, 3], [1, None]])
  push, pull = losses.associative_embedding(tags, targets)
  # means 2.5 and 3; pull = ((1.5^2 + 1.5^2) / 2 + 0) / 2; push = 2 exp(-0.25) / 2 / 2
  assert float(pull[0]) == pytest.approx(2.25 / 2)
  assert float(push[0]) == pytest.approx(2 * math.exp(-0.25) / 2 * 0.5)
  # One person: no push; nobody: nothing.
  push, pull = losses.associative_embedding(tags, _targets([[0, 3]]))
  assert float(push[0]) == 0 and float(pull[0]) == pytest.approx(2.25)
  push, pull = losses.associative_embedding(tags, _targets([]))
  assert float(push[0]) == 0 and float(pull[0]) == 0


def test_shared_tag_map_and_two_dimensions():
  tags = jnp.array([[0.0, 0.0], [1.0, 1.0]]).reshape(1, 1, 2, 1, 2)  # shared map, D = 2
  targets = _targets([[0, None], [None, 1]])
  push, pull = losses.associative_embedding(tags, targets)
  assert float(pull[0]) == 0
  assert float(push[0]) == pytest.approx(2 * math.exp(-2.0) / 2 * 0.5)


def test_tag_regression_only_at_joints():
  student = jnp.zeros((1, 1, 4, 2)).at[0, 0, 2, :].set(100.0)  # far off, but not at a joint
  teacher = jnp.zeros((1, 1, 4, 2)).at[0, 0, 0, 0].set(2.0)
  got = losses.tag_regression(student, teacher, _targets([[0, 3]]))
  assert float(got[0]) == pytest.approx((4.0 + 0.0) / 2)


def test_higher_hrnet_loss_terms():
  b, j = 1, 2
  outputs = [jnp.ones((b, 2, 2, 2 * j)), jnp.zeros((b, 4, 4, j))]
  heatmaps = [jnp.zeros((b, 2, 2, j)), jnp.ones((b, 4, 4, j))]
  weights = [jnp.ones((b, 2, 2)), jnp.ones((b, 4, 4))]
  terms = losses.higher_hrnet_loss(outputs, heatmaps, weights, _targets([[0, 3]]), num_joints=j)
  assert float(terms["heatmap_0"][0]) == 1.0 and float(terms["heatmap_1"][0]) == 1.0
  assert float(terms["pull_0"][0]) == 0.0 and float(terms["push_0"][0]) == 0.0
  assert float(terms["total"][0]) == pytest.approx(2.0)


def test_higher_hrnet_loss_weight_and_hard_joints():
  j = 3
  outputs = [jnp.zeros((1, 2, 2, j)).at[..., 0].set(1.0).at[..., 1].set(3.0)]  # joints: 1, 9, 0
  heatmaps, weights = [jnp.zeros((1, 2, 2, j))], [jnp.ones((1, 2, 2))]
  terms = losses.higher_hrnet_loss(
    outputs,
    heatmaps,
    weights,
    None,
    num_joints=j,
    with_tags=(False,),
    heatmap_weight=10.0,
    ohkm_top=2,
  )
  assert float(terms["heatmap_0"][0]) == pytest.approx(10.0 * (9.0 + 1.0) / 2)
  plain = losses.higher_hrnet_loss(
    outputs, heatmaps, weights, None, num_joints=j, with_tags=(False,)
  )
  assert float(plain["heatmap_0"][0]) == pytest.approx((1.0 + 9.0 + 0.0) / 3)


def test_feature_distillation():
  a, b = jnp.ones((2, 2, 2, 3)), jnp.zeros((2, 2, 2, 3))
  np.testing.assert_allclose(losses.feature_distillation(a, b), [1.0, 1.0])
