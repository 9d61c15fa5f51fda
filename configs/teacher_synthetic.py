"""A small HigherHRNet trained from ground truth on the synthetic dataset.

  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256

It stands in for the published W48 (not on these machines), so that distillation
can be shown end to end (`configs/distill_synthetic.py`). HigherHRNet's loss
(heatmaps at 1/4 and 1/2, associative embedding at 1/4) and its near-zero init
of the heatmap heads (without it a short run collapsed to all-zero heatmaps),
with what the synthetic configs share (configs/common.py: 192-px crops at the
evaluation's scale, the loss weighting, hard-joint mining, the Adam schedule).
W16-like widths, one module per stage; 1500 steps. `get_config("runlocal")`:
a seconds-long smoke run.
"""

import ml_collections

from configs import common
from rtpe_jax import config as config_lib


def small_arch() -> dict:
  """HRNetConfig fields of the small teacher (the published W48 has 8x its width)."""
  return dict(
    stages=[
      dict(num_modules=1, num_blocks=(1, 1), num_channels=(16, 32)),
      dict(num_modules=1, num_blocks=(1, 1, 1), num_channels=(16, 32, 64)),
      dict(num_modules=1, num_blocks=(1, 1, 1, 1), num_channels=(16, 32, 64, 128)),
    ],
    deconv_channels=(16,),
    deconv_kernels=(4,),
    deconv_cat=(True,),
    with_ae=(True, False),
    deconv_blocks=1,
    final_kernel=1,
    tag_per_joint=True,
    num_joints=17,
    stem_channels=32,
    layer1_blocks=1,
    layer1_planes=16,
    name="synthetic_w16",
    input_size=256,
  )


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  config = common.synthetic(config_lib.default_config(), steps=1500)
  config.task = "teacher"
  config.log_every = 50
  config.checkpoint_every = 250
  config.eval_every = 750
  config.image_every = 250
  config.data.output_strides = (4, 2)  # the order of HigherHRNet's outputs
  config.model.arch = small_arch()
  config.attention = dict(divisor=1.0, steps=0)
  if arg == "runlocal":
    common.runlocal(config)
    config.total_steps, config.checkpoint_every = 4, 2
    config.eval_every = config.image_every = config.histogram_every = 0
    config.data.input_size = config.eval.input_size = 64
  return config
