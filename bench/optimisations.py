"""Each inference optimisation of rtpe_jax.inference.predictor measured before and after.

  python -m bench.optimisations [--size 512] [--runs 20] [--frames 24] [--quick]

For the default student (random weights) on this machine, medians of --runs:
- batch norm folded into the convolutions vs not (network alone, batch 1);
- bfloat16 vs float32 compute (network alone, batch 1);
- NMS and top-k on the device (candidates only leave it) vs the whole maps
  copied to the host and NMS + top-k done there in NumPy;
- a video's host grouping overlapped with the next frame's network run vs one
  after the other (frames/s over --frames synthetic frames, whole path).
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

from bench import grouping as grouping_bench
from bench import run_all
from bench.common import machine, median_seconds
from rtpe_jax.data.synthetic import video as synthetic_video
from rtpe_jax.inference import grouping, predictor, protocol


def network_ms(model: predictor.Model, size: int, runs: int) -> float:
  x = jnp.asarray(np.random.default_rng(0).integers(0, 256, (1, size, size, 3), np.uint8))
  call = lambda: jax.block_until_ready(
    protocol.scale_maps(model.network, model.spec, False, None, model.variables, x)
  )
  call()
  return 1e3 * median_seconds(call, runs, 2)


def unfolded(module, variables, size) -> predictor.Model:
  network, spec = predictor.network_and_spec(module, fold=False)
  return predictor.Model(network, variables, spec, size)


def host_candidates_ms(model: predictor.Model, size: int, runs: int) -> tuple[float, float]:
  """(device NMS + top-k, host NMS + top-k) ms: maps on the device to candidates on the host."""
  x = jnp.asarray(np.random.default_rng(0).integers(0, 256, (1, size, size, 3), np.uint8))
  heatmaps, tags, *_ = protocol.scale_maps(
    model.network, model.spec, False, (size, size), model.variables, x
  )
  jax.block_until_ready(heatmaps)
  device = lambda: jax.device_get(grouping.top_candidates(heatmaps, tags))
  host = lambda: grouping_bench.numpy_candidates(np.asarray(heatmaps[0]), np.asarray(tags[0]))
  device()
  host()
  return 1e3 * median_seconds(device, runs, 2), 1e3 * median_seconds(host, runs, 2)


def stream_fps(model: predictor.Model, frames, overlap: bool) -> float:
  timing = predictor.timed_stream(model, frames, flip=False, overlap=overlap)
  return timing["frames_per_s"]


def main(argv=None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--size", type=int, default=512)
  parser.add_argument("--runs", type=int, default=20)
  parser.add_argument("--frames", type=int, default=24)
  parser.add_argument("--quick", action="store_true", help="the small student, 128 px, 3 runs")
  parser.add_argument("--out", help="write the rows as JSON here")
  args = parser.parse_args(argv)
  if args.quick:
    args.size, args.runs, args.frames = 128, 3, 4
  device = machine()
  rows = []

  def add(what, before, after, unit):
    rows.append(
      {
        "optimisation": what,
        "before": before,
        "after": after,
        "unit": unit,
        "input": args.size,
        "machine": device,
      }
    )
    print(f"| {what} | {before:.2f} | {after:.2f} | {unit} | {args.size} | {device} |", flush=True)

  print(
    "| optimisation | before | after | unit | input | machine |\n| --- | --- | --- | --- | --- | --- |"
  )
  module, variables = run_all.build("student", "float32", args.quick)
  folded = run_all.model_for(module, variables, args.size)
  add(
    "batch norm folded (network, batch 1)",
    network_ms(unfolded(module, variables, args.size), args.size, args.runs),
    network_ms(folded, args.size, args.runs),
    "ms",
  )
  module16, variables16 = run_all.build("student", "bfloat16", args.quick)
  add(
    "bfloat16 compute (network, batch 1, folded)",
    network_ms(folded, args.size, args.runs),
    network_ms(run_all.model_for(module16, variables16, args.size), args.size, args.runs),
    "ms",
  )
  on_device, on_host = host_candidates_ms(folded, args.size, args.runs)
  add("NMS + top-k on the device (maps -> candidates on the host)", on_host, on_device, "ms")
  frames, _ = synthetic_video.video_frames(num_frames=args.frames, size=args.size * 3 // 4)
  add(
    "grouping overlapped with the next frame (whole path, no flip)",
    stream_fps(folded, frames, False),
    stream_fps(folded, frames, True),
    "frames/s",
  )
  if args.out:
    with open(args.out, "w") as f:
      json.dump(rows, f, indent=1)
  return rows


if __name__ == "__main__":
  main()
