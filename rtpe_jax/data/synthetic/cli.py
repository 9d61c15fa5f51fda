"""The command line: python -m rtpe_jax.data.synthetic --out DIR (`rtpe_jax.data.synthetic`
says what it writes)."""

from __future__ import annotations

import argparse
import sys

from rtpe_jax.data.synthetic import benchmark, scenes, video, writer


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description="Writes a synthetic COCO-format keypoint dataset.")
  parser.add_argument("--out", help="dataset directory (COCO layout)")
  parser.add_argument(
    "--train",
    type=int,
    default=1024,
    help="training images (default 1024; 0: leave the split as it is)",
  )
  parser.add_argument("--val", type=int, default=64, help="validation images (default 64)")
  parser.add_argument(
    "--unlabelled",
    type=int,
    default=0,
    help="images of an extra unlabelled split (labels withheld; default 0: none)",
  )
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--size", type=int, default=256, help="image height in pixels")
  parser.add_argument("--workers", type=int, help="processes (default: all cores)")
  parser.add_argument("--video", help="write a short synthetic video (.avi) here")
  parser.add_argument(
    "--benchmark",
    action="store_true",
    help="write the students' benchmark (train2017, selection2017, benchmark2017; its "
    "fixed seeds, counts and parameters: rtpe_jax.data.synthetic.benchmark)",
  )
  args = parser.parse_args(argv)
  if args.benchmark:
    given = [f"--{n}" for n in ("train", "val", "unlabelled", "seed", "size", "video")]
    given = [g for g in given if g in (argv if argv is not None else sys.argv[1:])]
    if given:
      parser.error(f"--benchmark fixes its own splits, seeds and size: drop {' '.join(given)}")
    if not args.out:
      parser.error("--benchmark needs --out DIR")
    for split, path in benchmark.write(args.out, args.workers).items():
      print(f"{split}: {benchmark.SPLITS[split][1]} images -> {path}")
    return
  if not (args.out or args.video):
    parser.error("give --out (a dataset), --video (a clip) or both")
  if args.video:
    print(f"video: {video.write_video(args.video, size=args.size, seed=args.seed)}")
  if not args.out:
    return
  for split, count in (("train2017", args.train), ("val2017", args.val)):
    if not count:  # 0: leave that split as it is
      continue
    path = writer.write_split(args.out, split, count, args.seed, args.size, args.workers)
    print(f"{split}: {count} images -> {path}")
  if args.unlabelled:
    path = writer.write_split(
      args.out,
      scenes.UNLABELLED,
      args.unlabelled,
      args.seed,
      args.size,
      args.workers,
      annotation_name=scenes.WITHHELD,
    )
    print(f"{scenes.UNLABELLED}: {args.unlabelled} images, labels withheld in {path}")
