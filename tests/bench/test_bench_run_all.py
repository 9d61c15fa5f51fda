"""bench/run_all.py in its CI-sized form: every kind of row, with its machine."""

import json

import pytest

from bench import run_all
from rtpe_jax.models import complexity


@pytest.mark.slow
def test_quick_suite_writes_every_row(tmp_path):
  out = tmp_path / "bench.json"
  rows = run_all.main(["--quick", "--out", str(out)])
  kinds = [r["kind"] for r in rows]
  assert kinds.count("network") == 2 and kinds.count("whole path") == 2  # batches 1 and 2
  assert {"train step", "input pipeline", "grouping"} <= set(kinds)
  assert all(r["machine"] == rows[0]["machine"] != "" for r in rows)
  for r in rows:  # a rate and its latency are the same measurement
    if "latency_ms" in r:
      assert r["images_per_s"] == pytest.approx(1e3 * r["batch"] / r["latency_ms"], rel=1e-9)
  network = [r for r in rows if r["kind"] == "network"]
  # --quick times the quickstart student (100,320 parameters) at 128 px
  module = run_all.build("student", "float32", quick=True)[0]
  gmac = complexity.summarize(module, (128, 128), with_xla_total=False)["gmac_conv"]
  assert all((r["params"], r["gmac_conv"]) == (100_320, gmac) for r in network)
  # random weights: the student's heads start near zero and find nobody
  assert [r["people"] for r in rows if r["kind"] == "whole path"] == [0.0, 0.0]
  saved = json.load(open(out))
  assert saved["rows"] == json.loads(json.dumps(rows))
  table = open(tmp_path / "bench.md").read()
  assert table.count("\n") == len(rows) + 2 and "whole path" in table


def test_random_batch_has_the_fields_the_train_step_reads():
  from configs import distill_coco_w48
  from rtpe_jax.train import train_step

  config = distill_coco_w48.get_config("runlocal")
  batch = run_all.random_batch(config)
  assert sorted(batch) == sorted(train_step.batch_fields(config, with_teacher=False))
  assert batch["image"].shape == (2, 64, 64, 3)


def test_calibrated_batch_stats_make_inference_match_training_mode(tiny_model_dir):
  import jax
  import numpy as np

  from rtpe_jax.models import weights

  module, variables = weights.load_model(tiny_model_dir)
  x = jax.random.normal(jax.random.key(1), (2, 64, 96, 3)) * 2.0 + 0.5
  calibrated = run_all.calibrate_batch_stats(module, variables, x)
  assert jax.tree.structure(calibrated) == jax.tree.structure(variables)
  trained_mode, _ = module.apply(variables, x, train=True, mutable=["batch_stats"])
  before = module.apply(variables, x, train=False)
  after = module.apply(calibrated, x, train=False)
  for got, want, old in zip(
    jax.tree.leaves(after), jax.tree.leaves(trained_mode), jax.tree.leaves(before)
  ):
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, atol=1e-3 * scale)
    assert float(np.abs(old - want).max()) > 1e-2 * scale  # the stored statistics differed


def test_random_batch_is_shaped_as_the_pipeline_declares_it():
  from configs import quickstart
  from rtpe_jax.data import schema

  config = quickstart.get_config("runlocal")
  batch = run_all.random_batch(config)
  declared = {f.name: f for f in schema.sample_fields(config.data)}
  for name, array in batch.items():
    assert array.shape[1:] == declared[name].shape and array.dtype == declared[name].dtype, name
