"""Stand-ins where the real thing is missing: teacher-like maps made from the
ground truth, a teacher store of them, and store sizes. For tests, benchmarks
and pictures before a teacher has run (`python -m rtpe_jax.data.show
--stand_in_teacher`); nothing in training or inference uses them."""

from __future__ import annotations

import glob
import json
import os

import numpy as np

from rtpe_jax import coordinates
from rtpe_jax.data import coco, targets
from rtpe_jax.data import teacher_store as ts


def float32_bytes(prediction: ts.TeacherPrediction) -> int:
  """Bytes of the same maps as float32 arrays (the size the store is compared to)."""
  return 4 * (prediction.heatmaps.size + prediction.tags.size)


def store_bytes(path: str) -> int:
  return sum(os.path.getsize(p) for p in glob.glob(os.path.join(path, "*.bin")))


def ground_truth_stand_in(
  joints: np.ndarray,
  image_hw: tuple[int, int],
  stride: int = 2,
  tag_stride: int = 4,
  sigma: float = 2.0,
) -> ts.TeacherPrediction:
  """Teacher-like maps made from ground-truth joints (P, 17, 3): heatmaps at
  1/stride, per-joint tags at 1/tag_stride of the image, as HigherHRNet's.

  For tests, pictures and benchmarks before a teacher has run: heatmaps are the
  Gaussians of the ground truth, tags hold person p's value p + 1 around its
  joints, fading to 0 elsewhere.
  """
  h, w = -(-image_hw[0] // stride), -(-image_hw[1] // stride)
  heatmaps = targets.gaussian_heatmaps(joints, (h, w), stride, [sigma])[0]
  th, tw = -(-image_hw[0] // tag_stride), -(-image_hw[1] // tag_stride)
  tags = np.zeros((th, tw, joints.shape[1]), np.float32)
  weight = np.zeros_like(tags)
  for p in range(len(joints)):
    g = targets.gaussian_heatmaps(joints[p : p + 1], (th, tw), tag_stride, [sigma])[0]
    tags += (p + 1) * g
    weight += g
  tags = np.where(weight > 1e-3, tags / np.maximum(weight, 1e-3), 0.0).astype(np.float32)
  affine = lambda s: coordinates.from_map(s)[:2].astype(np.float32)
  return ts.TeacherPrediction(heatmaps, tags, affine(stride), affine(tag_stride))


def ground_truth_stand_ins(root: str, split: str):
  """(image id, `ground_truth_stand_in`) for every image of a COCO-layout split."""
  index = coco.load_coco(root, split)
  for image_id in coco.select_image_ids(index):
    ann = coco.image_annotations(index, root, split, image_id)
    yield image_id, ground_truth_stand_in(ann.joints, (ann.height, ann.width))


def write_stand_in_store(root: str, splits, out: str, shard_size: int = 256) -> str:
  """A store of ground-truth stand-in maps for every image of `splits` (resumable)."""
  with ts.TeacherStoreWriter(out, 17, 17, shard_size=shard_size) as writer:
    for split in splits:
      for image_id, prediction in ground_truth_stand_ins(root, split):
        if image_id not in writer:
          writer.add(image_id, prediction)
  return out


def write_stand_in_people(root: str, split: str, out: str) -> str:
  """OUT/results-shard0of1.jsonl as infer_teacher.py --people writes it, the people
  being the split's ground truth (score 1, each labelled joint's value 1)."""
  from rtpe_jax.inference import protocol

  os.makedirs(out, exist_ok=True)
  index = coco.load_coco(root, split)
  path = os.path.join(out, "results-shard0of1.jsonl")
  with open(path, "w") as f:
    for image_id in coco.select_image_ids(index):
      joints = coco.image_annotations(index, root, split, image_id).joints
      values = np.concatenate([joints[..., :2], (joints[..., 2:] > 0)], -1)
      people = protocol.coco_results(image_id, values, np.ones(len(joints)))
      f.write(json.dumps({"image_id": image_id, "people": people}) + "\n")
  return path
