"""Synthetic 3D people in COCO's format, for phase 4 (monocular 3D pose).

  python -m rtpe_jax.threed.synthetic3d --out data/synthetic3d --train 1024 --val 64 --seed 0

writes the COCO layout of `rtpe_jax.data.synthetic` (images, person_keypoints
json) from 3D scenes: 1 to 4 people of `skeleton3d` (human proportions, joint
limits, poses from a mixture of modes) standing on a floor 2 to 9 m from a
pinhole camera of random height, pitch and focal length; the floor a
perspective checkerboard up to the horizon, the wall above it textured. The
people are drawn from far to near with the 2D generator's mannequins, so near
people occlude far ones and a joint covered by a nearer figure gets v = 1.

Every 2D field is what the 2D pipeline reads (pixel indices, as COCO's); each
person also holds `keypoints_3d` (17 x 3, camera coordinates in mm: x right,
y down, z forward) and `root_3d` (the mid-hip), and each image its
`intrinsics` (3 x 3, in pixel indices: the principal point at (W - 1) / 2,
(H - 1) / 2 for a centred camera) and the camera's height and pitch.
Each image depends only on (seed, split, index).
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import ImageDraw

from rtpe_jax.data.synthetic import annotations as synthetic_annotations
from rtpe_jax.data.synthetic import drawing, scenes
from rtpe_jax.data.synthetic import writer as synthetic_writer
from rtpe_jax.threed import skeleton3d
from rtpe_jax.threed.metrics3d import root

CAMERA_HEIGHT_MM = (1000.0, 2200.0)
CAMERA_PITCH_DEG = (0.0, 20.0)  # downwards
HORIZONTAL_FOV_DEG = (50.0, 75.0)
DISTANCE_MM = (2000.0, 9000.0)  # of the people along the floor
PEOPLE = (1, 4)
MIN_SEPARATION_MM = 700.0  # between two people's mid-hips on the floor


def intrinsics(w: int, h: int, horizontal_fov_deg: float) -> np.ndarray:
  """(3, 3) in pixel indices: square pixels, the principal point at the centre."""
  f = (w / 2) / np.tan(np.radians(horizontal_fov_deg) / 2)
  return np.array([[f, 0.0, (w - 1) / 2], [0.0, f, (h - 1) / 2], [0.0, 0.0, 1.0]])


def world_to_camera(points: np.ndarray, height_mm, pitch_deg) -> np.ndarray:
  """(..., 3) world mm (x left, y up, z forward; the floor y = 0, the camera at
  (0, height, 0) looking along +z, pitched down) -> camera mm (x right, y down,
  z forward). `height_mm` and `pitch_deg` are numbers or arrays that broadcast
  against points[..., 0] (one camera per person: shape (N, 1) for (N, 17, 3))."""
  p = np.radians(np.asarray(pitch_deg, np.float64))
  x, y, z = np.moveaxis(np.asarray(points, np.float64), -1, 0)
  x, y = -x, np.asarray(height_mm, np.float64) - y  # right and down, before the pitch
  c, s = np.cos(p), np.sin(p)
  return np.stack(np.broadcast_arrays(x, c * y - s * z, s * y + c * z), -1)


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
  """(..., 3) camera mm -> (..., 2) pixel indices (COCO's convention)."""
  uvw = np.asarray(points, np.float64) @ np.asarray(K).T
  return uvw[..., :2] / uvw[..., 2:]


def _floor(draw, rng, K, height_mm, pitch_deg, w, h) -> None:
  """A checkerboard of 1-m tiles on y = 0, drawn from far to near."""
  colours = [tuple(int(v) for v in rng.integers(30, 226, 3)) for _ in range(2)]
  xs = np.arange(-16000.0, 16001.0, 1000.0)
  zs = np.arange(500.0, 40001.0, 1000.0)
  for zi in range(len(zs) - 1, 0, -1):
    for xi in range(len(xs) - 1):
      corners = np.array(
        [
          [xs[xi], 0.0, zs[zi - 1]],
          [xs[xi + 1], 0.0, zs[zi - 1]],
          [xs[xi + 1], 0.0, zs[zi]],
          [xs[xi], 0.0, zs[zi]],
        ]
      )
      camera = world_to_camera(corners, height_mm, pitch_deg)
      if camera[:, 2].min() < 100.0:
        continue
      # project() gives indices; PIL draws in positions (+ 0.5).
      polygon = [tuple(p) for p in project(camera, K) + 0.5]
      draw.polygon(polygon, fill=colours[(xi + zi) % 2])


def _people(rng, K, height_mm, pitch_deg, w):
  """[(camera joints (17, 3) mm, body height mm)] of 1-4 people apart from each other."""
  half_fov = np.arctan((w / 2) / K[0, 0])
  people, spots = [], []
  for _ in range(rng.integers(PEOPLE[0], PEOPLE[1] + 1)):
    for _attempt in range(20):
      z = rng.uniform(*DISTANCE_MM)
      x = rng.uniform(-0.85, 0.85) * z * np.tan(half_fov)
      if all(np.hypot(x - a, z - b) >= MIN_SEPARATION_MM for a, b in spots):
        break
    else:
      continue
    joints, body = skeleton3d.sample_poses(rng, 1)
    placed = skeleton3d.place(joints, rng.uniform(0.0, 360.0), (x, z))[0]
    spots.append((x, z))
    people.append((world_to_camera(placed, height_mm, pitch_deg), float(body.height[0])))
  return people


def make_image(seed: int, split: str, index: int, size: int = 256):
  """One synthetic 3D scene: (PIL image, image info, annotations without ids)."""
  rng = np.random.default_rng([seed, 10 + scenes.SPLITS[split], index])
  h = size
  w = int(size * rng.choice([1.0, 1.25, 4 / 3]))
  K = intrinsics(w, h, rng.uniform(*HORIZONTAL_FOV_DEG))
  height_mm, pitch_deg = rng.uniform(*CAMERA_HEIGHT_MM), rng.uniform(*CAMERA_PITCH_DEG)
  image = drawing.background(rng, w, h)
  draw = ImageDraw.Draw(image)
  _floor(draw, rng, K, height_mm, pitch_deg, w, h)

  people = _people(rng, K, height_mm, pitch_deg, w)
  people.sort(key=lambda person: -root(person[0])[2])  # far to near
  outlines, positions = [], []
  for camera_joints, body_height in people:
    position = project(camera_joints, K) + 0.5  # what PIL draws in
    pixels_tall = K[1, 1] * body_height / root(camera_joints)[2]
    figure_rng = np.random.default_rng(rng.integers(2**32))
    outlines.append(drawing.draw_figure(draw, position, pixels_tall, figure_rng))
    positions.append(position)
  masks = [synthetic_annotations.polygon_mask(polygons, w, h) for polygons in outlines]

  annotations = []
  for p, (camera_joints, _) in enumerate(people):
    labels = synthetic_annotations.keypoint_labels(positions[p], masks[p + 1 :], w, h)
    ann = synthetic_annotations.annotation(
      masks[p], outlines[p], labels if labels[:, 2].any() else None, iscrowd=False
    )
    if ann:
      ann["keypoints_3d"] = np.round(camera_joints, 1).tolist()
      ann["root_3d"] = np.round(root(camera_joints), 1).tolist()
      annotations.append(ann)
  info = {
    "id": scenes.image_id(split, index),
    "file_name": f"{scenes.image_id(split, index):012d}.jpg",
    "width": w,
    "height": h,
    "intrinsics": np.round(K, 4).tolist(),
    "camera_height_mm": round(float(height_mm), 1),
    "camera_pitch_deg": round(float(pitch_deg), 3),
  }
  return image, info, annotations


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description="Writes a synthetic 3D COCO-format dataset.")
  parser.add_argument("--out", required=True, help="dataset directory (COCO layout)")
  parser.add_argument("--train", type=int, default=1024, help="training images (default 1024)")
  parser.add_argument("--val", type=int, default=64, help="validation images (default 64)")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--size", type=int, default=256, help="image height in pixels")
  parser.add_argument("--workers", type=int, help="processes (default: all cores)")
  args = parser.parse_args(argv)
  for split, count in (("train2017", args.train), ("val2017", args.val)):
    path = synthetic_writer.write_split(
      args.out,
      split,
      count,
      args.seed,
      args.size,
      args.workers,
      make=make_image,
      description="rtpe-jax synthetic 3D people",
    )
    print(f"{split}: {count} images -> {path}")


if __name__ == "__main__":
  main()
