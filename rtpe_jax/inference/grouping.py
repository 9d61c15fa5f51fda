"""Associative-embedding grouping: heatmaps and tags -> people, as HigherHRNet's
published results do it (Newell et al., arXiv 1611.05424).

The dense work runs on the device in JAX: NMS (a 5x5 max-pool), the top 30
candidates per joint with their tags, and the refinement search (for each
joint a person lacks, the best position of heatmap - round(||tag - person's
mean tag||); the reference searches every joint and uses only the missing ones).
Only the candidates leave the device; matching them by tag (Hungarian
algorithm) is a small host problem. The assignment solver matters when several
assignments cost the same (rounded tag distances make that common): the
`munkres` package (the default) makes the same choices as the reference and
reproduces its people exactly (tests/inference/test_grouping.py); scipy's
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
  """(B, H, W, J): values that are the max of their kernel x kernel neighbourhood, else 0.
  The max-pool runs as two 1-D passes (a max is separable), each the max of
  `kernel` shifted slices of the padded map: one fused loop on a CPU, a third
  faster than `lax.reduce_window`."""
  pad = (kernel - 1) // 2

  def pool(x, axis):
    widths = [(0, 0)] * x.ndim
    widths[axis] = (pad, pad)
    padded = jnp.pad(x, widths, constant_values=-jnp.inf)
    shifted = [jax.lax.slice_in_dim(padded, s, s + x.shape[axis], axis=axis) for s in range(kernel)]
    return functools.reduce(jnp.maximum, shifted)

  pooled = pool(pool(heatmaps, 1), 2)
  return jnp.where(pooled == heatmaps, heatmaps, 0.0)


@functools.partial(jax.jit, static_argnames=("k", "kernel"))
def top_candidates(heatmaps: jax.Array, tags: jax.Array, k: int = 30, kernel: int = 5):
  """Per image and joint the k best NMS peaks: values (B, J, k), x and y (B, J, k)
  int32, tags (B, J, k, D). The same candidates as one top-k over each joint's
  flattened map, ties included (lowest index first).

  In two stages, in the maps' own layout: the k rows with the largest row maxima
  (every element of the overall top k lies in one of them: a row left out has
  its maximum at most the k-th row maximum, and on a tie lies after k rows that
  each hold an element of that value), then the top k of those rows read in row
  order. A CPU spends most of a flat top-k's time transposing the maps to
  joint-major (2.6 -> 1.2 ms for 17 x 256 x 256)."""
  b, h, w, j = heatmaps.shape
  peaks = nms(heatmaps.astype(jnp.float32), kernel)
  batch, joint = jnp.arange(b)[:, None, None], jnp.arange(j)[None, :, None]
  _, rows = jax.lax.top_k(peaks.max(axis=2).transpose(0, 2, 1), min(k, h))
  rows = jnp.sort(rows, axis=-1)
  in_rows = peaks[batch[..., None], rows[..., None], jnp.arange(w), joint[..., None]]
  values, index = jax.lax.top_k(in_rows.reshape(b, j, -1), k)
  y, x = jnp.take_along_axis(rows, index // w, axis=2), index % w
  # Gathered where they lie (B, H, W, Jt, D): no transpose of the tag maps.
  tag_joint = joint if tags.shape[3] > 1 else jnp.zeros((1, 1, 1), jnp.int32)
  picked = tags[batch, y, x, tag_joint].astype(jnp.float32)
  return {"values": values, "x": x, "y": y, "tags": picked}


def _assign(cost: np.ndarray, solver: str) -> tuple[np.ndarray, np.ndarray]:
  """Minimum-cost pairs (rows, columns), by row, of a cost matrix with at least
  as many columns as rows."""
  cost = np.ascontiguousarray(cost, np.float64)
  if solver == "munkres":
    # munkres's array entry point: its native solver without the per-cell checks
    # of `Munkres().compute` (0.25 ms -> 3 us for 25 x 25), and the same pairs on
    # ties (tests/inference/test_grouping.py compares the two).
    return munkres.linear_sum_assignment(cost)
  if solver == "scipy":
    return linear_sum_assignment(cost)
  raise ValueError(f"assignment {solver!r}: use 'munkres' or 'scipy'")


def match_by_tag(
  values: np.ndarray, xy: np.ndarray, tags: np.ndarray, cfg: GroupingConfig = GroupingConfig()
) -> np.ndarray:
  """Candidates of one image -> people (P, J, 3 + D) float32, in creation order.

  values (J, K), xy (J, K, 2), tags (J, K, D). As the reference, people are
  keyed by the first tag value of the joint that started them (a new person
  whose key exists replaces that person's joint and restarts its tag list).
  People live in rows of preallocated arrays, so a joint's matches are one
  indexed update; only new people are added one by one.
  """
  num_joints, k, d = tags.shape
  people = np.zeros((num_joints * k, num_joints, 3 + d))
  # Per person the sum of its joints' tags, added in the order the reference's
  # np.mean of its tag list adds them, and their count: the same mean tag.
  tag_sums, tag_counts = np.zeros((num_joints * k, d)), np.zeros(num_joints * k)
  person_of: dict[float, int] = {}  # key -> row, in creation order

  def start(joint, rows, cand_tags, row):
    person = person_of.setdefault(float(cand_tags[row, 0]), len(person_of))
    people[person, joint] = rows[row]
    tag_sums[person], tag_counts[person] = cand_tags[row], 1

  def join(joint, rows, cand_tags, persons, by):
    people[persons, joint] = rows[by]
    tag_sums[persons] += cand_tags[by]
    tag_counts[persons] += 1

  for i, joint in enumerate(cfg.joint_order):
    keep = values[joint] > cfg.detection_threshold
    if not keep.any():
      continue
    rows = np.concatenate([xy[joint][keep], values[joint][keep, None], tags[joint][keep]], 1)
    cand_tags = tags[joint][keep]
    if i == 0 or not person_of:
      for row in range(len(rows)):
        start(joint, rows, cand_tags, row)
      continue
    grouped = min(len(person_of), cfg.max_num_people)
    if cfg.ignore_too_much and grouped == cfg.max_num_people:
      continue
    means = tag_sums[:grouped] / tag_counts[:grouped, None]
    distance = np.linalg.norm(cand_tags[:, None, :] - means[None, :, :], axis=2)
    cost = np.round(distance) * 100 - rows[:, 2:3] if cfg.use_detection_val else distance.copy()
    if len(rows) > grouped:
      cost = np.concatenate([cost, np.full((len(rows), len(rows) - grouped), 1e10)], 1)
    row, col = _assign(cost, cfg.assignment)
    joins = col < grouped
    joins[joins] = distance[row[joins], col[joins]] < cfg.tag_threshold
    starts = row[~joins]
    if any(float(cand_tags[r, 0]) in person_of for r in starts):
      # A new person takes an existing key: the reference's order of updates matters.
      for r, c, joins_person in zip(row, col, joins):
        if joins_person:
          join(joint, rows, cand_tags, c, r)
        else:
          start(joint, rows, cand_tags, r)
      continue
    join(joint, rows, cand_tags, col[joins], row[joins])
    for r in starts:
      start(joint, rows, cand_tags, r)
  return people[: len(person_of)].astype(np.float32)


def _padded(n: int) -> int:
  """n rounded up to 4, 6, 8, 12, 16, 24, ... (powers of two and their halfway
  points): few shapes to compile, at most a third of the work wasted."""
  power = max(4, 1 << (n - 1).bit_length())
  return power * 3 // 4 if n <= power * 3 // 4 and power > 4 else power


@jax.jit
def _neighbours(heatmaps: jax.Array, image, joints: jax.Array, ys: jax.Array, xs: jax.Array):
  """heatmaps (B, H, W, J); joints, ys, xs (N,) of image `image` -> (right > left,
  down > up) (N,), the neighbours clamped at the border."""
  h, w = heatmaps.shape[1:3]
  at = lambda y, x: heatmaps[image, y, x, joints].astype(jnp.float32)
  right = at(ys, jnp.minimum(xs + 1, w - 1)) > at(ys, jnp.maximum(xs - 1, 0))
  down = at(jnp.minimum(ys + 1, h - 1), xs) > at(jnp.maximum(ys - 1, 0), xs)
  return right, down


def adjust(people: np.ndarray, heatmaps, image: int = 0) -> np.ndarray:
  """Sub-pixel positions: x, y of detected joints (value > 0) + 0.5 and +-0.25
  toward the larger neighbour on image `image` of heatmaps (B, H, W, J), read
  where they live (device or host): only the joints' neighbours cross to the host."""
  people = people.copy()
  p, j = np.nonzero(people[..., 2] > 0)
  if len(p) == 0:
    return people
  x, y = people[p, j, 0].astype(np.int32), people[p, j, 1].astype(np.int32)
  pad = lambda a: np.concatenate([a, np.zeros(_padded(len(a)) - len(a))]).astype(np.int32)
  right, down = jax.device_get(_neighbours(heatmaps, np.int32(image), pad(j), pad(y), pad(x)))
  right, down = right[: len(p)], down[: len(p)]
  people[p, j, 0] = x + 0.5 + np.where(right, 0.25, -0.25)
  people[p, j, 1] = y + 0.5 + np.where(down, 0.25, -0.25)
  return people


@jax.jit
def planar_maps(heatmaps: jax.Array, tags: jax.Array, image):
  """Image `image` of (B, H, W, J), (B, H, W, Jt, D) -> (J, H, W), (Jt, D, H, W):
  the refine search's layout."""
  # Sliced keeping the batch axis and transposed in 4-D and 5-D: the same copy,
  # written as the rank-3 transposes it ran 2-4x slower on a CPU.
  one = lambda x: jax.lax.dynamic_slice_in_dim(x, image, 1, 0).astype(jnp.float32)
  return one(heatmaps).transpose(0, 3, 1, 2)[0], one(tags).transpose(0, 3, 4, 1, 2)[0]


@jax.jit
def refine_search(maps: jax.Array, tag_planes: jax.Array, mean_tags: jax.Array, joints: jax.Array):
  """For pairs of a mean tag (N, D) and a joint (N,): the position of the max of
  heatmap - round(||tag - mean tag||) over the joint's whole map (first in
  row-major order on ties), its heatmap value and quarter offsets. maps (J, H, W)
  and tag_planes (J | 1, D, H, W) from `planar_maps`. Returns x, y (N,) int32,
  value, dx, dy (N,).

  The pairs run eight at a time (`lax.map`), and the argmax is taken as the max
  of each row, the first row holding the overall max, then the first column of
  that row holding it: the same position as a flat argmax, about 20x faster on
  a CPU than one variadic argmax over all pairs' maps."""
  j, h, w = maps.shape
  shared = tag_planes.shape[0] != j

  def search(pair):
    joint, mean = pair
    planes = tag_planes[0 if shared else joint]
    distance = jnp.sqrt(sum((planes[d] - mean[d]) ** 2 for d in range(planes.shape[0])))
    score = maps[joint] - jnp.round(distance)
    row_max = score.max(1)
    best = row_max.max()
    y = jnp.argmax(row_max == best)
    return jnp.argmax(score[y] == best).astype(jnp.int32), y.astype(jnp.int32)

  x, y = jax.lax.map(search, (joints, mean_tags), batch_size=8)
  # The value and neighbours after the loop, for all pairs at once (inside it
  # they cost more than the search: the joint's map is copied out).
  at = lambda y, x: maps[joints, y, x]
  right = at(y, jnp.minimum(x + 1, w - 1)) > at(y, jnp.maximum(x - 1, 0))
  down = at(jnp.minimum(y + 1, h - 1), x) > at(jnp.maximum(y - 1, 0), x)
  return x, y, at(y, x), jnp.where(right, 0.25, -0.25), jnp.where(down, 0.25, -0.25)


def refine(people: np.ndarray, heatmaps, tags, image: int = 0) -> np.ndarray:
  """Fills each person's missing joints at the best position for its mean tag
  (value > 0 only). people (P, J, 3 + D) of image `image` of heatmaps
  (B, H, W, J) and tags (B, H, W, J | 1, D), on the device or the host. Only the
  missing (person, joint) pairs are searched (their count padded to few shapes
  to compile), on the device; only the search's results cross to the host."""
  people = people.copy()
  person, joint = np.nonzero(people[..., 2] == 0)
  if len(person) == 0:
    return people
  # The tags at the detected joints are the candidates' own (the reference reads
  # them back from the maps at the same pixels), float32 as the maps hold them.
  detected = people[..., 2] > 0
  # Summed joint by joint, as np.mean adds the reference's list of them.
  own_tags = np.where(detected[..., None], people[..., 3:], 0).astype(np.float32)
  sums = np.zeros_like(own_tags[:, 0])
  for tags_of_joint in own_tags.transpose(1, 0, 2):
    sums += tags_of_joint
  means = sums / detected.sum(axis=1, keepdims=True).astype(np.float32)
  count = len(person)
  pad = lambda a: np.concatenate([a, np.repeat(a[:1], _padded(count) - count, 0)])
  planes = planar_maps(heatmaps, tags, np.int32(image))
  found = refine_search(*planes, pad(means[person]), pad(joint.astype(np.int32)))
  x, y, value, dx, dy = (a[:count] for a in jax.device_get(found))
  fill = value > 0
  person, joint = person[fill], joint[fill]
  people[person, joint, 0] = x[fill] + 0.5 + dx[fill]
  people[person, joint, 1] = y[fill] + 0.5 + dy[fill]
  people[person, joint, 2] = value[fill]
  return people


def group_candidates(
  candidates: dict, heatmaps, tags, cfg: GroupingConfig = GroupingConfig(), image: int = 0
):
  """One image's candidates (`top_candidates` sliced to the image, on the host)
  and the batch's maps (B, H, W, J), (B, H, W, J | 1, D), where they live (device
  or host), of which it is image `image` -> (people (P, J, 3 + D), scores (P,)).
  Score: mean joint value before refinement."""
  xy = np.stack([candidates["x"], candidates["y"]], -1).astype(np.float64)
  people = match_by_tag(
    np.asarray(candidates["values"], np.float64),
    xy,
    np.asarray(candidates["tags"], np.float64),
    cfg,
  )
  if cfg.adjust:
    people = adjust(people, heatmaps, image)
  scores = people[..., 2].mean(axis=1)
  if cfg.refine:
    people = refine(people, heatmaps, tags, image)
  return people.astype(np.float32), scores.astype(np.float32)


def group(heatmaps, tags, cfg: GroupingConfig = GroupingConfig()):
  """Batched: heatmaps (B, H, W, J), tags (B, H, W, J | 1, D) -> per image
  (people, scores). The maps stay on the device; only the candidates, the
  values around the people's joints and the refine search's results cross."""
  # device_put, not jnp.asarray: the same arrays, a third of the copy time on a CPU.
  heatmaps, tags = jax.device_put((heatmaps, tags))
  candidates = jax.device_get(top_candidates(heatmaps, tags, cfg.max_num_people, cfg.nms_kernel))
  return [
    group_candidates({k: v[b] for k, v in candidates.items()}, heatmaps, tags, cfg, b)
    for b in range(len(heatmaps))
  ]
