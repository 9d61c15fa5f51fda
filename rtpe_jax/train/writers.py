"""Metric writing, one implementation for every trainer: scalars to the log and
to TensorBoard (clu metric_writers), and what goes to TensorBoard only, panels
of a batch (input, weights, targets, outputs) and parameter and gradient leaves
by name."""

from __future__ import annotations

import flax.traverse_util as traverse_util
import numpy as np
from clu import metric_writers

from rtpe_jax.inference import overlays


def create(workdir: str, lead: bool = True):
  """(writer, image_writer): `writer` logs scalars and texts and, on the `lead`
  process, writes them to TensorBoard events in `workdir`; `image_writer` (None
  on the others) takes histograms and pictures, which would drown the log."""
  image_writer = metric_writers.SummaryWriter(workdir) if lead else None
  writer = metric_writers.MultiWriter(
    [metric_writers.LoggingWriter()] + ([image_writer] if image_writer else [])
  )
  return writer, image_writer


def _unit_panel(x: np.ndarray) -> np.ndarray:
  """(H, W) -> (H, W, 3) float in [0, 1] through the heat colour map."""
  return overlays.heat(x).astype(np.float32) / 255.0


def pictures(batch: dict, outputs, task: str, stride: int) -> dict[str, np.ndarray]:
  """Panels of the batch's first sample: (1, H, W, 3) floats in [0, 1]."""
  out = {"input": batch["image"][:1].astype(np.float32) / 255.0}
  first = lambda a: np.asarray(a[0], np.float32)
  out["weights"] = _unit_panel(first(batch[f"weights_{stride}"]))[None]
  out["truth"] = _unit_panel(first(batch[f"heatmaps_{stride}"])[0].max(-1))[None]
  if task == "student":
    out["person_mask"] = _unit_panel(first(batch[f"person_mask_{stride}"]))[None]
    if "teacher_heatmaps" in batch:
      out["teacher"] = _unit_panel(first(batch["teacher_heatmaps"]).max(-1))[None]
    out["student"] = _unit_panel(first(outputs["heatmaps"]).max(-1))[None]
    attention = 1.0 / (1.0 + np.exp(-first(outputs["segmentation"])[..., 0]))
    out["attention"] = _unit_panel(attention)[None]
  else:
    out["prediction"] = _unit_panel(first(outputs[0])[..., :17].max(-1))[None]
  return out


def named_leaves(tree) -> dict[str, np.ndarray]:
  """{"path/to/leaf": array} of a nested dict (histograms)."""
  return {"/".join(k): np.asarray(v) for k, v in traverse_util.flatten_dict(tree).items()}
