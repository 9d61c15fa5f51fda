"""A synthetic COCO-format person-keypoints dataset, for CPU runs and tests.

  python -m rtpe_jax.data.synthetic --out data/synthetic --train 256 --val 64 --seed 0
  python -m rtpe_jax.data.synthetic --out data/synthetic --unlabelled 4096   # + a pool
  python -m rtpe_jax.data.synthetic --video out/clip.avi    # a 24-frame clip for predict.py

writes, exactly as COCO lays it out::

  OUT/images/train2017/000000000001.jpg ...
  OUT/images/val2017/...
  OUT/annotations/person_keypoints_train2017.json
  OUT/annotations/person_keypoints_val2017.json

and with --unlabelled N an extra split of N images that training treats as
unlabelled (as COCO's unlabeled2017; it learns from them through a teacher's
predictions, `rtpe_jax.data.unlabelled`): OUT/images/unlabelled2017/, its labels
kept apart in OUT/annotations/withheld_person_keypoints_unlabelled2017.json, a
name no loader reads (only to score the teacher on the pool:
`infer_teacher.py --images ... --annotations ...`).

Each image has 0 to 6 articulated figures (outlined limbs and torso of varied
colours and widths, hands, shoes, a face when facing the camera, hair when
seen from the back) of small, medium and large size on a textured background
with distractor shapes. Joints covered by a figure drawn later get v=1, joints
outside the frame v=0. Some images hold a crowd region (iscrowd=1, RLE) and
some people are annotated without keypoints (num_keypoints=0), as in COCO.
Each image depends only on (seed, split, index), so the result is the same
whatever the number of worker processes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from rtpe_jax import keypoints

SPLITS = {"train2017": 0, "val2017": 1, "unlabelled2017": 2}
UNLABELLED = "unlabelled2017"
WITHHELD = "withheld_person_keypoints_{split}.json"  # the unlabelled split's labels
# Limbs drawn as thick segments: (joint a, joint b, relative width).
LIMBS = (
  (5, 7, 0.09),
  (7, 9, 0.07),
  (6, 8, 0.09),
  (8, 10, 0.07),
  (11, 13, 0.12),
  (13, 15, 0.09),
  (12, 14, 0.12),
  (14, 16, 0.09),
)


def image_id(split: str, index: int) -> int:
  """Distinct ids across splits: train 1.., val 1_000_001.., unlabelled 2_000_001.."""
  return SPLITS[split] * 1_000_000 + index + 1


def _rotate(v, angle):
  c, s = np.cos(angle), np.sin(angle)
  return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def make_pose(rng: np.random.Generator, center: np.ndarray, height: float) -> np.ndarray:
  """17 (x, y) joints of a standing / walking / waving figure `height` px tall."""
  lean = rng.normal(0, 0.12)
  up = _rotate(np.array([0.0, -1.0]), lean)
  right = np.array([-up[1], up[0]])  # image right when facing the camera
  facing = rng.choice([-1.0, 1.0], p=[0.3, 0.7])  # -1: seen from the back (left/right swap)
  hip_mid = center + up * 0.02 * height
  neck = hip_mid + up * 0.33 * height
  head = neck + up * 0.11 * height
  j = np.zeros((17, 2))
  shoulder = 0.11 * height
  hip = 0.07 * height
  # COCO "left" is the person's left: on the image right when facing the camera.
  j[5], j[6] = neck + facing * right * shoulder, neck - facing * right * shoulder
  j[11], j[12] = hip_mid + facing * right * hip, hip_mid - facing * right * hip
  for side, (s, e, w) in enumerate(((5, 7, 9), (6, 8, 10))):
    sign = facing * (1 if side == 0 else -1)
    a1 = rng.uniform(-0.3, 2.6)  # upper arm: hanging .. raised
    a2 = a1 + rng.uniform(-0.2, 1.8)
    down = -up
    j[e] = j[s] + _rotate(down, sign * a1) * 0.17 * height
    j[w] = j[e] + _rotate(down, sign * a2) * 0.15 * height
  for side, (h, k, a) in enumerate(((11, 13, 15), (12, 14, 16))):
    sign = facing * (1 if side == 0 else -1)
    t1 = rng.uniform(-0.15, 0.5)
    t2 = t1 - rng.uniform(0.0, 0.8)
    down = -up
    j[k] = j[h] + _rotate(down, sign * t1) * 0.24 * height
    j[a] = j[k] + _rotate(down, sign * t2) * 0.23 * height
  turn = rng.uniform(-0.5, 0.5)  # head yaw: moves the face features sideways
  eye = 0.035 * height
  j[0] = head + right * turn * 0.04 * height - up * 0.01 * height
  j[1] = head + facing * right * eye + right * turn * 0.03 * height + up * 0.015 * height
  j[2] = head - facing * right * eye + right * turn * 0.03 * height + up * 0.015 * height
  j[3] = head + facing * right * 0.06 * height
  j[4] = head - facing * right * 0.06 * height
  return j


def _segment_polygon(a, b, width) -> list[tuple[float, float]]:
  d = b - a
  n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6) * width / 2
  return [tuple(a + n), tuple(b + n), tuple(b - n), tuple(a - n)]


def _ellipse_polygon(c, rx, ry, n=16) -> list[tuple[float, float]]:
  t = np.linspace(0, 2 * np.pi, n, endpoint=False)
  return [(c[0] + rx * np.cos(a), c[1] + ry * np.sin(a)) for a in t]


def body_polygons(j: np.ndarray, height: float, rng: np.random.Generator):
  """Filled shapes of a figure: [(polygon, colour)] in drawing order (its mask)."""
  skin = tuple(int(v) for v in rng.integers(90, 240, 3))
  shirt = tuple(int(v) for v in rng.integers(0, 256, 3))
  trousers = tuple(int(v) for v in rng.integers(0, 256, 3))
  thickness = rng.uniform(0.8, 1.3)
  neck = (j[5] + j[6]) / 2
  shapes = [([tuple(j[5]), tuple(j[6]), tuple(j[12]), tuple(j[11])], shirt)]
  for a, b, w in LIMBS:
    colour = shirt if a in (5, 6, 7, 8) else trousers
    shapes.append((_segment_polygon(j[a], j[b], w * height * thickness), colour))
  head = (j[3] + j[4]) / 2
  shapes.append((_segment_polygon(neck, head, 0.06 * height), skin))
  shapes.append((_ellipse_polygon(head, 0.075 * height, 0.09 * height), skin))
  return shapes


def facing_camera(j: np.ndarray) -> bool:
  """Whether the figure faces the camera: its left shoulder is on the image right."""
  return bool(j[5, 0] > j[6, 0])


def draw_figure(
  draw: ImageDraw.ImageDraw, j: np.ndarray, height: float, rng: np.random.Generator
) -> list:
  """Draws one figure as a wooden mannequin and returns its mask polygons.

  Every shape is outlined (an arm over the torso stays visible), hands and
  shoes mark the wrists and ankles, and the face (eyes, nose) is drawn only
  when the figure faces the camera; from the back the head is hair. These are
  the cues a photo gives about which joint is which.
  """
  shapes = body_polygons(j, height, rng)
  hair = tuple(int(v) for v in rng.integers(10, 90, 3))
  shoe = tuple(int(v) for v in rng.integers(0, 70, 3))
  width = max(1, int(round(0.012 * height)))
  for poly, colour in shapes:
    draw.polygon(poly, fill=colour, outline=tuple(c // 3 for c in colour), width=width)
  skin = shapes[-1][1]
  disc = lambda c, r, fill: draw.ellipse([*(c - r), *(c + r)], fill=fill)
  for k in (9, 10):
    disc(j[k], 0.035 * height, skin)
  for k in (15, 16):
    disc(j[k], 0.04 * height, shoe)
  head = (j[3] + j[4]) / 2
  r = max(1.5, 0.012 * height)
  if facing_camera(j):
    for k in (1, 2):
      disc(j[k], r, (20, 20, 20))
    disc(j[0], r, (150, 40, 40))
  else:
    draw.ellipse(
      [
        head[0] - 0.075 * height,
        head[1] - 0.09 * height,
        head[0] + 0.075 * height,
        head[1] + 0.09 * height,
      ],
      fill=hair,
    )
  hands = [_ellipse_polygon(j[k], 0.035 * height, 0.035 * height, 8) for k in (9, 10)]
  feet = [_ellipse_polygon(j[k], 0.04 * height, 0.04 * height, 8) for k in (15, 16)]
  return [p for p, _ in shapes] + hands + feet


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
  yy, xx = np.mgrid[0:h, 0:w]
  base = rng.uniform(40, 215, 3)
  slope = rng.normal(0, 0.25, (2, 3))
  img = base + xx[..., None] * slope[0] + yy[..., None] * slope[1]
  period = rng.uniform(6, 40)
  img += 18 * np.sin((xx * np.cos(period) + yy * np.sin(period)) / period)[..., None]
  img += rng.normal(0, 8, (h, w, 3))
  image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
  draw = ImageDraw.Draw(image)
  for _ in range(rng.integers(2, 8)):
    x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
    size = rng.uniform(8, max(w, h) / 4)
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    kind = rng.integers(3)
    if kind == 0:
      draw.ellipse([x0, y0, x0 + size, y0 + size * rng.uniform(0.3, 1.5)], fill=colour)
    elif kind == 1:
      draw.rectangle([x0, y0, x0 + size * rng.uniform(0.2, 2), y0 + size], fill=colour)
    else:
      pts = [(x0 + rng.uniform(-size, size), y0 + rng.uniform(-size, size)) for _ in range(3)]
      draw.polygon(pts, fill=colour)
  return image


def _polygon_mask(polygons, w: int, h: int) -> np.ndarray:
  mask = Image.new("L", (w, h), 0)
  draw = ImageDraw.Draw(mask)
  for poly in polygons:
    draw.polygon(poly, fill=1)
  return np.asarray(mask, dtype=bool)


def _annotation(mask: np.ndarray, polygons, keypoints: np.ndarray | None, iscrowd: bool):
  """COCO annotation fields (no ids) of one person or crowd region; None if unseen."""
  rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
  area = float(mask_utils.area(rle))
  if area < 4:
    return None
  bbox = [round(float(v), 2) for v in mask_utils.toBbox(rle)]
  if iscrowd:
    segmentation = _uncompressed_rle(mask)
  else:
    segmentation = [[round(float(c), 2) for pt in poly for c in pt] for poly in polygons]
  kps = np.zeros((17, 3)) if keypoints is None else keypoints
  return {
    "segmentation": segmentation,
    "area": area,
    "bbox": bbox,
    "iscrowd": int(iscrowd),
    "keypoints": [
      round(float(v), 2) if i % 3 < 2 else int(v) for i, v in enumerate(kps.reshape(-1))
    ],
    "num_keypoints": int((kps[:, 2] > 0).sum()),
    "category_id": 1,
  }


def _uncompressed_rle(mask: np.ndarray) -> dict:
  """COCO's crowd format: run lengths of the column-major mask, starting with zeros."""
  flat = mask.reshape(-1, order="F").astype(np.uint8)
  changes = np.flatnonzero(np.diff(flat)) + 1
  bounds = np.concatenate([[0], changes, [flat.size]])
  counts = np.diff(bounds).tolist()
  if flat[0]:
    counts = [0] + counts
  return {"counts": counts, "size": list(mask.shape)}


FACE = (0, 1, 2)  # nose and eyes: drawn only on figures that face the camera


def keypoint_labels(joints: np.ndarray, later_masks, w: int, h: int) -> np.ndarray:
  """COCO keypoints (17, 3) of a figure drawn at `joints` (17, 2), positions as in
  `rtpe_jax.coordinates` (PIL draws in that convention), written as COCO writes
  them: pixel indices, x - 0.5 and y - 0.5, in [0, W - 1] x [0, H - 1]. v = 1
  where a figure drawn later covers the joint, v = 2 where it is seen, and
  unlabelled (0, 0, 0) outside that range and where a photo would not show it:
  the nose and eyes of a figure seen from the back (its head is hair), as COCO
  annotators leave unseen face joints out."""
  keypoints = np.zeros((17, 3))
  facing = facing_camera(joints)
  for k, (x, y) in enumerate(joints):
    if not (0.5 <= x <= w - 0.5 and 0.5 <= y <= h - 0.5) or (k in FACE and not facing):
      continue
    covered = any(m[min(int(y), h - 1), min(int(x), w - 1)] for m in later_masks)
    keypoints[k] = (x - 0.5, y - 0.5, 1 if covered else 2)
  return keypoints


def make_image(seed: int, split: str, index: int, size: int = 256):
  """One synthetic image and its annotations (without annotation ids)."""
  rng = np.random.default_rng([seed, SPLITS[split], index])
  w = int(size * rng.choice([0.75, 1.0, 1.25]))
  h = size
  image = _background(rng, w, h)
  draw = ImageDraw.Draw(image)

  people = []  # (joints (17, 2), height, its drawing rng, annotate keypoints)
  for _ in range(rng.integers(0, 7)):
    kind = rng.choice(["small", "medium", "large"], p=[0.3, 0.45, 0.25])
    height = {
      "small": rng.uniform(30, 60),
      "medium": rng.uniform(60, 140),
      "large": rng.uniform(0.55 * h, h),
    }[kind]
    center = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(0.2, 1.0) * h])
    joints = make_pose(rng, center, height)
    # Small people are sometimes left without keypoints, as COCO annotators did.
    with_keypoints = not (kind == "small" and rng.random() < 0.25)
    people.append((joints, height, np.random.default_rng(rng.integers(2**32)), with_keypoints))

  crowd = None
  if rng.random() < 0.15:
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.3, 0.7) * h
    cw, ch = rng.uniform(0.2, 0.4) * w, rng.uniform(0.12, 0.2) * h
    crowd = []
    for _ in range(rng.integers(4, 9)):
      c = np.array([rng.uniform(cx - cw / 2, cx + cw / 2), rng.uniform(cy - ch / 2, cy + ch / 2)])
      joints = make_pose(rng, c, ch)
      crowd.extend(body_polygons(joints, ch, rng))

  if crowd:
    for poly, colour in crowd:
      draw.polygon(poly, fill=colour)
  outlines = []  # each person's mask polygons
  for joints, height, figure_rng, _ in people:
    outlines.append(draw_figure(draw, joints, height, figure_rng))
  masks = [_polygon_mask(polygons, w, h) for polygons in outlines]

  annotations = []
  for p, (joints, _, _, with_keypoints) in enumerate(people):
    keypoints = None
    if with_keypoints:
      keypoints = keypoint_labels(joints, masks[p + 1 :], w, h)
      if not keypoints[:, 2].any():
        keypoints = None
    ann = _annotation(masks[p], outlines[p], keypoints, iscrowd=False)
    if ann:
      annotations.append(ann)
  if crowd:
    ann = _annotation(_polygon_mask([p for p, _ in crowd], w, h), None, None, iscrowd=True)
    if ann:
      annotations.append(ann)

  info = {
    "id": image_id(split, index),
    "file_name": f"{image_id(split, index):012d}.jpg",
    "width": w,
    "height": h,
  }
  return image, info, annotations


def _write_one(args):
  out, seed, split, index, size, make = args
  image, info, annotations = make(seed, split, index, size)
  image.save(os.path.join(out, "images", split, info["file_name"]), quality=92, subsampling=0)
  return info, annotations


def write_split(
  out: str,
  split: str,
  count: int,
  seed: int,
  size: int = 256,
  workers: int | None = None,
  make=make_image,
  description: str = "rtpe-jax synthetic person keypoints",
  annotation_name: str = "person_keypoints_{split}.json",
) -> str:
  """Writes the images and annotation json of one split; returns the json path.
  `make(seed, split, index, size) -> (PIL image, image info, annotations)`, a
  module-level function (the worker processes import it)."""
  os.makedirs(os.path.join(out, "images", split), exist_ok=True)
  os.makedirs(os.path.join(out, "annotations"), exist_ok=True)
  jobs = [(out, seed, split, i, size, make) for i in range(count)]
  workers = workers or min(os.cpu_count() or 1, 8)
  if workers > 1:
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
      results = pool.map(_write_one, jobs, chunksize=max(1, count // (4 * workers)))
  else:
    results = list(map(_write_one, jobs))
  images, annotations = [], []
  for info, anns in results:
    images.append(info)
    for ann in anns:
      annotations.append({"id": len(annotations) + 1, "image_id": info["id"], **ann})
  dataset = {
    "info": {
      "description": f"{description}, seed {seed}",
      "version": "1.0",
      "year": 2026,
    },
    "licenses": [],
    "images": images,
    "annotations": annotations,
    "categories": [keypoints.CATEGORY],
  }
  path = os.path.join(out, "annotations", annotation_name.format(split=split))
  with open(path, "w") as f:
    json.dump(dataset, f)
  return path


def video_frames(num_frames: int = 24, size: int = 256, people: int = 3, seed: int = 0):
  """RGB uint8 frames (size * 4/3 x size) of figures walking across a fixed
  background, and their joints per frame (num_frames, people, 17, 2) as positions
  (`rtpe_jax.coordinates`)."""
  rng = np.random.default_rng([seed, 2])
  w, h = int(size * 4 / 3), size
  background = _background(rng, w, h)
  starts = [
    (
      rng.uniform(0.1, 0.9) * w,
      rng.uniform(0.5, 0.9) * h,
      rng.uniform(80, 1.0 * h),
      rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 3.0),
    )
    for _ in range(people)
  ]
  frames, joints = [], []
  for t in range(num_frames):
    image = background.copy()
    draw = ImageDraw.Draw(image)
    frame_joints = []
    for p, (x, y, height, speed) in enumerate(starts):
      person_rng = np.random.default_rng([seed, 3, p])  # the same pose and colours every frame
      j = make_pose(person_rng, np.array([x + speed * t, y]), height)
      draw_figure(draw, j, height, person_rng)
      frame_joints.append(j)
    frames.append(np.asarray(image))
    joints.append(frame_joints)
  return frames, np.asarray(joints)


def write_video(
  path: str, num_frames: int = 24, size: int = 256, seed: int = 0, fps: float = 12.0
) -> str:
  """A short synthetic video (Motion-JPEG .avi) for `predict.py --video`."""
  import cv2

  frames, _ = video_frames(num_frames, size, seed=seed)
  h, w = frames[0].shape[:2]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
  if not writer.isOpened():
    raise RuntimeError(f"{path}: OpenCV cannot write Motion-JPEG video here")
  for frame in frames:
    writer.write(frame[..., ::-1])
  writer.release()
  return path


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description="Writes a synthetic COCO-format keypoint dataset.")
  parser.add_argument("--out", help="dataset directory (COCO layout)")
  parser.add_argument(
    "--train",
    type=int,
    default=1024,
    help="training images (default 1024; 0: leave the split as it is)",
  )
  parser.add_argument("--val", type=int, default=64, help="validation images (default 64)")
  parser.add_argument(
    "--unlabelled",
    type=int,
    default=0,
    help="images of an extra unlabelled split (labels withheld; default 0: none)",
  )
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--size", type=int, default=256, help="image height in pixels")
  parser.add_argument("--workers", type=int, help="processes (default: all cores)")
  parser.add_argument("--video", help="write a short synthetic video (.avi) here")
  args = parser.parse_args(argv)
  if not (args.out or args.video):
    parser.error("give --out (a dataset), --video (a clip) or both")
  if args.video:
    print(f"video: {write_video(args.video, size=args.size, seed=args.seed)}")
  if not args.out:
    return
  for split, count in (("train2017", args.train), ("val2017", args.val)):
    if not count:  # 0: leave that split as it is
      continue
    path = write_split(args.out, split, count, args.seed, args.size, args.workers)
    print(f"{split}: {count} images -> {path}")
  if args.unlabelled:
    path = write_split(
      args.out,
      UNLABELLED,
      args.unlabelled,
      args.seed,
      args.size,
      args.workers,
      annotation_name=WITHHELD,
    )
    print(f"{UNLABELLED}: {args.unlabelled} images, labels withheld in {path}")


if __name__ == "__main__":
  main()
