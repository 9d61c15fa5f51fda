"""The input pipeline benchmark (CI-sized): samples per second of the median batch."""

import itertools
import types

from bench import common, input_pipeline


def test_the_rate_is_samples_per_median_batch_time(synthetic_root, synthetic_store, monkeypatch):
  """With a clock that moves 0.25 s between readings, every batch takes 0.25 s: 4
  samples a batch are 16 samples/s, whatever the machine."""
  clock = itertools.count(100.0, 0.25)
  monkeypatch.setattr(common, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
  rate = input_pipeline.bench(
    synthetic_root, synthetic_store, size=128, batch=4, batches=3, warmup=1
  )
  assert rate == 16.0
