"""bench/vs_pytorch without the reference: our side's worker process, the
interleaving, the people check, the table and the error without --reference."""

import argparse
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from conftest import SMALL_HRNET

from bench.vs_pytorch import by_part, jobs, speed


def test_our_grouping_worker_runs_in_its_own_process(tmp_path):
  speed.write_maps(str(tmp_path), [3])
  job = {
    "side": "ours",
    "what": "grouping",
    "runs": 2,
    "warmup": 1,
    "maps": str(tmp_path / "maps_3.npz"),
  }
  result = jobs.run_job(job)
  # the worker's people are the grouping's on the same maps, run here
  from rtpe_jax.inference import grouping

  maps = np.load(tmp_path / "maps_3.npz")
  want, _ = grouping.group(maps["heatmaps"][None], maps["tags"][None])[0]
  np.testing.assert_allclose(result["people"], np.asarray(want)[..., :3], atol=1e-9)
  assert len(want) >= 3 and np.isfinite(result["ms"])


def _fake_run(ms, people=None):
  calls = []

  def run(job):
    calls.append(job["side"])
    out = {"ms": ms[job["side"]]}
    if job["what"] == "grouping":
      out["people"] = (people or {}).get(job["side"], [[[1.0, 2.0, 0.5]] * 17])
    return out

  return run, calls


def test_rounds_alternate_and_the_ratio_is_reference_over_ours():
  rows = [
    {
      "label": "grouping, 1 person",
      "ours": {"side": "ours", "what": "grouping"},
      "reference": {"side": "reference", "what": "grouping"},
    }
  ]
  run, calls = _fake_run({"ours": 2.0, "reference": 100.0})
  rows = speed.compare(rows, rounds=3, run=run, log=lambda *_: None)
  assert calls == ["ours", "reference", "reference", "ours", "ours", "reference"]
  assert rows[0]["ratio"] == 50.0 and rows[0]["found"] == 1
  text = speed.table(rows, "CPU test", "2026-11-26")
  assert "| grouping, 1 person (1 found by both) | 100.0 | 2.0 | 50.00x |" in text
  assert "CPU test" in text and "2026-11-26" in text


def test_different_people_stop_the_comparison():
  rows = [
    {
      "label": "grouping",
      "ours": {"side": "ours", "what": "grouping"},
      "reference": {"side": "reference", "what": "grouping"},
    }
  ]
  moved = [[[1.5, 2.0, 0.5]] * 17]
  run, _ = _fake_run({"ours": 1.0, "reference": 1.0}, {"reference": moved})
  with pytest.raises(AssertionError, match="different people"):
    speed.compare(rows, rounds=1, run=run, log=lambda *_: None)


def test_forward_rows_cover_archs_batches_and_our_dtypes():
  args = argparse.Namespace(
    only="forward",
    archs=["w32_512", "w48_640"],
    batches=[1, 8],
    dtypes=["float32", "bfloat16"],
    runs=3,
    warmup=1,
    reference="ref",
    people=[1],
    grouping_runs=5,
    maps_dir="m",
  )
  rows = speed.measurements(args)
  assert len(rows) == 8
  assert {r["ours"]["dtype"] for r in rows} == {"float32", "bfloat16"}
  assert {r["reference"]["dtype"] for r in rows} == {"float32"}


def test_without_a_reference_the_command_says_what_it_needs(tmp_path):
  out = subprocess.run(
    [sys.executable, "-m", "bench.vs_pytorch", "--reference", str(tmp_path)],
    capture_output=True,
    text=True,
  )
  assert out.returncode != 0
  assert "clone of the public HigherHRNet repository" in out.stderr


def test_a_reference_forward_is_measured_once_for_both_our_dtypes():
  job = {"what": "forward", "arch": "w32_512", "batch": 1}
  rows = [
    {
      "label": dtype,
      "ours": {**job, "side": "ours", "dtype": dtype},
      "reference": {**job, "side": "reference", "dtype": "float32"},
    }
    for dtype in ("float32", "bfloat16")
  ]
  run, calls = _fake_run({"ours": 10.0, "reference": 20.0})
  rows = speed.compare(rows, rounds=2, run=run, log=lambda *_: None)
  assert calls.count("reference") == 2 and calls.count("ours") == 4
  assert [r["ratio"] for r in rows] == [2.0, 2.0]


def test_both_sides_module_names_fall_in_the_same_parts():
  pairs = [
    ("conv1", "HigherHRNet/stem/conv1/conv_general_dilated", "stem"),
    ("layer1", "HigherHRNet/stem/layer1_3/conv2/conv_general_dilated", "layer1"),
    ("transition2.2", "HigherHRNet/HigherHRNet._transition/transition2_2_0_0/x", "transitions"),
    ("stage3.1.branches.2", "HigherHRNet/stage3_1/branches_2_3/conv1/x", "stage3 branches"),
    ("stage3.1.fuse_layers.0.2", "HigherHRNet/stage3_1/fuse_layers_0_2_0/x", "stage3 fuse"),
    ("deconv_layers.0", "HigherHRNet._heads/deconv_layers_0_1_0/conv1/x", "heads"),
    ("final_layers.1", "HigherHRNet._heads/final_layers_1/conv_general_dilated", "heads"),
  ]
  for reference, ours, part in pairs:
    assert by_part.part_of(reference) == by_part.part_of(ours) == part
  assert by_part.part_of("normalise/mul") == "other"


def test_our_profile_worker_splits_a_forward_into_parts(monkeypatch):
  from rtpe_jax.models import hrnet

  stage4 = hrnet.StageConfig(1, (1, 1, 1, 1), (8, 16, 24, 32))
  tiny = dataclasses.replace(
    SMALL_HRNET, stages=SMALL_HRNET.stages + (stage4,), name="tiny", input_size=64
  )
  monkeypatch.setitem(hrnet.ARCHS, "tiny", tiny)
  result = by_part.ours_profile({"arch": "tiny", "batch": 1, "runs": 2, "warmup": 1})
  parts = result["parts"]
  assert set(parts) <= set(by_part.PARTS)
  assert {"stem", "stage2 branches", "stage4 fuse", "heads"} <= {
    p for p, ms in parts.items() if ms > 0
  }
  assert sum(parts.values()) == pytest.approx(result["total_ms"])
  text = by_part.profile_table(result, result, "tiny", 1, "a machine", "a date")
  assert "| stage4 fuse |" in text and "1.00x" in text
