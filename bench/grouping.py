"""Milliseconds per image for the whole post-processing, against plain NumPy.

  python -m bench.grouping [--runs 50] [--size 256] [--json FILE]
  python -m bench.grouping --model out/quickstart/export --image crowded.jpg

Maps: 17 x 256 x 256 heatmaps with 1, 5 and 20 people (Gaussian peaks on a
noisy floor) and two tag maps per joint (as after the flip test). Timed: NMS,
top-k, tag matching, adjust, refine, scores and mapping to image coordinates
(`rtpe_jax.inference.grouping` + `protocol.to_image`), median of --runs after warm-up.
The baseline is the same algorithm written plainly in NumPy (below); both give
the same people (checked before timing).
"""

import argparse
import json

import jax
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bench.common import machine, median_seconds
from rtpe_jax.inference import grouping, protocol


def make_maps(people: int, size: int, seed: int = 0):
  """heatmaps (H, W, 17), tags (H, W, 17, 2) of `people` random people."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[:size, :size].astype(np.float32)
  heatmaps = rng.uniform(0, 0.05, (size, size, 17)).astype(np.float32)
  tags = rng.normal(0, 3, (size, size, 17, 2)).astype(np.float32)
  for p in range(people):
    centre = rng.uniform(0.15, 0.85, 2) * size
    for k in range(17):
      x, y = centre + rng.normal(0, 0.06 * size, 2)
      g = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 8.0) * rng.uniform(0.5, 1.0)
      heatmaps[..., k] = np.maximum(heatmaps[..., k], g)
      near = g > 0.05
      tags[near, k] = 2.0 * p + rng.normal(0, 0.1, (near.sum(), 2))
  return heatmaps, tags


def numpy_candidates(heatmaps, tags, cfg=grouping.GroupingConfig()):
  """NMS by a sliding max and top-k by sorting, in NumPy: values (J, K), x, y
  (J, K) and tags (J, K, D) of heatmaps (H, W, J), tags (H, W, J | 1, D)."""
  h, w, j = heatmaps.shape
  pad = cfg.nms_kernel // 2
  padded = np.pad(heatmaps, [(pad, pad), (pad, pad), (0, 0)], constant_values=-np.inf)
  window = sliding_window_view(padded, (cfg.nms_kernel, cfg.nms_kernel), axis=(0, 1))
  peaks = np.where(window.max(axis=(-2, -1)) == heatmaps, heatmaps, 0.0)
  flat = peaks.transpose(2, 0, 1).reshape(j, -1)
  index = np.argsort(-flat, axis=1, kind="stable")[:, : cfg.max_num_people]
  values = np.take_along_axis(flat, index, 1)
  tag_maps = np.broadcast_to(tags, (h, w, j, tags.shape[-1])).transpose(2, 0, 1, 3)
  picked = np.take_along_axis(tag_maps.reshape(j, h * w, -1), index[..., None], 1)
  return {"values": values, "x": index % w, "y": index // w, "tags": picked}


def numpy_adjust(people, heatmaps):
  """x, y + 0.5 and +-0.25 toward the larger neighbour, on the host."""
  people = people.copy()
  maps = np.moveaxis(heatmaps, -1, 0)
  p, j = np.nonzero(people[..., 2] > 0)
  x, y = people[p, j, 0].astype(np.int64), people[p, j, 1].astype(np.int64)
  h, w = maps.shape[1:]
  right = maps[j, y, np.minimum(x + 1, w - 1)] > maps[j, y, np.maximum(x - 1, 0)]
  down = maps[j, np.minimum(y + 1, h - 1), x] > maps[j, np.maximum(y - 1, 0), x]
  people[p, j, 0] = x + 0.5 + np.where(right, 0.25, -0.25)
  people[p, j, 1] = y + 0.5 + np.where(down, 0.25, -0.25)
  return people


def numpy_group(heatmaps, tags, cfg=grouping.GroupingConfig()):
  """The same algorithm in plain NumPy: NMS by a sliding max, top-k by sorting,
  refine by full-map NumPy arithmetic per person."""
  h, w, j = heatmaps.shape
  tag_maps = np.broadcast_to(tags, (h, w, j, tags.shape[-1])).transpose(2, 0, 1, 3)
  top = numpy_candidates(heatmaps, tags, cfg)
  xy = np.stack([top["x"], top["y"]], -1).astype(np.float64)
  people = grouping.match_by_tag(
    top["values"].astype(np.float64), xy, top["tags"].astype(np.float64), cfg
  )
  people = numpy_adjust(people, heatmaps)
  scores = people[..., 2].mean(axis=1)
  maps = heatmaps.transpose(2, 0, 1)
  for person in people:
    detected = np.nonzero(person[:, 2] > 0)[0]
    mean = tag_maps[detected, person[detected, 1].astype(int), person[detected, 0].astype(int)]
    mean = mean.mean(axis=0)
    for k in range(j):
      score = maps[k] - np.round(np.sqrt(((tag_maps[k] - mean) ** 2).sum(-1)))
      y, x = np.unravel_index(np.argmax(score), score.shape)
      if maps[k, y, x] > 0 and person[k, 2] == 0:
        dx = 0.25 if maps[k, y, min(x + 1, w - 1)] > maps[k, y, max(x - 1, 0)] else -0.25
        dy = 0.25 if maps[k, min(y + 1, h - 1), x] > maps[k, max(y - 1, 0), x] else -0.25
        person[k, :3] = (x + 0.5 + dx, y + 0.5 + dy, maps[k, y, x])
  return people.astype(np.float32), scores.astype(np.float32)


def full_path(group, heatmaps, tags, mapping):
  people, scores = group(heatmaps, tags)
  keypoints = people[..., :3].copy()
  keypoints[..., :2] = protocol.to_image(keypoints[..., :2], *mapping)
  return keypoints, scores


def share_in_path(model_dir: str, image: np.ndarray, runs: int = 20) -> dict:
  """The grouping's share of the whole path (image -> COCO keypoints, one scale,
  flip test) of a model on one image: medians of the whole `predict_image`, of
  the network part (`run_network` until its maps are ready) and of the host part
  (`group_frame` on a ready frame)."""
  from rtpe_jax.inference import predictor

  model = predictor.load(model_dir)
  frame = predictor.run_network(model, image)
  jax.block_until_ready((frame.heatmaps, frame.tags, frame.candidates))
  people, _ = predictor.group_frame(frame)
  whole = median_seconds(lambda: predictor.predict_image(model, image), runs)
  network = median_seconds(
    lambda: (lambda f: (f.heatmaps, f.tags, f.candidates))(predictor.run_network(model, image)),
    runs,
  )
  group = median_seconds(lambda: predictor.group_frame(frame), runs)
  return {
    "people": len(people),
    "whole_ms": 1e3 * whole,
    "network_ms": 1e3 * network,
    "grouping_ms": 1e3 * group,
    "grouping_share": group / whole,
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument(
    "--model", help="with --image: the grouping's share of this model's whole path"
  )
  parser.add_argument("--image", help="a (crowded) image for --model")
  parser.add_argument("--runs", type=int, default=50)
  parser.add_argument("--size", type=int, default=256)
  parser.add_argument("--people", type=int, nargs="+", default=[1, 5, 20])
  parser.add_argument("--json")
  args = parser.parse_args()
  if args.model:
    from rtpe_jax.data.images import read_image

    row = share_in_path(args.model, read_image(args.image, 0), args.runs)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))
    return
  mapping = (np.array([320, 240]), np.array([3.2, 2.4]), (args.size, args.size))
  ours = lambda hm, tg: grouping.group(hm[None], tg[None])[0]
  rows = []
  for count in args.people:
    heatmaps, tags = make_maps(count, args.size)
    a, b = full_path(ours, heatmaps, tags, mapping), full_path(numpy_group, heatmaps, tags, mapping)
    np.testing.assert_allclose(a[0], b[0], atol=1e-4)
    row = {
      "people": count,
      "found": len(a[0]),
      "jax_ms": 1e3 * median_seconds(lambda: full_path(ours, heatmaps, tags, mapping), args.runs),
      "numpy_ms": 1e3
      * median_seconds(
        lambda: full_path(numpy_group, heatmaps, tags, mapping), max(5, args.runs // 5)
      ),
    }
    row["speedup"] = row["numpy_ms"] / row["jax_ms"]
    rows.append(row)
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}))
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"machine": machine(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
  main()
