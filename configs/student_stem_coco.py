"""Phase 3 of the COCO recipe: the student's own small stem, distilled from the W48
stem's features, with the phase-2 segmentation and detector held fixed.

  python train.py --config configs/student_stem_coco.py --workdir out/w48_phase3 \
      --config.init.model=out/w48_phase2/export

The phase-2 variables (teacher stem included, the target) are copied in; only
`own_stem` trains, on the mean squared difference to the teacher stem's
features (B, H/4, W/4, 256), 40 epochs of Adam on a cosine schedule. float32
throughout, so the result runs on a CPU. Without the teacher stem the student
costs 6.95 instead of 13.2 GMAC at 640 px (`python -m rtpe_jax.models.complexity`).
Cost: not measured (no COCO on these machines); 40 epochs of 4007 steps of 16
images of 512 px, each step running the W48 stem beside the own stem.

Arguments (`rtpe_jax.train.config.parse_arg`):
  runlocal  a smoke run of the same code on the synthetic data (the tests)
"""

import ml_collections

from configs import distill_coco_w48
from rtpe_jax.train import config as config_lib


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, runlocal=False)
  steps = 40 * distill_coco_w48.STEPS_PER_EPOCH
  config = ml_collections.ConfigDict()
  config.task = "student"
  config.seed = 0
  config.precision = "float32"  # so that the result runs on a CPU
  config.total_steps = steps
  config.log_every = 100
  config.checkpoint_every = 2000
  config.keep_checkpoints = 2
  config.eval_every = 10000
  config.histogram_every = 10000
  config.image_every = 2000
  config.max_nonfinite = 20
  config.target_ap = 0.0
  config.target_segmentation_iou = 0.0
  config.devices = 0
  config.data = dict(
    root="data/coco",
    train_split="train2017",
    eval_split="val2017",
    train_ids="",
    train_count=0,
    eval_ids=distill_coco_w48.MINIVAL,
    tfds_dir="",
    input_size=512,
    output_strides=(4,),
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
    augment=dict(  # HigherHRNet's
      max_rotation=30.0,
      min_scale=0.75,
      max_scale=1.5,
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
      name="attention_student",
      stem="own",
      teacher_arch="w48_640",
      own_stem_channels=(32, 64),
      stem_features=256,
      channels=64,
      segmentation_channels=32,
      dilations=(1, 2, 3, 4),
      detector_steps=3,
      detector_levels=1,
      colour_channels=16,
      num_joints=17,
      tag_channels=1,
      colour_space="lab",
      heatmap_sigmoid=True,  # logits, trained with BCE
      distill_stem=True,  # the frozen teacher stem runs beside the own stem: its target
      fine_heatmaps=False,
      fine_channels=16,
      fine_merge="concat",  # unused without the fine head
      tag_coordinates=False,
      depth=False,
      block="cam",
      segmentation_attention=True,
    )
  )
  config.loss = dict(
    segmentation=0.0,  # only the stem trains
    segmentation_pos_weight=7.0,
    heatmap=0.0,
    heatmap_kind="bce",
    heatmap_pos_weight=20.0,
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
    clip_norm=1.0,
    schedule=dict(
      kind="cosine",
      peak=0.001,
      floor=1e-06,
      period=4 if arg.runlocal else steps,
      warmup=0 if arg.runlocal else 500,
      peak_decay=1.0,
      floor_decay=1.0,
      period_mult=1.0,
    ),
    groups=dict(
      stem=dict(lr_scale=1.0),
      attention=dict(lr_scale=0.1),
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
    input_size=512,
    flip=True,
    scales=(1.0,),
    map_stride=1,  # the grouping on maps at the input's resolution (the published protocol)
    overlays=4,
    overlay_min_score=0.2,
    detection_threshold=0.1,
    tag_threshold=1.0,
    metrics=("keypoints", "segmentation"),
  )
  # phase 2's variables, the teacher stem included
  config.init = dict(teacher="models/hrnet_w48_640", model="out/w48_phase2/export")
  if arg.runlocal:
    config.update(
      dict(
        precision="float32",
        total_steps=4,
        log_every=2,
        checkpoint_every=2,
        eval_every=0,
        image_every=0,
        histogram_every=0,
      )
    )
    # the synthetic data, no teacher store, the converted tiny teacher's arch (not W48)
    config.data.update(
      dict(root="data/synthetic", eval_ids="", teacher_store="", input_size=64, batch_size=2)
    )
    config.loss.alpha = 0.0
    config.model.student.teacher_arch = "w32_512"
    config.init.update(teacher="", model="")
    config.eval.update(input_size=64, max_images=1, overlays=1)
  return config
