"""Reading COCO person-keypoint annotations in the raw COCO layout.

  ROOT/images/{split}/*.jpg
  ROOT/annotations/person_keypoints_{split}.json

Per image: the joints (P, 17, 3) of the people with keypoints (as positions:
COCO stores pixel indices, `rtpe_jax.coordinates.from_coco_keypoints`), the ignore mask
(crowd regions and people without keypoints, as HigherHRNet masks them), the
union of the person segmentations, and the image id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from rtpe_jax import coordinates
from rtpe_jax.keypoints import NUM_JOINTS


@dataclasses.dataclass
class ImageAnnotations:
  """What the data pipeline needs of one image."""

  image_id: int
  path: str
  height: int
  width: int
  joints: np.ndarray  # (P, 17, 3) float32: x, y positions, visibility (0, 1, 2)
  ignore_mask: np.ndarray  # (H, W) bool: True where the loss must not look
  person_mask: np.ndarray  # (H, W) bool: union of the people's segmentations
  # 3D annotations (the synthetic 3D data, `data.synthetic3d`), None without:
  depths: np.ndarray | None = None  # (P, 18) float32: each joint's camera depth (mm), the root's
  focal: float | None = None  # the focal length in pixels (intrinsics[0][0])


def annotation_file(root: str, split: str) -> str:
  return os.path.join(root, "annotations", f"person_keypoints_{split}.json")


def image_dir(root: str, split: str) -> str:
  return os.path.join(root, "images", split)


def image_path(root: str, split: str, file_name: str) -> str:
  return os.path.join(image_dir(root, split), file_name)


def load_coco(root: str, split: str) -> COCO:
  """pycocotools' COCO index of `split`, with a clear error for a missing or bad file."""
  path = annotation_file(root, split)
  if not os.path.isfile(path):
    raise FileNotFoundError(
      f"{path}: no annotation file (expected the COCO layout "
      f"ROOT/annotations/person_keypoints_{split}.json)"
    )
  return load_coco_file(path)


def load_coco_file(path: str) -> COCO:
  """pycocotools' COCO index of one annotation file, with a clear error if bad."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such annotation file")
  try:
    with contextlib.redirect_stdout(io.StringIO()):
      return COCO(path)
  except (json.JSONDecodeError, KeyError, TypeError) as err:
    raise ValueError(f"{path}: not a COCO annotation file: {err}") from None


def read_id_list(path: str) -> list[int]:
  """Image ids from a list of COCO file names (`000000576052.jpg` per line) or ids."""
  ids = []
  with open(path) as f:
    for line in f:
      name = line.strip()
      if name:
        ids.append(int(os.path.splitext(os.path.basename(name))[0]))
  return ids


def _has_annotated_person(coco: COCO, image_id: int) -> bool:
  anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
  return any(a["num_keypoints"] > 0 and not a["iscrowd"] for a in anns)


def select_image_ids(
  coco: COCO,
  require_people: bool = False,
  whitelist: list[int] | None = None,
  listed_in: str = "",
  annotations: str = "",
) -> list[int]:
  """Sorted image ids, optionally only those with a person with keypoints, or listed
  in `whitelist`: ids it lists that `coco` lacks are a ValueError naming the list
  (`listed_in`: its file and what set it) and the annotation file (`annotations`)."""
  ids = sorted(coco.getImgIds())
  if whitelist is not None:
    unknown = sorted(set(whitelist) - set(ids))
    if unknown:
      raise ValueError(
        f"{listed_in + ': ' if listed_in else ''}{len(unknown)} listed image ids are not in "
        f"the annotations{' ' + annotations if annotations else ''}, e.g. {unknown[:5]}"
      )
    allowed = set(whitelist)
    ids = [i for i in ids if i in allowed]
  if require_people:
    ids = [i for i in ids if _has_annotated_person(coco, i)]
  return ids


def _segmentation_mask(ann: dict, height: int, width: int) -> np.ndarray:
  seg = ann["segmentation"]
  if isinstance(seg, list):
    if not seg:
      return np.zeros((height, width), bool)
    rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
  elif isinstance(seg["counts"], list):
    rle = mask_utils.frPyObjects(seg, height, width)
  else:
    rle = seg
  return mask_utils.decode(rle).astype(bool)


def image_annotations(coco: COCO, root: str, split: str, image_id: int) -> ImageAnnotations:
  info = coco.loadImgs(image_id)[0]
  h, w = info["height"], info["width"]
  anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
  joints, depths = [], []
  ignore, people = np.zeros((h, w), bool), np.zeros((h, w), bool)
  for ann in anns:
    mask = _segmentation_mask(ann, h, w)
    if ann["iscrowd"]:
      ignore |= mask
      continue
    people |= mask
    if ann["num_keypoints"] == 0:
      ignore |= mask
    else:
      keypoints = np.asarray(ann["keypoints"], np.float32).reshape(NUM_JOINTS, 3)
      joints.append(coordinates.from_coco_keypoints(keypoints))
      if "keypoints_3d" in ann:
        z = np.asarray(ann["keypoints_3d"], np.float32).reshape(NUM_JOINTS, 3)[:, 2]
        depths.append(np.append(z, np.float32(ann["root_3d"][2])))
  has_3d = "intrinsics" in info
  if has_3d and len(depths) != len(joints):
    raise ValueError(
      f"image {image_id}: {len(joints) - len(depths)} people with keypoints lack keypoints_3d"
    )
  return ImageAnnotations(
    image_id=image_id,
    path=image_path(root, split, info["file_name"]),
    height=h,
    width=w,
    joints=np.stack(joints) if joints else np.zeros((0, NUM_JOINTS, 3), np.float32),
    ignore_mask=ignore,
    person_mask=people,
    depths=np.reshape(np.asarray(depths, np.float32), (-1, NUM_JOINTS + 1)) if has_3d else None,
    focal=float(info["intrinsics"][0][0]) if has_3d else None,
  )
