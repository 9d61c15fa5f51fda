"""The lifter (phase 4): one person's 2D joints -> root-relative 3D joints, an
MLP trained on an endless stream of generated people seen by random cameras
(rtpe_jax/threed/lifter_training.py; no images).

  python train.py --config configs/lifting.py --workdir out/lifting
  python -m rtpe_jax.threed.lifter --model out/lifting/export --poses poses.npz

The closing table is the MPJPE and PA-MPJPE from exact 2D on 4096 generated
validation people. Cost: about 3 minutes in train.py on a 2-core AVX-512 EPYC;
results and what limits them: docs/3d.md.

Arguments (`rtpe_jax.train.config.parse_arg`):
  runlocal  a seconds-long smoke run (the tests)
"""

import ml_collections

from rtpe_jax.train import config as config_lib


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, runlocal=False)
  config = ml_collections.ConfigDict(
    dict(
      task="lifting",
      seed=0,
      total_steps=6000,
      batch_size=256,
      log_every=200,
      checkpoint_every=1000,
      val_people=4096,  # generated validation people, lifted from their exact 2D
      model=dict(width=512, blocks=2, dropout=0.1),
      optimizer=dict(peak=1e-3, warmup=200, floor=1e-5, weight_decay=1e-4),
      # 2D noise of about a pixel at the synthetic images' focal length, a joint in ten hidden.
      # uniform: the share of people whose angles are uniform within the limits
      # rather than the generator's modes (a broader pose prior; docs/3d.md)
      data=dict(noise_px=1.0, focal_px=250.0, drop=0.1, uniform=0.5),
    )
  )
  if arg.runlocal:
    config.total_steps, config.batch_size = 20, 32
    config.log_every, config.checkpoint_every = 5, 10
    config.val_people = 256
    config.model.width = 64
    config.optimizer.warmup = 5
  return config
