"""Multi-person 3D pose metrics (NumPy): MPJPE, PA-MPJPE, 3DPCK and its AUC,
absolute 3DPCK, MRPE, AP of roots within 25 cm and the depth order of pairs.

Poses are (17, 3) in camera coordinates, millimetres (x right, y down, z
forward), COCO's joint order; the root is the mid-hip (the mean of the hips).
Predicted people are matched to the ground truth in 2D (`match_people`); the
relative metrics align the roots, the absolute ones do not. "matched" averages
over the ground-truth people that were found, "all" counts a missed person's
joints as wrong (3DPCK 0).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from rtpe_jax import keypoints

ROOT_JOINTS = (keypoints.NAMES.index("left_hip"), keypoints.NAMES.index("right_hip"))
PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0.0, 150.0 + 1e-9, 5.0)  # 0, 5, ..., 150: 31 thresholds
ROOT_AP_MM = 250.0


def root(poses: np.ndarray) -> np.ndarray:
  """(..., 17, 3) -> (..., 3): the mid-hip."""
  return np.asarray(poses, np.float64)[..., ROOT_JOINTS, :].mean(-2)


def root_relative(poses: np.ndarray) -> np.ndarray:
  """(..., 17, 3) with the mid-hip at the origin."""
  poses = np.asarray(poses, np.float64)
  return poses - root(poses)[..., None, :]


def procrustes_aligned(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
  """(17, 3) `predicted` moved onto `truth` by the similarity (scale, rotation,
  translation; no reflection) that minimises the squared distances (Umeyama)."""
  predicted, truth = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
  p_mean, t_mean = predicted.mean(0), truth.mean(0)
  p, t = predicted - p_mean, truth - t_mean
  u, s, vt = np.linalg.svd(p.T @ t)
  d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
  signs = np.array([1.0, 1.0, d])
  rotation = vt.T @ np.diag(signs) @ u.T
  scale = float((s * signs).sum() / max((p**2).sum(), 1e-12))
  return scale * p @ rotation.T + t_mean


def joint_errors(predicted: np.ndarray, truth: np.ndarray, align: str) -> np.ndarray:
  """(N, 17) per-joint distances in mm after `align`: "root" (MPJPE's),
  "procrustes" (PA-MPJPE's) or "none" (absolute)."""
  predicted, truth = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
  if align == "root":
    predicted, truth = root_relative(predicted), root_relative(truth)
  elif align == "procrustes":
    predicted = np.stack([procrustes_aligned(p, t) for p, t in zip(predicted, truth)])
  elif align != "none":
    raise ValueError(f"align={align!r}: use 'root', 'procrustes' or 'none'")
  return np.linalg.norm(predicted - truth, axis=-1)


def pck(errors: np.ndarray, threshold: float = PCK_THRESHOLD_MM) -> float:
  """Share of joints within `threshold` mm."""
  return float((np.asarray(errors) <= threshold).mean()) if np.size(errors) else 0.0


def pck_auc(errors: np.ndarray) -> float:
  """Mean 3DPCK over the thresholds 0, 5, ..., 150 mm."""
  return float(np.mean([pck(errors, t) for t in AUC_THRESHOLDS_MM]))


def match_people(
  predicted_2d: np.ndarray, truth_2d: np.ndarray, max_distance: float = 0.2
) -> list[tuple[int, int]]:
  """Predicted people matched one to one to ground-truth people in the image.

  predicted_2d: (P, 17, 2) image positions; truth_2d: (G, 17, 3) positions and
  visibility (> 0 labelled). The cost is the mean distance over the truth's
  labelled joints divided by its labelled joints' box diagonal; the assignment
  minimises the total cost (Hungarian) and pairs above `max_distance` are
  dropped. Returns [(predicted index, truth index)] sorted by truth index."""
  predicted_2d = np.asarray(predicted_2d, np.float64).reshape(-1, keypoints.NUM_JOINTS, 2)
  truth_2d = np.asarray(truth_2d, np.float64).reshape(-1, keypoints.NUM_JOINTS, 3)
  if not len(predicted_2d) or not len(truth_2d):
    return []
  cost = np.full((len(predicted_2d), len(truth_2d)), np.inf)
  for g, person in enumerate(truth_2d):
    seen = person[:, 2] > 0
    if not seen.any():
      continue
    xy = person[seen, :2]
    diagonal = max(float(np.linalg.norm(xy.max(0) - xy.min(0))), 1.0)
    distances = np.linalg.norm(predicted_2d[:, seen] - xy[None], axis=-1).mean(-1)
    cost[:, g] = distances / diagonal
  finite = np.where(np.isfinite(cost), cost, 1e9)
  rows, cols = linear_sum_assignment(finite)
  pairs = [(int(p), int(g)) for p, g in zip(rows, cols) if cost[p, g] <= max_distance]
  return sorted(pairs, key=lambda pair: pair[1])


def root_ap(
  predicted_roots: list[np.ndarray],
  scores: list[np.ndarray],
  truth_roots: list[np.ndarray],
  threshold: float = ROOT_AP_MM,
) -> float:
  """AP of root localisation over images: every predicted root (ranked by score
  over all images) is a true positive when it lies within `threshold` mm of a
  ground-truth root of its image not taken by a higher-scored one (the nearest);
  the area under the precision-recall curve with precision made monotone."""
  ranked = []
  for image, (roots, image_scores) in enumerate(zip(predicted_roots, scores)):
    for r, s in zip(np.asarray(roots).reshape(-1, 3), np.asarray(image_scores).reshape(-1)):
      ranked.append((float(s), image, r))
  total = sum(len(np.asarray(t).reshape(-1, 3)) for t in truth_roots)
  if not total:
    return 0.0
  ranked.sort(key=lambda item: -item[0])
  taken = [np.zeros(len(np.asarray(t).reshape(-1, 3)), bool) for t in truth_roots]
  hits = []
  for _, image, r in ranked:
    truth = np.asarray(truth_roots[image], np.float64).reshape(-1, 3)
    distance = np.linalg.norm(truth - r, axis=-1)
    distance[taken[image]] = np.inf
    best = int(np.argmin(distance)) if len(distance) else -1
    hit = best >= 0 and distance[best] <= threshold
    if hit:
      taken[image][best] = True
    hits.append(hit)
  hits = np.asarray(hits, bool)
  true_positives = np.cumsum(hits)
  precision = true_positives / np.arange(1, len(hits) + 1)
  recall = true_positives / total
  precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone
  recall_steps = np.diff(np.concatenate([[0.0], recall]))
  return float((precision * recall_steps).sum())


def depth_order(predicted_roots: np.ndarray, truth_roots: np.ndarray) -> tuple[int, int]:
  """(pairs ordered right, pairs) among people of one image matched to each
  other ((N, 3) each, row i the same person): a pair is right when the predicted
  roots' depths order the two as the truth's do."""
  predicted_z = np.asarray(predicted_roots, np.float64).reshape(-1, 3)[:, 2]
  truth_z = np.asarray(truth_roots, np.float64).reshape(-1, 3)[:, 2]
  right = pairs = 0
  for i in range(len(truth_z)):
    for j in range(i + 1, len(truth_z)):
      if truth_z[i] == truth_z[j]:
        continue
      pairs += 1
      right += int(np.sign(predicted_z[i] - predicted_z[j]) == np.sign(truth_z[i] - truth_z[j]))
  return right, pairs


def evaluate(
  predictions: list[dict], truths: list[dict], labelled_only: bool = False
) -> dict[str, float]:
  """The 3D table of a split, one entry per image in the same order.

  predictions[i]: "keypoints_2d" (P, 17, 2 or 3), "keypoints_3d" (P, 17, 3) mm,
  "scores" (P,). truths[i]: "keypoints_2d" (G, 17, 3) with visibility,
  "keypoints_3d" (G, 17, 3) mm. Returns errors in mm and shares in [0, 1]:
  MPJPE, PA-MPJPE, 3DPCK and AUC (root-aligned; matched and all), 3DPCK abs
  (matched and all), MRPE and its x/y/z parts (mean absolute), root AP at 25 cm,
  depth order (share of pairs of matched people), people matched / in the truth.
  labelled_only: the per-joint figures count only the joints labelled in 2D
  (truth visibility > 0: in the image), PA-MPJPE's similarity fitted on them;
  the roots stay the mid-hips of all 17."""
  relative, aligned, absolute, root_errors = [], [], [], []
  right = pairs = people = missed_joints = 0
  for prediction, truth in zip(predictions, truths, strict=True):
    p3 = np.asarray(prediction["keypoints_3d"], np.float64).reshape(-1, keypoints.NUM_JOINTS, 3)
    t3 = np.asarray(truth["keypoints_3d"], np.float64).reshape(-1, keypoints.NUM_JOINTS, 3)
    p2 = np.asarray(prediction["keypoints_2d"], np.float64)[..., :2].reshape(
      len(p3), keypoints.NUM_JOINTS, 2
    )
    labelled = np.asarray(truth["keypoints_2d"]).reshape(-1, keypoints.NUM_JOINTS, 3)[..., 2] > 0
    scored = labelled if labelled_only else np.ones_like(labelled)
    people += len(t3)
    pairs_found = match_people(p2[..., :2], truth["keypoints_2d"])
    found = {g for _, g in pairs_found}
    missed_joints += sum(int(scored[g].sum()) for g in range(len(t3)) if g not in found)
    if not pairs_found:
      continue
    p_index, t_index = map(list, zip(*pairs_found))
    keep = scored[t_index]
    relative.append(joint_errors(p3[p_index], t3[t_index], "root")[keep])
    aligned += [
      joint_errors(p3[[p]][:, m], t3[[g]][:, m], "procrustes")[0]
      for p, g, m in zip(p_index, t_index, keep)
    ]
    absolute.append(joint_errors(p3[p_index], t3[t_index], "none")[keep])
    root_errors.append(root(p3[p_index]) - root(t3[t_index]))
    r, n = depth_order(root(p3[p_index]), root(t3[t_index]))
    right, pairs = right + r, pairs + n
  root_errors = np.concatenate(root_errors) if root_errors else np.zeros((0, 3))
  matched = len(root_errors)
  relative = np.concatenate(relative) if relative else np.zeros(0)
  aligned = np.concatenate(aligned) if aligned else np.zeros(0)
  absolute = np.concatenate(absolute) if absolute else np.zeros(0)
  missed = np.full(missed_joints, np.inf)
  nan = float("nan")
  return {
    "MPJPE": float(relative.mean()) if matched else nan,
    "PA-MPJPE": float(aligned.mean()) if matched else nan,
    "3DPCK": pck(relative),
    "3DPCK all": pck(np.concatenate([relative, missed])),
    "AUC": pck_auc(relative),
    "AUC all": pck_auc(np.concatenate([relative, missed])),
    "3DPCK abs": pck(absolute),
    "3DPCK abs all": pck(np.concatenate([absolute, missed])),
    "MRPE": float(np.linalg.norm(root_errors, axis=-1).mean()) if matched else nan,
    "MRPE x": float(np.abs(root_errors[:, 0]).mean()) if matched else nan,
    "MRPE y": float(np.abs(root_errors[:, 1]).mean()) if matched else nan,
    "MRPE z": float(np.abs(root_errors[:, 2]).mean()) if matched else nan,
    "root AP 25cm": root_ap(
      [
        root(np.asarray(p["keypoints_3d"]).reshape(-1, keypoints.NUM_JOINTS, 3))
        for p in predictions
      ],
      [p["scores"] for p in predictions],
      [root(np.asarray(t["keypoints_3d"]).reshape(-1, keypoints.NUM_JOINTS, 3)) for t in truths],
    ),
    "depth order": right / pairs if pairs else nan,
    "matched": matched,
    "people": people,
  }


MM_NAMES = ("MPJPE", "PA-MPJPE", "MRPE", "MRPE x", "MRPE y", "MRPE z")
SHARE_NAMES = (
  "3DPCK",
  "3DPCK all",
  "AUC",
  "AUC all",
  "3DPCK abs",
  "3DPCK abs all",
  "root AP 25cm",
  "depth order",
)


def format_table(table: dict, prefix: str = "") -> str:
  """`evaluate`'s table as two lines: errors in mm, shares in %, people matched
  of all; keys under `prefix` (e.g. "3d/")."""
  names = [n for n in MM_NAMES + SHARE_NAMES if prefix + n in table]
  widths = [max(len(n), 8) for n in names]
  cells = [
    f"{table[prefix + n]:.1f} mm" if n in MM_NAMES else f"{100 * table[prefix + n]:.1f} %"
    for n in names
  ]
  matched = f"{int(table[prefix + 'matched'])}/{int(table[prefix + 'people'])}"
  head = " | ".join(f"{n:>{w}}" for n, w in zip(names, widths)) + " | matched"
  row = " | ".join(f"{c:>{w}}" for c, w in zip(cells, widths)) + f" | {matched:>7}"
  return f"{head}\n{row}"
