"""Teacher forward speed: images/s and latency of HigherHRNet on this machine.

  python -m bench.teacher_forward     # W32-512 and W48-640, batch 1 and 8,
                                      # float32 and bfloat16, 20 timed runs
  python -m bench.teacher_forward --arch w48_640 --batch 8 --dtype bfloat16 --runs 50

Weights are random unless --teacher points to a converted model directory (the
speed does not depend on their values). Each configuration is compiled once,
run `--warmup` times, then timed `--runs` times with `block_until_ready`; the
median latency is reported, and images/s = batch / median.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp

from bench.common import DTYPES, machine, median_seconds
from rtpe_jax.inference import protocol
from rtpe_jax.models import ARCHS, HigherHRNet, load_teacher


def build(arch: str | None, dtype: str, teacher: str | None = None):
  """(module, variables): a converted teacher, or random weights for `arch`."""
  if teacher:
    return load_teacher(teacher, dtype=DTYPES[dtype])
  module = HigherHRNet(config=ARCHS[arch], dtype=DTYPES[dtype])
  size = module.config.input_size
  return module, jax.jit(module.init)(jax.random.key(1), jnp.zeros((1, size, size, 3)))


def bench_one(module, variables, batch: int, dtype: str, runs: int, warmup: int) -> dict:
  size = module.config.input_size
  x = jax.random.normal(jax.random.key(0), (batch, size, size, 3), jnp.float32)
  forward = jax.jit(
    lambda v, x: module.apply(v, x, train=False), compiler_options=protocol.compiler_options()
  )

  t0 = time.perf_counter()
  jax.block_until_ready(forward(variables, x))
  compile_s = time.perf_counter() - t0
  median = median_seconds(lambda: forward(variables, x), runs, warmup)
  return {
    "arch": module.config.name,
    "input": size,
    "batch": batch,
    "dtype": dtype,
    "runs": runs,
    "latency_ms_median": 1e3 * median,
    "images_per_s": batch / median,
    "first_call_s": compile_s,
    "jax": jax.__version__,
  }


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--arch", nargs="+", default=["w32_512", "w48_640"], choices=list(ARCHS))
  parser.add_argument("--batch", nargs="+", type=int, default=[1, 8])
  parser.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"], choices=list(DTYPES))
  parser.add_argument("--runs", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--teacher", help="converted model directory (replaces --arch)")
  parser.add_argument("--json", help="also write the rows to this file")
  args = parser.parse_args(argv)

  archs = [None] if args.teacher else args.arch
  device = machine()
  rows = []
  print(
    "| model | input | batch | dtype | latency ms (median) | images/s | first call s | machine |"
  )
  print("| --- | --- | --- | --- | --- | --- | --- | --- |")
  for arch in archs:
    for dtype in args.dtype:
      module, variables = build(arch, dtype, args.teacher)
      for batch in args.batch:
        r = {
          **bench_one(module, variables, batch, dtype, args.runs, args.warmup),
          "machine": device,
        }
        rows.append(r)
        print(
          f"| {r['arch']} | {r['input']} | {batch} | {dtype} | {r['latency_ms_median']:.1f} "
          f"| {r['images_per_s']:.2f} | {r['first_call_s']:.1f} | {r['machine']} |",
          flush=True,
        )
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=1)


if __name__ == "__main__":
  main()
