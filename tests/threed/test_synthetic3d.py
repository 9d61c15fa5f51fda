"""Synthetic 3D scenes (rtpe_jax/threed/synthetic3d.py): the 2D labels are the
projections of the 3D joints, the people stand on the floor at their distances,
nearer people occlude farther ones, and the files are COCO's."""

import json
import os

import numpy as np
from pycocotools import mask as mask_utils

from rtpe_jax.data import coco
from rtpe_jax.threed import skeleton3d, synthetic3d
from rtpe_jax.threed.metrics3d import root


def to_world(camera: np.ndarray, height_mm: float, pitch_deg: float) -> np.ndarray:
  p = np.radians(pitch_deg)
  pitch = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), -np.sin(p)], [0.0, np.sin(p), np.cos(p)]])
  return (camera @ pitch) * [-1.0, -1.0, 1.0] + [0.0, height_mm, 0.0]


def scenes(count=12):
  return [synthetic3d.make_image(0, "val2017", i) for i in range(count)]


def test_the_camera_and_its_projection():
  K = synthetic3d.intrinsics(320, 256, 60.0)
  assert K[0, 0] == K[1, 1] and (K[0, 2], K[1, 2]) == (159.5, 127.5)
  # A point straight ahead of an unpitched camera at its own height: the centre.
  ahead = synthetic3d.world_to_camera(np.array([0.0, 1500.0, 5000.0]), 1500.0, 0.0)
  np.testing.assert_allclose(ahead, [0.0, 0.0, 5000.0])
  np.testing.assert_allclose(synthetic3d.project(ahead, K), [159.5, 127.5])
  # The world's x is the left of a camera looking along +z; pitched down, the floor rises.
  left = synthetic3d.world_to_camera(np.array([1000.0, 1500.0, 5000.0]), 1500.0, 0.0)
  assert left[0] == -1000.0
  floor = np.array([0.0, 0.0, 5000.0])
  level = synthetic3d.project(synthetic3d.world_to_camera(floor, 1500.0, 0.0), K)[1]
  pitched = synthetic3d.project(synthetic3d.world_to_camera(floor, 1500.0, 10.0), K)[1]
  assert pitched < level
  world = np.array([[300.0, 20.0, 4000.0], [-800.0, 1700.0, 9000.0]])
  camera = synthetic3d.world_to_camera(world, 1800.0, 12.0)
  np.testing.assert_allclose(to_world(camera, 1800.0, 12.0), world, atol=1e-9)


def test_labels_are_the_projections_and_people_stand_on_the_floor():
  people = 0
  for image, info, annotations in scenes():
    K = np.asarray(info["intrinsics"])
    assert np.asarray(image).shape == (info["height"], info["width"], 3)
    depths = [a["root_3d"][2] for a in annotations]
    assert depths == sorted(depths, reverse=True)  # drawn (and listed) far to near
    for ann in annotations:
      joints = np.asarray(ann["keypoints_3d"])
      np.testing.assert_allclose(ann["root_3d"], root(joints), atol=0.06)
      labels = np.asarray(ann["keypoints"], float).reshape(17, 3)
      seen = labels[:, 2] > 0
      projected = synthetic3d.project(joints, K)
      np.testing.assert_allclose(labels[seen, :2], projected[seen], atol=0.02)
      world = to_world(joints, info["camera_height_mm"], info["camera_pitch_deg"])
      ankles = world[[skeleton3d.J["left_ankle"], skeleton3d.J["right_ankle"]], 1]
      assert 0.035 * 1500 * 0.9 < ankles.min() < 0.04 * 1950 * 1.1
      distance = np.hypot(*root(world)[[0, 2]])
      low, high = synthetic3d.DISTANCE_MM
      assert low - 1 <= root(world)[2] and distance <= high * 1.2
      thigh = np.linalg.norm(joints[skeleton3d.J["left_knee"]] - joints[skeleton3d.J["left_hip"]])
      assert 0.245 * 1500 * 0.95 < thigh < 0.245 * 1950 * 1.05
      people += 1
  assert people >= 20


def test_an_occluded_joint_lies_under_a_nearer_person():
  occluded = 0
  for _, info, annotations in scenes():
    h, w = info["height"], info["width"]
    for p, ann in enumerate(annotations):
      labels = np.asarray(ann["keypoints"], float).reshape(17, 3)
      for x, y, v in labels:
        if v != 1:
          continue
        occluded += 1
        covering = [
          mask_utils.decode(mask_utils.frPyObjects(a["segmentation"], h, w)).max(-1)
          for a in annotations[p + 1 :]
        ]
        # Within a pixel: pycocotools and PIL rasterise a polygon's edge differently.
        r, c = int(round(y)), int(round(x))
        near = [m[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2].any() for m in covering]
        assert any(near), (info["id"], p, x, y)
  assert occluded > 0


def test_the_same_scene_for_the_same_seed_split_and_index():
  a_image, a_info, a_annotations = synthetic3d.make_image(3, "train2017", 5)
  b_image, b_info, b_annotations = synthetic3d.make_image(3, "train2017", 5)
  np.testing.assert_array_equal(np.asarray(a_image), np.asarray(b_image))
  assert (a_info, a_annotations) == (b_info, b_annotations)
  assert synthetic3d.make_image(3, "val2017", 5)[1]["intrinsics"] != a_info["intrinsics"]


def test_command_line_writes_coco_that_the_2d_tools_read(tmp_path):
  out = str(tmp_path / "s3d")
  synthetic3d.main(["--out", out, "--train", "3", "--val", "2", "--workers", "1"])
  ground_truth = coco.load_coco(out, "train2017")
  assert len(ground_truth.getImgIds()) == 3
  assert coco.select_image_ids(ground_truth, require_people=True)
  with open(os.path.join(out, "annotations", "person_keypoints_val2017.json")) as f:
    data = json.load(f)
  assert len(data["images"]) == 2 and "intrinsics" in data["images"][0]
  assert all(len(a["keypoints_3d"]) == 17 for a in data["annotations"])
  assert data["info"]["description"].startswith("rtpe-jax synthetic 3D people")
