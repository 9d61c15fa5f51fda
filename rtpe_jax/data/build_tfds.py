"""Packs a COCO-layout directory (and its teacher store) into TFDS shards.

  python -m rtpe_jax.data.build_tfds --manual_dir COCO_DIR --data_dir TFDS_DIR \
      [--teacher_store STORE] [--config with_teacher|plain]

The builder is `rtpe_jax.data.tfds_coco.CocoDistill`; it lives in its own module
because TFDS finds a builder's files through its module, which must not be
__main__.
"""

import argparse

from rtpe_jax.data import tfds_coco


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description="Packs a COCO-layout directory into TFDS shards.")
  parser.add_argument("--manual_dir", required=True, help="COCO-layout directory")
  parser.add_argument("--data_dir", required=True, help="TFDS data directory to write")
  parser.add_argument("--teacher_store", default="", help="default: MANUAL_DIR/teacher if present")
  parser.add_argument("--config", choices=["with_teacher", "plain"], default="")
  args = parser.parse_args(argv)
  print(tfds_coco.build(args.manual_dir, args.data_dir, args.teacher_store, args.config))


if __name__ == "__main__":
  main()
