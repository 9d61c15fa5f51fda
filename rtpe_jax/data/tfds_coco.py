"""A TFDS dataset that packs a COCO-layout directory (and a teacher store) into shards.

  python -m rtpe_jax.data.build_tfds --manual_dir COCO_DIR --data_dir TFDS_DIR \
      [--teacher_store STORE]

COCO_DIR holds images/{train2017,val2017}/ and annotations/ as COCO ships them.
The `with_teacher` config also packs the teacher store's records (default
COCO_DIR/teacher); `plain` holds images and annotations only. Then set
`config.data.tfds_dir = TFDS_DIR` to train from the shards instead of the raw
files: the raw examples are the same (the JPEG bytes are stored as they are;
TensorFlow's decoder differs from Pillow's by a few levels), the read order comes
from a seeded shuffle of the shards instead of `index_shuffle`.

Splits: train (train2017, images with an annotated person), validation
(val2017, every image). An image that does not decode is left out with a warning.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from rtpe_jax.data import coco, schema
from rtpe_jax.data.coco_source import CocoSource
from rtpe_jax.data.images import ImageError

_ENCODED = {  # the JPEG as it is on disk; masks as PNG
  "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
  "ignore_mask": tfds.features.Image(shape=(None, None, 1), encoding_format="png"),
  "person_mask": tfds.features.Image(shape=(None, None, 1), encoding_format="png"),
}


def features(with_teacher: bool) -> tfds.features.FeaturesDict:
  """The features of a raw example (`schema.raw_fields`): images and masks encoded,
  the rest as tensors."""
  out = {}
  for f in schema.raw_fields(with_teacher):
    dtype = np.str_ if f.dtype == "string" else np.dtype(f.dtype)
    out[f.name] = _ENCODED.get(f.name) or tfds.features.Tensor(shape=f.shape, dtype=dtype)
  return tfds.features.FeaturesDict(out)


SPLITS = {"train": ("train2017", True), "validation": ("val2017", False)}


class CocoDistill(tfds.core.GeneratorBasedBuilder):
  """COCO person keypoints with masks, optionally with the teacher's predictions."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Images, joints, ignore and person masks, teacher store records."}
  BUILDER_CONFIGS = [
    tfds.core.BuilderConfig(name="with_teacher", description="with the teacher's predictions"),
    tfds.core.BuilderConfig(name="plain", description="images and annotations only"),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  manual_dir: a COCO-layout directory (images/train2017, images/val2017,
  annotations/person_keypoints_{train2017,val2017}.json) and, for the
  with_teacher config, the teacher store in manual_dir/teacher (written by
  infer_teacher.py) or set with `teacher_store=`.
  """

  def __init__(self, *args, teacher_store: str = "", **kwargs):
    self._teacher_store = teacher_store
    super().__init__(*args, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=features(self.builder_config.name == "with_teacher")
    )

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    store = ""
    if self.builder_config.name == "with_teacher":
      store = self._teacher_store or os.path.join(root, "teacher")
    return {
      name: self._generate_examples(root, split, people, store)
      for name, (split, people) in SPLITS.items()
      if os.path.exists(coco.annotation_file(root, split))
    }

  def _generate_examples(self, root: str, split: str, require_people: bool, store: str):
    source = CocoSource(root, split, require_people=require_people, store=store)
    for index, image_id in enumerate(source.image_ids):
      try:
        raw = source.load_dict(index)
      except ImageError as err:
        logging.warning("left out: %s", err)
        continue
      file_name = source.coco.loadImgs(image_id)[0]["file_name"]
      raw["image"] = coco.image_path(root, split, file_name)  # the JPEG as it is
      for key in ("ignore_mask", "person_mask"):
        raw[key] = raw[key][..., None]
      yield int(image_id), raw


def raw_dataset(cfg, split: str, process_index: int, process_count: int) -> tf.data.Dataset:
  """Endless raw examples of this process from the TFDS build in `cfg.tfds_dir`
  (train2017 -> "train", val2017 -> "validation"), shuffled with `cfg.seed`."""
  name = "coco_distill/" + ("with_teacher" if cfg.teacher_store else "plain")
  tfds_split = {s: n for n, (s, _) in SPLITS.items()}.get(split, split)
  read_config = tfds.ReadConfig(
    shuffle_seed=cfg.seed,
    input_context=tf.distribute.InputContext(
      num_input_pipelines=process_count, input_pipeline_id=process_index
    ),
  )
  ds = tfds.load(
    name,
    split=tfds_split,
    data_dir=cfg.tfds_dir,
    shuffle_files=True,
    read_config=read_config,
    download=False,
  )

  def to_raw(example):
    raw = dict(example)
    for key in ("ignore_mask", "person_mask"):
      raw[key] = raw[key][..., 0]
    return raw

  return ds.map(to_raw).repeat().shuffle(1024, seed=cfg.seed)


def build(manual_dir: str, data_dir: str, teacher_store: str = "", config: str = "") -> str:
  """Builds `coco_distill/<config>` (with_teacher when a store is given or found)."""
  if not config:
    has_store = teacher_store or os.path.exists(os.path.join(manual_dir, "teacher", "store.json"))
    config = "with_teacher" if has_store else "plain"
  builder = CocoDistill(data_dir=data_dir, config=config, teacher_store=teacher_store)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return os.path.join(data_dir, "coco_distill", config)
