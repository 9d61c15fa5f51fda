"""Quickstart 3D (phase 4): the quickstart student with depth maps, on the synthetic 3D data, on CPU.

  python -m rtpe_jax.threed.synthetic3d --out data/synthetic3d
  python train.py --config configs/quickstart3d.py --workdir out/quickstart3d

The quickstart's student, crops, schedule and 1000 steps (configs/quickstart.py:short)
with `depth`: 18 more maps at 1/4, the root's depth over the focal length and
each joint's depth relative to the root (`rtpe_jax.depth`), trained with a
masked L1 beside the 2D loss, read at the grouped joints and back-projected
through each image's intrinsics. The closing table is the 2D AP table and the
3D table (`rtpe_jax.threed.metrics3d`: MPJPE, PA-MPJPE, 3DPCK, MRPE, root AP,
depth order) of the 64-image 3D val split. Seeds 0 / 1 (901c392): AP 0.0748 /
0.0904, MPJPE 330.5 / 290.4 mm, MRPE 1732 / 794 mm, depth order 88 %; 11.8
minutes in train.py on a 2-core AVX-512 EPYC (docs/3d.md: the tables, the
baselines and what limits them). `get_config("runlocal")` is a seconds-long
smoke run (tests).
"""

import ml_collections

from configs import common, quickstart


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  if arg not in ("", "runlocal"):
    raise ValueError(f"configs/quickstart3d.py:{arg}: use '' or 'runlocal'")
  config = quickstart.get_config("short")
  if arg == "runlocal":
    config = common.runlocal(config)
  config.target_ap = 0.0  # the 3D data is a different benchmark: no 2D target
  config.data.root = "data/synthetic3d"
  config.data.depth = True
  config.model.student.depth = True
  config.eval.metrics = ("keypoints", "3d")
  return config
