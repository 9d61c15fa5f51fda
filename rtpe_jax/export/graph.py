"""The exported function: the predictor's network, flip and NMS on maps at the
canvas over the map stride (JAX, through jax2tf), with the top-k and the tags'
gather as TensorFlow ops in the same graph (`tf_function`); `jax_candidates` is the same
step in JAX, what the formats are compared with."""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from rtpe_jax.export.settings import ExportSettings
from rtpe_jax.inference import grouping, predictor


def inference_function(model_dir: str, settings: ExportSettings) -> tuple[Callable, dict]:
  """(f(variables, images (B, H, W, 3) uint8, valid_hw (B, 2) int32) -> {heatmaps,
  tags, peaks, and a 3D student's depth maps (B, H/4, W/4, 18)}, variables) of a trained student, its network as the predictor
  runs it (`predictor.load`: batch norm folded): the protocol's maps at the canvas
  over `settings.map_stride` and `peaks`, the NMS-kept heatmap values (0
  elsewhere), from which the export takes the top k."""
  model = predictor.load(model_dir, fold=True, input_size=settings.input_size)
  kernel = settings.grouping.nms_kernel

  def f(variables, images, valid_hw):
    heatmaps, tags, depth_maps = predictor.canvas_maps(
      model.network, model.spec, settings.flip, variables, images, valid_hw, settings.map_stride
    )
    out = {"heatmaps": heatmaps, "tags": tags, "peaks": grouping.nms(heatmaps, kernel)}
    return out | ({"depth": depth_maps} if depth_maps is not None else {})

  return f, model.variables


def jax_candidates(outputs: dict, k: int = 30) -> dict:
  """What the export returns, computed in JAX from `f`'s outputs."""
  top = grouping.top_candidates(outputs["heatmaps"], outputs["tags"], k)
  depth_maps = {"depth": outputs["depth"]} if "depth" in outputs else {}
  return depth_maps | {
    "heatmaps": outputs["heatmaps"],
    "tags": outputs["tags"],
    "values": top["values"],
    "x": top["x"],
    "y": top["y"],
    "tags_at": top["tags"],
  }


def tf_function(f: Callable, variables, canvas: tuple[int, int], k: int, batch: int = 1):
  import tensorflow as tf
  from jax.experimental import jax2tf

  params = jax.tree.map(np.asarray, variables)
  converted = jax2tf.convert(lambda images, valid: f(params, images, valid), with_gradient=False)

  def predict_fn(images, valid_hw):
    out = converted(images, valid_hw)
    b, h, w, j = out["peaks"].shape
    flat = tf.reshape(tf.transpose(out["peaks"], [0, 3, 1, 2]), [b, j, h * w])
    values, index = tf.math.top_k(flat, k)
    tags = out["tags"]  # (B, H, W, T, D)
    t, d = tags.shape[3], tags.shape[4]
    planes = tf.transpose(tf.reshape(tags, [b, h * w, t, d]), [0, 2, 1, 3])  # (B, T, HW, D)
    if t > 1:  # one tag map per joint: each candidate's own joint's
      at = tf.gather(planes, index, batch_dims=2)
    else:  # one shared map
      at = tf.reshape(
        tf.gather(planes[:, 0], tf.reshape(index, [b, j * k]), batch_dims=1), [b, j, k, d]
      )
    depth_maps = {"depth": out["depth"]} if "depth" in out else {}
    return depth_maps | {
      "heatmaps": out["heatmaps"],
      "tags": out["tags"],
      "values": values,
      "x": index % w,
      "y": index // w,
      "tags_at": at,
    }

  return tf.function(
    predict_fn,
    autograph=False,
    input_signature=[
      tf.TensorSpec((batch, canvas[0], canvas[1], 3), tf.uint8, name="images"),
      tf.TensorSpec((batch, 2), tf.int32, name="valid_hw"),
    ],
  )
