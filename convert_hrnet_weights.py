"""Converts a published PyTorch HigherHRNet checkpoint into a Flax model directory.

  python convert_hrnet_weights.py models/pose_higher_hrnet_w48_640.pth.tar models/hrnet_w48_640

Then `rtpe_jax.models.load_teacher("models/hrnet_w48_640")` returns (module, variables).
"""

import argparse
import sys

from rtpe_jax.models.conversion import ConversionError, convert_checkpoint
from rtpe_jax.models.hrnet import ARCHS


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("src", help="PyTorch checkpoint (.pth or .pth.tar)")
  parser.add_argument("out_dir", help="model directory to create (its parent must exist)")
  parser.add_argument(
    "--arch",
    default="auto",
    choices=["auto", *ARCHS],
    help="architecture; auto infers it from the key names and shapes, "
    "a named one is checked against them (default: auto)",
  )
  parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT_DIR")
  args = parser.parse_args(argv)
  try:
    cfg = convert_checkpoint(args.src, args.out_dir, args.arch, args.overwrite)
  except ConversionError as err:
    print(f"error: {err}", file=sys.stderr)
    return 1
  print(f"converted {args.src} ({cfg.name}) -> {args.out_dir}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
