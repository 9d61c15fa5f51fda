"""Losses for distillation and for training a HigherHRNet, as pure functions: the
terms, then each task's loss from them (`student_loss`, `teacher_loss`; the
weights and settings `lc` are `config.loss`, `rtpe_jax.train.config.loss_config`).

Shapes: maps (B, H, W, J); pixel weights (B, H, W) (0 in ignored regions, from
the pipeline's `weights_{s}`) or (B, H, W, J); tag targets (B, M, J, 2) int32:
flat position y * W + x and a valid flag per person and joint (the pipeline's
`tags`). Per-sample losses are (B,); reduce them with `jnp.mean`.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from rtpe_jax.train.config import STUDENT_STRIDE


def _pixel_weights(weights, like):
  """(B, H, W) or (B, H, W, J) -> broadcastable to `like` (B, H, W, J)."""
  return weights[..., None] if weights.ndim == like.ndim - 1 else weights


def per_joint_mse(pred, target, weights):
  """(B, J): mean over pixels of weights * (pred - target)^2 per joint."""
  w = _pixel_weights(weights, pred)
  return jnp.mean(w * (pred.astype(jnp.float32) - target) ** 2, axis=(1, 2))


def masked_mse(pred, target, weights):
  """(B,): mean over pixels and joints of weights * (pred - target)^2; ignored
  pixels count in the mean with weight 0, as HigherHRNet's heatmap loss."""
  return jnp.mean(per_joint_mse(pred, target, weights), axis=-1)


def per_joint_bce_with_logits(logits, target, weights, pos_weight: float = 1.0):
  """(B, J): mean over pixels of weights * BCE(sigmoid(logits), target), the
  positive term scaled by `pos_weight` (PyTorch's BCEWithLogitsLoss pos_weight)."""
  logits = logits.astype(jnp.float32)
  loss = -(
    pos_weight * target * jax.nn.log_sigmoid(logits) + (1 - target) * jax.nn.log_sigmoid(-logits)
  )
  return jnp.mean(_pixel_weights(weights, logits) * loss, axis=(1, 2))


def masked_bce_with_logits(logits, target, weights, pos_weight: float = 1.0):
  """(B,): `per_joint_bce_with_logits` averaged over joints (or channels)."""
  return jnp.mean(per_joint_bce_with_logits(logits, target, weights, pos_weight), axis=-1)


def segmentation_bce(logits, person_mask, weights, pos_weight: float = 7.0):
  """(B,): person segmentation. logits (B, H, W, 1) or (B, H, W), mask (B, H, W)."""
  if logits.ndim == 4:
    logits = logits[..., 0]
  return masked_bce_with_logits(logits[..., None], person_mask[..., None], weights, pos_weight)


def masked_l1(pred, target, weights):
  """(B,): sum of weights * |pred - target| over (H, W, C) over the sum of the
  weights (B, H, W, C); 0 where a sample has no weight (regression targets that
  exist only at some pixels: the 3D student's depth maps)."""
  total = jnp.sum(weights * jnp.abs(pred.astype(jnp.float32) - target), axis=(1, 2, 3))
  return total / jnp.maximum(jnp.sum(weights, axis=(1, 2, 3)), 1.0)


def distillation_mix(loss_to_teacher, loss_to_truth, alpha: float):
  """alpha * L(student, teacher) + (1 - alpha) * L(student, ground truth)."""
  return alpha * loss_to_teacher + (1.0 - alpha) * loss_to_truth


def background_weights(target, weights, background: float, threshold: float = 0.01):
  """(B, H, W, J): pixel weights with background pixels (target <= threshold)
  scaled by `background` in [0, 1]."""
  return _pixel_weights(weights, target) * jnp.where(target > threshold, 1.0, background)


def hard_joint_mining(per_joint_loss, top_m: int = 8):
  """(B,): mean of the `top_m` largest per-joint losses (B, J) of each sample (OHKM)."""
  return jnp.mean(jax.lax.top_k(per_joint_loss, top_m)[0], axis=-1)


def _tags_at(tags, tag_targets):
  """tags (B, H, W, Jt, D) or (B, H, W, Jt) at the targets' positions: (B, M, J, D)."""
  if tags.ndim == 4:
    tags = tags[..., None]
  b, h, w, jt, d = tags.shape
  _, m, j, _ = tag_targets.shape
  flat = tags.reshape(b, h * w, jt, d)
  index = tag_targets[..., 0].reshape(b, m * j)
  picked = jnp.take_along_axis(flat, index[:, :, None, None], axis=1)  # (B, M*J, Jt, D)
  picked = picked.reshape(b, m, j, jt, d)
  if jt == 1:
    return picked[..., 0, :]
  return jnp.take_along_axis(picked, jnp.arange(j)[None, None, :, None, None], axis=3)[..., 0, :]


def associative_embedding(tags, tag_targets):
  """HigherHRNet's associative-embedding loss, "exp" form: (push (B,), pull (B,)).

  tags (B, H, W, Jt, D) or (B, H, W, Jt) with Jt = J (a tag map per joint) or 1.
  Per person with a valid joint: its mean tag, pull = mean squared distance of
  its joints' tags to it; pull is averaged over people. push = (sum over pairs
  of people, both orders, of exp(-||mean_i - mean_j||^2)) / (n (n - 1)) / 2;
  0 with fewer than two people.
  """
  values = _tags_at(tags.astype(jnp.float32), tag_targets)  # (B, M, J, D)
  valid = tag_targets[..., 1].astype(jnp.float32)  # (B, M, J)
  count = valid.sum(-1)  # (B, M)
  person = count > 0
  safe = jnp.maximum(count, 1.0)
  mean = jnp.sum(values * valid[..., None], axis=2) / safe[..., None]  # (B, M, D)
  spread = jnp.sum(valid[..., None] * (values - mean[:, :, None]) ** 2, axis=(2, 3))
  pull_person = spread / (safe * values.shape[-1])
  n = person.sum(-1).astype(jnp.float32)
  pull = jnp.sum(jnp.where(person, pull_person, 0.0), -1) / jnp.maximum(n, 1.0)
  distance = jnp.sum((mean[:, :, None] - mean[:, None]) ** 2, -1)  # (B, M, M)
  pairs = person[:, :, None] & person[:, None, :]
  total = jnp.sum(jnp.where(pairs, jnp.exp(-distance), 0.0), axis=(1, 2)) - n
  push = jnp.where(n > 1, total / jnp.maximum((n - 1) * n, 1.0) * 0.5, 0.0)
  return push, pull


def tag_regression(student_tags, teacher_tags, tag_targets):
  """(B,): mean squared difference of student and teacher tags (B, H, W, T) at the
  valid ground-truth joints (tags only mean something there); 0 without joints."""
  diff = _tags_at(student_tags.astype(jnp.float32) - teacher_tags, tag_targets)  # (B, M, J, T?)
  valid = tag_targets[..., 1].astype(jnp.float32)
  squared = jnp.mean(diff**2, -1) * valid
  return squared.sum((1, 2)) / jnp.maximum(valid.sum((1, 2)), 1.0)


def feature_distillation(student_features, teacher_features):
  """(B,): mean squared difference of stem features (B, H, W, C)."""
  diff = student_features.astype(jnp.float32) - teacher_features.astype(jnp.float32)
  return jnp.mean(diff**2, axis=(1, 2, 3))


def higher_hrnet_loss(
  outputs: Sequence[jax.Array],
  heatmaps: Sequence[jax.Array],
  weights: Sequence[jax.Array],
  tag_targets,
  num_joints: int = 17,
  with_tags: Sequence[bool] = (True, False),
  ae_weight: float = 1e-3,
  heatmap_weight: float = 1.0,
  ohkm_top: int = 0,
):
  """HigherHRNet's multi-resolution loss: per output i, `heatmap_weight` x masked
  MSE of its first `num_joints` channels against heatmaps[i] (B, H_i, W_i, J)
  with weights[i] (averaged over joints, or over the `ohkm_top` hardest when
  > 0); plus `ae_weight` x (push + pull) on the tag channels of the outputs that
  carry them. Returns a dict of (B,) terms and their sum under "total"."""
  terms = {}
  total = 0.0
  for i, out in enumerate(outputs):
    per_joint = per_joint_mse(out[..., :num_joints], heatmaps[i], weights[i])
    reduced = hard_joint_mining(per_joint, ohkm_top) if ohkm_top else jnp.mean(per_joint, -1)
    terms[f"heatmap_{i}"] = heatmap_weight * reduced
    total = total + terms[f"heatmap_{i}"]
    if with_tags[i]:
      push, pull = associative_embedding(out[..., num_joints:], tag_targets)
      terms[f"push_{i}"], terms[f"pull_{i}"] = ae_weight * push, ae_weight * pull
      total = total + terms[f"push_{i}"] + terms[f"pull_{i}"]
  terms["total"] = total
  return terms


# ---------------------------------------------------------------- each task's loss


def _heatmap_per_joint(pred, target, weights, lc):
  if lc.heatmap_kind == "mse":
    return per_joint_mse(pred, target, weights)
  if lc.heatmap_kind == "bce":
    return per_joint_bce_with_logits(
      pred, jnp.clip(target, 0.0, 1.0), weights, lc.heatmap_pos_weight
    )
  raise ValueError(f"heatmap_kind {lc.heatmap_kind!r}: use mse or bce")


def _weighted(target, weights, background):
  return background_weights(target, weights, background) if background < 1 else weights


def student_loss(outputs: dict, batch: dict, lc, stride: int = STUDENT_STRIDE) -> dict:
  """Terms (B,) of the student's loss and their sum "total". outputs: the student's
  dict; batch: the pipeline's fields at the student's stride (+ teacher maps)."""
  weights = batch[f"weights_{stride}"]
  # (B,) 1 for labelled samples, 0 where the teacher's people stand in for labels
  labelled = batch["labelled"].astype(jnp.float32) if "labelled" in batch else None
  terms = {}
  if lc.segmentation:
    terms["segmentation"] = lc.segmentation * segmentation_bce(
      outputs["segmentation"], batch[f"person_mask_{stride}"], weights, lc.segmentation_pos_weight
    )
    if labelled is not None:  # no person masks on unlabelled images
      terms["segmentation"] = terms["segmentation"] * labelled
  if lc.heatmap:
    truth = batch[f"heatmaps_{stride}"][:, lc.sigma_index]
    per_joint = _heatmap_per_joint(
      outputs["heatmaps"], truth, _weighted(truth, weights, lc.background), lc
    )
    if "teacher_heatmaps" in batch and (lc.alpha or labelled is not None):
      teacher = batch["teacher_heatmaps"]
      to_teacher = _heatmap_per_joint(
        outputs["heatmaps"], teacher, _weighted(teacher, weights, lc.background), lc
      )
      alpha = lc.alpha
      if labelled is not None:
        alpha = jnp.where(labelled > 0, lc.alpha, lc.alpha_unlabelled)[:, None]
      per_joint = distillation_mix(to_teacher, per_joint, alpha)
    reduced = hard_joint_mining(per_joint, lc.ohkm_top) if lc.ohkm_top else jnp.mean(per_joint, -1)
    terms["heatmap"] = lc.heatmap * reduced
    if "heatmaps_2" in outputs:
      truth, weights_2 = batch["heatmaps_2"][:, lc.sigma_index], batch["weights_2"]
      per_joint = _heatmap_per_joint(
        outputs["heatmaps_2"], truth, _weighted(truth, weights_2, lc.background), lc
      )
      terms["heatmap_2"] = lc.heatmap * (
        hard_joint_mining(per_joint, lc.ohkm_top) if lc.ohkm_top else jnp.mean(per_joint, -1)
      )
  if outputs["tags"].shape[-1]:
    if lc.push_pull:
      push, pull = associative_embedding(outputs["tags"], batch["tags"])
      terms["push"], terms["pull"] = lc.push_pull * push, lc.push_pull * pull
    if lc.tag_regression and "teacher_tags" in batch:
      terms["tag_regression"] = lc.tag_regression * tag_regression(
        outputs["tags"], batch["teacher_tags"], batch["tags"]
      )
  if "depth" in outputs and lc.depth:
    values, weights = batch[f"depth_{stride}"], batch[f"depth_weights_{stride}"]
    terms["depth_root"] = lc.depth * masked_l1(
      outputs["depth"][..., :1], values[..., :1], weights[..., :1]
    )
    terms["depth_relative"] = lc.depth * masked_l1(
      outputs["depth"][..., 1:], values[..., 1:], weights[..., 1:]
    )
  if lc.stem:
    if "teacher_stem" not in outputs:
      raise ValueError("loss.stem needs a student with its own stem and distill_stem=True")
    terms["stem"] = lc.stem * feature_distillation(outputs["stem"], outputs["teacher_stem"])
  if not terms:
    raise ValueError("every loss weight is 0")
  terms["total"] = sum(terms.values())
  return terms


def teacher_loss(outputs: list, batch: dict, lc, arch, strides) -> dict:
  """HigherHRNet's loss: outputs in order of `strides` (4, 2)."""
  return higher_hrnet_loss(
    outputs,
    [batch[f"heatmaps_{s}"][:, lc.sigma_index] for s in strides],
    [batch[f"weights_{s}"] for s in strides],
    batch["tags"],
    arch.num_joints,
    arch.with_ae,
    lc.push_pull,
    lc.heatmap,
    lc.ohkm_top,
  )
