"""Raw examples (`rtpe_jax.data.schema.raw_fields`) from a COCO-layout directory:
an image, its annotations and masks, and with a teacher store its record as
stored. NumPy only; the pipeline and the TFDS build both read through it."""

from __future__ import annotations

import logging

import numpy as np

from rtpe_jax.data import coco, schema
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.data.images import ImageError, read_image


class CocoSource:
  """Random access to raw examples of one split of a COCO-layout directory."""

  def __init__(
    self,
    root: str,
    split: str,
    image_ids=None,
    require_people: bool = True,
    store: str = "",
    skip_missing_teacher: bool = False,
    depth: bool = False,
    listed_in: str = "",
  ):
    self.root, self.split, self.depth = root, split, depth
    self.coco = coco.load_coco(root, split)
    self.image_ids = coco.select_image_ids(
      self.coco, require_people, image_ids, listed_in, coco.annotation_file(root, split)
    )
    if not self.image_ids:
      raise ValueError(
        f"{coco.annotation_file(root, split)}: no images to read (require_people={require_people})"
      )
    self.store = ts.TeacherStore(store) if store else None
    self.skip_missing_teacher = skip_missing_teacher
    if self.store is not None:
      missing = [i for i in self.image_ids if i not in self.store]
      if missing and not skip_missing_teacher:
        raise ts.MissingPrediction(
          f"{store}: no teacher prediction for {len(missing)} of {len(self.image_ids)} "
          f"{split} images, e.g. {missing[:5]} (run infer_teacher.py, or set "
          "skip_missing_teacher)"
        )
      if missing:
        logging.warning(
          "%s: skipping %d %s images without teacher predictions, e.g. %s",
          store,
          len(missing),
          split,
          missing[:5],
        )
        self.image_ids = [i for i in self.image_ids if i in self.store]
    # None without a store (a store may hold 0 tag channels)
    self.tag_channels = self.store.meta["tag_channels"] if self.store else None
    self.fields = schema.raw_fields(self.store is not None, self.tag_channels, depth)

  def __len__(self):
    return len(self.image_ids)

  def first(self, count: int) -> "CocoSource":
    """This source, reading only its first `count` images (by id)."""
    if count > len(self.image_ids):
      raise ValueError(
        f"{coco.annotation_file(self.root, self.split)}: {count} images asked for, "
        f"{len(self.image_ids)} to read"
      )
    self.image_ids = self.image_ids[:count]
    return self

  def load(self, index: int) -> tuple:
    """Raw example `index` as a tuple in the order of `self.fields`."""
    image_id = self.image_ids[int(index)]
    ann = coco.image_annotations(self.coco, self.root, self.split, image_id)
    image = read_image(ann.path, image_id)
    if image.shape[:2] != (ann.height, ann.width):
      raise ImageError(
        f"{ann.path}: image {image_id} is {image.shape[1]}x{image.shape[0]}, "
        f"the annotations say {ann.width}x{ann.height}"
      )
    out = [
      np.int64(image_id),
      image,
      ann.joints,
      ann.ignore_mask.astype(np.uint8),
      ann.person_mask.astype(np.uint8),
    ]
    if self.store is not None:
      out += self._teacher(image_id)
    if self.depth:
      if ann.depths is None:
        raise ValueError(
          f"{coco.annotation_file(self.root, self.split)}: image {image_id} has no 3D "
          "annotations (intrinsics, keypoints_3d): data.depth needs the synthetic 3D data "
          "(python -m rtpe_jax.threed.synthetic3d)"
        )
      out += [ann.depths, np.float32(ann.focal)]
    return tuple(out)

  def _teacher(self, image_id: int):
    return stored_teacher_values(self.store, image_id, self.skip_missing_teacher)

  def load_dict(self, index: int) -> dict:
    return dict(zip(schema.names(self.fields), self.load(index)))


def stored_teacher_values(store: ts.TeacherStore, image_id: int, skip_corrupt: bool) -> list:
  """The raw-example teacher fields of the stored record, still deflated (inflated by
  the pipeline's augmentation); with skip_corrupt, a corrupt record gives empty maps
  and teacher_ok False (the pipeline drops the sample) instead of the error."""
  try:
    return record_values(store.read_encoded(image_id))
  except ts.CorruptPrediction as err:
    if not skip_corrupt:
      raise
    logging.warning("skipping: %s", err)
    c, t = store.meta["num_joints"], store.meta["tag_channels"]
    empty = ts.TeacherPrediction(
      np.zeros((1, 1, c), np.float32),
      np.zeros((1, 1, t), np.float32),
      np.eye(2, 3, dtype=np.float32),
    )
    return list(teacher_fields(empty, image_id, ok=False).values())


def teacher_fields(prediction: ts.TeacherPrediction, image_id: int = 0, ok: bool = True) -> dict:
  """The raw-example teacher fields of float maps, encoded as the store does."""
  values = record_values(ts.parse_record(ts.encode_record(image_id, prediction)), ok)
  return dict(zip(schema.TEACHER_FIELDS, values))


def record_values(r: ts.EncodedPrediction, ok: bool = True) -> list:
  return [
    r.heatmap_data,
    r.tag_data,
    np.array(r.heatmap_hw, np.int32),
    np.array(r.tag_hw, np.int32),
    r.affine.astype(np.float32),
    r.tag_affine.astype(np.float32),
    r.heatmap_low,
    r.heatmap_step,
    r.tag_low,
    r.tag_step,
    np.bool_(ok),
  ]
