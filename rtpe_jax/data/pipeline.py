"""tf.data input pipelines: training samples with targets, and evaluation images.

Training: an endless stream of samples n = 0, 1, 2, ...; sample n of process p
is global sample g = n * process_count + p, which reads image
index_shuffle(g mod N) of epoch g // N and is augmented with seed (seed, g).
So the stream is deterministic given the seed, independent of the number of
parallel workers, and resumes exactly from any position (`start`). An endless
iterator must be deleted before the interpreter exits (its Python calls would
otherwise wait for the interpreter lock at shutdown); `take(n)` ends by itself.

What travels, stage by stage, is declared once in `rtpe_jax.data.schema`: a
raw example (from the COCO layout, `CocoSource`, or from the TFDS build,
`tfds_coco`), the augmented example, the training sample. Examples are dicts
by field name; only the `tf.numpy_function` boundary passes them as tuples, in
the schema's order. A teacher record travels encoded; its maps are warped
before they are dequantised.
"""

from __future__ import annotations

import zlib

import jax
import numpy as np
import tensorflow as tf

from rtpe_jax.data import augment, coco, schema, targets
from rtpe_jax.data.coco_source import CocoSource
from rtpe_jax.data import teacher_store as ts


def keep_tensorflow_off_accelerators() -> None:
  """tf.data runs on the host; the GPUs and TPUs are JAX's (TensorFlow would
  otherwise take their memory). A no-op once TensorFlow has set up its devices."""
  try:
    tf.config.set_visible_devices([], "GPU")
  except RuntimeError:  # already initialised (a second run in the same process)
    pass


def _tf_dtype(dtype: str) -> tf.DType:
  return tf.string if dtype == "string" else tf.as_dtype(np.dtype(dtype))


def _numpy_function(fn, args, fields) -> dict:
  """`fn(*args)` (a tuple in the order of `fields`) inside tf.data, as a dict of
  tensors with the fields' static shapes."""
  values = tf.numpy_function(fn, args, [_tf_dtype(f.dtype) for f in fields], stateful=False)
  out = {}
  for value, field in zip(values, fields):
    value.set_shape(field.shape)
    out[field.name] = value
  return out


def _stored_planes(data: bytes, hw, channels: int) -> np.ndarray:
  """Deflated store planes (C, h, w) -> (h, w, C) uint8."""
  if isinstance(data, np.ndarray):  # a scalar string tensor through tf.numpy_function
    data = data.item()
  try:
    planes = ts.inflate_planes(data, int(hw[0]), int(hw[1]), channels)
  except (zlib.error, ValueError) as err:
    raise ts.CorruptPrediction(f"teacher maps do not decode: {err}") from None
  return np.ascontiguousarray(planes.transpose(1, 2, 0))


def _augmented(raw: dict, seed, cfg) -> tuple:
  """NumPy part of a sample (`augment.augment_example`): a tuple in the order of
  `schema.augmented_fields`, for tf.numpy_function."""
  raw = dict(raw)
  teacher = "teacher_heatmap_data" in raw
  if teacher:
    for kind in ("heatmap", "tag"):
      raw[f"teacher_{kind}_q"] = _stored_planes(
        raw[f"teacher_{kind}_data"], raw[f"teacher_{kind}_hw"], len(raw[f"teacher_{kind}_low"])
      )
  out = augment.augment_example(
    raw,
    seed,
    cfg.input_size,
    min(cfg.output_strides),
    cfg.teacher_stride,
    cfg.augment,
    cfg.depth_stride if cfg.get("depth") else 0,
  )
  out["image_id"] = np.int64(raw["image_id"])
  out["labelled"] = np.bool_(raw.get("labelled", True))
  if teacher:
    out["teacher_ok"] = np.bool_(raw["teacher_ok"])
  tag_channels = out["teacher_tags"].shape[-1] if teacher else None
  return tuple(out[name] for name in schema.names(schema.augmented_fields(cfg, tag_channels)))


def _check_strides(cfg):
  finest = min(cfg.output_strides)
  if any(s % finest for s in cfg.output_strides):
    raise ValueError(f"output strides {tuple(cfg.output_strides)} must be multiples of the finest")


def _with_targets(example: dict, cfg) -> dict:
  """A training sample (`schema.sample_fields`) from an augmented example: masks per
  stride, targets, padded joints."""
  joints, size, finest = example["joints"], cfg.input_size, min(cfg.output_strides)
  sample = {"image_id": example["image_id"], "image": example["image"]}
  masks = tf.cast(example["masks"], tf.float32)
  for s in cfg.output_strides:
    # A pixel at k times the finest stride covers k x k finest pixels (rtpe_jax.coordinates).
    k = s // finest
    out_hw = (size // s, size // s)
    pooled = (
      masks
      if k == 1
      else tf.cast(tf.nn.avg_pool2d(masks[None], k, k, "VALID")[0] >= 0.5, tf.float32)
    )
    sample[f"weights_{s}"] = pooled[..., 0]
    sample[f"person_mask_{s}"] = pooled[..., 1]
    sample[f"heatmaps_{s}"] = tf.stack(
      [targets.gaussian_heatmap_tf(joints, out_hw, s, sigma) for sigma in cfg.sigmas]
    )
  t = cfg.tag_stride
  sample["tags"] = targets.tag_targets_tf(joints, (size // t, size // t), t, cfg.max_people)
  kept = joints[: cfg.max_people]
  sample["joints"] = tf.pad(kept, [[0, cfg.max_people - tf.shape(kept)[0]], [0, 0], [0, 0]])
  if "teacher_heatmaps" in example:
    sample["teacher_heatmaps"] = example["teacher_heatmaps"]
    sample["teacher_tags"] = example["teacher_tags"]
  for field in schema.depth_fields(cfg) + schema.labelled_fields(cfg):
    sample[field.name] = example[field.name]
  return sample


def _numpy_sample(fn, args, cfg, tag_channels: int | None) -> dict:
  return _numpy_function(fn, args, schema.augmented_fields(cfg, tag_channels))


def augmented_example(raw: dict, seed, cfg, tag_channels: int | None = None) -> dict:
  """The augmented example (`schema.augmented_fields`) of a raw example of tensors;
  with a teacher, tag_channels defaults to the static size of teacher_tag_low."""
  names = sorted(raw)
  if "teacher_tag_low" not in raw:
    tag_channels = None
  elif tag_channels is None:
    tag_channels = raw["teacher_tag_low"].shape[0]
    if tag_channels is None:
      raise ValueError("the number of teacher tag channels is not static: pass tag_channels")

  def fn(seed, *values):
    return _augmented(dict(zip(names, values)), seed, cfg)

  return _numpy_sample(fn, [seed] + [raw[k] for k in names], cfg, tag_channels)


def train_sample(raw: dict, seed, cfg) -> dict:
  """One augmented training sample (module docstring) from a raw example of tensors."""
  _check_strides(cfg)
  return _with_targets(augmented_example(raw, seed, cfg), cfg)


def _sample_seed(seed: int, g) -> tf.Tensor:
  return tf.stack([tf.constant(seed, tf.int64), tf.cast(g, tf.int64)])


def shuffled_index(g, num_images: int, seed: int):
  """Image index of global sample g: a fresh permutation of the images per epoch."""
  g = tf.cast(g, tf.int64)
  epoch, position = g // num_images, g % num_images
  seeds = tf.stack([tf.constant(seed, tf.int64), epoch])
  return tf.random.experimental.index_shuffle(position, seeds, num_images - 1)


def _options() -> tf.data.Options:
  options = tf.data.Options()
  options.deterministic = True
  options.autotune.enabled = True
  options.experimental_optimization.map_parallelization = True
  return options


def _process(process_index: int | None, process_count: int | None) -> tuple[int, int]:
  """This process's index and the process count (default: jax's)."""
  return (
    jax.process_index() if process_index is None else process_index,
    jax.process_count() if process_count is None else process_count,
  )


def make_source(
  cfg, split: str, require_people: bool, image_ids=None, listed_in: str = ""
) -> CocoSource:
  """`split`'s source; `listed_in` says where `image_ids` came from (for its errors)."""
  return CocoSource(
    cfg.root,
    split,
    image_ids,
    require_people,
    cfg.teacher_store,
    cfg.skip_missing_teacher,
    bool(cfg.get("depth")),
    listed_in,
  )


def train_source(cfg) -> CocoSource:
  """The training split's source: images with people, those of `train_ids` if set,
  the first `train_count` of them if set."""
  ids = coco.read_id_list(cfg.train_ids) if cfg.get("train_ids") else None
  listed_in = f"{cfg.train_ids} (config.data.train_ids)" if ids is not None else ""
  source = make_source(
    cfg, cfg.train_split, require_people=True, image_ids=ids, listed_in=listed_in
  )
  return source.first(cfg.train_count) if cfg.get("train_count") else source


def unlabelled_source(cfg):
  """The unlabelled images' source (`cfg.unlabelled`), None without them in the mix."""
  if not schema.mixes_unlabelled(cfg):
    return None
  from rtpe_jax.data.unlabelled import UnlabelledSource

  u = cfg.unlabelled
  return UnlabelledSource(
    u.images, u.predictions, u.min_score, u.min_joint_score, u.count, cfg.skip_missing_teacher
  )


def mixed_index(g, fraction: float, num_labelled: int, num_unlabelled: int, seed: int):
  """(is unlabelled, image index) of global sample g when a share `fraction` of
  the samples come from the unlabelled images: sample g is the u-th unlabelled one,
  u = floor(g f), where floor((g + 1) f) > u, else the (g - u)-th labelled one; each
  stream reads its images in its own epoch permutations."""
  g = tf.cast(g, tf.int64)
  scaled = lambda n: tf.cast(tf.floor(tf.cast(n, tf.float64) * fraction), tf.int64)
  u = scaled(g)
  unlabelled = scaled(g + 1) > u
  index = tf.where(
    unlabelled,
    shuffled_index(u, num_unlabelled, seed + 1),
    shuffled_index(g - u, num_labelled, seed),
  )
  return unlabelled, index


def train_dataset(
  cfg,
  start: int = 0,
  source: CocoSource | None = None,
  process_index: int | None = None,
  process_count: int | None = None,
  batch: bool = True,
) -> tf.data.Dataset:
  """Endless batches (or samples, batch=False) of this process, from sample `start`
  (count per process, e.g. step * per-process batch size to resume)."""
  pi, pc = _process(process_index, process_count)
  if cfg.tfds_dir:
    from rtpe_jax.data import tfds_coco

    raw = tfds_coco.raw_dataset(cfg, cfg.train_split, pi, pc)
    return _finish(raw, cfg, start, pi, pc, batch, num_images=None)
  source = source or train_source(cfg)
  return _finish(source, cfg, start, pi, pc, batch, len(source), unlabelled_source(cfg))


def _finish(source, cfg, start, pi, pc, batch, num_images, unlabelled=None):
  per_process_batch = cfg.batch_size // pc
  if per_process_batch * pc != cfg.batch_size:
    raise ValueError(f"batch size {cfg.batch_size} is not divisible by {pc} processes")
  steps = tf.data.Dataset.range(start, tf.int64.max)
  global_index = steps.map(lambda n: n * pc + pi)
  _check_strides(cfg)
  if num_images is not None:  # read, decode and augment in one Python call
    # Without an unlabelled pool every sample is labelled (fraction 0).
    pool = source if unlabelled is None else unlabelled
    fraction = 0.0 if unlabelled is None else cfg.unlabelled.fraction
    if pool.tag_channels != source.tag_channels:
      raise ValueError(
        f"{cfg.unlabelled.predictions}: the teacher's maps there have "
        f"{pool.tag_channels} tag channels, those of {cfg.teacher_store} "
        f"{source.tag_channels}: the same teacher must label both"
      )

    def fn(is_unlabelled, index, seed):
      return _augmented((pool if is_unlabelled else source).load_dict(index), seed, cfg)

    def sample(g):
      which, index = mixed_index(g, fraction, num_images, len(pool), cfg.seed)
      args = [which, index, _sample_seed(cfg.seed, g)]
      return _numpy_sample(fn, args, cfg, source.tag_channels)

    ds = global_index.map(sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  else:  # an endless TFDS dataset of this process (seeded shuffle)
    tags = ts.TeacherStore(cfg.teacher_store).meta["tag_channels"] if cfg.teacher_store else None
    ds = tf.data.Dataset.zip(global_index, source.skip(start)).map(
      lambda g, raw: augmented_example(raw, _sample_seed(cfg.seed, g), cfg, tags),
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=True,
    )
  if cfg.teacher_store and cfg.skip_missing_teacher:
    ds = ds.filter(lambda example: example["teacher_ok"])
  ds = ds.map(
    lambda example: _with_targets(example, cfg),
    num_parallel_calls=tf.data.AUTOTUNE,
    deterministic=True,
  )
  if batch:
    ds = ds.batch(per_process_batch, drop_remainder=True)
  return ds.prefetch(cfg.prefetch).with_options(_options())
