"""A small HigherHRNet trained from ground truth on the synthetic dataset: the
teacher of the synthetic distillation experiment (configs/distill_synthetic.py).

  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256 --eval

It stands in for the published W48 (not on these machines). The architecture is
`hrnet.ARCHS["synthetic_w16"]` (W16-like widths, one module and one block per
branch; 0.72 M parameters); HigherHRNet's loss (heatmaps at 1/4 and 1/2,
associative embedding at 1/4) and its near-zero init of the heatmap heads, with
what the synthetic configs share (configs/common.py: 192-px crops at the
evaluation's scale, the loss weighting, hard-joint mining, the Adam schedule).
4000 steps: on a 2-core CPU 42.5 minutes in train.py, AP 0.308 on the synthetic
val split (seed 0; docs/training.md). Three times longer
(`--config.total_steps=12000 --config.optimizer.schedule.period=12000`, about
2 hours 5 minutes) it reaches 0.382 and stays there from step 8000 on.
`get_config("runlocal")`: a seconds-long smoke run.
"""

import ml_collections

from configs import common
from rtpe_jax import config as config_lib


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  if arg not in ("", "runlocal"):
    raise ValueError(f"configs/teacher_synthetic.py:{arg}: use '' or 'runlocal'")
  config = common.synthetic(config_lib.default_config(), steps=4000)
  config.task = "teacher"
  config.log_every = 50
  config.checkpoint_every = 500
  config.eval_every = 2000
  config.image_every = 500
  config.data.output_strides = (4, 2)  # the order of HigherHRNet's outputs
  config.model.arch = "synthetic_w16"
  config.attention = dict(divisor=1.0, steps=0)
  if arg == "runlocal":
    common.runlocal(config)
    config.total_steps, config.checkpoint_every = 4, 2
    config.eval_every = config.image_every = config.histogram_every = 0
    config.data.input_size = config.eval.input_size = 64
  return config
