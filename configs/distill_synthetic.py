"""The synthetic distillation experiment: the quickstart student, trained three ways.

  python -m rtpe_jax.data.synthetic --out data/synthetic --train 0 --val 0 --unlabelled 4096
  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256 --eval
  python infer_teacher.py --teacher out/teacher_synthetic/export --input-size 256 --people \
      --images data/synthetic/images/unlabelled2017 --out out/teacher_synthetic/unlabelled
  python train.py --config configs/distill_synthetic.py:gt --workdir out/distill_gt
  python train.py --config configs/distill_synthetic.py --workdir out/distill_synthetic
  python train.py --config configs/distill_synthetic.py:unlabelled --workdir out/distill_unl

  python -m bench.distill_gain --variants gt distill unlabelled --seeds 0 1 2 --labelled 0 256

The student, steps and schedule are the quickstart's at the issue's 1000 steps
(configs/quickstart.py:short: the last parameters, no average; 8-10 minutes
on a 2-core CPU); the teacher is configs/teacher_synthetic.py. Arguments
(comma-separated):
  "gt"          (a) ground truth only (configs/quickstart.py:short itself);
  ""            (b) distilled on the labelled images: heatmaps at 1/4 learnt from
                alpha * teacher + (1 - alpha) * ground truth, tags by associative
                embedding on the ground truth;
  "unlabelled"  (c) as (b), half of each batch from the unlabelled pool
                (data/synthetic/images/unlabelled2017, its labels never read), the
                targets there the teacher's maps and people (rtpe_jax.data.unlabelled);
  "quarter"     with any of them: only the first 256 labelled images, and a pool of
                4 x 256 (the full set's pool is all 4096, 4 x 1024);
  "stem"        as (b), the stem's features regressed to the frozen teacher stem's
                (the student's stem as wide as the teacher's), the teacher stem
                copied in from out/teacher_synthetic/export;
  "on_teacher_stem"  as (b), the detector on the frozen teacher stem instead of
                a stem of its own (phases 1-2 of the COCO recipe; phase 3,
                configs/student_stem_synthetic.py, then gives it a small stem again);
  "phase1"      phase 1 of the COCO recipe on the synthetic data: the segmentation
                branch alone on the frozen teacher stem (no keypoints, no teacher
                maps), measured by the person segmentation's IoU on the val split
                (its target, 0.8, the gate to phase 2; docs/training.md);
  "runlocal"    a seconds-long smoke run (tests).
Results, seeds and the reading: docs/training.md.
"""

import ml_collections

from configs import common, quickstart, teacher_synthetic
from rtpe_jax.models.hrnet import ARCHS

TEACHER = "out/teacher_synthetic"  # the teacher_synthetic.py workdir
POOL = "data/synthetic/images/unlabelled2017"  # python -m rtpe_jax.data.synthetic --unlabelled
QUARTER = 256  # labelled images of the "quarter" runs
POOL_FACTOR = 4  # unlabelled images per labelled one
VARIANTS = ("gt", "unlabelled", "stem", "on_teacher_stem", "phase1")


def teacher_stem_width(arch: str = teacher_synthetic.ARCH) -> int:
  """Channels of the teacher stem's features at 1/4 (its first bottleneck's output)."""
  return 4 * ARCHS[arch].layer1_planes


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  args = set(filter(None, arg.split(",")))
  variants = args - {"runlocal", "quarter"}
  if variants - set(VARIANTS) or len(variants) > 1:
    raise ValueError(
      f"configs/distill_synthetic.py:{arg}: use '', {', '.join(map(repr, VARIANTS))}, "
      "optionally with ',quarter' and/or ',runlocal'"
    )
  config = quickstart.get_config("short")
  if "runlocal" in args:
    config = common.runlocal(config)
  config.target_ap = 0.0
  labelled = QUARTER if "quarter" in args else 0
  config.data.train_count = labelled
  if "gt" in args:
    return config
  config.data.teacher_store = f"{TEACHER}/predictions/teacher"
  config.data.teacher_stride = 4
  config.loss.alpha = 0.5
  if "unlabelled" in args:
    config.data.unlabelled.update(
      dict(
        images=POOL,
        predictions=f"{TEACHER}/unlabelled",
        fraction=0.5,
        count=POOL_FACTOR * labelled,
      )
    )
  # the runlocal teacher is the smaller SMOKE_ARCH, whose stem is synthetic_w16's
  arch = "synthetic_w16" if "runlocal" in args else teacher_synthetic.ARCH
  if args & {"stem", "on_teacher_stem", "phase1"}:
    config.model.student.stem_features = teacher_stem_width(arch)
  if "stem" in args:
    config.model.student.update(dict(distill_stem=True, teacher_arch=arch))
    config.init.teacher = f"{TEACHER}/export"
    config.loss.stem = 1.0
  if args & {"on_teacher_stem", "phase1"}:
    config.model.student.update(dict(stem="teacher", teacher_arch=arch))
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
