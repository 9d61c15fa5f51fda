"""The quickstart student distilled from the synthetic teacher's stored predictions.

  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256
  python train.py --config configs/distill_synthetic.py --workdir out/distill_synthetic \
      --config.data.teacher_store=out/teacher_synthetic/predictions/teacher

Heatmaps: alpha * (student vs teacher) + (1 - alpha) * (student vs ground
truth); tags: associative embedding on the ground truth plus regression to the
teacher's tags. `make distill` runs the three commands (README: cost and AP).
"""

import ml_collections

from configs import quickstart


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  config = quickstart.get_config(arg)
  config.data.teacher_store = "out/teacher_synthetic/predictions/teacher"
  config.data.teacher_stride = 4
  config.loss.alpha = 0.5
  config.loss.tag_regression = 0.1
  return config
