"""Augmented training samples per second of the tf.data pipeline, with teacher maps.

  python -m bench.input_pipeline [--size 512] [--images 64] [--batch 32] [--batches 20]

Writes a synthetic COCO-format dataset of COCO-sized images (480 px high, 360 to
600 wide) and a teacher store of ground-truth stand-in maps at 1/2 resolution
(the layout infer_teacher.py writes) to a temporary directory, then times full
training batches: JPEG decode, annotations and masks, store decode, one random
affine for image, masks, joints and teacher maps, targets at strides 4 and 2.
Reports the median over batches after warm-up.
"""

import argparse
import json
import os
import tempfile

from bench.common import machine, median_seconds
from rtpe_jax.data import ground_truth_teacher, pipeline
from rtpe_jax.data.synthetic import writer as synthetic_writer
from rtpe_jax.train import config as config_lib


def prepare(out: str, images: int) -> tuple[str, str]:
  synthetic_writer.write_split(out, "train2017", images, seed=0, size=480)
  return out, ground_truth_teacher.write_stand_in_store(
    out, ("train2017",), os.path.join(out, "teacher")
  )


def bench(root: str, store: str, size: int, batch: int, batches: int, warmup: int = 3):
  cfg = config_lib.data_config()
  cfg.root, cfg.teacher_store, cfg.input_size, cfg.batch_size = root, store, size, batch
  iterator = iter(pipeline.train_dataset(cfg, process_index=0, process_count=1))
  seconds = median_seconds(iterator.__next__, batches, warmup)
  del iterator  # an endless iterator must go before the interpreter exits
  return batch / seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--size", type=int, default=512)
  parser.add_argument("--images", type=int, default=64)
  parser.add_argument("--batch", type=int, default=32)
  parser.add_argument("--batches", type=int, default=20)
  parser.add_argument("--json", help="also write the result here")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as tmp:
    root, store = prepare(tmp, args.images)
    rate = bench(root, store, args.size, args.batch, args.batches)
  result = {
    "samples_per_s": round(rate, 1),
    "input_size": args.size,
    "batch": args.batch,
    "cpus": os.cpu_count(),
    "machine": machine(),
  }
  print(json.dumps(result))
  if args.json:
    with open(args.json, "w") as f:
      json.dump(result, f, indent=1)


if __name__ == "__main__":
  main()
