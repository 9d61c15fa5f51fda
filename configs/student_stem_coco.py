"""Phase 3: the student's own small stem, distilled from the W48 stem's features,
with the phase-2 segmentation and detector held fixed.

  python train.py --config configs/student_stem_coco.py --workdir out/w48_phase3 \
      --config.init.model=out/w48_phase2/export

The phase-2 variables (teacher stem included, the target) are copied in; only
`own_stem` trains, on the mean squared difference to the teacher stem's
features (B, H/4, W/4, 256). float32 throughout, so the result runs on a CPU.
Without the teacher stem the student costs 6.95 instead of 13.2 GMAC at 640 px
(`python -m rtpe_jax.models.complexity`). `get_config("runlocal")`: a smoke run.
"""

import ml_collections

from configs import distill_coco_w48


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  runlocal = arg == "runlocal"
  config = distill_coco_w48.get_config("phase2,runlocal" if runlocal else "phase2")
  config.precision = "float32"
  config.model.student.stem = "own"
  config.model.student.own_stem_channels = (32, 64)
  config.model.student.distill_stem = True
  config.optimizer.frozen = ("teacher_stem", "attention", "detector")
  config.optimizer.name = "adam"
  config.optimizer.weight_decay = 0.0
  config.optimizer.schedule = dict(
    kind="cosine",
    peak=1e-3,
    floor=1e-6,
    period=config.total_steps,
    warmup=500 if not runlocal else 0,
    peak_decay=1.0,
    floor_decay=1.0,
    period_mult=1.0,
  )
  config.init.model = "" if runlocal else "out/w48_phase2/export"
  config.data.teacher_store = ""  # the stem's target is the teacher stem itself, run beside it
  config.attention = dict(divisor=1.0, steps=0)
  for term in ("segmentation", "heatmap", "push_pull", "tag_regression"):
    config.loss[term] = 0.0
  config.loss.stem = 1.0
  if not runlocal:
    config.total_steps = 40 * distill_coco_w48.STEPS_PER_EPOCH
  return config
