"""Phase 3 on the synthetic data: the student's own small stem, trained to give
the teacher stem's features, under the detector of the distilled student on the
teacher stem (configs/distill_synthetic.py:on_teacher_stem), which stays fixed.

  python train.py --config configs/distill_synthetic.py:on_teacher_stem \
      --workdir out/distill_on_teacher_stem
  python train.py --config configs/student_stem_synthetic.py --workdir out/student_stem \
      --config.init.model=out/distill_on_teacher_stem/export

The phase-2 variables (teacher stem included, the target) are copied in; only
`own_stem` trains, on the mean squared difference to the teacher stem's
features (B, H/4, W/4, 64); float32, so that the result runs on a CPU. Same
steps and schedule as the experiment's students. Results: docs/training.md.
`get_config("runlocal")`: a smoke run.
"""

import ml_collections

from configs import distill_synthetic


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  if arg not in ("", "runlocal"):
    raise ValueError(f"configs/student_stem_synthetic.py:{arg}: use '' or 'runlocal'")
  config = distill_synthetic.get_config(
    "on_teacher_stem,runlocal" if arg == "runlocal" else "on_teacher_stem"
  )
  config.precision = "float32"
  config.data.teacher_store = ""
  config.model.student.update(dict(stem="own", distill_stem=True))
  config.optimizer.frozen = ("teacher_stem", "attention", "detector")
  config.init.teacher = ""
  config.init.model = "" if arg == "runlocal" else "out/distill_on_teacher_stem/export"
  config.attention = dict(divisor=1.0, steps=0)
  for term in ("segmentation", "heatmap", "push_pull", "tag_regression"):
    config.loss[term] = 0.0
  config.loss.stem = 1.0
  return config
