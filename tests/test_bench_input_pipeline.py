"""The input pipeline benchmark runs (CI-sized)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))

import input_pipeline  # noqa: E402


def test_benchmark_reports_a_rate(synthetic_root, synthetic_store):
  rate = input_pipeline.bench(synthetic_root, synthetic_store, size=128, batch=4, batches=2,
                              warmup=1)
  assert rate > 0
