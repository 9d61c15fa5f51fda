"""The student (network + on-device NMS and top-k) exported for applications:
a TensorFlow SavedModel and TFLite flatbuffers (float32, float16), via jax2tf.

  python -m rtpe_jax.export --model out/quickstart/export --out out/export --height 256 --width 320

writes OUT/saved_model/, OUT/student_float32.tflite, OUT/student_float16.tflite
and prints each one's largest difference to the JAX outputs on a test image.

The exported function takes a fixed-size batch of RGB uint8 images
(B, H, W, 3) (the caller resizes; H, W multiples of 64) and returns, at the
network's output resolution (stride 4):
  heatmaps (B, H/4, W/4, J) float32, tags (B, H/4, W/4, T) float32,
  values (B, J, K), x (B, J, K), y (B, J, K) int32: the K strongest NMS peaks
  per joint, and their tags (B, J, K, T).
No flip run (one network pass: what a real-time application does). Grouping
stays on the host (`rtpe_jax.grouping.group_candidates`).

The network and NMS are JAX (jax2tf); the top-k and the gather of the tags
are TensorFlow ops in the same graph: jax's `lax.top_k` and `lax.sort` lower to
StableHLO that TensorFlow 2.21's TFLite converter cannot read, while
`tf.math.top_k` is a TFLite built-in. `jax_candidates` is the same step in JAX.
"""

from __future__ import annotations

import os
from typing import Callable

import jax
import numpy as np

from rtpe_jax import grouping, predict
from rtpe_jax.models import weights


def inference_function(model_dir: str, fold: bool = True) -> tuple[Callable, dict]:
  """(f(variables, images uint8 (B, H, W, 3)) -> {heatmaps, tags, peaks}, variables)
  of a trained student, its network as the predictor runs it (`predict.load`):
  `peaks` (B, H/4, W/4, J) are the NMS-kept heatmap values (0 elsewhere), from
  which the export takes the top k."""
  arch = weights.read_arch(model_dir)["model"]
  if arch != "attention_student":
    raise ValueError(f"{model_dir}: export takes a student, not a {arch}")
  model = predict.load(model_dir, fold=fold)
  j = model.spec.num_joints

  def f(variables, images):
    out = model.network(variables, images)[0]  # stride 4: heatmaps, then tags
    heatmaps = out[..., :j]
    return {"heatmaps": heatmaps, "tags": out[..., j:], "peaks": grouping.nms(heatmaps)}

  return f, model.variables


def jax_candidates(outputs: dict, k: int = 30) -> dict:
  """What the export returns, computed in JAX from `f`'s outputs."""
  top = grouping.top_candidates(outputs["heatmaps"], outputs["tags"][..., None, :], k)
  return {
    "heatmaps": outputs["heatmaps"],
    "tags": outputs["tags"],
    "values": top["values"],
    "x": top["x"],
    "y": top["y"],
    "tags_at": top["tags"],
  }


def _tf_function(f: Callable, variables, input_shape, k: int):
  import tensorflow as tf
  from jax.experimental import jax2tf

  params = jax.tree.map(np.asarray, variables)
  converted = jax2tf.convert(lambda images: f(params, images), with_gradient=False)

  def predict(images):
    out = converted(images)
    b, h, w, j = out["peaks"].shape
    flat = tf.reshape(tf.transpose(out["peaks"], [0, 3, 1, 2]), [b, j, h * w])
    values, index = tf.math.top_k(flat, k)
    tags = tf.reshape(out["tags"], [b, h * w, -1])
    tags_at = tf.gather(tags, tf.reshape(index, [b, j * k]), batch_dims=1)
    return {
      "heatmaps": out["heatmaps"],
      "tags": out["tags"],
      "values": values,
      "x": index % w,
      "y": index // w,
      "tags_at": tf.reshape(tags_at, [b, j, k, -1]),
    }

  return tf.function(
    predict, autograph=False, input_signature=[tf.TensorSpec(input_shape, tf.uint8, name="images")]
  )


def export_saved_model(
  f: Callable, variables, input_shape: tuple[int, ...], out_dir: str, k: int = 30
) -> str:
  """A TensorFlow SavedModel of `f` with the variables as constants; its
  `serving_default` signature takes `images` (uint8, `input_shape`)."""
  import tensorflow as tf

  module = tf.Module()
  module.predict = _tf_function(f, variables, input_shape, k)
  tf.saved_model.save(module, out_dir, signatures={"serving_default": module.predict})
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


def run_saved_model(saved_model_dir: str, images: np.ndarray) -> dict[str, np.ndarray]:
  """Runs a SavedModel export on images (B, H, W, 3) uint8: its outputs by name."""
  import tensorflow as tf

  predict = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
  return {k: v.numpy() for k, v in predict(images=tf.constant(images)).items()}


def run_tflite(path: str, images: np.ndarray) -> dict[str, np.ndarray]:
  """Runs a TFLite export on images (B, H, W, 3) uint8: its outputs by name."""
  import tensorflow as tf

  interpreter = tf.lite.Interpreter(model_path=path)
  runner = interpreter.get_signature_runner("serving_default")
  return {k: np.asarray(v) for k, v in runner(images=images).items()}


def export_student(
  model_dir: str, out_dir: str, shape: tuple[int, int, int, int], k: int = 30
) -> dict[str, float]:
  """Exports a student model directory for uint8 images of `shape` (B, H, W, 3):
  out_dir/saved_model, student_float32.tflite and student_float16.tflite, each
  run on the same random images; returns {path: max |heatmap, tag - JAX|}."""
  f, variables = inference_function(model_dir)
  images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
  reference = jax.device_get(jax_candidates(jax.jit(f)(variables, images), k))
  saved = export_saved_model(f, variables, shape, os.path.join(out_dir, "saved_model"), k)
  runs = {saved: run_saved_model(saved, images)}
  for float16 in (False, True):
    path = os.path.join(out_dir, f"student_float{16 if float16 else 32}.tflite")
    written = export_tflite(saved, path, float16)
    runs[written] = run_tflite(written, images)
  return {
    path: max(float(np.abs(out[k] - reference[k]).max()) for k in ("heatmaps", "tags"))
    for path, out in runs.items()
  }


def main(argv=None) -> None:
  import argparse

  parser = argparse.ArgumentParser(
    description="Exports a trained student to SavedModel and TFLite."
  )
  parser.add_argument("--model", required=True, help="student model directory")
  parser.add_argument("--out", required=True)
  parser.add_argument("--height", type=int, default=512, help="input height (multiple of 64)")
  parser.add_argument("--width", type=int, default=512, help="input width (multiple of 64)")
  parser.add_argument("--batch", type=int, default=1)
  parser.add_argument("--top-k", type=int, default=30)
  args = parser.parse_args(argv)
  if args.height % 64 or args.width % 64:
    raise SystemExit(f"--height {args.height} / --width {args.width}: use multiples of 64")
  for path, diff in export_student(
    args.model, args.out, (args.batch, args.height, args.width, 3), args.top_k
  ).items():
    print(f"{path}: max |heatmap, tag - JAX| = {diff:.2e}")


if __name__ == "__main__":
  main()
