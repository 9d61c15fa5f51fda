"""Runs a converted teacher over a COCO split (or a folder of images).

  python infer_teacher.py --teacher models/hrnet_w48_640 --coco DIR --split val2017 \
      --out PRED_DIR [--eval] [--shard i/n] [--batch B] [--dtype bfloat16]

  python infer_teacher.py --teacher T --images DIR/images/unlabeled2017 --out PRED_DIR --people

Writes the teacher-prediction store to PRED_DIR/teacher (the training pipeline's
`teacher_store`), and with --eval the COCO results (PRED_DIR/results.json) and
the AP table (PRED_DIR/ap.json) of the flip-test protocol, single-scale or
with --scales (e.g. 2 1 0.5). --people keeps the grouped people without scoring
them (PRED_DIR/results-shard*.jsonl, COCO results): with the store, what training
on unlabelled images reads (`data.unlabelled`, rtpe_jax.data.unlabelled). A folder
of images is scored with --eval --annotations FILE (its COCO keypoint file, e.g.
the synthetic pool's withheld labels).
Re-running continues where it stopped; --shard i/n takes every n-th image from
the i-th, so n processes or hosts share a split. Unreadable images are listed
in PRED_DIR/failures.txt and skipped.
"""

import argparse
import logging

import jax.numpy as jnp

from rtpe_jax.data import coco
from rtpe_jax.inference import coco_metrics, predictor, teacher_run, teacher_work
from rtpe_jax.models import load_teacher, weights


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--teacher", required=True, help="converted model directory")
  parser.add_argument("--coco", help="COCO-layout root (images/, annotations/)")
  parser.add_argument("--split", default="val2017")
  parser.add_argument("--images", help="a folder of images instead of --coco/--split")
  parser.add_argument("--ids", help="only these image ids (a file, e.g. a minival list)")
  parser.add_argument("--out", required=True)
  parser.add_argument("--eval", action="store_true", help="also COCO results and AP")
  parser.add_argument(
    "--people", action="store_true", help="also the grouped people (COCO results), unscored"
  )
  parser.add_argument(
    "--annotations", help="with --images and --eval: the COCO keypoint file to score against"
  )
  parser.add_argument(
    "--scales",
    type=float,
    nargs="+",
    default=[1.0],
    help="test scales for --eval, e.g. 2 1 0.5 (the store uses scale 1)",
  )
  parser.add_argument("--shard", default="0/1", help="i/n: this process's share")
  parser.add_argument("--batch", type=int, default=1, help="images of one size per call")
  parser.add_argument("--input-size", type=int, help="default: the teacher's (512 or 640)")
  parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
  parser.add_argument("--no-progress", action="store_true")
  args = parser.parse_args(argv)
  logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
  if bool(args.coco) == bool(args.images):
    parser.error("give --coco (with --split) or --images")
  if args.eval and not (args.coco or args.annotations):
    parser.error("--eval needs --coco or, with --images, --annotations")
  if args.annotations and not args.images:
    parser.error("--annotations goes with --images (--coco has its own)")
  shard = teacher_work.parse_shard(args.shard)

  module, variables = load_teacher(args.teacher, getattr(jnp, args.dtype))
  unbiased = weights.read_arch(args.teacher).get("unbiased_flip", False)
  model = predictor.from_module(
    module, variables, fold=False, input_size=args.input_size, unbiased_flip=unbiased
  )
  ids = coco.read_id_list(args.ids) if args.ids else None
  if args.coco:
    items, ground_truth = teacher_work.coco_work(args.coco, args.split, ids, f"{args.ids} (--ids)")
  else:
    items = teacher_work.folder_work(args.images)
    ground_truth = coco.load_coco_file(args.annotations) if args.annotations else None
  counts = teacher_run.run(
    model,
    items,
    args.out,
    evaluate=args.eval or args.people,
    shard=shard,
    batch_size=args.batch,
    progress=not args.no_progress,
    scales=tuple(args.scales),
  )
  print(
    f"{counts['done']} images done, {counts['skipped']} already stored, "
    f"{counts['failed']} failed (listed in {args.out}/failures.txt)"
  )
  if args.eval:
    i, n = shard
    known = set(ground_truth.getImgIds())  # a folder may hold images its file does not list
    shard_ids = [it.image_id for it in items[i::n] if it.image_id in known]
    stats = teacher_work.evaluate_results(ground_truth, args.out, shard_ids)
    print(coco_metrics.format_table(stats))


if __name__ == "__main__":
  main()
