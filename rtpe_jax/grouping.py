"""Associative-embedding grouping: heatmaps and tags -> people, as HigherHRNet's
published results do it (Newell et al., arXiv 1611.05424).

The dense work runs on the device in JAX: NMS (a 5x5 max-pool), the top 30
candidates per joint with their tags, and the refinement search (per person
and joint, the best position of heatmap - round(||tag - person's mean tag||)).
Only the candidates leave the device; matching them by tag (Hungarian
algorithm) is a small host problem. The assignment solver matters when several
assignments cost the same (rounded tag distances make that common): the
`munkres` package (the default) makes the same choices as the reference and
reproduces its people exactly (tests/test_grouping.py); scipy's
`linear_sum_assignment` ("scipy") is faster and finds an assignment of the same
cost, not always the same one.

Shapes: heatmaps (B, H, W, J); tags (B, H, W, J or 1, D), one tag map per joint
or one shared by all joints, D >= 1 (2 after flip testing). A person is a
(J, 3 + D) array: x, y (heatmap pixels), value, the D tags of each joint.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import munkres
import numpy as np
from scipy.optimize import linear_sum_assignment

# Joints are matched in this order: head, shoulders, hips, then the limbs.
JOINT_ORDER = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)


@dataclasses.dataclass(frozen=True)
class GroupingConfig:
  max_num_people: int = 30
  detection_threshold: float = 0.1
  tag_threshold: float = 1.0
  use_detection_val: bool = True
  ignore_too_much: bool = False
  nms_kernel: int = 5
  adjust: bool = True
  refine: bool = True
  joint_order: tuple[int, ...] = JOINT_ORDER
  assignment: str = "munkres"  # or "scipy"


def nms(heatmaps: jax.Array, kernel: int = 5) -> jax.Array:
  """(B, H, W, J): values that are the max of their kernel x kernel neighbourhood, else 0."""
  pad = (kernel - 1) // 2
  pooled = jax.lax.reduce_window(heatmaps, -jnp.inf, jax.lax.max, (1, kernel, kernel, 1),
                                 (1, 1, 1, 1), [(0, 0), (pad, pad), (pad, pad), (0, 0)])
  return jnp.where(pooled == heatmaps, heatmaps, 0.0)


def _expand_tags(tags: jax.Array, num_joints: int) -> jax.Array:
  """(B, H, W, 1 | J, D) -> (B, H, W, J, D)."""
  return jnp.broadcast_to(tags, (*tags.shape[:3], num_joints, tags.shape[-1]))


@functools.partial(jax.jit, static_argnames=("k", "kernel"))
def top_candidates(heatmaps: jax.Array, tags: jax.Array, k: int = 30, kernel: int = 5):
  """Per image and joint the k best NMS peaks: values (B, J, k), x and y (B, J, k)
  int32, tags (B, J, k, D)."""
  b, h, w, j = heatmaps.shape
  peaks = nms(heatmaps.astype(jnp.float32), kernel)
  flat = peaks.transpose(0, 3, 1, 2).reshape(b, j, h * w)
  values, index = jax.lax.top_k(flat, k)
  tag_maps = _expand_tags(tags.astype(jnp.float32), j).transpose(0, 3, 1, 2, 4)
  tag_maps = tag_maps.reshape(b, j, h * w, -1)
  picked = jnp.take_along_axis(tag_maps, index[..., None], axis=2)
  return {"values": values, "x": index % w, "y": index // w, "tags": picked}


def _assign(cost: np.ndarray, solver: str):
  """Minimum-cost (row, column) pairs of a cost matrix with at least as many columns as rows."""
  if solver == "munkres":
    return munkres.Munkres().compute(cost.tolist())
  if solver == "scipy":
    return list(zip(*linear_sum_assignment(cost)))
  raise ValueError(f"assignment {solver!r}: use 'munkres' or 'scipy'")


def match_by_tag(values: np.ndarray, xy: np.ndarray, tags: np.ndarray,
                 cfg: GroupingConfig = GroupingConfig()) -> np.ndarray:
  """Candidates of one image -> people (P, J, 3 + D) float32, in creation order.

  values (J, K), xy (J, K, 2), tags (J, K, D). As the reference, people are
  keyed by the first tag value of the joint that started them (a new person
  whose key exists replaces that person's joint and tag list).
  """
  num_joints, _, d = tags.shape
  people: dict[float, np.ndarray] = {}
  person_tags: dict[float, list[np.ndarray]] = {}
  for i, joint in enumerate(cfg.joint_order):
    keep = values[joint] > cfg.detection_threshold
    if not keep.any():
      continue
    rows = np.concatenate([xy[joint][keep], values[joint][keep, None], tags[joint][keep]], 1)
    cand_tags = tags[joint][keep]

    def start(row):
      key = float(cand_tags[row][0])
      people.setdefault(key, np.zeros((num_joints, 3 + d)))[joint] = rows[row]
      person_tags[key] = [cand_tags[row]]

    if i == 0 or not people:
      for row in range(len(rows)):
        start(row)
      continue
    keys = list(people)[:cfg.max_num_people]
    if cfg.ignore_too_much and len(keys) == cfg.max_num_people:
      continue
    means = np.array([np.mean(person_tags[key], axis=0) for key in keys])
    distance = np.linalg.norm(cand_tags[:, None, :] - means[None, :, :], axis=2)
    cost = np.round(distance) * 100 - rows[:, 2:3] if cfg.use_detection_val else distance.copy()
    if len(rows) > len(keys):
      cost = np.concatenate([cost, np.full((len(rows), len(rows) - len(keys)), 1e10)], 1)
    for row, col in _assign(cost, cfg.assignment):
      if col < len(keys) and distance[row, col] < cfg.tag_threshold:
        people[keys[col]][joint] = rows[row]
        person_tags[keys[col]].append(cand_tags[row])
      else:
        start(row)
  if not people:
    return np.zeros((0, num_joints, 3 + d), np.float32)
  return np.stack(list(people.values())).astype(np.float32)


def adjust(people: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
  """Sub-pixel positions: x, y of detected joints (value > 0) + 0.5 and +-0.25
  toward the larger neighbour on their heatmap (H, W, J)."""
  people = people.copy()
  maps = np.moveaxis(heatmaps, -1, 0)  # (J, H, W)
  p, j = np.nonzero(people[..., 2] > 0)
  x, y = people[p, j, 0].astype(np.int64), people[p, j, 1].astype(np.int64)
  h, w = maps.shape[1:]
  right = maps[j, y, np.minimum(x + 1, w - 1)] > maps[j, y, np.maximum(x - 1, 0)]
  down = maps[j, np.minimum(y + 1, h - 1), x] > maps[j, np.maximum(y - 1, 0), x]
  people[p, j, 0] = x + 0.5 + np.where(right, 0.25, -0.25)
  people[p, j, 1] = y + 0.5 + np.where(down, 0.25, -0.25)
  return people


@jax.jit
def refine_search(heatmaps: jax.Array, tags: jax.Array, mean_tags: jax.Array):
  """For each person's mean tag (P, D) and joint: the position of the max of
  heatmap - round(||tag - mean tag||) over the whole map (first in row-major
  order on ties), its heatmap value and quarter offsets. heatmaps (H, W, J),
  tags (H, W, J | 1, D). Returns x, y (P, J) int32, value, dx, dy (P, J)."""
  h, w, j = heatmaps.shape
  tags = jnp.broadcast_to(tags, (h, w, j, tags.shape[-1]))
  distance = jnp.sqrt(jnp.sum((tags[None] - mean_tags[:, None, None, None, :]) ** 2, -1))
  score = heatmaps[None] - jnp.round(distance)  # (P, H, W, J)
  best = jnp.argmax(score.transpose(0, 3, 1, 2).reshape(len(mean_tags), j, h * w), -1)
  x, y = best % w, best // w
  maps = heatmaps.transpose(2, 0, 1)  # (J, H, W)
  joint = jnp.arange(j)[None]
  value = maps[joint, y, x]
  right = maps[joint, y, jnp.minimum(x + 1, w - 1)] > maps[joint, y, jnp.maximum(x - 1, 0)]
  down = maps[joint, jnp.minimum(y + 1, h - 1), x] > maps[joint, jnp.maximum(y - 1, 0), x]
  return x, y, value, jnp.where(right, 0.25, -0.25), jnp.where(down, 0.25, -0.25)


def refine(people: np.ndarray, heatmaps: np.ndarray, tags: np.ndarray,
           pad_to: int | None = None) -> np.ndarray:
  """Fills each person's missing joints at the best position for its mean tag
  (value > 0 only). people (P, J, 3 + D), heatmaps (H, W, J), tags (H, W, J | 1, D).
  `pad_to` pads P so that the device search compiles once for any count."""
  if len(people) == 0:
    return people
  people = people.copy()
  j = heatmaps.shape[-1]
  full_tags = np.broadcast_to(tags, (*tags.shape[:2], j, tags.shape[-1]))
  means = []
  for person in people:
    detected = np.nonzero(person[:, 2] > 0)[0]
    x = person[detected, 0].astype(np.int32)
    y = person[detected, 1].astype(np.int32)
    means.append(full_tags[y, x, detected].mean(axis=0))
  means = np.asarray(means, np.float32)
  count = len(means)
  if pad_to and pad_to > count:
    means = np.concatenate([means, np.zeros((pad_to - count, means.shape[1]), np.float32)])
  x, y, value, dx, dy = (np.asarray(a)[:count] for a in refine_search(heatmaps, tags, means))
  fill = (value > 0) & (people[..., 2] == 0)
  people[..., 0] = np.where(fill, x + 0.5 + dx, people[..., 0])
  people[..., 1] = np.where(fill, y + 0.5 + dy, people[..., 1])
  people[..., 2] = np.where(fill, value, people[..., 2])
  return people


def group_candidates(candidates: dict, heatmaps: np.ndarray, tags: np.ndarray,
                     cfg: GroupingConfig = GroupingConfig()):
  """One image's candidates (`top_candidates` sliced to the image) -> (people
  (P, J, 3 + D), scores (P,)). Score: mean joint value before refinement."""
  xy = np.stack([candidates["x"], candidates["y"]], -1).astype(np.float64)
  people = match_by_tag(np.asarray(candidates["values"], np.float64), xy,
                        np.asarray(candidates["tags"], np.float64), cfg)
  if cfg.adjust:
    people = adjust(people, heatmaps)
  scores = people[..., 2].mean(axis=1)
  if cfg.refine:
    people = refine(people, heatmaps, tags, pad_to=cfg.max_num_people)
  return people.astype(np.float32), scores.astype(np.float32)


def group(heatmaps, tags, cfg: GroupingConfig = GroupingConfig()):
  """Batched: heatmaps (B, H, W, J), tags (B, H, W, J | 1, D) -> per image
  (people, scores)."""
  candidates = jax.device_get(top_candidates(heatmaps, tags, cfg.max_num_people, cfg.nms_kernel))
  heatmaps, tags = np.asarray(heatmaps, np.float32), np.asarray(tags, np.float32)
  return [group_candidates({k: v[b] for k, v in candidates.items()}, heatmaps[b], tags[b], cfg)
          for b in range(len(heatmaps))]
