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


SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu() -> dict:
  """The CPU in words: {"model", "cores", "flags"} (the vector extensions XLA and
  XNNPACK choose their kernels by; `flags` empty where /proc/cpuinfo is missing)."""
  model, flags = platform.machine(), set()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
          model = value.strip()
        elif key.strip() == "flags":
          flags = set(value.split())
  except OSError:
    pass
  return {
    "model": model,
    "cores": os.cpu_count(),
    "flags": " ".join(f for f in SIMD_FLAGS if f in flags),
  }
