"""The grouping benchmark agrees with its NumPy baseline (CI-sized)."""

import numpy as np

from bench import grouping as bench_grouping
from rtpe_jax import grouping


def test_numpy_baseline_finds_the_same_people():
  for people in (1, 4):
    heatmaps, tags = bench_grouping.make_maps(people, 96, seed=people)
    (ours, scores), = grouping.group(heatmaps[None], tags[None])
    theirs, their_scores = bench_grouping.numpy_group(heatmaps, tags)
    assert len(ours) >= people
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(scores, their_scores, atol=1e-6)
