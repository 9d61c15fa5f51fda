"""The grouping benchmark agrees with its NumPy baseline (CI-sized)."""

import numpy as np

from bench import grouping as bench_grouping
from rtpe_jax import grouping


def test_numpy_baseline_finds_the_same_people():
  for people in (1, 4):
    heatmaps, tags = bench_grouping.make_maps(people, 96, seed=people)
    ((ours, scores),) = grouping.group(heatmaps[None], tags[None])
    theirs, their_scores = bench_grouping.numpy_group(heatmaps, tags)
    assert len(ours) >= people
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(scores, their_scores, atol=1e-6)


def test_grouping_share_of_the_whole_path(small_student_dir):
  image = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
  row = bench_grouping.share_in_path(small_student_dir, image, runs=2)
  assert row["whole_ms"] > 0 and row["network_ms"] > 0 and row["grouping_ms"] > 0
  assert 0 < row["grouping_share"] < 1
