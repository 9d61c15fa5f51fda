"""The synthetic data's teacher: a HigherHRNet trained from ground truth, far above
the quickstart student, for the synthetic distillation experiment
(configs/distill_synthetic.py). It stands in for the published W48, which these
machines do not have.

  python -m rtpe_jax.data.synthetic --out data/synthetic
  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256 --eval

`hrnet.ARCHS["synthetic_w32"]`: the W32 widths, one module and two blocks per
branch, tags given the map position (`tag_coordinates`); 4.88 M parameters,
2.44 GMAC at 256 px (5.5x the quickstart student). HigherHRNet's loss (heatmaps
at 1/4 and 1/2, associative embedding at 1/4) and its near-zero init of the
heatmap heads; the quickstart's crops, loss weighting, hard-joint mining and
Adam schedule (ending at 1e-5), 2000 steps, evaluated every 500.
Cost: 60 to 84 minutes in train.py on a 2-core AVX-512 EPYC (2.3-2.5 s a step);
results: docs/training.md.

Arguments (`rtpe_jax.train.config.parse_arg`):
  runlocal  a seconds-long smoke run: a smaller HRNet with the same tag plane,
            64-px crops, 4 steps, no evaluation
"""

import dataclasses

import ml_collections

from rtpe_jax.models.hrnet import ARCHS
from rtpe_jax.train import config as config_lib

ARCH = "synthetic_w32"
SMOKE_ARCH = dataclasses.replace(ARCHS["synthetic_w16"], tag_coordinates=True, name="smoke")


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, runlocal=False)
  config = ml_collections.ConfigDict()
  config.task = "teacher"
  config.seed = 0
  config.precision = "float32"
  config.total_steps = 2000
  config.log_every = 50
  config.checkpoint_every = 500
  config.keep_checkpoints = 2
  config.eval_every = 500
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
    output_strides=(4, 2),  # the order of HigherHRNet's outputs
    sigmas=(2.0,),
    tag_stride=4,
    max_people=30,
    depth=False,
    depth_stride=4,
    teacher_store="",
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
      min_scale=0.6,  # figures at 0.75-1.25 of their size, centred on the evaluation's 1.0
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
  # runlocal: the same code, a third of the compile
  config.model = dict(arch=SMOKE_ARCH.to_dict() if arg.runlocal else ARCH)
  config.loss = dict(
    segmentation=1.0,  # unused by a HigherHRNet (no segmentation head)
    segmentation_pos_weight=7.0,
    heatmap=1000.0,
    heatmap_kind="mse",
    heatmap_pos_weight=100.0,
    sigma_index=0,
    alpha=0.0,
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
      floor=1e-05,
      period=2000,
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
    ema=0.0,
  )
  config.attention = dict(divisor=1.0, steps=0)  # a HigherHRNet has no attention
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
    config.total_steps, config.checkpoint_every = 4, 2
    config.eval_every = config.image_every = config.histogram_every = 0
    config.data.input_size = config.eval.input_size = 64
  return config
