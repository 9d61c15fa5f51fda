"""The grouping benchmark agrees with its NumPy baseline (CI-sized)."""

import itertools
import types

import numpy as np
import pytest

from bench import common
from bench import grouping as bench_grouping
from rtpe_jax.inference import grouping


def test_numpy_baseline_finds_the_same_people():
  for people in (1, 4):
    heatmaps, tags = bench_grouping.make_maps(people, 96, seed=people)
    ((ours, scores),) = grouping.group(heatmaps[None], tags[None])
    theirs, their_scores = bench_grouping.numpy_group(heatmaps, tags)
    assert len(ours) >= people
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(scores, their_scores, atol=1e-6)


@pytest.mark.slow
def test_grouping_share_of_the_whole_path(quickstart_student_dir, monkeypatch):
  """The share is the grouping's median over the whole path's, and the people
  counted are those the whole path finds. With a clock that moves 0.25 s between
  readings every median is 250 ms: a share of exactly 1."""
  from rtpe_jax.inference import predictor

  image = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
  people, _ = predictor.predict_image(predictor.load(quickstart_student_dir), image)
  clock = itertools.count(0.0, 0.25)
  monkeypatch.setattr(common, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
  row = bench_grouping.share_in_path(quickstart_student_dir, image, runs=2)
  assert row["people"] == len(people) > 0
  assert (row["whole_ms"], row["network_ms"], row["grouping_ms"]) == (250.0, 250.0, 250.0)
  assert row["grouping_share"] == 1.0
