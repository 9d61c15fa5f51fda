"""The synthetic distillation experiment: the quickstart student trained three ways
from the synthetic teacher (configs/teacher_synthetic.py) at the quickstart's
1000-step recipe (configs/quickstart.py:short).

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

Cost: 8-10 minutes per student in train.py on a 2-core AVX-512 EPYC; results
and their reading: docs/training.md.

Arguments (`rtpe_jax.train.config.parse_arg`; a variant, quarter and/or runlocal):
  distill           (b), the default: heatmaps at 1/4 learnt from alpha * teacher +
                    (1 - alpha) * ground truth, tags by associative embedding on
                    the ground truth
  gt                (a) ground truth only: configs/quickstart.py:short itself
  unlabelled        (c) as (b), half of each batch from the unlabelled pool
                    (data/synthetic/images/unlabelled2017, its labels never read),
                    the targets there the teacher's maps and people
  stem              as (b), the stem's features regressed to the frozen teacher
                    stem's (the student's stem as wide as the teacher's)
  on_teacher_stem   as (b), the detector on the frozen teacher stem instead of a
                    stem of its own (phases 1-2 of the COCO recipe; phase 3 is
                    configs/student_stem_synthetic.py)
  phase1            phase 1 of the COCO recipe on the synthetic data: the
                    segmentation branch alone on the frozen teacher stem, measured
                    by the person segmentation's IoU (its target 0.8, the gate to
                    phase 2)
  quarter           only the first 256 labelled images, and a pool of 4 x 256
  runlocal          a seconds-long smoke run (the tests; its teacher stem is the
                    smaller synthetic_w16's, as teacher_synthetic.py:runlocal's)
"""

import ml_collections

from configs import quickstart
from rtpe_jax.models.hrnet import ARCHS
from rtpe_jax.train import config as config_lib

TEACHER = "out/teacher_synthetic"  # the teacher_synthetic.py workdir
POOL = "data/synthetic/images/unlabelled2017"  # python -m rtpe_jax.data.synthetic --unlabelled
QUARTER = 256  # labelled images of the "quarter" runs
POOL_FACTOR = 4  # unlabelled images per labelled one
VARIANTS = ("distill", "gt", "unlabelled", "stem", "on_teacher_stem", "phase1")


def teacher_stem_width(arch: str = "synthetic_w32") -> int:
  """Channels of the teacher stem's features at 1/4 (its first bottleneck's output)."""
  return 4 * ARCHS[arch].layer1_planes


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, variant=VARIANTS, quarter=False, runlocal=False)
  labelled = QUARTER if arg.quarter else 0
  teacher_arch = "synthetic_w16" if arg.runlocal else "synthetic_w32"
  config = ml_collections.ConfigDict()
  config.task = "student"
  config.seed = 0
  config.precision = "float32"
  config.total_steps = 1000
  config.log_every = 50
  config.checkpoint_every = 200
  config.keep_checkpoints = 2
  config.eval_every = 1000
  config.histogram_every = 0
  config.image_every = 1000
  config.max_nonfinite = 20
  config.target_ap = 0.0
  config.target_segmentation_iou = 0.0
  config.devices = 0
  config.data = dict(
    root="data/synthetic",
    train_split="train2017",
    eval_split="val2017",
    train_ids="",
    train_count=labelled,  # 0: every labelled image
    eval_ids="",
    tfds_dir="",
    input_size=192,
    output_strides=(4, 2),
    sigmas=(2.0,),
    tag_stride=4,
    max_people=30,
    depth=False,
    depth_stride=4,
    teacher_store=f"{TEACHER}/predictions/teacher",
    teacher_stride=4,
    skip_missing_teacher=False,
    unlabelled=dict(
      images="",
      predictions="",
      fraction=0.0,
      min_score=0.2,
      min_joint_score=0.1,
      count=0,
    ),
    augment=dict(
      max_rotation=15.0,
      min_scale=0.6,
      max_scale=1.0,
      scale_type="short",
      max_translate=0.2,
      flip=0.5,
      colour_jitter=dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0),
    ),
    batch_size=16,
    seed=0,
    prefetch=2,
  )
  config.model = dict(student=quickstart.student())
  config.loss = dict(
    segmentation=1.0,
    segmentation_pos_weight=7.0,
    heatmap=1000.0,
    heatmap_kind="mse",
    heatmap_pos_weight=100.0,
    sigma_index=0,
    alpha=0.5,  # the distillation mix
    alpha_unlabelled=1.0,
    background=1.0,
    ohkm_top=8,
    push_pull=1.0,
    tag_regression=0.0,
    stem=0.0,
    depth=1.0,
  )
  config.optimizer = dict(
    name="adam",
    momentum=0.9,
    nesterov=False,
    b1=0.9,
    b2=0.999,
    eps=1e-08,
    weight_decay=0.0,
    clip_norm=100.0,
    schedule=dict(
      kind="cosine",
      peak=0.003,
      floor=0.0015,
      period=1000,
      warmup=50,
      peak_decay=1.0,
      floor_decay=1.0,
      period_mult=1.0,
    ),
    groups=dict(
      stem=dict(lr_scale=1.0),
      attention=dict(lr_scale=1.0),
      detector=dict(lr_scale=1.0),
    ),
    frozen=(),
    ema=0.0,  # the last parameters, as the experiment's table was measured
  )
  config.attention = dict(divisor=20.0, steps=100)
  config.eval = dict(
    split="",
    ids="",
    max_images=0,
    input_size=256,
    flip=True,
    scales=(1.0,),
    map_stride=1,  # the grouping on maps at the input's resolution (the published protocol)
    overlays=4,
    overlay_min_score=0.2,
    detection_threshold=0.3,
    tag_threshold=1.0,
    metrics=("keypoints",),
  )
  config.init = dict(teacher="", model="")
  if arg.runlocal:
    config_lib.runlocal(config)
  student = config.model.student
  if arg.variant == "gt":
    config.data.teacher_store = ""
    config.loss.alpha = 0.0
  if arg.variant == "unlabelled":
    config.data.unlabelled.update(
      dict(
        images=POOL,
        predictions=f"{TEACHER}/unlabelled",
        fraction=0.5,
        count=POOL_FACTOR * labelled,
      )
    )
  if arg.variant in ("stem", "on_teacher_stem", "phase1"):
    student.update(stem_features=teacher_stem_width(teacher_arch), teacher_arch=teacher_arch)
    config.init.teacher = f"{TEACHER}/export"
  if arg.variant == "stem":
    student.distill_stem = True
    config.loss.stem = 1.0
  if arg.variant in ("on_teacher_stem", "phase1"):
    student.stem = "teacher"
    config.optimizer.frozen = ("teacher_stem",)
  if arg.variant == "phase1":
    config.data.teacher_store = ""
    config.optimizer.frozen = ("teacher_stem", "detector")
    config.loss.update(heatmap=0.0, push_pull=0.0, alpha=0.0)
    config.attention = dict(divisor=1.0, steps=0)
    config.eval.metrics = ("segmentation",)
    config.target_segmentation_iou = 0.8
  return config
