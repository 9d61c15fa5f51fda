"""The grouping's map stride (`predictor.Model.map_stride`) on a trained student:
AP on a split and the whole path's latency at each stride, side by side.

  python -m bench.map_stride --model out/bench_students/realtime-s0/export
  python -m bench.map_stride --model out/bench_students/realtime-s0/export --flip --strides 1,2

Stride 1 is the published protocol (every map projected to the input's resolution
before the peaks are found); 2 and 4 group on maps at that stride of the input.
The AP is COCOeval's on the benchmark split (`--split`, `--max-images`) with the
model's grouping settings; the latency is the median of interleaved rounds
(`bench.students.timing`) of one benchmark scene, image to people, at 256 and 512
px, batch 1, float32, the flip test as `--flip` says (default: as the model's
arch.json says). Prints one Markdown table (docs/realtime.md keeps it).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime

import numpy as np

from bench.common import cpu
from bench.students import runs, timing

FIGURES = ("AP", "AP .5", "AR", "AP h<64", "AP h64-128", "AP h>128")


def measure(
  model_dir: str,
  strides=(1, 2, 4),
  flip: bool | None = None,
  root: str = runs.DATA,
  split: str = "",
  max_images: int = 0,
  sizes=(256, 512),
  rounds: int = 15,
) -> dict:
  """{"ap": {stride: evaluate_by_size figures}, "ms": {"stride S path N": ms}} of
  the model directory, read with the flip test `flip` (None: the model's own)."""
  import jax

  from rtpe_jax.data.synthetic import benchmark
  from rtpe_jax.inference import coco_metrics, predictor, split_eval

  split = split or benchmark.BENCHMARK
  model = predictor.load(model_dir)
  flip = model.flip if flip is None else flip
  ground_truth, image_ids, images = split_eval.read_split(root, split, max_images=max_images)
  ap = {}
  for s in strides:
    at = dataclasses.replace(model, map_stride=s)
    find = lambda image, m=at: predictor.predict_image(m, image, flip, buckets=())
    results = split_eval.results(find, image_ids, images, progress=f"map stride {s}")
    ap[s] = coco_metrics.evaluate_by_size(ground_truth, results, image_ids)
  scene_seed = benchmark.SPLITS[benchmark.BENCHMARK][0]
  calls = {}
  for size in sizes:
    scene = np.asarray(benchmark.make_image(scene_seed, benchmark.BENCHMARK, 0, size)[0])
    sized = predictor.load(model_dir, input_size=size)
    for s in strides:
      m = dataclasses.replace(sized, map_stride=s)
      calls[f"stride {s} path {size}"] = lambda m=m, x=scene: predictor.predict_image(m, x, flip)
  ms = timing.interleaved_medians(calls, rounds, wait=jax.block_until_ready)
  return {"ap": ap, "ms": ms, "flip": flip, "rounds": rounds}


def table(measured: dict, sizes=(256, 512)) -> str:
  head = f"| map stride | {' | '.join(FIGURES)} | " + " | ".join(f"path ms {s}" for s in sizes)
  lines = [head + " |", "|" + " --- |" * (1 + len(FIGURES) + len(sizes))]
  for s, ap in measured["ap"].items():
    figures = [ap[k] for k in FIGURES]
    times = [measured["ms"][f"stride {s} path {size}"] for size in sizes]
    lines.append(
      f"| {s} | "
      + " | ".join(f"{v:.3f}" for v in figures)
      + " | "
      + " | ".join(f"{t:.1f}" for t in times)
      + " |"
    )
  return "\n".join(lines)


def main(argv=None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--model", required=True, help="a trained student's model directory")
  parser.add_argument("--strides", default="1,2,4")
  flip = parser.add_mutually_exclusive_group()
  flip.add_argument("--flip", dest="flip", action="store_true", default=None)
  flip.add_argument("--no-flip", dest="flip", action="store_false")
  parser.add_argument("--data", default=runs.DATA, help=f"benchmark data (default {runs.DATA})")
  parser.add_argument("--split", default="", help="default: the benchmark split")
  parser.add_argument("--max-images", type=int, default=0)
  parser.add_argument("--rounds", type=int, default=15)
  args = parser.parse_args(argv)
  strides = tuple(int(s) for s in args.strides.split(","))
  measured = measure(
    args.model, strides, args.flip, args.data, args.split, args.max_images, rounds=args.rounds
  )
  c = cpu()
  print(
    f"{args.model}, flip test {'on' if measured['flip'] else 'off'}; "
    f"{datetime.date.today().isoformat()}, {c['model']}, {c['cores']} cores; "
    f"medians of {args.rounds} interleaved rounds"
  )
  print(table(measured))
  return measured


if __name__ == "__main__":
  main()
