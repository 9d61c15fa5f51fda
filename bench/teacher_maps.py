"""The teacher's stored heatmaps against the ground truth, per figure size.

  python -m bench.teacher_maps --store out/teacher_synthetic/predictions/teacher \
      --annotations data/synthetic/annotations/person_keypoints_train2017.json --images 256
  python -m bench.teacher_maps --store out/teacher_synthetic/unlabelled/teacher \
      --annotations data/synthetic/annotations/withheld_person_keypoints_unlabelled2017.json

For each labelled joint of the first --images images (sorted ids) that the store
holds: the peak of the teacher's map for that joint within --radius map cells of
where the joint's peak belongs (the store's own affine, inverted), and that peak's
offset from it (argmax, refined by the centroid of its 3 x 3 neighbourhood, in
map cells). Per COCO area range (small < 32^2 <= medium < 96^2 <= large): the
joints, the median peak, the share of joints with no peak above --low, and the
mean offset and median distance of the peaks above --low. What a target mixed
from these maps and the ground truth (whose Gaussians peak at 1 on the joint)
gives each size of figure.
"""

from __future__ import annotations

import argparse

import numpy as np

from rtpe_jax import coordinates
from rtpe_jax.data import coco
from rtpe_jax.data.teacher_store import TeacherStore

SIZES = (("small", 0.0), ("medium", 32.0**2), ("large", 96.0**2))


def size_of(area: float) -> str:
  """COCO's area range of a person."""
  return [name for name, low in SIZES if area >= low][-1]


def joint_peaks(heatmaps: np.ndarray, affine, keypoints: np.ndarray, radius: int = 2):
  """heatmaps (H, W, 17), affine (2, 3) (map position of a peak -> image position),
  keypoints (17, 3) image positions and visibility -> (peaks (J,), offsets (J, 2)
  map cells (x, y), joints (J,)) for the labelled joints whose window of `radius`
  cells lies inside the map."""
  h, w, _ = heatmaps.shape
  to_map = np.linalg.inv(coordinates.as_3x3(affine))
  peaks, offsets, joints = [], [], []
  for j in np.nonzero(keypoints[:, 2] > 0)[0]:
    u, v = coordinates.apply(to_map, keypoints[j, :2])
    col, row = int(np.floor(u)), int(np.floor(v))
    if not (radius <= col < w - radius and radius <= row < h - radius):
      continue
    window = heatmaps[row - radius : row + radius + 1, col - radius : col + radius + 1, j]
    r, c = np.unravel_index(np.argmax(window), window.shape)
    r0, c0 = row - radius + r, col - radius + c
    near = np.clip(heatmaps[max(r0 - 1, 0) : r0 + 2, max(c0 - 1, 0) : c0 + 2, j], 0.0, None)
    ys = np.arange(max(r0 - 1, 0), min(r0 + 2, h)) + 0.5
    xs = np.arange(max(c0 - 1, 0), min(c0 + 2, w)) + 0.5
    total = max(float(near.sum()), 1e-12)
    peak_xy = (near.sum(0) @ xs / total, near.sum(1) @ ys / total)
    peaks.append(float(window[r, c]))
    offsets.append((peak_xy[0] - u, peak_xy[1] - v))
    joints.append(int(j))
  return np.array(peaks), np.array(offsets).reshape(-1, 2), np.array(joints, int)


def size_table(store: TeacherStore, ground_truth, image_ids, radius: int, low: float) -> dict:
  """Per area range: joints, median peak, share below `low`, mean offset, median distance."""
  found = {name: ([], []) for name, _ in SIZES}
  for image_id in image_ids:
    prediction = store[image_id]
    for ann in ground_truth.loadAnns(ground_truth.getAnnIds(imgIds=image_id, iscrowd=False)):
      keypoints = coordinates.from_coco_keypoints(np.reshape(ann["keypoints"], (-1, 3)))
      peaks, offsets, _ = joint_peaks(prediction.heatmaps, prediction.affine, keypoints, radius)
      size_peaks, size_offsets = found[size_of(ann["area"])]
      size_peaks.extend(peaks)
      size_offsets.extend(offsets)
  table = {}
  for name, (peaks, offsets) in found.items():
    if not peaks:
      continue
    peaks, offsets = np.array(peaks), np.array(offsets)
    clear = offsets[peaks >= low]
    table[name] = {
      "joints": len(peaks),
      "median_peak": float(np.median(peaks)),
      "below_low": float(np.mean(peaks < low)),
      "mean_offset": clear.mean(0).tolist() if len(clear) else [float("nan")] * 2,
      "median_distance": float(np.median(np.hypot(*clear.T))) if len(clear) else float("nan"),
    }
  return table


def main(argv=None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--store", required=True, help="a teacher store directory")
  parser.add_argument("--annotations", required=True, help="person_keypoints_*.json")
  parser.add_argument("--images", type=int, default=0, help="the first N images (0: all)")
  parser.add_argument("--radius", type=int, default=2, help="map cells searched for the peak")
  parser.add_argument("--low", type=float, default=0.3, help="a peak below this is missing")
  args = parser.parse_args(argv)
  store = TeacherStore(args.store)
  ground_truth = coco.load_coco_file(args.annotations)
  ids = [i for i in sorted(ground_truth.getImgIds()) if i in store][: args.images or None]
  if not ids:
    raise SystemExit(f"{args.store}: holds none of the images of {args.annotations}")
  table = size_table(store, ground_truth, ids, args.radius, args.low)
  print(f"{len(ids)} images of {args.annotations}, {args.store}")
  print(
    f"| size | joints | median peak | peak < {args.low} | mean offset (x, y) | median distance |"
  )
  print("| --- | --- | --- | --- | --- | --- |")
  for name, row in table.items():
    dx, dy = row["mean_offset"]
    print(
      f"| {name} | {row['joints']} | {row['median_peak']:.3f} | {100 * row['below_low']:.1f} % "
      f"| {dx:+.3f}, {dy:+.3f} | {row['median_distance']:.3f} |"
    )
  print("(offsets and distances in map cells)")
  return table


if __name__ == "__main__":
  main()
