"""The training config's schema: every key with its default and its check, by section.

  config.<run>      task, seed, precision, steps, periodic actions, targets (`run_config`)
  config.data       the input pipeline (`data_config`: COCO root, crops, strides,
                    targets, teacher store, unlabelled images; `rtpe_jax.data.pipeline`)
  config.data.augment  the random affine and colour jitter (`augment_config`)
  config.model      model.student (`StudentConfig` fields) or, for task "teacher",
                    model.arch (a name in `hrnet.ARCHS` or a dict of HRNetConfig fields)
  config.loss       loss weights and settings (`loss_config`; `rtpe_jax.train.losses`)
  config.optimizer  optimizer, schedule, parameter groups, moving average (`optimizer_config`)
  config.attention  the segmentation attention's temperature schedule
  config.eval       the test protocol, metrics and pictures of the minival evaluation
  config.init       weights copied in before training

Each section's defaults are written next to its checks (`_data_problems` below
`data_config`, and so on): a new key is added in one place. `check(config)`
reports every problem in one `ConfigError`: keys the schema lacks (a typo) or
that the config leaves out (configs/ write every key), values out of range or
at odds with each other, and files that are missing, each naming its key and
what makes the file. `parse_arg` is the configs' one argument parser.
Importable without TensorFlow: the train step, the benchmarks and a GPU machine
read configs without the input pipeline.
"""

from __future__ import annotations

import math
import os

import flax.traverse_util as traverse_util
import ml_collections

from rtpe_jax.data import schema
from rtpe_jax.models.hrnet import ARCHS
from rtpe_jax.models.student import StudentConfig

TASKS = ("student", "teacher")
PRECISIONS = ("float32", "bfloat16", "float16")
STRIDES = (1, 2, 4, 8, 16, 32)
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine_restarts", "cosine", "constant")
EVAL_METRICS = ("keypoints", "segmentation", "3d")
STUDENT_STRIDE = 4  # the student's heatmaps, tags, masks and depth maps are at 1/4 of its input
# Keys whose value is a tree the schema does not prescribe: a teacher's arch may be
# a dict of HRNetConfig fields.
LEAF_DICTS = ("model.arch",)


class ConfigError(ValueError):
  """A config that cannot train: one line per problem, each naming its key."""

  def __init__(self, problems: list[str]):
    self.problems = problems
    super().__init__(
      f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the config:\n  "
      + "\n  ".join(problems)
    )


class _Problems:
  """Collects 'config.key: what is wrong' lines."""

  def __init__(self):
    self.lines: list[str] = []

  def need(self, ok: bool, key: str, message: str):
    if not ok:
      self.lines.append(f"config.{key}: {message}")

  def choice(self, value, key: str, choices):
    self.need(value in choices, key, f"{value!r} is not one of {', '.join(map(repr, choices))}")

  def at_least(self, value, key: str, low, kind=int):
    good = isinstance(value, (int, float)) and not isinstance(value, bool)
    good = good and (kind is float or float(value).is_integer()) and value >= low
    self.need(
      good, key, f"{value!r}: must be {'an integer' if kind is int else 'a number'} >= {low}"
    )

  def at_most(self, value, key: str, high):
    if isinstance(value, (int, float)) and value > high:
      self.need(False, key, f"{value!r}: must be <= {high}")

  def fraction(self, value, key: str):
    good = isinstance(value, (int, float)) and 0.0 <= value <= 1.0
    self.need(good, key, f"{value!r}: must lie in [0, 1]")


# ---------------------------------------------------------------- run


def run_config() -> dict:
  """The top-level keys: what runs, for how long, and how often it reports."""
  return dict(
    task="student",  # "student" or "teacher" (a HigherHRNet from ground truth)
    seed=0,
    precision="float32",  # "float32", "bfloat16" (compute; params float32) or "float16"
    total_steps=1000,
    log_every=50,
    checkpoint_every=500,
    keep_checkpoints=2,
    eval_every=500,  # minival AP (0: only at the end)
    histogram_every=0,  # parameter and gradient histograms (0: never)
    image_every=0,  # input, targets and outputs as pictures (0: never)
    max_nonfinite=20,  # stop after this many skipped steps in a row
    target_ap=0.0,  # the AP the config is meant to reach: the closing table says if it did
    target_segmentation_iou=0.0,  # the same for the person segmentation (phase 1)
    devices=0,  # use the first N local devices (0: all)
  )


def _run_problems(config, p: _Problems):
  p.choice(config.task, "task", TASKS)
  p.choice(config.precision, "precision", PRECISIONS)
  for key in ("total_steps", "log_every", "checkpoint_every", "keep_checkpoints", "max_nonfinite"):
    p.at_least(config[key], key, 1)
  for key in ("eval_every", "histogram_every", "image_every", "seed", "devices"):
    p.at_least(config[key], key, 0)
  p.fraction(config.target_ap, "target_ap")
  p.fraction(config.target_segmentation_iou, "target_segmentation_iou")


# ---------------------------------------------------------------- data


def data_config() -> ml_collections.ConfigDict:
  """The input pipeline's settings (`rtpe_jax.data.pipeline`)."""
  return ml_collections.ConfigDict(
    dict(
      root="data/synthetic",  # COCO layout: images/{split}/, annotations/
      train_split="train2017",
      eval_split="val2017",
      train_ids="",  # optional file of image ids to train on (default: every image with people)
      train_count=0,  # > 0: only the first N of those images (by id), e.g. a smaller labelled set
      eval_ids="",  # optional file of image ids (e.g. a minival list)
      tfds_dir="",  # read the TFDS build (`tfds_coco`) in this data_dir instead of `root`
      input_size=512,
      output_strides=(4, 2),
      sigmas=(2.0,),
      tag_stride=4,
      max_people=schema.MAX_PEOPLE,
      depth=False,  # 3D data: depth targets for a student with depth maps (`rtpe_jax.depth`)
      depth_stride=4,
      teacher_store="",  # directory written by infer_teacher.py; "" for none
      teacher_stride=4,
      skip_missing_teacher=False,  # False: a missing/corrupt entry is an error
      # Unlabelled images (rtpe_jax.data.unlabelled): a share `fraction` of the samples
      # from `images`, their targets the teacher's maps and people stored in
      # `predictions` by infer_teacher.py --images IMAGES --out PREDICTIONS --people
      # (loss.alpha_unlabelled); people and joints below the scores are not targets;
      # `count` > 0 reads only the first count images.
      unlabelled=dict(
        images="",
        predictions="",
        fraction=0.0,
        min_score=0.2,
        min_joint_score=0.1,
        count=0,
      ),
      augment=augment_config(),
      batch_size=16,
      seed=0,
      prefetch=2,
    )
  )


def _data_problems(config, p: _Problems):
  data = config.data
  p.at_least(data.batch_size, "data.batch_size", 1)
  p.at_least(data.max_people, "data.max_people", 1)
  p.at_least(data.prefetch, "data.prefetch", 0)
  p.at_least(data.input_size, "data.input_size", 32)
  p.need(
    isinstance(data.input_size, int) and data.input_size % 32 == 0,
    "data.input_size",
    f"{data.input_size}: the training crop must be a multiple of 32 (HigherHRNet's coarsest "
    "branch and the student's context modules see 1/32 and 1/16 of it)",
  )
  strides = tuple(data.output_strides)
  p.need(bool(strides), "data.output_strides", "empty: give at least one output stride")
  for key, values in (
    ("data.output_strides", strides),
    ("data.tag_stride", (data.tag_stride,)),
    ("data.teacher_stride", (data.teacher_stride,)),
  ):
    for s in values:
      p.need(s in STRIDES, key, f"{s!r} is not one of {STRIDES}")
      if s in STRIDES and isinstance(data.input_size, int):
        p.need(
          data.input_size % s == 0, key, f"{s} does not divide data.input_size {data.input_size}"
        )
  sigmas = tuple(data.sigmas)
  p.need(bool(sigmas) and all(s > 0 for s in sigmas), "data.sigmas", f"{sigmas}: need sigmas > 0")
  p.at_least(data.train_count, "data.train_count", 0)
  p.need(
    not (data.train_count and data.tfds_dir),
    "data.train_count",
    "read from the COCO layout only (not data.tfds_dir)",
  )
  unl = data.unlabelled
  p.fraction(unl.fraction, "data.unlabelled.fraction")
  p.fraction(unl.min_score, "data.unlabelled.min_score")
  p.fraction(unl.min_joint_score, "data.unlabelled.min_joint_score")
  p.at_least(unl.count, "data.unlabelled.count", 0)
  if unl.fraction:
    p.need(unl.fraction < 1, "data.unlabelled.fraction", "1 leaves no labelled samples")
    p.need(config.task == "student", "data.unlabelled", "only a student learns from a teacher")
    p.need(
      bool(unl.images and unl.predictions),
      "data.unlabelled",
      "fraction > 0 needs images (a folder) and predictions (infer_teacher.py's --out there)",
    )
    p.need(
      bool(data.teacher_store),
      "data.teacher_store",
      "empty, but data.unlabelled mixes in images the teacher labelled: the labelled "
      "samples carry the same teacher's maps (set it to that teacher's store)",
    )
    p.need(not data.tfds_dir, "data.tfds_dir", "unlabelled images are read from a folder")
  if data.depth:
    p.need(config.task == "student", "data.depth", "only a student has depth maps")
    p.need(
      data.depth_stride == STUDENT_STRIDE,
      "data.depth_stride",
      f"{data.depth_stride}: the student's depth maps are at stride {STUDENT_STRIDE}",
    )
    p.need(not data.tfds_dir, "data.tfds_dir", "3D data is read from the COCO layout")


# ---------------------------------------------------------------- augmentation


def augment_config() -> ml_collections.ConfigDict:
  """HigherHRNet's training augmentation (`rtpe_jax.data.augment`; translation as
  a fraction of the crop side)."""
  return ml_collections.ConfigDict(
    dict(
      max_rotation=30.0,  # degrees, uniform in [-r, r]
      min_scale=0.75,  # the crop covers scale x the image's shorter (or longer) side
      max_scale=1.5,
      scale_type="short",  # "short", "long", or "none": scale x the crop's own side
      # (scale 1: the image at its own size)
      max_translate=0.2,  # of the crop side, uniform in [-t, t] per axis
      flip=0.5,  # probability of a horizontal flip
      colour_jitter=dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0),  # 0: off
    )
  )


def _augment_problems(config, p: _Problems):
  aug = config.data.augment
  p.need(aug.min_scale > 0, "data.augment.min_scale", f"{aug.min_scale}: must be > 0")
  p.need(
    aug.max_scale >= aug.min_scale,
    "data.augment.max_scale",
    f"{aug.max_scale} is below data.augment.min_scale {aug.min_scale}",
  )
  p.at_least(aug.max_rotation, "data.augment.max_rotation", 0, float)
  p.at_most(aug.max_rotation, "data.augment.max_rotation", 180)
  p.fraction(aug.max_translate, "data.augment.max_translate")
  p.fraction(aug.flip, "data.augment.flip")
  p.choice(aug.scale_type, "data.augment.scale_type", ("short", "long", "none"))
  for key, value in aug.colour_jitter.items():
    p.fraction(value, f"data.augment.colour_jitter.{key}")


# ---------------------------------------------------------------- model


def model_config(task: str = "student") -> ml_collections.ConfigDict:
  """model.student (task "student": `StudentConfig`'s fields and defaults) or
  model.arch (task "teacher")."""
  if task == "teacher":
    return ml_collections.ConfigDict(dict(arch="w32_512"))
  return ml_collections.ConfigDict(dict(student=StudentConfig().to_dict()))


def _model_problems(config, p: _Problems):
  loss, strides = config.loss, tuple(config.data.output_strides)
  if config.task == "teacher":
    arch = config.model.arch
    p.need(
      not isinstance(arch, str) or arch in ARCHS,
      "model.arch",
      f"{arch!r} is not one of {', '.join(ARCHS)} (or give a dict of HRNetConfig fields)",
    )
    p.need(loss.heatmap_kind == "mse", "loss.heatmap_kind", "a HigherHRNet trains with mse")
    return
  student = config.model.student
  p.choice(student.stem, "model.student.stem", ("teacher", "own"))
  p.choice(student.teacher_arch, "model.student.teacher_arch", tuple(ARCHS))
  p.choice(student.colour_space, "model.student.colour_space", ("lab", "hsv"))
  p.choice(student.fine_merge, "model.student.fine_merge", ("concat", "add"))
  p.need(
    student.tag_channels in (0, 1, student.num_joints),
    "model.student.tag_channels",
    f"{student.tag_channels}: use 0, 1 or num_joints ({student.num_joints})",
  )
  for key in ("channels", "segmentation_channels", "detector_steps", "detector_levels"):
    p.at_least(student[key], f"model.student.{key}", 1)
  dilations = tuple(student.dilations)
  p.need(
    bool(dilations) and all(d >= 1 for d in dilations),
    "model.student.dilations",
    f"{dilations}: need dilations >= 1",
  )
  p.need(
    loss.heatmap == 0 or (loss.heatmap_kind == "bce") == bool(student.heatmap_sigmoid),
    "loss.heatmap_kind",
    f"{loss.heatmap_kind!r} with model.student.heatmap_sigmoid={student.heatmap_sigmoid}: "
    "bce trains logits, which need heatmap_sigmoid=True; mse trains maps (False)",
  )
  p.need(
    STUDENT_STRIDE in strides,
    "data.output_strides",
    f"{strides}: the student's maps are at stride {STUDENT_STRIDE}; include {STUDENT_STRIDE}",
  )
  if student.fine_heatmaps:
    p.need(
      2 in strides,
      "data.output_strides",
      f"{strides}: model.student.fine_heatmaps makes maps at stride 2; include 2",
    )
  p.need(
    bool(student.depth) == bool(config.data.depth),
    "data.depth",
    f"{config.data.depth} with model.student.depth={student.depth}: "
    "a 3D student needs the depth targets and only it reads them (set both)",
  )


# ---------------------------------------------------------------- loss


def loss_config() -> ml_collections.ConfigDict:
  """Loss weights (0 switches a term off) and settings (`rtpe_jax.train.losses`)."""
  return ml_collections.ConfigDict(
    dict(
      segmentation=1.0,
      segmentation_pos_weight=7.0,
      heatmap=1.0,
      heatmap_kind="mse",  # "mse" or "bce" (logits; the student's heatmap_sigmoid)
      heatmap_pos_weight=100.0,  # bce only
      sigma_index=0,  # which of data.sigmas the ground truth uses
      alpha=0.0,  # distillation mix: alpha * teacher + (1 - alpha) * ground truth (0: none)
      # the same mix on unlabelled images (data.unlabelled), "ground truth" there being
      # the teacher's people: 1 learns their heatmaps from the teacher's maps alone
      alpha_unlabelled=1.0,
      background=1.0,  # weight of background pixels (target <= 0.01)
      ohkm_top=0,  # online hard keypoint mining: the top-M joints per sample (0: off)
      push_pull=1e-3,  # associative embedding on the ground-truth joints
      tag_regression=0.0,  # tags regressed to the teacher's
      stem=0.0,  # stem feature distillation (own stem with distill_stem)
      depth=1.0,  # masked L1 of a 3D student's depth maps (root and relative: `rtpe_jax.depth`)
    )
  )


LOSS_TERMS = ("segmentation", "heatmap", "push_pull", "tag_regression", "stem")


def _loss_problems(config, p: _Problems):
  loss, data = config.loss, config.data
  for key in LOSS_TERMS + ("background", "heatmap_pos_weight", "segmentation_pos_weight", "depth"):
    p.at_least(loss[key], f"loss.{key}", 0, float)
  p.fraction(loss.alpha, "loss.alpha")
  p.fraction(loss.alpha_unlabelled, "loss.alpha_unlabelled")
  p.at_least(loss.ohkm_top, "loss.ohkm_top", 0)
  p.choice(loss.heatmap_kind, "loss.heatmap_kind", ("mse", "bce"))
  sigmas = tuple(data.sigmas)
  p.need(
    0 <= loss.sigma_index < max(len(sigmas), 1),
    "loss.sigma_index",
    f"{loss.sigma_index}: data.sigmas has {len(sigmas)} entries",
  )
  if config.task == "student":
    student = config.model.student
    p.need(
      loss.stem == 0 or (student.stem == "own" and student.distill_stem),
      "loss.stem",
      f"{loss.stem} needs model.student.stem='own' and distill_stem=True",
    )
    uses_teacher = loss.heatmap > 0 and loss.alpha > 0 or loss.tag_regression > 0
    if uses_teacher:
      p.need(
        bool(data.teacher_store),
        "data.teacher_store",
        "empty, but loss.alpha > 0 or loss.tag_regression > 0 read the teacher's maps "
        "(set it, or loss.alpha = loss.tag_regression = 0)",
      )
  p.need(
    any(loss[t] > 0 for t in LOSS_TERMS),
    "loss",
    f"every loss weight ({', '.join(LOSS_TERMS)}) is 0",
  )


# ---------------------------------------------------------------- optimizer


def optimizer_config() -> ml_collections.ConfigDict:
  """The optimizer (`rtpe_jax.train.optim`):
  name            "sgd" (momentum, nesterov) or "adam" (b1, b2, eps)
  weight_decay    decoupled for adam (AdamW), added to the gradient for sgd
  clip_norm       global gradient-norm clipping (0: off)
  schedule        kind "cosine_restarts" | "cosine" | "constant"; peak, floor,
                  period (steps), warmup (steps), and per cycle the factors
                  peak_decay, floor_decay, period_mult
  groups          {label: {"lr_scale": f}}: the group's schedule is scaled by f
  frozen          parameter groups held out of training altogether
  ema             decay of an exponential moving average of the trained
                  parameters that evaluation and the export read (0: off)
  """
  return ml_collections.ConfigDict(
    dict(
      name="adam",
      momentum=0.9,
      nesterov=False,
      b1=0.9,
      b2=0.999,
      eps=1e-8,
      weight_decay=0.0,
      clip_norm=0.0,
      schedule=dict(
        kind="cosine_restarts",
        peak=1e-3,
        floor=1e-5,
        period=1000,
        warmup=0,
        peak_decay=1.0,
        floor_decay=1.0,
        period_mult=1.0,
      ),
      groups={
        "stem": {"lr_scale": 1.0},
        "attention": {"lr_scale": 1.0},
        "detector": {"lr_scale": 1.0},
      },
      frozen=("teacher_stem",),
      ema=0.0,
    )
  )


def _optimizer_problems(config, p: _Problems):
  opt = config.optimizer
  p.choice(opt.name, "optimizer.name", OPTIMIZERS)
  p.at_least(opt.weight_decay, "optimizer.weight_decay", 0, float)
  p.at_least(opt.clip_norm, "optimizer.clip_norm", 0, float)
  p.need(
    isinstance(opt.ema, (int, float)) and 0 <= opt.ema < 1,
    "optimizer.ema",
    f"{opt.ema!r}: a moving average's decay must lie in [0, 1) (0: off)",
  )
  schedule = opt.schedule
  p.choice(schedule.kind, "optimizer.schedule.kind", SCHEDULES)
  peak, floor = schedule.peak, schedule.floor
  p.need(
    isinstance(peak, (int, float)) and 0 < peak <= 1.0 and math.isfinite(peak),
    "optimizer.schedule.peak",
    f"{peak!r}: a learning rate must lie in (0, 1]",
  )
  p.need(
    isinstance(floor, (int, float)) and 0 <= floor <= peak,
    "optimizer.schedule.floor",
    f"{floor!r}: must lie in [0, optimizer.schedule.peak]",
  )
  p.at_least(schedule.period, "optimizer.schedule.period", 1)
  p.at_least(schedule.warmup, "optimizer.schedule.warmup", 0)
  for name, group in opt.groups.items():
    p.at_least(group.lr_scale, f"optimizer.groups.{name}.lr_scale", 0, float)


# ---------------------------------------------------------------- attention


def attention_config() -> ml_collections.ConfigDict:
  """The student's segmentation attention: its logits divided by a factor that
  falls from `divisor` to 1 over the first `steps` steps (0: off)."""
  return ml_collections.ConfigDict(dict(divisor=20.0, steps=0))


def _attention_problems(config, p: _Problems):
  p.need(
    config.attention.divisor >= 1.0,
    "attention.divisor",
    f"{config.attention.divisor}: the attention's logits are divided by it, from >= 1 down to 1",
  )
  p.at_least(config.attention.steps, "attention.steps", 0)


# ---------------------------------------------------------------- eval


def eval_config() -> ml_collections.ConfigDict:
  """The minival evaluation (`rtpe_jax.train.minival`)."""
  return ml_collections.ConfigDict(
    dict(
      split="",  # "" = data.eval_split
      ids="",  # a file of ids ("" = data.eval_ids)
      max_images=0,  # the first N images (0: all)
      input_size=0,  # the test protocol's input size (0 = data.input_size)
      flip=True,
      scales=(1.0,),
      # The grouping's maps at this stride of the input: 1 the published protocol, 2 or 4
      # fewer pixels to resize and search (`predictor.Model.map_stride`; one scale only)
      map_stride=1,
      overlays=4,  # pictures of the people found in the first N images, at the end
      overlay_min_score=0.2,  # people drawn in them from this score (mean joint value) up
      # The grouping's thresholds (`grouping.GroupingConfig`; HigherHRNet's 0.1 and 1.0).
      detection_threshold=0.1,
      tag_threshold=1.0,
      # "keypoints": COCO AP by the test protocol; "segmentation": the person
      # segmentation's IoU, precision and recall (a student's attention branch);
      # "3d": a 3D student's 3D table. The best checkpoint is chosen by AP, or by
      # the IoU without "keypoints".
      metrics=("keypoints",),
    )
  )


def _eval_problems(config, p: _Problems):
  ev, data = config.eval, config.data
  scales = tuple(ev.scales)
  p.need(
    bool(scales) and all(s > 0 for s in scales) and 1.0 in scales,
    "eval.scales",
    f"{scales}: positive scales that include 1.0 (the scale the others are projected to)",
  )
  p.need(
    ev.map_stride in (1, 2, 4) and (ev.map_stride == 1 or scales == (1.0,)),
    "eval.map_stride",
    f"{ev.map_stride}: use 1, 2 or 4 (2 and 4 at one scale, 1.0)",
  )
  size = ev.input_size or data.input_size
  p.need(
    isinstance(size, int) and size >= 64 and size % 64 == 0,
    "eval.input_size" if ev.input_size else "data.input_size",
    f"{size}: the test protocol's input size must be a multiple of 64 (it rounds sizes up "
    "to 64; set eval.input_size)",
  )
  p.need(
    0 < ev.detection_threshold < 1,
    "eval.detection_threshold",
    f"{ev.detection_threshold}: must lie in (0, 1)",
  )
  p.need(ev.tag_threshold > 0, "eval.tag_threshold", f"{ev.tag_threshold}: must be > 0")
  for key in ("max_images", "overlays"):
    p.at_least(ev[key], f"eval.{key}", 0)
  p.fraction(ev.overlay_min_score, "eval.overlay_min_score")
  metrics = tuple(ev.metrics)
  p.need(
    bool(metrics) and set(metrics) <= set(EVAL_METRICS),
    "eval.metrics",
    f"{metrics}: use one or both of {EVAL_METRICS}",
  )
  if "segmentation" in metrics:
    p.need(config.task == "student", "eval.metrics", "segmentation needs a student")
  if "3d" in metrics:
    p.need(
      "keypoints" in metrics and config.task == "student" and bool(config.model.student.depth),
      "eval.metrics",
      "3d needs keypoints beside it and a student with depth maps (model.student.depth)",
    )
    p.need(scales == (1.0,), "eval.scales", "3d is read at one scale (1.0)")


# ---------------------------------------------------------------- init


def init_config() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(
    dict(
      teacher="",  # converted teacher model dir: its stem into the student's teacher_stem
      model="",  # an exported model dir: every variable of the same path and shape
    )
  )


# ---------------------------------------------------------------- the whole config


def default_config(task: str = "student") -> ml_collections.ConfigDict:
  """Every key of a `task` config with its default: the schema configs/ write out."""
  config = ml_collections.ConfigDict(run_config())
  config.task = task
  config.data = data_config()
  config.model = model_config(task)
  config.loss = loss_config()
  config.optimizer = optimizer_config()
  config.attention = attention_config()
  config.eval = eval_config()
  config.init = init_config()
  return config


def _flat_keys(config) -> set[str]:
  tree = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else dict(config)
  flat = traverse_util.flatten_dict(tree, keep_empty_nodes=True)
  keys = set()
  for path in flat:
    name = ".".join(path)
    keys.add(next((leaf for leaf in LEAF_DICTS if name.startswith(leaf + ".")), name))
  return keys


def key_problems(config, schema_config) -> list[str]:
  """Keys of `config` the schema lacks and keys of the schema `config` lacks."""
  have, want = _flat_keys(config), _flat_keys(schema_config)
  out = [f"config.{k}: not a key of the schema (a typo?)" for k in sorted(have - want)]
  out += [f"config.{k}: missing (every config writes every key)" for k in sorted(want - have)]
  return out


SECTIONS = (
  _run_problems,
  _data_problems,
  _augment_problems,
  _model_problems,
  _loss_problems,
  _optimizer_problems,
  _attention_problems,
  _eval_problems,
)


def _structure_problems(config) -> list[str]:
  """A task the schema does not know, or keys that are not the schema's."""
  if config.get("task") not in TASKS:
    return [f"config.task: {config.get('task')!r} is not one of {', '.join(map(repr, TASKS))}"]
  return key_problems(config, default_config(config.task))


def problems(config) -> list[str]:
  """Every key and value problem of `config` (no files), as 'config.key: what is wrong';
  with a key missing or unknown, only the keys (the values' checks read every key)."""
  found = _structure_problems(config)
  if found:
    return found
  p = _Problems()
  for section in SECTIONS:
    section(config, p)
  return p.lines


def missing_files(config) -> list[str]:
  """Every file or directory the config reads that is not there, each with the
  command (or the README step) that makes it."""
  data, out = config.data, []
  name = os.path.basename(os.path.normpath(data.root or "."))
  generator = "threed.synthetic3d" if "synthetic3d" in name or data.depth else "data.synthetic"
  makes_data = (
    f"python -m rtpe_jax.{generator} --out {data.root}"
    if "synthetic" in name
    else f"unpack COCO 2017 as {data.root}/images/{{train2017,val2017}}/ and "
    f"{data.root}/annotations/ (README, The COCO recipe)"
  )
  if data.tfds_dir:
    if not os.path.isdir(data.tfds_dir):
      out.append(
        f"config.data.tfds_dir: {data.tfds_dir} does not exist; make it with "
        f"python -m rtpe_jax.data.build_tfds --manual_dir {data.root} --data_dir {data.tfds_dir}"
      )
  else:
    splits = {data.train_split, config.eval.split or data.eval_split}
    for split in sorted(splits):
      path = os.path.join(data.root, "annotations", f"person_keypoints_{split}.json")
      if not os.path.isfile(path):
        out.append(f"config.data.root: {path} does not exist; {makes_data}")
  for key, path in (
    ("data.train_ids", data.train_ids),
    ("data.eval_ids", data.eval_ids),
    ("eval.ids", config.eval.ids),
  ):
    if path and not os.path.isfile(path):
      out.append(
        f"config.{key}: {path} does not exist (a file of image ids or COCO file names, one "
        "a line; the COCO minival list ships as configs/coco_minival2017_500.txt; '' for "
        "every image of the split)"
      )
  if (
    config.task == "student"
    and data.teacher_store
    and not os.path.isfile(os.path.join(data.teacher_store, "store.json"))
  ):
    parent = os.path.dirname(os.path.normpath(data.teacher_store))
    out.append(
      f"config.data.teacher_store: {data.teacher_store} holds no teacher store; make it with "
      f"python infer_teacher.py --teacher TEACHER_DIR --coco {data.root} --split "
      f"{data.train_split} --out {parent}"
    )
  unl = data.unlabelled
  if config.task == "student" and unl.fraction:
    command = (
      f"python infer_teacher.py --teacher TEACHER_DIR --images {unl.images} --out "
      f"{unl.predictions} --people"
    )
    if unl.images and not os.path.isdir(unl.images):
      out.append(f"config.data.unlabelled.images: {unl.images} is not a folder of images")
    elif unl.predictions and not os.path.isfile(
      os.path.join(unl.predictions, "teacher", "store.json")
    ):
      out.append(
        f"config.data.unlabelled.predictions: {unl.predictions} holds no teacher store; "
        f"make it with {command}"
      )
  if config.init.teacher and not os.path.isfile(os.path.join(config.init.teacher, "arch.json")):
    out.append(
      f"config.init.teacher: {config.init.teacher} is not a model directory; convert the "
      "published checkpoint with python convert_hrnet_weights.py "
      f"models/pose_higher_hrnet_w48_640.pth.tar {config.init.teacher}"
    )
  if config.init.model and not os.path.isfile(os.path.join(config.init.model, "arch.json")):
    workdir = os.path.dirname(os.path.normpath(config.init.model))
    out.append(
      f"config.init.model: {config.init.model} is not a model directory; it is what "
      f"python train.py --config CONFIG --workdir {workdir} leaves in {workdir}/export "
      "(the earlier phase of the recipe: README, The COCO recipe)"
    )
  return out


def check(config, files: bool = True) -> None:
  """Raises one `ConfigError` listing every problem of `config` (keys, values, and
  with `files` the files it reads); returns None when there is none."""
  found = problems(config)
  if files and not _structure_problems(config):
    found += missing_files(config)
  if found:
    raise ConfigError(found)


# ---------------------------------------------------------------- configs' arguments


def parse_arg(arg: str, config_file: str, **spec) -> ml_collections.ConfigDict:
  """A config file's `get_config(arg)` argument, parsed the same way for every
  config: comma-separated tokens. A keyword of `spec` set to False is a flag (its
  name as a token sets it True); one set to a tuple of names is a choice (its
  first name the default, a token naming another chooses it). An unknown token,
  or two tokens of one choice, is a ValueError that names `config_file` and every
  accepted token.

    parse_arg("phase1,runlocal", __file__, phase=("phase2", "phase1"), runlocal=False)
    -> ConfigDict(phase="phase1", runlocal=True)
  """
  where = f"configs/{os.path.basename(config_file)}:{arg}"
  out, chosen = {}, {}
  for key, value in spec.items():
    out[key] = value[0] if isinstance(value, tuple) else False
  accepted = [
    name for key, value in spec.items() for name in (value if isinstance(value, tuple) else (key,))
  ]
  for token in filter(None, (t.strip() for t in arg.split(","))):
    for key, value in spec.items():
      if isinstance(value, tuple) and token in value:
        if key in chosen and chosen[key] != token:
          raise ValueError(f"{where}: {chosen[key]!r} and {token!r} exclude each other")
        out[key] = chosen[key] = token
        break
      if value is False and token == key:
        out[key] = True
        break
    else:
      raise ValueError(f"{where}: unknown argument {token!r}; accepted: {', '.join(accepted)}")
  return ml_collections.ConfigDict(out)


def runlocal(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """`config` shrunk to a seconds-long smoke run (what the tests run): 6 steps,
  every periodic action every 2 or 3, batches of 2, 2 evaluation images, 1 overlay."""
  config.update(
    dict(
      total_steps=6,
      log_every=2,
      checkpoint_every=3,
      eval_every=3,
      image_every=3,
      histogram_every=3,
    )
  )
  config.data.batch_size = 2
  config.eval.max_images = 2
  config.eval.overlays = 1
  return config
