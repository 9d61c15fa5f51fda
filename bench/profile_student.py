"""Where the default student's time goes: a jax.profiler trace, summed per XLA op.

  python -m bench.profile_student [--size 512] [--dtype float32] [--runs 5] [--top 10]

Traces `--runs` forward passes (batch 1, batch norm folded, random weights),
reads the Perfetto trace the profiler writes, sums the time of each compiled
op (fusion, convolution ...) and names it by the flax module that produced it
(the op's metadata in the compiled HLO). Prints the most expensive ops and the
time per top-level part of the network (stem, segmentation, detector ...).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import tempfile

import jax
import jax.numpy as jnp

from bench.common import DTYPES
from rtpe_jax.models import folding
from rtpe_jax.models.student import AttentionStudent, StudentConfig


def op_sources(hlo_text: str) -> dict[str, str]:
  """{op name: flax module path} from the `op_name` metadata of a compiled HLO module."""
  sources = {}
  for line in hlo_text.splitlines():
    match = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = .*op_name=\"([^\"]+)\"", line)
    if match:
      path = match.group(2).split("/")
      sources[match.group(1)] = "/".join(p for p in path[1:] if not p.startswith("jit("))
  return sources


def op_times_ms(trace_dir: str, runs: int) -> collections.Counter:
  """Mean ms per run of each traced op (complete events) of the newest trace."""
  path = sorted(glob.glob(f"{trace_dir}/**/*perfetto_trace.json.gz", recursive=True))[-1]
  with gzip.open(path) as f:
    trace = json.load(f)
  events = trace["traceEvents"] if isinstance(trace, dict) else trace
  total = collections.Counter()
  for e in events:
    if e.get("ph") == "X":
      total[e["name"]] += e.get("dur", 0) / 1e3 / runs
  return total


def profile(size: int, dtype: str, runs: int):
  """[(ms, op, module path)] of the ops of one forward pass, most expensive first."""
  module = AttentionStudent(config=StudentConfig(), dtype=DTYPES[dtype])
  x = jnp.zeros((1, size, size, module.config.input_channels))
  variables = jax.jit(lambda x: module.init(jax.random.key(0), x))(x)
  folded = folding.fold_batch_norm(module, variables, x)
  forward = jax.jit(lambda f, x: folding.folded_apply(module, f, x))
  sources = op_sources(forward.lower(folded, x).compile().as_text())
  jax.block_until_ready(forward(folded, x))
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
      for _ in range(runs):
        jax.block_until_ready(forward(folded, x))
    times = op_times_ms(trace_dir, runs)
  return sorted(((ms, op, sources[op]) for op, ms in times.items() if op in sources), reverse=True)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--size", type=int, default=512)
  parser.add_argument("--dtype", default="float32", choices=list(DTYPES))
  parser.add_argument("--runs", type=int, default=5)
  parser.add_argument("--top", type=int, default=10)
  args = parser.parse_args(argv)
  ops = profile(args.size, args.dtype, args.runs)
  total = sum(ms for ms, _, _ in ops)
  print(
    f"default student, {args.size} px, {args.dtype}, batch 1, on {jax.devices()[0]}: "
    f"{total:.1f} ms in {len(ops)} ops"
  )
  print("| ms | share | op | module |\n| --- | --- | --- | --- |")
  for ms, op, source in ops[: args.top]:
    print(f"| {ms:.2f} | {ms / total:.0%} | {op} | {source} |")
  parts = collections.Counter()
  for ms, _, source in ops:
    parts[source.split("/")[1] if "/" in source else source] += ms
  print("\n| ms | share | part |\n| --- | --- | --- |")
  for part, ms in parts.most_common(args.top):
    print(f"| {ms:.2f} | {ms / total:.0%} | {part} |")
  return ops


if __name__ == "__main__":
  main()
