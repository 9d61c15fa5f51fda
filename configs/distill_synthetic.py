"""The synthetic distillation experiment: one student, trained three ways.

  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256 --eval
  python train.py --config configs/distill_synthetic.py:gt --workdir out/distill_gt
  python train.py --config configs/distill_synthetic.py --workdir out/distill_synthetic
  python train.py --config configs/distill_synthetic.py:stem --workdir out/distill_stem

  python -m bench.distill_gain --variants gt distill stem --seeds 0 1   # all, as a table

The student is the quickstart's (configs/quickstart.py: its own small stem, the
detector, one tag map per joint, the fine heatmaps) with 64 stem features, the
teacher stem's width, so that (c) can compare them; 700 steps, 7-9 minutes on
a 2-core CPU with the evaluation. Arguments (comma-separated):
  "gt"    (a) ground truth only;
  ""      (b) distilled: heatmaps at 1/4 by the mix alpha * teacher + (1 - alpha)
          * ground truth, tags by associative embedding on the ground truth plus
          regression to the teacher's stored tags;
  "stem"  (c) as (b), and the student stem's features regressed to the frozen
          teacher stem's (both (B, H/4, W/4, 64)), the teacher stem copied in
          from out/teacher_synthetic/export and run beside the student's in training;
  "on_teacher_stem"  as (b), the detector on the frozen teacher stem instead of
          a stem of its own (phases 1-2 of the COCO recipe; phase 3,
          configs/student_stem_synthetic.py, then gives it a small stem again);
  "phase1"  phase 1 of the COCO recipe on the synthetic data: the segmentation
          branch alone on the frozen teacher stem (no keypoints, no teacher
          maps), measured by the person segmentation's IoU on the val split
          (its target, 0.8, the gate to phase 2; docs/training.md);
  "runlocal"  a seconds-long smoke run (tests).
Results, seeds and the reading: docs/training.md.
"""

import ml_collections

from configs import quickstart

TEACHER = "out/teacher_synthetic"  # the teacher_synthetic.py workdir
STEPS = 700


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  args = set(filter(None, arg.split(",")))
  variants = {"gt", "stem", "on_teacher_stem", "phase1"}
  if args - variants - {"runlocal"} or len(args - {"runlocal"}) > 1:
    raise ValueError(
      f"configs/distill_synthetic.py:{arg}: use '', 'gt', 'stem', 'on_teacher_stem' or "
      "'phase1', optionally with ',runlocal'"
    )
  config = quickstart.get_config("runlocal" if "runlocal" in args else "")
  config.target_ap = 0.0
  if "runlocal" not in args:
    config.total_steps = config.optimizer.schedule.period = STEPS
    config.eval_every = 0  # the final evaluation only
    config.histogram_every = 0
  config.model.student.stem_features = 64  # the teacher stem's (ARCHS["synthetic_w16"])
  if "gt" in args:
    config.loss.alpha = 0.0
    return config
  config.data.teacher_store = f"{TEACHER}/predictions/teacher"
  config.data.teacher_stride = 4
  config.loss.alpha = 0.5
  config.loss.tag_regression = 0.1
  if "stem" in args:
    config.model.student.update(dict(distill_stem=True, teacher_arch="synthetic_w16"))
    config.init.teacher = f"{TEACHER}/export"
    config.loss.stem = 1.0
  if args & {"on_teacher_stem", "phase1"}:
    config.model.student.update(dict(stem="teacher", teacher_arch="synthetic_w16"))
    config.init.teacher = f"{TEACHER}/export"
    config.optimizer.frozen = ("teacher_stem",)
  if "phase1" in args:
    config.data.teacher_store = ""
    config.optimizer.frozen = ("teacher_stem", "detector")
    for term in ("heatmap", "push_pull", "tag_regression"):
      config.loss[term] = 0.0
    config.loss.alpha = 0.0
    config.loss.segmentation = 1.0
    config.attention = dict(divisor=1.0, steps=0)
    config.eval.metrics = ("segmentation",)
    config.target_segmentation_iou = 0.8
  return config
