"""The real recipe: the attention student on the frozen W48 stem, distilled from
HigherHRNet-W48 (640) predictions on COCO train2017; phases 1 and 2 of
docs/student.md.

  python convert_hrnet_weights.py pose_higher_hrnet_w48_640.pth.tar models/hrnet_w48_640
  python infer_teacher.py --teacher models/hrnet_w48_640 --coco data/coco --split train2017 \
      --out data/coco/w48_train --batch 8 --dtype bfloat16
  python train.py --config configs/distill_coco_w48.py:phase1 --workdir out/w48_phase1
  python train.py --config configs/distill_coco_w48.py:phase2 --workdir out/w48_phase2 \
      --config.init.model=out/w48_phase1/export

With COCO's 123k unlabelled images (unlabeled2017.zip unpacked as
data/coco/images/unlabeled2017/) half of each phase-2 batch comes from them, the
teacher's maps and people their targets (rtpe_jax.data.unlabelled):

  python infer_teacher.py --teacher models/hrnet_w48_640 --people --batch 8 --dtype bfloat16 \
      --images data/coco/images/unlabeled2017 --out data/coco/w48_unlabeled
  python train.py --config configs/distill_coco_w48.py:phase2,unlabelled --workdir out/w48_unl \
      --config.init.model=out/w48_phase1/export

Reading a TFDS build instead of the COCO directory (images, masks and teacher
records in shards; `python -m rtpe_jax.data.build_tfds --manual_dir data/coco
--data_dir data/tfds`): add `--config.data.tfds_dir=data/tfds`.

Phase 1 trains the human-segmentation branch on the frozen teacher stem (COCO
person masks, BCE with positive weight 7). Phase 2 starts from phase 1 and
trains the keypoint detector under the segmentation's attention (logits divided
by a factor decaying from 20 to 1), with the LAB input, heatmaps by the
distillation mix (alpha 0.5) with background weighting and online hard
keypoint mining (M = 8), tags by associative embedding plus regression to the
teacher. SGD with momentum 0.9 and weight decay 1e-4, cosine warm restarts,
bfloat16 compute. Evaluated on the 500-image COCO minival list
(configs/coco_minival2017_500.txt, file names of val2017): phase 1 by the person
segmentation's IoU, precision and recall (its target: IoU 0.8, the gate to
phase 2), phase 2 by AP and the segmentation.
Cost: not measured here (no COCO on these machines); one epoch is 7.3k steps
of 16 images of 512 px.
`get_config("phase2,runlocal")` shrinks it to a smoke run on the synthetic data.
"""

import os

import ml_collections

from rtpe_jax.train import config as config_lib

STEPS_PER_EPOCH = 64115 // 16  # COCO train2017 images with people / batch
# COCO val2017's 500-image minival list (file names), shipped beside the configs.
MINIVAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coco_minival2017_500.txt")


def get_config(arg: str = "phase2") -> ml_collections.ConfigDict:
  args = set(arg.split(",")) if arg else {"phase2"}
  if args - {"phase1", "phase2", "unlabelled", "runlocal"} or {"phase1", "unlabelled"} <= args:
    raise ValueError(
      f"configs/distill_coco_w48.py:{arg}: use 'phase1' or 'phase2' (optionally with "
      "',unlabelled'), optionally with ',runlocal'"
    )
  phase = "phase1" if "phase1" in args else "phase2"
  config = config_lib.default_config()
  config.task = "student"
  config.precision = "bfloat16"
  config.total_steps = (20 if phase == "phase1" else 140) * STEPS_PER_EPOCH
  config.log_every = 100
  config.checkpoint_every = 2000
  config.eval_every = 10000
  config.image_every = 2000
  config.histogram_every = 10000

  config.data.root = "data/coco"
  config.data.eval_ids = MINIVAL
  config.data.input_size = 512
  config.data.output_strides = (4,)
  config.data.sigmas = (2.0,)
  config.data.teacher_store = "data/coco/w48_train/teacher"
  config.data.teacher_stride = 4
  config.data.colour_space = "lab"
  config.data.batch_size = 16

  config.model.student.update(
    dict(
      stem="teacher",
      teacher_arch="w48_640",
      stem_features=256,
      channels=64,
      segmentation_channels=32,
      dilations=(1, 2, 3, 4),
      detector_steps=3,
      colour_channels=16,
      colour_space="lab",
      tag_channels=1,
      heatmap_sigmoid=True,
    )
  )
  config.init.teacher = "models/hrnet_w48_640"

  config.optimizer.name = "sgd"
  config.optimizer.momentum = 0.9
  config.optimizer.weight_decay = 1e-4
  config.optimizer.clip_norm = 1.0
  config.optimizer.schedule = dict(
    kind="cosine_restarts",
    peak=0.01,
    floor=1e-4,
    period=10 * STEPS_PER_EPOCH,
    warmup=1000,
    peak_decay=0.5,
    floor_decay=0.5,
    period_mult=2.0,
  )
  config.eval.input_size = 512
  config.eval.flip = True
  config.eval.metrics = ("keypoints", "segmentation")

  if phase == "phase1":
    config.optimizer.frozen = ("teacher_stem", "detector")
    config.data.teacher_store = ""  # segmentation only: the teacher's maps are not read
    config.loss.heatmap = 0.0
    config.loss.push_pull = 0.0
    config.loss.segmentation = 1.0
    config.attention = dict(divisor=1.0, steps=0)
    # No keypoints yet: phase 1 is measured by the person segmentation's IoU on
    # minival, and phase 2 starts once it is good (docs/student.md).
    config.eval.metrics = ("segmentation",)
    config.target_segmentation_iou = 0.8
  else:
    config.optimizer.frozen = ("teacher_stem",)
    config.optimizer.groups.attention.lr_scale = 0.1  # the segmentation is trained already
    config.init.model = "out/w48_phase1/export"
    config.loss.segmentation = 0.5
    config.loss.heatmap = 10.0
    config.loss.heatmap_kind = "bce"
    config.loss.heatmap_pos_weight = 20.0
    config.loss.alpha = 0.5
    config.loss.ohkm_top = 8
    config.loss.push_pull = 1e-3
    config.loss.tag_regression = 0.1
    config.attention = dict(divisor=20.0, steps=2 * STEPS_PER_EPOCH)
    if "unlabelled" in args:
      config.data.unlabelled.update(
        dict(
          images="data/coco/images/unlabeled2017",
          predictions="data/coco/w48_unlabeled",
          fraction=0.5,
        )
      )

  if "runlocal" in args:
    config.precision = "float32"
    config.total_steps = 4
    config.log_every = config.checkpoint_every = 2
    config.eval_every = config.image_every = config.histogram_every = 0
    config.data.root = "data/synthetic"
    config.data.eval_ids = ""
    config.data.teacher_store = ""
    config.data.unlabelled.fraction = 0.0
    config.loss.alpha = config.loss.tag_regression = 0.0  # no teacher store in a smoke run
    config.data.input_size = config.eval.input_size = 64
    config.data.batch_size = 2
    config.model.student.teacher_arch = "w32_512"  # the converted tiny teacher is not W48
    config.init.teacher = ""
    config.init.model = ""
    config.eval.max_images = 1
    config.eval.overlays = 1
  return config
