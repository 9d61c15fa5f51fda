"""The synthetic data's teacher: a HigherHRNet trained from ground truth, far above
the student of the synthetic distillation experiment (configs/distill_synthetic.py).

  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256 --eval

It stands in for the published W48 (not on these machines). The architecture is
`hrnet.ARCHS["synthetic_w32"]`: the W32 widths, one module and two blocks per
branch, and tags given the map position (`tag_coordinates`, what the quickstart
student's large figures needed); 4.88 M parameters, 2.44 GMAC at 256 px, 5.5x
the quickstart student's 0.44. HigherHRNet's loss (heatmaps at 1/4 and 1/2,
associative embedding at 1/4) and its near-zero init of the heatmap heads, with
what the synthetic configs share (configs/common.py: 192-px crops at the
evaluation's scale, the loss weighting, hard-joint mining, the Adam schedule).
2000 steps at 2.3-2.5 s a step on a 2-core CPU: AP 0.665 on the synthetic val
split in 83.6 minutes in train.py (seed 0; docs/training.md has the AP at every
500 steps), the same AP in 59.7 minutes on a faster day of the same VM. `get_config("runlocal")`: a
seconds-long smoke run (a smaller HRNet with the same tag plane).
"""

import dataclasses

import ml_collections

from configs import common
from rtpe_jax.models.hrnet import ARCHS
from rtpe_jax.train import config as config_lib

ARCH = "synthetic_w32"
STEPS = 2000
SMOKE_ARCH = dataclasses.replace(ARCHS["synthetic_w16"], tag_coordinates=True, name="smoke")


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  if arg not in ("", "runlocal"):
    raise ValueError(f"configs/teacher_synthetic.py:{arg}: use '' or 'runlocal'")
  config = common.synthetic(config_lib.default_config(), steps=STEPS)
  config.task = "teacher"
  config.log_every = 50
  config.checkpoint_every = 500
  config.eval_every = 500
  config.image_every = 1000
  config.histogram_every = 0
  config.data.output_strides = (4, 2)  # the order of HigherHRNet's outputs
  # runlocal: the small synthetic_w16 with the tags' plane (the same code, a third of
  # the compile)
  config.model.arch = SMOKE_ARCH.to_dict() if arg == "runlocal" else ARCH
  config.attention = dict(divisor=1.0, steps=0)
  if arg == "runlocal":
    common.runlocal(config)
    config.total_steps, config.checkpoint_every = 4, 2
    config.eval_every = config.image_every = config.histogram_every = 0
    config.data.input_size = config.eval.input_size = 64
  return config
