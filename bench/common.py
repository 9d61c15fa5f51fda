"""What every benchmark shares: the timer and the machine description."""

from __future__ import annotations

import os
import platform
import time

import jax
import numpy as np

from rtpe_jax.precision import COMPUTE_DTYPES as DTYPES  # noqa: F401  (the one dtype map)


def median_seconds(fn, runs: int, warmup: int = 2) -> float:
  """Median seconds of `fn()` over `runs` calls after `warmup` calls. Whatever fn
  returns is waited for (`jax.block_until_ready`), so JAX work is timed to its end."""
  for _ in range(warmup):
    jax.block_until_ready(fn())
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def machine() -> str:
  """The device the benchmark ran on, in words."""
  device = jax.devices()[0]
  if device.platform != "cpu":
    return device.device_kind
  name = platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  return f"CPU {name}, {os.cpu_count()} cores"
