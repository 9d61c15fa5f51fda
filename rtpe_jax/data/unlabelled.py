"""Raw examples of unlabelled images, the teacher's predictions standing in for labels.

  python infer_teacher.py --teacher T --images DIR --out PRED --input-size S --people

A folder of images (COCO's images/unlabeled2017, the synthetic pool
images/unlabelled2017) and what infer_teacher.py stored for it in PRED: the
teacher's maps (PRED/teacher, as for labelled images) and its grouped people
(PRED/results-shard*.jsonl, COCO results). A sample's joints are the teacher's
people scoring at least `min_score`, a joint visible (v = 2) where the teacher's
value for it reaches `min_joint_score`, absent (v = 0) elsewhere; there are no
ignore regions and no person mask (the student's segmentation term skips these
samples), and `labelled` is False. Only images with both a stored record and a
people entry are read (an image where the teacher saw nobody has an empty one).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from rtpe_jax import coordinates
from rtpe_jax.data import schema
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.data.coco_source import stored_teacher_values
from rtpe_jax.data.images import IMAGE_SUFFIXES, folder_images, read_image
from rtpe_jax.keypoints import NUM_JOINTS


def pseudo_joints(people: list[dict], min_score: float, min_joint_score: float) -> np.ndarray:
  """(P, 17, 3) positions and visibility of the teacher's people (COCO results,
  pixel indices) that score >= min_score; joints below min_joint_score get v = 0."""
  joints = []
  for person in people:
    if person["score"] < min_score:
      continue
    k = np.asarray(person["keypoints"], np.float32).reshape(NUM_JOINTS, 3)
    seen = k[:, 2] >= min_joint_score
    k = np.where(seen[:, None], k, 0.0)
    k[:, 2] = np.where(seen, 2.0, 0.0)
    if seen.any():
      joints.append(coordinates.from_coco_keypoints(k))
  return np.stack(joints) if joints else np.zeros((0, NUM_JOINTS, 3), np.float32)


class UnlabelledSource:
  """Random access to raw examples (`schema.raw_fields` with a teacher) of a folder
  of unlabelled images, from the teacher's predictions in `predictions`; with
  skip_corrupt, a corrupt stored record drops its sample (teacher_ok False) as a
  labelled image's does with skip_missing_teacher."""

  def __init__(
    self,
    images: str,
    predictions: str,
    min_score: float = 0.2,
    min_joint_score: float = 0.1,
    count: int = 0,
    skip_corrupt: bool = False,
  ):
    self.predictions, self.min_score, self.min_joint_score = predictions, min_score, min_joint_score
    self.skip_corrupt = skip_corrupt
    paths = dict(folder_images(images))
    if not paths:
      raise ValueError(f"{images}: no images ({', '.join(IMAGE_SUFFIXES)})")
    store_dir = os.path.join(predictions, "teacher")
    self.store = ts.TeacherStore(store_dir)
    self.people = ts.read_people(predictions) if os.path.isdir(predictions) else {}
    done = [i for i in sorted(paths) if i in self.store and i in self.people]
    if not done:
      raise ts.MissingPrediction(
        f"{predictions}: no teacher predictions with people for the images of {images} (run "
        f"python infer_teacher.py --teacher T --images {images} --out {predictions} --people)"
      )
    if len(done) < len(paths):
      logging.warning(
        "%s: %d of %d images of %s have no stored maps or people yet; training on the %d done",
        predictions,
        len(paths) - len(done),
        len(paths),
        images,
        len(done),
      )
    self.image_ids = done[:count] if count else done
    self.paths = {i: paths[i] for i in self.image_ids}
    self.tag_channels = self.store.meta["tag_channels"]
    self.fields = schema.raw_fields(True, self.tag_channels)

  def __len__(self):
    return len(self.image_ids)

  def load_dict(self, index: int) -> dict:
    """Raw example `index` (`schema.raw_fields` with a teacher) and labelled False."""
    image_id = self.image_ids[int(index)]
    image = read_image(self.paths[image_id], image_id)
    h, w = image.shape[:2]
    empty = np.zeros((h, w), np.uint8)
    joints = pseudo_joints(self.people[image_id], self.min_score, self.min_joint_score)
    values = [np.int64(image_id), image, joints, empty, empty]
    values += stored_teacher_values(self.store, image_id, self.skip_corrupt)
    example = dict(zip(schema.names(self.fields), values))
    example["labelled"] = np.bool_(False)
    return example
