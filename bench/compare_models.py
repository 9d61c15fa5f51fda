"""Parameters, compute and CPU/GPU latency of trained model directories, side by side.

  python -m bench.compare_models out/teacher_synthetic/export out/distill_synthetic/export \
      --input-size 256

One row per model: parameters, GMAC of the convolutions (rtpe_jax.models.complexity)
and the median latency of the jitted forward pass on one image (batch 1,
float32, `block_until_ready`, after a warm-up).
"""

from __future__ import annotations

import argparse

import jax

from bench.common import machine, median_seconds
from rtpe_jax.models import complexity, weights


def latency_ms(module, variables, size: int, runs: int) -> float:
  x = jax.random.normal(jax.random.key(0), (1, size, size, weights.input_channels(module)))
  forward = jax.jit(lambda v, x: module.apply(v, x, train=False))
  return 1e3 * median_seconds(lambda: forward(variables, x), runs, warmup=1)


def main(argv=None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("models", nargs="+", help="model directories (export/ of a run)")
  parser.add_argument("--input-size", type=int, default=256)
  parser.add_argument("--runs", type=int, default=20)
  args = parser.parse_args(argv)
  size = args.input_size
  rows = []
  print(
    f"| model | kind | input | params | GMAC conv | latency ms (median of {args.runs}) | machine |"
  )
  print("| --- | --- | --- | --- | --- | --- | --- |")
  for path in args.models:
    module, variables = weights.load_model(path)
    row = {
      "model": path,
      "kind": weights.read_arch(path)["model"],
      "input": size,
      **complexity.summarize(module, (size, size), with_xla_total=False),
      "latency_ms": latency_ms(module, variables, size, args.runs),
      "machine": machine(),
    }
    rows.append(row)
    print(
      f"| {path} | {row['kind']} | {size} | {row['params']:,} | {row['gmac_conv']:.2f} "
      f"| {row['latency_ms']:.1f} | {row['machine']} |",
      flush=True,
    )
  return rows


if __name__ == "__main__":
  main()
