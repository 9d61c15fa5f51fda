"""Phase 3 on the synthetic data: the student's own small stem, trained to give the
teacher stem's features, under the detector of the distilled student on the
teacher stem (configs/distill_synthetic.py:on_teacher_stem), which stays fixed.

  python train.py --config configs/distill_synthetic.py:on_teacher_stem \
      --workdir out/distill_on_teacher_stem
  python train.py --config configs/student_stem_synthetic.py --workdir out/student_stem \
      --config.init.model=out/distill_on_teacher_stem/export

The phase-2 variables (teacher stem included, the target) are copied in; only
`own_stem` trains, on the mean squared difference to the teacher stem's
features (B, H/4, W/4, 128); float32, so that the result runs on a CPU. The
experiment's steps and schedule (1000 steps).
Cost: 2.6 minutes a seed at 700 steps on a 2-core AVX-512 EPYC (only the stem
trains; not re-measured at 1000); results: docs/journal.md.

Arguments (`rtpe_jax.train.config.parse_arg`):
  runlocal  a seconds-long smoke run (the tests)
"""

import ml_collections

from configs import distill_synthetic, quickstart
from rtpe_jax.train import config as config_lib


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, runlocal=False)
  # the runlocal phase 2 stands on the smaller synthetic_w16's stem
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
    train_count=0,
    eval_ids="",
    tfds_dir="",
    input_size=192,
    output_strides=(4, 2),
    sigmas=(2.0,),
    tag_stride=4,
    max_people=30,
    depth=False,
    depth_stride=4,
    teacher_store="",  # the stem's target is the teacher stem itself, run beside it
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
  config.model = dict(
    student=dict(
      quickstart.student(),
      stem="own",
      distill_stem=True,  # the frozen teacher stem runs beside the own stem: its target
      teacher_arch=teacher_arch,
      stem_features=distill_synthetic.teacher_stem_width(teacher_arch),
    )
  )
  config.loss = dict(
    segmentation=0.0,  # only the stem trains
    segmentation_pos_weight=7.0,
    heatmap=0.0,
    heatmap_kind="mse",
    heatmap_pos_weight=100.0,
    sigma_index=0,
    alpha=0.5,
    alpha_unlabelled=1.0,
    background=1.0,
    ohkm_top=8,
    push_pull=0.0,
    tag_regression=0.0,
    stem=1.0,  # the mean squared difference to the teacher stem's features
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
    frozen=("teacher_stem", "attention", "detector"),  # phase 2's, held fixed
    ema=0.0,
  )
  config.attention = dict(divisor=1.0, steps=0)
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
  # phase 2's variables, the teacher stem included (runlocal: fresh ones)
  config.init = dict(teacher="", model="" if arg.runlocal else "out/distill_on_teacher_stem/export")
  if arg.runlocal:
    config_lib.runlocal(config)
  return config
