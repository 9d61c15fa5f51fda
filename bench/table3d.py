"""The 3D table of a 3D student on the synthetic 3D val split, with its baselines.

  python -m bench.table3d --model out/quickstart3d/export --lifter out/lifter/export \
      --coco data/synthetic3d --out bench/results_3d.json

Rows (every one through the same 2D matching and `metrics3d.evaluate`, the
joints in the image scored, as the trainer's table):
  student            the depth maps read at the grouped joints (`depth.read_people`)
  constant root      the same people moved along their rays to the training split's
                     median root depth (what the root-depth map is worth)
  mean pose          the training split's mean root-relative pose at the student's
                     roots (what the relative-depth maps and the 2D are worth)
  lifter, student 2D the lifter (`rtpe_jax.threed.lifter`) on the student's 2D joints
                     (value >= --joint-threshold seen), at the student's roots
  lifter, exact 2D   the lifter on the ground truth's 2D, at the true roots: its
                     relative figures only (the roots are given)
and the whole path's time, image -> 3D people (`predictor.predict_image_3d`, the
model's flip setting or --no-flip, fp32, batch 1, the predictor's canvases; the grouping and reading on the host
included): median over a second pass of the val images, every canvas compiled
in the first, on this machine (nothing else should run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from bench.common import machine
from rtpe_jax import depth
from rtpe_jax.data import coco
from rtpe_jax.data.images import read_image
from rtpe_jax.inference import predictor
from rtpe_jax.threed import lifter, metrics3d
from rtpe_jax.train.minival import truth_3d


def training_priors(root: str, split: str = "train2017"):
  """(mean root-relative pose (17, 3) mm, median root depth mm) of a split."""
  index = coco.load_coco(root, split)
  poses, depths = [], []
  for image_id in coco.select_image_ids(index):
    people = truth_3d(index, image_id)["keypoints_3d"]
    if len(people):
      poses.append(metrics3d.root_relative(people))
      depths.append(metrics3d.root(people)[:, 2])
  return np.concatenate(poses).mean(0), float(np.median(np.concatenate(depths)))


def at_roots(relative: np.ndarray, roots: np.ndarray) -> np.ndarray:
  return relative + roots[:, None, :]


def moved_to_depth(people: np.ndarray, keypoints: np.ndarray, K, root_depth: float):
  """People (P, 17, 3) mm moved along their joints' rays so that their roots lie
  at `root_depth` (the relative depths kept)."""
  z = people[..., 2] - metrics3d.root(people)[:, None, 2] + root_depth
  return depth.back_project(keypoints, z, K)


def run(model_dir, lifter_dir, root, split, joint_threshold, flip=None):
  model = predictor.load(model_dir)
  if flip is not None:
    model = dataclasses.replace(model, flip=flip)
  lifter_model = lifter.load(lifter_dir) if lifter_dir else None
  mean_pose, median_depth = training_priors(root)
  index = coco.load_coco(root, split)
  rows = {
    name: []
    for name in ("student", "constant root", "mean pose", "lifter, student 2D", "lifter, exact 2D")
  }
  truths, seconds, images = [], [], []
  for image_id in coco.select_image_ids(index):
    info = index.imgs[image_id]
    K = np.asarray(info["intrinsics"])
    image = read_image(coco.image_path(root, split, info["file_name"]), image_id)
    images.append((image, K))
    keypoints, scores, people = predictor.predict_image_3d(model, image, K)
    truth = truth_3d(index, image_id)
    truths.append(truth)
    roots = metrics3d.root(people) if len(people) else np.zeros((0, 3))
    entry = lambda p3, p2=keypoints, s=scores: {"keypoints_2d": p2, "keypoints_3d": p3, "scores": s}
    rows["student"].append(entry(people))
    rows["constant root"].append(entry(moved_to_depth(people, keypoints, K, median_depth)))
    rows["mean pose"].append(entry(at_roots(np.broadcast_to(mean_pose, people.shape), roots)))
    if lifter_model is not None:
      seen = keypoints.copy()
      seen[..., :2] -= 0.5  # positions -> pixel indices, as the lifter takes them
      seen[..., 2] = keypoints[..., 2] >= joint_threshold
      rows["lifter, student 2D"].append(entry(at_roots(lifter.lift(lifter_model, seen, K), roots)))
      exact = truth["keypoints_2d"].copy()
      exact[..., :2] -= 0.5
      true_roots = metrics3d.root(truth["keypoints_3d"])
      lifted = at_roots(lifter.lift(lifter_model, exact, K), true_roots)
      rows["lifter, exact 2D"].append(entry(lifted, truth["keypoints_2d"], np.ones(len(lifted))))
  for image, K in images:  # every canvas compiled by now
    start = time.perf_counter()
    predictor.predict_image_3d(model, image, K)
    seconds.append(time.perf_counter() - start)
  table = {
    name: metrics3d.evaluate(predictions, truths, labelled_only=True)
    for name, predictions in rows.items()
    if predictions
  }
  return table, 1e3 * float(np.median(seconds))


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--model", required=True, help="a 3D student's model directory")
  parser.add_argument("--lifter", default="", help="a lifter's model directory (rows 4, 5)")
  parser.add_argument("--coco", default="data/synthetic3d")
  parser.add_argument("--split", default="val2017")
  parser.add_argument("--joint-threshold", type=float, default=0.1)
  parser.add_argument("--out", default="", help="also write the table here (JSON)")
  parser.add_argument(
    "--no-flip", action="store_true", help="one network pass (default: as the model was scored)"
  )
  args = parser.parse_args(argv)
  flip = False if args.no_flip else None
  table, ms = run(args.model, args.lifter, args.coco, args.split, args.joint_threshold, flip)
  for name, stats in table.items():
    print(f"{name}:\n{metrics3d.format_table(stats)}")
  print(f"whole path image -> 3D people: {ms:.1f} ms median ({machine()})")
  if args.out:
    with open(args.out, "w") as f:
      json.dump(
        {"rows": table, "whole_path_ms": ms, "machine": machine(), **vars(args)}, f, indent=1
      )


if __name__ == "__main__":
  main()
