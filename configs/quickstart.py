"""Quickstart: a small student trained from ground truth on the synthetic dataset, on CPU.

  python -m rtpe_jax.data.synthetic --out data/synthetic
  python train.py --config configs/quickstart.py --workdir out/quickstart

A student with its own small stem (no teacher: none is needed to learn the
synthetic figures), 192 px crops at the evaluation's scale, LAB second input,
a detector whose CAMs see 1/4, 1/8 and 1/16 (`detector_levels`), 17 heatmaps
and 17 tag maps at 1/4, the tags given the map position (`tag_coordinates`),
and a second heatmap head at 1/2 (`fine_heatmaps`), trained on the ground
truth for 1800 steps with a cosine schedule that ends at half its peak,
evaluated and exported with the moving average of its parameters
(`optimizer.ema`) and the grouping's detection threshold at 0.3. AP 0.4129 /
0.4080 / 0.3856 for seeds 0 / 1 / 2 on the 64-image val split (06122e7),
11.9-12.6 minutes in train.py on a 2-core AVX-512 EPYC; `make demo` (seed 0)
13 min 25 s from a fresh clone there, install included (docs/learning.md#make-demos-three-seeds:
the runs, the machine, the average's share). The closing table says whether
`target_ap` (0.35) was reached.

`get_config("short")`: the distillation experiment's recipe (issue 36: the
same student, 1000 steps, the last parameters; configs/distill_synthetic.py),
AP 0.251 / 0.322 / 0.293 for seeds 0 / 1 / 2 (fa2d7fc, 8.8-9.6 minutes in
train.py, docs/training.md). `get_config("runlocal")` is a seconds-long smoke
run (tests).

  python train.py --config configs/quickstart.py:short --workdir out/quickstart_short
"""

import ml_collections

from configs import common
from rtpe_jax.train import config as config_lib


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  if arg not in ("", "short", "runlocal"):
    raise ValueError(f"configs/quickstart.py:{arg}: use '', 'short' or 'runlocal'")
  config = common.synthetic(config_lib.default_config(), steps=1000 if arg == "short" else 1800)
  config.task = "student"
  config.target_ap = 0.35
  config.log_every = 50
  config.checkpoint_every = 200
  # Evaluation and pictures once, at the end (each costs a compile and ~25 s); no
  # histograms (their gradient function is one more compile) in a 15-minute budget.
  config.eval_every = config.total_steps
  config.image_every = config.total_steps
  config.histogram_every = 0

  config.data.teacher_store = ""
  config.data.output_strides = (4, 2)  # heatmaps at 1/4 (with the tags) and 1/2
  config.data.colour_space = "lab"
  config.model.student.update(
    dict(
      stem="own",
      own_stem_channels=(16, 32),
      stem_features=32,
      channels=32,
      segmentation_channels=8,
      dilations=(1, 2, 4),
      detector_steps=2,
      detector_levels=3,
      colour_channels=8,
      colour_space="lab",
      tag_channels=17,
      fine_heatmaps=True,
      # AP 0.236 / 0.244 -> 0.394 at 1400 steps (docs/learning.md): a tag that knows
      # where it is can name its person; large figures went from AP 0.02 to 0.20.
      tag_coordinates=True,
    )
  )
  config.loss.alpha = 0.0  # no teacher: ground truth only
  # Annealed to 1e-5, the last third of a 1400-step run barely moved: ending at half
  # the peak gave AP 0.236 / 0.244 against 0.15-0.21 (before the tag coordinates).
  config.optimizer.schedule.floor = 1.5e-3
  config.attention = dict(divisor=20.0, steps=100)
  # The average over about the last 100 steps is what gets evaluated: at a floor of
  # half the peak the last parameters still move (docs/learning.md).
  config.optimizer.ema = 0.0 if arg == "short" else 0.99
  return common.runlocal(config) if arg == "runlocal" else config
