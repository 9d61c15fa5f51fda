"""A training config checked before anything runs: `check(config)`.

Every value is checked against its range, its choices and the values it must
agree with, and every file the config reads must exist; all problems are
reported together in one `ConfigError`, each naming its key (`config.data.batch_size:
...`) and, for a missing file, the command that makes it. `train.py` (through
`trainer.train_and_evaluate`) calls it before it reads data or compiles anything.
Importable without TensorFlow.
"""

from __future__ import annotations

import math
import os

from rtpe_jax.models.hrnet import ARCHS

SCHEDULES = ("cosine_restarts", "cosine", "constant")
OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("float32", "bfloat16", "float16")
STRIDES = (1, 2, 4, 8, 16, 32)
EVAL_METRICS = ("keypoints", "segmentation", "3d")


class ConfigError(ValueError):
  """A config that cannot train: one line per problem, each naming its key."""

  def __init__(self, problems: list[str]):
    self.problems = problems
    super().__init__(
      f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the config:\n  "
      + "\n  ".join(problems)
    )


def _problems(config) -> list[str]:
  """Every value problem of `config` (no files), as 'config.key: what is wrong'."""
  out = []

  def need(ok: bool, key: str, message: str):
    if not ok:
      out.append(f"config.{key}: {message}")

  def choice(value, key: str, choices):
    need(value in choices, key, f"{value!r} is not one of {', '.join(map(repr, choices))}")

  def at_least(value, key: str, low, kind=int):
    good = isinstance(value, (int, float)) and not isinstance(value, bool)
    good = good and (kind is float or float(value).is_integer()) and value >= low
    need(good, key, f"{value!r}: must be {'an integer' if kind is int else 'a number'} >= {low}")

  def fraction(value, key: str):
    good = isinstance(value, (int, float)) and 0.0 <= value <= 1.0
    need(good, key, f"{value!r}: must lie in [0, 1]")

  choice(config.task, "task", ("student", "teacher"))
  choice(config.precision, "precision", PRECISIONS)
  for key in ("total_steps", "log_every", "checkpoint_every", "keep_checkpoints", "max_nonfinite"):
    at_least(config[key], key, 1)
  for key in ("eval_every", "histogram_every", "image_every", "seed", "devices"):
    at_least(config[key], key, 0)
  fraction(config.target_ap, "target_ap")
  fraction(config.get("target_segmentation_iou", 0.0), "target_segmentation_iou")

  data = config.data
  at_least(data.batch_size, "data.batch_size", 1)
  at_least(data.max_people, "data.max_people", 1)
  at_least(data.prefetch, "data.prefetch", 0)
  at_least(data.input_size, "data.input_size", 32)
  need(
    isinstance(data.input_size, int) and data.input_size % 32 == 0,
    "data.input_size",
    f"{data.input_size}: the training crop must be a multiple of 32 (HigherHRNet's coarsest "
    "branch and the student's context modules see 1/32 and 1/16 of it)",
  )
  strides = tuple(data.output_strides)
  need(bool(strides), "data.output_strides", "empty: give at least one output stride")
  for key, values in (
    ("data.output_strides", strides),
    ("data.tag_stride", (data.tag_stride,)),
    ("data.teacher_stride", (data.teacher_stride,)),
  ):
    for s in values:
      need(s in STRIDES, key, f"{s!r} is not one of {STRIDES}")
      if s in STRIDES and isinstance(data.input_size, int):
        need(
          data.input_size % s == 0, key, f"{s} does not divide data.input_size {data.input_size}"
        )
  sigmas = tuple(data.sigmas)
  need(bool(sigmas) and all(s > 0 for s in sigmas), "data.sigmas", f"{sigmas}: need sigmas > 0")
  choice(data.colour_space, "data.colour_space", ("", "lab", "hsv"))

  aug = data.augment
  need(aug.min_scale > 0, "data.augment.min_scale", f"{aug.min_scale}: must be > 0")
  need(
    aug.max_scale >= aug.min_scale,
    "data.augment.max_scale",
    f"{aug.max_scale} is below data.augment.min_scale {aug.min_scale}",
  )
  at_least(aug.max_rotation, "data.augment.max_rotation", 0, float)
  fraction(aug.max_translate, "data.augment.max_translate")
  fraction(aug.flip, "data.augment.flip")
  choice(aug.scale_type, "data.augment.scale_type", ("short", "long", "none"))

  loss = config.loss
  for key in (
    "segmentation",
    "heatmap",
    "push_pull",
    "tag_regression",
    "stem",
    "background",
    "heatmap_pos_weight",
    "segmentation_pos_weight",
  ):
    at_least(loss[key], f"loss.{key}", 0, float)
  fraction(loss.alpha, "loss.alpha")
  fraction(loss.get("alpha_unlabelled", 1.0), "loss.alpha_unlabelled")
  at_least(data.get("train_count", 0), "data.train_count", 0)
  need(
    not (data.get("train_count") and data.tfds_dir),
    "data.train_count",
    "read from the COCO layout only (not data.tfds_dir)",
  )
  unl = data.get("unlabelled")
  if unl:
    fraction(unl.fraction, "data.unlabelled.fraction")
    fraction(unl.min_score, "data.unlabelled.min_score")
    fraction(unl.min_joint_score, "data.unlabelled.min_joint_score")
    at_least(unl.count, "data.unlabelled.count", 0)
  if unl and unl.fraction:
    need(unl.fraction < 1, "data.unlabelled.fraction", "1 leaves no labelled samples")
    need(config.task == "student", "data.unlabelled", "only a student learns from a teacher")
    need(
      bool(unl.images and unl.predictions),
      "data.unlabelled",
      "fraction > 0 needs images (a folder) and predictions (infer_teacher.py's --out there)",
    )
    need(
      bool(data.teacher_store),
      "data.teacher_store",
      "empty, but data.unlabelled mixes in images the teacher labelled: the labelled "
      "samples carry the same teacher's maps (set it to that teacher's store)",
    )
    need(not data.tfds_dir, "data.tfds_dir", "unlabelled images are read from a folder")
  at_least(loss.ohkm_top, "loss.ohkm_top", 0)
  choice(loss.heatmap_kind, "loss.heatmap_kind", ("mse", "bce"))
  need(
    0 <= loss.sigma_index < max(len(sigmas), 1),
    "loss.sigma_index",
    f"{loss.sigma_index}: data.sigmas has {len(sigmas)} entries",
  )
  uses_teacher = loss.heatmap > 0 and loss.alpha > 0 or loss.tag_regression > 0
  if config.task == "student":
    student = config.model.student
    choice(student.stem, "model.student.stem", ("teacher", "own"))
    choice(student.teacher_arch, "model.student.teacher_arch", tuple(ARCHS))
    choice(student.colour_space, "model.student.colour_space", ("lab", "hsv"))
    need(
      student.tag_channels in (0, 1, student.num_joints),
      "model.student.tag_channels",
      f"{student.tag_channels}: use 0, 1 or num_joints ({student.num_joints})",
    )
    for key in ("channels", "segmentation_channels", "detector_steps", "detector_levels"):
      at_least(student[key], f"model.student.{key}", 1)
    dilations = tuple(student.dilations)
    need(
      bool(dilations) and all(d >= 1 for d in dilations),
      "model.student.dilations",
      f"{dilations}: need dilations >= 1",
    )
    need(
      loss.heatmap == 0 or (loss.heatmap_kind == "bce") == bool(student.heatmap_sigmoid),
      "loss.heatmap_kind",
      f"{loss.heatmap_kind!r} with model.student.heatmap_sigmoid={student.heatmap_sigmoid}: "
      "bce trains logits, which need heatmap_sigmoid=True; mse trains maps (False)",
    )
    need(
      4 in strides,
      "data.output_strides",
      f"{strides}: the student's maps are at stride 4; include 4",
    )
    if student.fine_heatmaps:
      need(
        2 in strides,
        "data.output_strides",
        f"{strides}: model.student.fine_heatmaps makes maps at stride 2; include 2",
      )
    need(
      loss.stem == 0 or (student.stem == "own" and student.distill_stem),
      "loss.stem",
      f"{loss.stem} needs model.student.stem='own' and distill_stem=True",
    )
    need(
      bool(student.get("depth")) == bool(config.data.get("depth")),
      "data.depth",
      f"{config.data.get('depth')} with model.student.depth={student.get('depth')}: "
      "a 3D student needs the depth targets and only it reads them (set both)",
    )
    if student.get("depth"):
      need(
        config.data.depth_stride == 4,
        "data.depth_stride",
        f"{config.data.depth_stride}: the student's depth maps are at stride 4",
      )
      need(not config.data.tfds_dir, "data.tfds_dir", "3D data is read from the COCO layout")
  else:
    need(not config.data.get("depth"), "data.depth", "only a student has depth maps")
    arch = config.model.get("arch")
    need(
      not isinstance(arch, str) or arch in ARCHS,
      "model.arch",
      f"{arch!r} is not one of {', '.join(ARCHS)} (or give a dict of HRNetConfig fields)",
    )
    need(loss.heatmap_kind == "mse", "loss.heatmap_kind", "a HigherHRNet trains with mse")
  if uses_teacher and config.task == "student":
    need(
      bool(data.teacher_store),
      "data.teacher_store",
      "empty, but loss.alpha > 0 or loss.tag_regression > 0 read the teacher's maps "
      "(set it, or loss.alpha = loss.tag_regression = 0)",
    )
  terms = ("segmentation", "heatmap", "push_pull", "tag_regression", "stem")
  need(any(loss[t] > 0 for t in terms), "loss", f"every loss weight ({', '.join(terms)}) is 0")

  opt = config.optimizer
  choice(opt.name, "optimizer.name", OPTIMIZERS)
  at_least(opt.weight_decay, "optimizer.weight_decay", 0, float)
  at_least(opt.clip_norm, "optimizer.clip_norm", 0, float)
  need(
    isinstance(opt.ema, (int, float)) and 0 <= opt.ema < 1,
    "optimizer.ema",
    f"{opt.ema!r}: a moving average's decay must lie in [0, 1) (0: off)",
  )
  schedule = opt.schedule
  choice(schedule.kind, "optimizer.schedule.kind", SCHEDULES)
  peak, floor = schedule.peak, schedule.floor
  need(
    isinstance(peak, (int, float)) and 0 < peak <= 1.0 and math.isfinite(peak),
    "optimizer.schedule.peak",
    f"{peak!r}: a learning rate must lie in (0, 1]",
  )
  need(
    isinstance(floor, (int, float)) and 0 <= floor <= peak,
    "optimizer.schedule.floor",
    f"{floor!r}: must lie in [0, optimizer.schedule.peak]",
  )
  at_least(schedule.period, "optimizer.schedule.period", 1)
  at_least(schedule.warmup, "optimizer.schedule.warmup", 0)
  for name, group in opt.groups.items():
    at_least(group.lr_scale, f"optimizer.groups.{name}.lr_scale", 0, float)

  ev = config.eval
  scales = tuple(ev.scales)
  need(
    bool(scales) and all(s > 0 for s in scales) and 1.0 in scales,
    "eval.scales",
    f"{scales}: positive scales that include 1.0 (the scale the others are projected to)",
  )
  size = ev.input_size or data.input_size
  need(
    isinstance(size, int) and size >= 64 and size % 64 == 0,
    "eval.input_size" if ev.input_size else "data.input_size",
    f"{size}: the test protocol's input size must be a multiple of 64 (it rounds sizes up "
    "to 64; set eval.input_size)",
  )
  need(
    0 < ev.detection_threshold < 1,
    "eval.detection_threshold",
    f"{ev.detection_threshold}: must lie in (0, 1)",
  )
  need(ev.tag_threshold > 0, "eval.tag_threshold", f"{ev.tag_threshold}: must be > 0")
  for key in ("max_images", "overlays"):
    at_least(ev[key], f"eval.{key}", 0)
  metrics = tuple(ev.get("metrics", ("keypoints",)))
  need(
    bool(metrics) and set(metrics) <= set(EVAL_METRICS),
    "eval.metrics",
    f"{metrics}: use one or both of {EVAL_METRICS}",
  )
  if "segmentation" in metrics:
    need(config.task == "student", "eval.metrics", "segmentation needs a student")
  if "3d" in metrics:
    need(
      "keypoints" in metrics
      and config.task == "student"
      and bool(config.model.student.get("depth")),
      "eval.metrics",
      "3d needs keypoints beside it and a student with depth maps (model.student.depth)",
    )
    need(tuple(ev.scales) == (1.0,), "eval.scales", "3d is read at one scale (1.0)")
  need(
    config.attention.divisor >= 1.0,
    "attention.divisor",
    f"{config.attention.divisor}: the attention's logits are divided by it, from >= 1 down to 1",
  )
  at_least(config.attention.steps, "attention.steps", 0)
  return out


def missing_files(config) -> list[str]:
  """Every file or directory the config reads that is not there, each with the
  command (or the README step) that makes it."""
  data, out = config.data, []
  name = os.path.basename(os.path.normpath(data.root or "."))
  generator = (
    "threed.synthetic3d" if "synthetic3d" in name or data.get("depth") else "data.synthetic"
  )
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
  unl = data.get("unlabelled")
  if config.task == "student" and unl and unl.fraction:
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
  """Raises one `ConfigError` listing every problem of `config` (values, and with
  `files` the files it reads); returns None when there is none."""
  problems = _problems(config)
  if files:
    problems += missing_files(config)
  if problems:
    raise ConfigError(problems)
