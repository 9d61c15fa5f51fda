"""The formats: a TensorFlow SavedModel (one signature per canvas, the variables
as constants) and TFLite flatbuffers from it (float32, float16 weights); loading
and running one, and people through it; `export_student` writes them all and
checks each against JAX (`parity`)."""

from __future__ import annotations

import json
import os
from typing import Callable

import jax
import numpy as np

from rtpe_jax.export import graph, parity
from rtpe_jax.export import settings as settings_lib
from rtpe_jax.export.settings import ExportSettings
from rtpe_jax.inference import grouping, protocol

FORMATS = ("saved_model", "student_float32.tflite", "student_float16.tflite")


def export_saved_model(
  f: Callable, variables, canvases, out_dir: str, k: int = 30, batch: int = 1
) -> str:
  """A TensorFlow SavedModel of `f` with the variables as constants: one
  signature `canvas_HxW` per canvas (h, w), each taking `images` (batch, H, W, 3)
  uint8 and `valid_hw` (batch, 2) int32."""
  import tensorflow as tf

  module = tf.Module()
  functions = {
    settings_lib.signature(c): graph.tf_function(f, variables, c, k, batch) for c in canvases
  }
  for name, fn in functions.items():
    setattr(module, name, fn)
  tf.saved_model.save(module, out_dir, signatures=functions)
  return out_dir


def export_tflite(saved_model_dir: str, path: str, float16: bool = False) -> str:
  """A TFLite flatbuffer (built-in ops only) of a SavedModel from
  `export_saved_model`; `float16` stores the weights in float16 (TFLite's
  float16 quantisation: float32 compute on CPU, float16 on GPU delegates)."""
  import tensorflow as tf

  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  if float16:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "wb") as out:
    out.write(converter.convert())
  return path


def load_runner(path: str) -> Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
  """run(images (B, H, W, 3) uint8, valid_hw (B, 2) int32) -> outputs by name, of
  an exported SavedModel directory or TFLite file (loaded once): the signature of
  the images' canvas (H, W)."""
  import tensorflow as tf

  name = lambda images: settings_lib.signature(images.shape[1:3])
  if os.path.isdir(path):
    signatures = tf.saved_model.load(path).signatures
    return lambda images, valid: {
      k: v.numpy()
      for k, v in signatures[name(images)](
        images=tf.constant(images), valid_hw=tf.constant(valid)
      ).items()
    }
  interpreter = tf.lite.Interpreter(model_path=path)
  runners = {key: interpreter.get_signature_runner(key) for key in interpreter.get_signature_list()}
  return lambda images, valid: {
    k: np.asarray(v) for k, v in runners[name(images)](images=images, valid_hw=valid).items()
  }


def exported_people(run, image: np.ndarray, settings: ExportSettings):
  """People of one RGB uint8 image through an exported model (`load_runner`):
  keypoints (P, J, 3) as positions in the image and scores (P,), as
  `predictor.predict_image` gives them."""
  canvas, valid, (center, scale, size) = settings_lib.canvas_input(image, settings)
  out = run(canvas, valid)
  candidates = {"values": out["values"][0], "x": out["x"][0], "y": out["y"][0]}
  candidates["tags"] = out["tags_at"][0]
  people, scores = grouping.group_candidates(
    candidates, out["heatmaps"], out["tags"], settings.grouping, 0
  )
  keypoints = protocol.people_in_image(
    people, center, scale, size, settings.x_shift, settings.map_stride
  )
  return keypoints, scores


def export_student(model_dir: str, out_dir: str, settings: ExportSettings) -> dict[str, float]:
  """Exports a student model directory (batch 1) to out_dir: saved_model,
  student_float32.tflite, student_float16.tflite (one signature per canvas) and
  export.json; runs each format on `parity.parity_inputs`; returns {format: the largest
  `parity.differences` to JAX over the canvases}."""
  f, variables = graph.inference_function(model_dir, settings)
  forward = jax.jit(f)
  inputs = parity.parity_inputs(settings)
  references = [
    jax.device_get(graph.jax_candidates(forward(variables, *x), settings.top_k)) for x in inputs
  ]
  saved = export_saved_model(
    f, variables, settings.canvases, os.path.join(out_dir, "saved_model"), settings.top_k
  )
  for float16 in (False, True):
    export_tflite(
      saved, os.path.join(out_dir, f"student_float{16 if float16 else 32}.tflite"), float16
    )
  found = {}
  for name in FORMATS:
    run = load_runner(os.path.join(out_dir, name))
    found[name] = max(parity.differences(run(*x), ref) for x, ref in zip(inputs, references))
  with open(os.path.join(out_dir, "export.json"), "w") as f_json:
    json.dump(
      {**settings.to_dict(), "model": os.path.abspath(model_dir), "differences": found},
      f_json,
      indent=1,
    )
  return found
