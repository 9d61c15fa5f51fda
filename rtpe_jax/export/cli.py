"""The command line: python -m rtpe_jax.export --model DIR --out DIR [--coco ROOT]
(`rtpe_jax.export` says what it writes)."""

from __future__ import annotations

import json
import os
import sys

from rtpe_jax.export import formats, parity, scoring
from rtpe_jax.export import settings as settings_lib


def main(argv=None) -> int:
  import argparse

  parser = argparse.ArgumentParser(
    description="Exports a trained student to SavedModel and TFLite."
  )
  parser.add_argument("--model", required=True, help="student model directory")
  parser.add_argument("--out", required=True)
  parser.add_argument(
    "--input-size", type=int, help="the protocol's shorter side (default: arch.json)"
  )
  parser.add_argument(
    "--canvas",
    nargs="+",
    help="canvases HxW (multiples of 64; default: every protocol size of aspect ratios up to 3:2)",
  )
  flip = parser.add_mutually_exclusive_group()
  flip.add_argument("--flip", dest="flip", action="store_true", default=None, help="the flip test")
  flip.add_argument("--no-flip", dest="flip", action="store_false", help="one network pass")
  parser.add_argument("--top-k", type=int, default=30)
  parser.add_argument("--coco", help="also score every format on this COCO-layout root")
  parser.add_argument("--split", default="val2017")
  parser.add_argument(
    "--ids", help="with --coco: only these image ids (a file, e.g. a minival list)"
  )
  parser.add_argument("--max-images", type=int, default=0, help="with --coco: the first N images")
  args = parser.parse_args(argv)
  try:
    canvases = [tuple(int(v) for v in c.lower().split("x")) for c in args.canvas or []]
  except ValueError:
    parser.error(f"--canvas {args.canvas}: give HxW, e.g. 256x320")
  settings = settings_lib.settings_for(args.model, args.input_size, args.flip, canvases, args.top_k)
  print(
    f"{args.model}: input size {settings.input_size}, flip {settings.flip}, canvases "
    f"{' '.join(f'{h}x{w}' for h, w in settings.canvases)}, detection threshold "
    f"{settings.grouping.detection_threshold}, tag threshold {settings.grouping.tag_threshold}"
  )
  failed = []
  for name, difference in formats.export_student(args.model, args.out, settings).items():
    ok = difference <= parity.TOLERANCE[name]
    failed += [] if ok else [name]
    print(
      f"{os.path.join(args.out, name)}: max |maps - JAX| = {difference:.2e} of their range "
      f"(tolerance {parity.TOLERANCE[name]:.0e}){'' if ok else ': TOO LARGE'}"
    )
  if args.coco:
    from rtpe_jax.data import coco

    ids = coco.read_id_list(args.ids) if args.ids else None
    stats = scoring.evaluate_formats(
      args.model, args.out, args.coco, args.split, ids, args.max_images
    )
    for name, s in stats.items():
      print(f"{name:>24}: AP {s['AP']:.4f}  AP .5 {s['AP .5']:.4f}  ({args.split})")
    with open(os.path.join(args.out, "ap.json"), "w") as f:
      json.dump(stats, f, indent=1)
  if failed:
    print(
      f"exported outputs differ from JAX beyond the tolerance: {', '.join(failed)}", file=sys.stderr
    )
    return 1
  return 0
