"""Quickstart 3D (phase 4): the quickstart student with depth maps, on the synthetic
3D scenes, on a CPU.

  python -m rtpe_jax.threed.synthetic3d --out data/synthetic3d
  python train.py --config configs/quickstart3d.py --workdir out/quickstart3d

The quickstart's student, crops, schedule and 1000 steps (configs/quickstart.py:short)
with `depth`: 18 more maps at 1/4, the root's depth over the focal length and
each joint's depth relative to the root (`rtpe_jax.depth`), trained with a
masked L1 beside the 2D loss, read at the grouped joints and back-projected
through each image's intrinsics. The closing table is the 2D AP table and the
3D table (`rtpe_jax.threed.metrics3d`: MPJPE, PA-MPJPE, 3DPCK, MRPE, root AP,
depth order) of the 64-image 3D val split.
Cost: about 12 minutes in train.py on a 2-core AVX-512 EPYC; results, baselines
and what limits them: docs/3d.md.

Arguments (`rtpe_jax.train.config.parse_arg`):
  runlocal  a seconds-long smoke run (the tests)
"""

import ml_collections

from configs import quickstart
from rtpe_jax.train import config as config_lib


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, runlocal=False)
  steps = 1000
  config = ml_collections.ConfigDict()
  config.task = "student"
  config.seed = 0
  config.precision = "float32"
  config.total_steps = steps
  config.log_every = 50
  config.checkpoint_every = 200
  config.keep_checkpoints = 2
  # Evaluation and pictures once, at the end (each costs a compile and ~25 s); no
  # histograms (their gradient function is one more compile).
  config.eval_every = steps
  config.histogram_every = 0
  config.image_every = steps
  config.max_nonfinite = 20
  config.target_ap = 0.0  # the 3D data is another benchmark: no 2D target
  config.target_segmentation_iou = 0.0
  config.devices = 0
  config.data = dict(
    root="data/synthetic3d",
    train_split="train2017",
    eval_split="val2017",
    train_ids="",
    train_count=0,
    eval_ids="",
    tfds_dir="",
    input_size=192,
    output_strides=(4, 2),  # heatmaps at 1/4 (with the tags) and 1/2 (the fine head)
    sigmas=(2.0,),
    tag_stride=4,
    max_people=30,
    depth=True,  # the depth targets (`rtpe_jax.depth`)
    depth_stride=4,
    teacher_store="",  # ground truth only
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
      max_rotation=15.0,  # milder than COCO training: a short CPU run
      # Crops of 0.6-1.0 x the 256-px side onto 192 px: figures at 0.75-1.25 of their
      # size, centred on the evaluation's 1.0.
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
  config.model = dict(student=dict(quickstart.student(), depth=True))
  config.loss = dict(
    segmentation=1.0,
    segmentation_pos_weight=7.0,
    heatmap=1000.0,  # MSE on 2-px Gaussians is tiny: scaled to the other terms
    heatmap_kind="mse",
    heatmap_pos_weight=100.0,
    sigma_index=0,
    alpha=0.0,  # no teacher
    alpha_unlabelled=1.0,
    background=1.0,
    ohkm_top=8,  # online hard keypoint mining: the 8 hardest joints per sample
    push_pull=1.0,
    tag_regression=0.0,
    stem=0.0,
    depth=1.0,  # the masked L1 of the depth maps beside the 2D loss
  )
  config.optimizer = dict(
    name="adam",
    momentum=0.9,
    nesterov=False,
    b1=0.9,
    b2=0.999,
    eps=1e-08,
    weight_decay=0.0,
    # Gradient norms run 300-2300 in the first steps and 10-40 later: 100 only
    # catches the rare spikes (unclipped, a run can diverge).
    clip_norm=100.0,
    schedule=dict(
      kind="cosine",
      peak=0.003,
      floor=0.0015,  # half the peak: annealed to 1e-5, the last third barely moved
      period=steps,
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
  config.attention = dict(divisor=20.0, steps=100)
  config.eval = dict(
    split="",
    ids="",
    max_images=0,
    input_size=256,  # the synthetic images' own height
    flip=True,
    scales=(1.0,),
    map_stride=1,  # the grouping on maps at the input's resolution (the published protocol)
    overlays=4,
    overlay_min_score=0.2,
    # Candidates below 0.3 start no people: a short run's heatmaps are noisy, and weak
    # peaks made spurious people that took joints from real ones (chosen on training
    # images: docs/journal.md).
    detection_threshold=0.3,
    tag_threshold=1.0,
    metrics=("keypoints", "3d"),  # the 2D AP table and the 3D table
  )
  config.init = dict(teacher="", model="")
  if arg.runlocal:
    config_lib.runlocal(config)
  return config
