"""Quickstart: a small student trained from ground truth on the synthetic dataset, on a CPU.

  python -m rtpe_jax.data.synthetic --out data/synthetic
  python train.py --config configs/quickstart.py --workdir out/quickstart     # = make demo

The quickstart student (`student()`: its own small stem, Context-Aware Modules
whose detector steps see 1/4, 1/8 and 1/16, 17 heatmaps and 17 tag maps at 1/4
with the map position in the tags, a second heatmap head at 1/2; no teacher) on
192-px crops at the evaluation's scale, batch 16, 1800 steps of Adam on a
cosine schedule that ends at half its peak; evaluated on the 64-image val split
at 256 px with the flip test, with the moving average of its parameters
(`optimizer.ema`). The closing table says whether `target_ap` was reached.
Cost: about 13 minutes in train.py on a 2-core AVX-512 EPYC, about four times
that on a 2-core AVX2-only one. Logs, checkpoints, the exported model and the
overlays go to the workdir (train.py prints where); results: docs/learning.md.

Arguments (`rtpe_jax.train.config.parse_arg`):
  short     the distillation experiment's recipe: 1000 steps, the last parameters
            (no average); configs/distill_synthetic.py:gt is this
  runlocal  a seconds-long smoke run (the tests)

  python train.py --config configs/quickstart.py:short --workdir out/quickstart_short
"""

import ml_collections

from rtpe_jax.train import config as config_lib


def student() -> dict:
  """The quickstart student, `StudentConfig` fields (100,320 parameters, 0.43 GMAC
  at 256 px). Every config, test and benchmark that needs it imports it from here."""
  return dict(
    name="attention_student",
    stem="own",  # a small stem of its own: no teacher is needed for the synthetic figures
    teacher_arch="w48_640",  # unused with stem "own"
    own_stem_channels=(16, 32),
    stem_features=32,
    channels=32,
    segmentation_channels=8,
    dilations=(1, 2, 4),
    detector_steps=2,
    detector_levels=3,  # each detector step also sees 1/8 and 1/16: left and right need context
    colour_channels=8,
    num_joints=17,
    tag_channels=17,
    colour_space="lab",
    heatmap_sigmoid=False,
    distill_stem=False,
    fine_heatmaps=True,  # a second heatmap head at 1/2
    fine_channels=16,
    fine_merge="concat",  # upsampled features beside the input's conv, a 3x3 conv at 1/2
    # tags + a * x + b * y: two similar people can get different tags, which a
    # translation-equivariant network cannot otherwise give them (docs/journal.md)
    tag_coordinates=True,
    depth=False,
    block="cam",
    segmentation_attention=True,
  )


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, short=False, runlocal=False)
  steps = 1000 if arg.short else 1800
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
  config.target_ap = 0.35
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
    output_strides=(4, 2),  # heatmaps at 1/4 (with the tags) and 1/2 (the fine head)
    sigmas=(2.0,),
    tag_stride=4,
    max_people=30,
    depth=False,
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
  config.model = dict(student=student())
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
    # The average over about the last 100 steps is what gets evaluated and exported:
    # at a floor of half the peak the last parameters still move.
    ema=0.0 if arg.short else 0.99,
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
    metrics=("keypoints",),
  )
  config.init = dict(teacher="", model="")
  if arg.runlocal:
    config_lib.runlocal(config)
  return config
