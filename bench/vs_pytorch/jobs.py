"""One measurement in a process of its own (`run_job`: torch's OpenMP threads and
XLA's thread pool would slow each other down in one), and what both sides'
workers share: the reference's config and a timer that does not import JAX."""

from __future__ import annotations

import glob
import importlib
import json
import os
import statistics
import subprocess
import sys
import time

EXPERIMENTS = {"w32_512": "w32_512_adam_lr1e-3.yaml", "w48_640": "w48_640_adam_lr1e-3.yaml"}


def median_ms(fn, runs: int, warmup: int) -> float:
  """Median ms of fn() (which waits for its own result). Not bench.common's
  timer: that one imports JAX, which the reference's process must not load."""
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1e3 * statistics.median(times)


def reference_config(reference: str, arch: str | None):
  sys.path.insert(0, os.path.join(reference, "lib"))
  from config import cfg as defaults  # the reference's yacs defaults

  cfg = defaults.clone()
  if arch:
    found = glob.glob(
      os.path.join(reference, "experiments", "**", EXPERIMENTS[arch]), recursive=True
    )
    if not found:
      raise SystemExit(f"{reference}/experiments: no {EXPERIMENTS[arch]}")
    cfg.merge_from_file(found[0])
  cfg.defrost()
  return cfg


# (side, what) -> the worker's module and function
WORKERS = {
  ("reference", "forward"): ("speed", "reference_forward"),
  ("reference", "grouping"): ("speed", "reference_grouping"),
  ("ours", "forward"): ("speed", "ours_forward"),
  ("ours", "grouping"): ("speed", "ours_grouping"),
  ("reference", "profile"): ("by_part", "reference_profile"),
  ("ours", "profile"): ("by_part", "ours_profile"),
  ("reference", "protocol"): ("protocol", "reference_protocol"),
  ("ours", "protocol"): ("protocol", "ours_protocol"),
}


def work(job: dict) -> dict:
  """The job's measurement in this process (a worker's side of `run_job`)."""
  module, name = WORKERS[job["side"], job["what"]]
  return getattr(importlib.import_module(f"bench.vs_pytorch.{module}"), name)(job)


def run_job(job: dict) -> dict:
  """One measurement in a fresh process: `python -m bench.vs_pytorch --job JSON`."""
  out = subprocess.run(
    [sys.executable, "-m", "bench.vs_pytorch", "--job", json.dumps(job)],
    capture_output=True,
    text=True,
    cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
  )
  if out.returncode:
    raise RuntimeError(f"{job['side']} {job['what']} failed:\n{out.stderr[-3000:]}")
  return json.loads(out.stdout.strip().splitlines()[-1])
