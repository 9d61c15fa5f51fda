"""Quickstart on the synthetic dataset: small enough for a CPU.

  python -m rtpe_jax.data.synthetic --out data/synthetic
  python -m rtpe_jax.data.show --config configs/quickstart.py --out out/show --stand_in_teacher

Data section: 256 px crops, targets at 1/4 and 1/2 with two spreads, teacher
maps at 1/4, LAB as the second input. `get_config("runlocal")` shrinks the batch further.
"""

import ml_collections

from rtpe_jax.data import pipeline


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.data = pipeline.default_config()
  config.data.root = "data/synthetic"
  config.data.teacher_store = ""  # data/synthetic/teacher once a teacher has run
  config.data.input_size = 256
  config.data.sigmas = (2.0, 4.0)
  config.data.colour_space = "lab"
  config.data.batch_size = 8
  if arg == "runlocal":
    config.data.batch_size = 2
  return config
