"""Grouping: exact parity with the reference parser, and the pieces on their own."""

import os

import jax
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from conftest import DATA
from rtpe_jax.inference import grouping

FIXTURE = os.path.join(DATA, "grouping_7.npz")


def _case(c):
  d = np.load(FIXTURE)
  det, tag, people, scores, params = (
    d[f"case{c}_{k}"] for k in ("det", "tag", "people", "scores", "params")
  )
  # (17, H, W) -> (1, H, W, 17); (17 | 1, H, W, D) -> (1, H, W, 17 | 1, D)
  return det.transpose(1, 2, 0)[None], tag.transpose(1, 2, 0, 3)[None], people, scores, params


@pytest.mark.parametrize("c", range(6))
def test_same_people_in_the_same_order_as_the_reference(c):
  heatmaps, tags, want, want_scores, params = _case(c)
  cfg = grouping.GroupingConfig(
    detection_threshold=float(params[1]),
    tag_threshold=float(params[2]),
    max_num_people=int(params[3]),
    nms_kernel=int(params[4]),
  )
  assert tags.shape[3] == (17 if params[0] else 1)
  ((people, scores),) = grouping.group(heatmaps, tags, cfg)
  assert people.shape == want.shape
  np.testing.assert_allclose(people, want, atol=1e-4)
  np.testing.assert_allclose(scores, want_scores, atol=1e-6)


def test_batched_images_are_grouped_independently():
  heatmaps, tags, want, _, _ = _case(0)
  batch = grouping.group(
    np.concatenate([heatmaps, 0 * heatmaps, heatmaps]), np.concatenate([tags, tags, tags])
  )
  assert len(batch[1][0]) == 0
  for people, _ in (batch[0], batch[2]):
    np.testing.assert_allclose(people, want, atol=1e-4)


def test_nms_keeps_only_local_maxima():
  x = np.zeros((1, 9, 9, 1), np.float32)
  x[0, 2, 2, 0], x[0, 3, 3, 0], x[0, 7, 7, 0] = 0.9, 0.5, 0.4
  kept = np.asarray(grouping.nms(x, 5))[0, ..., 0]
  assert kept[2, 2] == 0.9 and kept[3, 3] == 0 and kept[7, 7] == 0.4
  assert np.count_nonzero(kept) == 2


@pytest.mark.parametrize("levels", [None, 4])
def test_top_candidates_are_a_flat_top_k_ties_included(levels):
  """The row-wise two-stage top-k against lax.top_k over each joint's flattened
  NMS map; `levels` quantises the maps so that many peaks tie."""
  rng = np.random.default_rng(levels or 0)
  heatmaps = rng.uniform(0, 1, (2, 40, 24, 3)).astype(np.float32)
  if levels:
    heatmaps = np.round(heatmaps * levels) / levels
  tags = rng.normal(size=(2, 40, 24, 3, 2)).astype(np.float32)
  got = grouping.top_candidates(heatmaps, tags, k=30)
  flat = np.asarray(grouping.nms(heatmaps)).transpose(0, 3, 1, 2).reshape(2, 3, -1)
  values, index = jax.lax.top_k(flat, 30)
  np.testing.assert_array_equal(got["values"], values)
  np.testing.assert_array_equal(got["y"] * 24 + got["x"], index)
  b, j = np.arange(2)[:, None, None], np.arange(3)[None, :, None]
  np.testing.assert_array_equal(got["tags"], tags[b, got["y"], got["x"], j])


def test_no_detections_no_people():
  ((people, scores),) = grouping.group(
    np.zeros((1, 16, 16, 17), np.float32), np.zeros((1, 16, 16, 17, 1), np.float32)
  )
  assert people.shape == (0, 17, 4) and scores.shape == (0,)


def test_refine_fills_only_missing_joints_like_a_full_search():
  heatmaps, tags, _, _, _ = _case(5)
  ((people, _),) = grouping.group(heatmaps, tags, grouping.GroupingConfig(refine=False))
  refined = grouping.refine(people, heatmaps, tags)
  detected = people[..., 2] > 0
  np.testing.assert_array_equal(refined[detected], people[detected])
  # Every missing joint: the full-map search, by brute force.
  hm, tg = heatmaps[0], np.broadcast_to(tags[0], (*tags.shape[1:3], 17, tags.shape[-1]))
  for p, k in zip(*np.nonzero(~detected)):
    joints = np.nonzero(detected[p])[0]
    mean = tg[people[p, joints, 1].astype(int), people[p, joints, 0].astype(int), joints].mean(0)
    score = hm[..., k] - np.round(np.sqrt(((tg[:, :, k] - mean) ** 2).sum(-1)))
    y, x = np.unravel_index(np.argmax(score), score.shape)
    if hm[y, x, k] > 0:
      assert (int(refined[p, k, 0]), int(refined[p, k, 1])) == (x, y)
      assert refined[p, k, 2] == hm[y, x, k]


def test_both_solvers_find_minimum_cost_assignments():
  rng = np.random.default_rng(0)
  for _ in range(20):
    rows = rng.integers(1, 8)
    cost = np.round(rng.uniform(0, 3, (rows, rows + rng.integers(0, 4)))) * 100 - rng.uniform(
      0, 1, (rows, 1)
    )
    best = cost[linear_sum_assignment(cost)].sum()
    for solver in ("munkres", "scipy"):
      chosen_rows, chosen_cols = grouping._assign(cost, solver)
      assert len(chosen_rows) == rows
      assert np.isclose(cost[chosen_rows, chosen_cols].sum(), best)
  with pytest.raises(ValueError, match="assignment 'greedy'"):
    grouping._assign(cost, "greedy")


def test_the_munkres_path_returns_what_munkres_compute_returns():
  """On tie-heavy matrices (rounded distances, equal values, duplicate people,
  padding columns) `_assign`'s pairs are those of `Munkres().compute`, the call
  the reference makes."""
  import munkres

  rng = np.random.default_rng(1)
  for _ in range(3000):
    rows, cols = rng.integers(1, 26, 2)
    cost = np.round(rng.uniform(0, rng.choice([0.5, 3, 20]), (rows, cols))) * 100
    cost -= np.round(rng.uniform(0, 1, (rows, 1)), 1)
    if rng.random() < 0.3 and cols > 1:
      cost[:, -1] = cost[:, 0]  # two people with the same mean tag
    if rows > cols:
      cost = np.concatenate([cost, np.full((rows, rows - cols), 1e10)], 1)
    want = [tuple(p) for p in munkres.Munkres().compute(cost.tolist())]
    assert list(zip(*(a.tolist() for a in grouping._assign(cost, "munkres")))) == want


def test_refine_search_takes_the_first_maximum_on_ties():
  """Heatmaps quantised to quarters and tags to integers: many positions share
  the best score; the search returns the first in row-major order, as a flat
  argmax does."""
  rng = np.random.default_rng(2)
  heatmaps = np.round(rng.uniform(0, 1, (17, 40, 56)) * 4) / 4
  planes = np.round(rng.normal(0, 2, (17, 2, 40, 56)))
  joints = rng.integers(0, 17, 12).astype(np.int32)
  means = np.round(rng.normal(0, 2, (12, 2))).astype(np.float32)
  x, y, value, dx, dy = (
    np.asarray(a)
    for a in grouping.refine_search(
      heatmaps.astype(np.float32), planes.astype(np.float32), means, joints
    )
  )
  for n, k in enumerate(joints):
    score = heatmaps[k] - np.round(np.sqrt(((planes[k] - means[n][:, None, None]) ** 2).sum(0)))
    want_y, want_x = np.unravel_index(np.argmax(score), score.shape)
    assert (x[n], y[n]) == (want_x, want_y)
    assert value[n] == heatmaps[k, want_y, want_x]


def _match_one_by_one(values, xy, tags, cfg):
  """The reference's matching loop written plainly (dicts of people and tag
  lists, one pair at a time), for candidates (J, K), (J, K, 2), (J, K, D)."""
  joints_of, tags_of = {}, {}
  for i, joint in enumerate(cfg.joint_order):
    keep = values[joint] > cfg.detection_threshold
    rows = np.concatenate([xy[joint][keep], values[joint][keep, None], tags[joint][keep]], 1)
    cand_tags = tags[joint][keep]
    if not keep.any():
      continue
    keys = list(joints_of)[: cfg.max_num_people]
    pairs = []
    if i > 0 and keys:
      means = np.array([np.mean(tags_of[key], axis=0) for key in keys])
      distance = np.linalg.norm(cand_tags[:, None] - means[None], axis=2)
      cost = np.round(distance) * 100 - rows[:, 2:3]
      if len(rows) > len(keys):
        cost = np.concatenate([cost, np.full((len(rows), len(rows) - len(keys)), 1e10)], 1)
      pairs = zip(*grouping._assign(cost, "munkres"))
    else:
      pairs = ((row, len(keys)) for row in range(len(rows)))
    for row, col in pairs:
      if col < len(keys) and distance[row, col] < cfg.tag_threshold:
        joints_of[keys[col]][joint] = rows[row]
        tags_of[keys[col]].append(cand_tags[row])
      else:
        key = cand_tags[row][0]
        joints_of.setdefault(key, np.zeros((17, rows.shape[1])))[joint] = rows[row]
        tags_of[key] = [cand_tags[row]]
  return np.array(list(joints_of.values()), np.float32).reshape(-1, 17, 3 + tags.shape[2])


def test_matching_equals_the_one_pair_at_a_time_loop():
  """Candidates with tags on a coarse grid, so that people share keys (the
  reference's replace-the-joint case) and tag distances tie."""
  rng = np.random.default_rng(3)
  cfg = grouping.GroupingConfig(max_num_people=6)
  for _ in range(40):
    values = rng.uniform(0, 1, (17, 8)) * (rng.random((17, 8)) < 0.7)
    xy = rng.integers(0, 64, (17, 8, 2)).astype(np.float64)
    tags = np.round(rng.uniform(0, 4, (17, 8, 2)) * 2) / 2
    np.testing.assert_array_equal(
      grouping.match_by_tag(values, xy, tags, cfg), _match_one_by_one(values, xy, tags, cfg)
    )
