"""The input pipeline benchmark runs (CI-sized)."""

from bench import input_pipeline


def test_benchmark_reports_a_rate(synthetic_root, synthetic_store):
  rate = input_pipeline.bench(
    synthetic_root, synthetic_store, size=128, batch=4, batches=2, warmup=1
  )
  assert rate > 0
