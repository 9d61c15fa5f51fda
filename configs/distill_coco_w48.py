"""The real recipe, phases 1 and 2 (docs/student.md): the attention student on the
frozen HigherHRNet-W48 stem, distilled from the W48's stored predictions on COCO
train2017.

  python convert_hrnet_weights.py models/pose_higher_hrnet_w48_640.pth.tar models/hrnet_w48_640
  python infer_teacher.py --teacher models/hrnet_w48_640 --coco data/coco --split train2017 \
      --out data/coco/w48_train --batch 8 --dtype bfloat16
  python train.py --config configs/distill_coco_w48.py:phase1 --workdir out/w48_phase1
  python train.py --config configs/distill_coco_w48.py:phase2 --workdir out/w48_phase2 \
      --config.init.model=out/w48_phase1/export

Phase 1 trains the human-segmentation branch on the frozen teacher stem (COCO
person masks, BCE with positive weight 7), measured by the segmentation's IoU
on minival (its target 0.8, the gate to phase 2). Phase 2 starts from phase 1
and trains the keypoint detector under the segmentation's attention (logits
divided by a factor falling from 20 to 1), with the LAB input, heatmaps by the
distillation mix (alpha 0.5) with hard keypoint mining (M = 8), tags by
associative embedding plus regression to the teacher; SGD with momentum 0.9
and weight decay 1e-4 on cosine warm restarts, bfloat16 compute. Evaluated on
the 500-image COCO minival list (configs/coco_minival2017_500.txt, file names
of val2017) by AP and the segmentation.
Cost: not measured (no COCO on these machines); one epoch is 4007 steps of 16
images of 512 px; phase 1 is 20 epochs, phase 2 140.

With COCO's 123k unlabelled images (unlabeled2017.zip unpacked as
data/coco/images/unlabeled2017/) half of each phase-2 batch comes from them, the
teacher's maps and people their targets (rtpe_jax.data.unlabelled):

  python infer_teacher.py --teacher models/hrnet_w48_640 --people --batch 8 --dtype bfloat16 \
      --images data/coco/images/unlabeled2017 --out data/coco/w48_unlabeled
  python train.py --config configs/distill_coco_w48.py:phase2,unlabelled --workdir out/w48_unl \
      --config.init.model=out/w48_phase1/export

Reading a TFDS build instead of the COCO directory (`python -m
rtpe_jax.data.build_tfds --manual_dir data/coco --data_dir data/tfds`): add
`--config.data.tfds_dir=data/tfds`.

Arguments (`rtpe_jax.train.config.parse_arg`):
  phase1 | phase2   the phase (default phase2)
  unlabelled        phase 2 with the unlabelled images
  runlocal          a smoke run of the same code on the synthetic data (the tests)
"""

import os

import ml_collections

from rtpe_jax.train import config as config_lib

STEPS_PER_EPOCH = 64115 // 16  # COCO train2017 images with people / batch
# COCO val2017's 500-image minival list (file names), shipped beside the configs.
MINIVAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coco_minival2017_500.txt")


def get_config(arg: str = "phase2") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(
    arg, __file__, phase=("phase2", "phase1"), unlabelled=False, runlocal=False
  )
  if arg.unlabelled and arg.phase == "phase1":
    raise ValueError("configs/distill_coco_w48.py: 'unlabelled' is a phase-2 argument")
  phase1 = arg.phase == "phase1"
  config = ml_collections.ConfigDict()
  config.task = "student"
  config.seed = 0
  config.precision = "bfloat16"
  config.total_steps = (20 if phase1 else 140) * STEPS_PER_EPOCH
  config.log_every = 100
  config.checkpoint_every = 2000
  config.keep_checkpoints = 2
  config.eval_every = 10000
  config.histogram_every = 10000
  config.image_every = 2000
  config.max_nonfinite = 20
  config.target_ap = 0.0
  # Phase 1 is measured by the person segmentation's IoU on minival; phase 2 starts
  # once it is good (docs/student.md).
  config.target_segmentation_iou = 0.8 if phase1 else 0.0
  config.devices = 0
  config.data = dict(
    root="data/coco",
    train_split="train2017",
    eval_split="val2017",
    train_ids="",
    train_count=0,
    eval_ids=MINIVAL,
    tfds_dir="",
    input_size=512,
    output_strides=(4,),
    sigmas=(2.0,),
    tag_stride=4,
    max_people=30,
    depth=False,
    depth_stride=4,
    # phase 1 trains the segmentation alone: the teacher's maps are not read
    teacher_store="" if phase1 else "data/coco/w48_train/teacher",
    teacher_stride=4,
    skip_missing_teacher=False,
    unlabelled=dict(
      images="data/coco/images/unlabeled2017" if arg.unlabelled else "",
      predictions="data/coco/w48_unlabeled" if arg.unlabelled else "",
      fraction=0.5 if arg.unlabelled else 0.0,
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
      stem="teacher",
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
      distill_stem=False,
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
    segmentation=1.0 if phase1 else 0.5,
    segmentation_pos_weight=7.0,
    heatmap=0.0 if phase1 else 10.0,
    heatmap_kind="mse" if phase1 else "bce",
    heatmap_pos_weight=100.0 if phase1 else 20.0,
    sigma_index=0,
    alpha=0.0 if phase1 else 0.5,
    alpha_unlabelled=1.0,
    background=1.0,
    ohkm_top=0 if phase1 else 8,
    push_pull=0.0 if phase1 else 0.001,
    tag_regression=0.0 if phase1 else 0.1,
    stem=0.0,
    depth=1.0,
  )
  config.optimizer = dict(
    name="sgd",
    momentum=0.9,
    nesterov=False,
    b1=0.9,
    b2=0.999,
    eps=1e-08,
    weight_decay=0.0001,
    clip_norm=1.0,
    schedule=dict(
      kind="cosine_restarts",
      peak=0.01,
      floor=0.0001,
      period=10 * STEPS_PER_EPOCH,
      warmup=1000,
      peak_decay=0.5,
      floor_decay=0.5,
      period_mult=2.0,
    ),
    groups=dict(
      stem=dict(lr_scale=1.0),
      attention=dict(lr_scale=1.0 if phase1 else 0.1),  # phase 2: the segmentation is trained
      detector=dict(lr_scale=1.0),
    ),
    frozen=("teacher_stem", "detector") if phase1 else ("teacher_stem",),
    ema=0.0,
  )
  config.attention = (
    dict(divisor=1.0, steps=0) if phase1 else dict(divisor=20.0, steps=2 * STEPS_PER_EPOCH)
  )
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
    metrics=("segmentation",) if phase1 else ("keypoints", "segmentation"),
  )
  config.init = dict(
    teacher="models/hrnet_w48_640",
    model="" if phase1 else "out/w48_phase1/export",
  )
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
    config.data.unlabelled.fraction = 0.0
    config.loss.update(alpha=0.0, tag_regression=0.0)
    config.model.student.teacher_arch = "w32_512"
    config.init.update(teacher="", model="")
    config.eval.update(input_size=64, max_images=1, overlays=1)
  return config
