"""The student exported as it was scored: a TensorFlow SavedModel and TFLite
flatbuffers (float32, float16 weights), via jax2tf.

  python -m rtpe_jax.export --model out/quickstart/export --out out/export
  python -m rtpe_jax.export --model out/quickstart/export --out out/export \
      --coco data/synthetic --split val2017   # and each format's AP beside the JAX path's

writes OUT/saved_model/, OUT/student_float32.tflite, OUT/student_float16.tflite
and OUT/export.json, checks each one's outputs against JAX on a test picture
(exit status 1 beyond `TOLERANCE`) and, with --coco, scores each one with
COCOeval next to the JAX path (`predict` with the published protocol's exact
input, what the trainer scores).

What the model directory was scored with travels with it (arch.json, written by
the trainer): the protocol's input size, the flip test and the grouping
thresholds; the fine head is part of the network. The export takes them from
there (flags only override) and runs the published protocol's device part on
fixed canvases, one signature each: the protocol-resized image
(`protocol.protocol_resize`, the shorter side at the input size, the longer
rounded up to 64) goes to the smallest canvas that holds it, padded at the
bottom and right with the mean colour where it is smaller. An image whose
protocol size is a canvas runs exactly the scored protocol (a padded one does
not: the network sees the padding near the edges). The default canvases are
every protocol size whose longer side is 1 to 1.5 x the input size (aspect
ratios up to 3:2, both ways: 5 at 256, 9 at 512); `--canvas HxW` chooses others,
e.g. the one size of a camera's frames.

Each signature `canvas_HxW` takes `images` (B, H, W, 3) uint8 and `valid_hw`
(B, 2) int32, each image's protocol size (h, w) inside the canvas, and returns,
at the canvas resolution:
  heatmaps (B, H, W, J) float32: every output's heatmaps averaged (the fine
    head's too), over the flip run as well, zero beyond valid_hw;
  tags (B, H, W, T, D) float32 (D = 2 with the flip test);
  values (B, J, K), x (B, J, K), y (B, J, K) int32: the K strongest NMS peaks
    per joint, and their tags tags_at (B, J, K, D);
  depth (B, H/4, W/4, 18) float32 of a 3D student (`rtpe_jax.depth`: read at the
    grouped joints with `depth.read_people`), averaged over the flip run.
Grouping and the way back to the image stay on the host
(`exported_people`: `grouping.group_candidates`, `protocol.people_in_image`).
The network, flip and NMS are JAX (jax2tf); the top-k and the gather of the
tags are TensorFlow ops in the same graph: jax's `lax.top_k` and `lax.sort`
lower to StableHLO that TensorFlow 2.21's TFLite converter cannot read, while
`tf.math.top_k` is a TFLite built-in. `jax_candidates` is the same step in JAX.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Callable

import jax
import numpy as np

from rtpe_jax.inference import coco_metrics, grouping, predictor, protocol
from rtpe_jax.models import weights

# The largest |exported - JAX| a format may show on the test inputs, as a
# fraction of the JAX maps' largest magnitude (heatmaps and tags apart): float32
# graphs differ only in the order of float operations (measured 3e-7 to 6e-7 on
# the trained quickstart student), float16 weights round to 11 significant bits
# (5e-4 there; under 1e-2 with random weights): docs/realtime.md.
TOLERANCE = {"saved_model": 1e-5, "student_float32.tflite": 1e-5, "student_float16.tflite": 1e-2}
FORMATS = tuple(TOLERANCE)


@dataclasses.dataclass(frozen=True)
class ExportSettings:
  """What an export was made with (OUT/export.json)."""

  canvases: tuple[tuple[int, int], ...]  # (h, w) each, one signature each
  input_size: int
  flip: bool
  grouping: grouping.GroupingConfig
  top_k: int = 30

  def to_dict(self) -> dict:
    return {
      "canvases": [list(c) for c in self.canvases],
      "input_size": self.input_size,
      "flip": self.flip,
      "grouping": dataclasses.asdict(self.grouping),
      "top_k": self.top_k,
    }

  @classmethod
  def from_dict(cls, d: dict) -> "ExportSettings":
    return cls(
      tuple(tuple(c) for c in d["canvases"]),
      d["input_size"],
      d["flip"],
      grouping.GroupingConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in d["grouping"].items()}
      ),
      d["top_k"],
    )

  def canvas_for(self, protocol_hw: tuple[int, int]) -> tuple[int, int]:
    """The smallest canvas (h, w) that holds a protocol-resized image of (h, w)."""
    fits = [c for c in self.canvases if c[0] >= protocol_hw[0] and c[1] >= protocol_hw[1]]
    if not fits:
      raise ValueError(
        f"an image resized to {protocol_hw[1]}x{protocol_hw[0]} fits none of the export's "
        f"canvases {', '.join(signature(c) for c in self.canvases)} (export with --canvas)"
      )
    return min(fits, key=lambda c: (c[0] * c[1], c))


def signature(canvas: tuple[int, int]) -> str:
  return f"canvas_{canvas[0]}x{canvas[1]}"


def default_canvases(input_size: int) -> tuple[tuple[int, int], ...]:
  """(h, w) of every protocol size whose longer side is 1 to 1.5 x the input size,
  landscape and portrait: the protocol's own input for aspect ratios up to 3:2."""
  longest = int(-(-1.5 * input_size // 64) * 64)
  out = []
  for side in range(input_size, longest + 1, 64):
    out += [(input_size, side)] + ([(side, input_size)] if side != input_size else [])
  return tuple(out)


def settings_for(
  model_dir: str,
  input_size: int | None = None,
  flip: bool | None = None,
  canvases=None,
  top_k: int = 30,
) -> ExportSettings:
  """The export's settings: what arch.json says the model was scored with, each
  overridden where given (canvases: (h, w) pairs)."""
  arch = weights.read_arch(model_dir)
  if arch["model"] != "attention_student":
    raise ValueError(f"{model_dir}: export takes a student, not a {arch['model']}")
  size = int(input_size or arch.get("input_size") or 512)
  flip = arch.get("flip", True) if flip is None else flip
  canvases = tuple(tuple(c) for c in canvases) if canvases else default_canvases(size)
  for c in canvases:
    if any(v % 64 for v in c) or min(c) < size:
      raise ValueError(f"canvas {c[0]}x{c[1]}: multiples of 64, at least the input size {size}")
  return ExportSettings(
    canvases, size, bool(flip), grouping.GroupingConfig(**arch.get("grouping", {})), top_k
  )


def inference_function(model_dir: str, settings: ExportSettings) -> tuple[Callable, dict]:
  """(f(variables, images (B, H, W, 3) uint8, valid_hw (B, 2) int32) -> {heatmaps,
  tags, peaks, and a 3D student's depth maps (B, H/4, W/4, 18)}, variables) of a trained student, its network as the predictor
  runs it (`predictor.load`: batch norm folded): the protocol's maps at the canvas
  resolution and `peaks`, the NMS-kept heatmap values (0 elsewhere), from which
  the export takes the top k."""
  model = predictor.load(model_dir, fold=True, input_size=settings.input_size)
  kernel = settings.grouping.nms_kernel

  def f(variables, images, valid_hw):
    heatmaps, tags, depth_maps = predictor.canvas_maps(
      model.network, model.spec, settings.flip, variables, images, valid_hw
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


def _tf_function(f: Callable, variables, canvas: tuple[int, int], k: int, batch: int = 1):
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


def export_saved_model(
  f: Callable, variables, canvases, out_dir: str, k: int = 30, batch: int = 1
) -> str:
  """A TensorFlow SavedModel of `f` with the variables as constants: one
  signature `canvas_HxW` per canvas (h, w), each taking `images` (batch, H, W, 3)
  uint8 and `valid_hw` (batch, 2) int32."""
  import tensorflow as tf

  module = tf.Module()
  functions = {signature(c): _tf_function(f, variables, c, k, batch) for c in canvases}
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

  name = lambda images: signature(images.shape[1:3])
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


def canvas_input(image: np.ndarray, settings: ExportSettings):
  """One RGB uint8 image (H, W, 3) -> the export's inputs (canvas (1, H', W', 3),
  valid_hw (1, 2)) and the protocol's (centre, scale, size) that map people back."""
  resized, center, scale, size = protocol.protocol_resize(image, settings.input_size)
  h, w = settings.canvas_for((size[1], size[0]))
  canvas = predictor.pad_to_canvas(resized, (w, h))
  return canvas[None], np.array([[size[1], size[0]]], np.int32), (center, scale, size)


def exported_people(run, image: np.ndarray, settings: ExportSettings):
  """People of one RGB uint8 image through an exported model (`load_runner`):
  keypoints (P, J, 3) as positions in the image and scores (P,), as
  `predictor.predict_image` gives them."""
  canvas, valid, (center, scale, size) = canvas_input(image, settings)
  out = run(canvas, valid)
  candidates = {"values": out["values"][0], "x": out["x"][0], "y": out["y"][0]}
  candidates["tags"] = out["tags_at"][0]
  people, scores = grouping.group_candidates(
    candidates, out["heatmaps"], out["tags"], settings.grouping, 0
  )
  return protocol.people_in_image(people, center, scale, size), scores


def test_inputs(settings: ExportSettings) -> list[tuple[np.ndarray, np.ndarray]]:
  """What the formats are compared on: per canvas, a synthetic picture with
  people resized to fill it, (images (1, H, W, 3), valid_hw (1, 2))."""
  import cv2

  from rtpe_jax.data import synthetic

  image = np.asarray(synthetic.make_image(0, "val2017", 3, size=settings.input_size)[0])
  return [
    (cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)[None], np.array([[h, w]], np.int32))
    for h, w in settings.canvases
  ]


def differences(outputs: dict, reference: dict) -> float:
  """The largest |output - JAX| of the heatmaps, of the tags and of a 3D
  student's depth maps, each as a fraction of the JAX maps' largest magnitude."""
  return max(
    float(np.abs(outputs[k] - reference[k]).max() / max(np.abs(reference[k]).max(), 1e-12))
    for k in ("heatmaps", "tags", "depth")
    if k in reference
  )


def export_student(model_dir: str, out_dir: str, settings: ExportSettings) -> dict[str, float]:
  """Exports a student model directory (batch 1) to out_dir: saved_model,
  student_float32.tflite, student_float16.tflite (one signature per canvas) and
  export.json; runs each format on `test_inputs`; returns {format: the largest
  `differences` to JAX over the canvases}."""
  f, variables = inference_function(model_dir, settings)
  forward = jax.jit(f)
  inputs = test_inputs(settings)
  references = [
    jax.device_get(jax_candidates(forward(variables, *x), settings.top_k)) for x in inputs
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
    found[name] = max(differences(run(*x), ref) for x, ref in zip(inputs, references))
  with open(os.path.join(out_dir, "export.json"), "w") as f_json:
    json.dump(
      {**settings.to_dict(), "model": os.path.abspath(model_dir), "differences": found},
      f_json,
      indent=1,
    )
  return found


def read_settings(out_dir: str) -> ExportSettings:
  with open(os.path.join(out_dir, "export.json")) as f:
    return ExportSettings.from_dict(json.load(f))


def evaluate_formats(
  model_dir: str, out_dir: str, root: str, split: str, ids=None, max_images: int = 0
) -> dict[str, dict[str, float]]:
  """COCOeval of each exported format and of the JAX path (`predict`, exact
  protocol sizes, what the trainer scores) on a COCO-layout split (the image ids
  `ids`, default all; the first `max_images`): {"jax": stats, format: stats}."""
  from rtpe_jax.data import coco
  from rtpe_jax.data.images import read_image

  settings = read_settings(out_dir)
  ground_truth = coco.load_coco(root, split)
  image_ids = coco.select_image_ids(ground_truth, whitelist=ids)
  if max_images:
    image_ids = image_ids[:max_images]
  images = [
    read_image(coco.image_path(root, split, info["file_name"]), info["id"])
    for info in ground_truth.loadImgs(image_ids)
  ]
  model = predictor.load(model_dir, input_size=settings.input_size)
  people = {
    "jax": lambda image: predictor.predict_image(
      model, image, settings.flip, buckets=(), cfg=settings.grouping
    )
  }
  for name in FORMATS:
    run = load_runner(os.path.join(out_dir, name))
    people[name] = lambda image, run=run: exported_people(run, image, settings)
  stats = {}
  for name, find in people.items():
    results = []
    for image_id, image in zip(image_ids, images):
      results += protocol.coco_results(image_id, *find(image))
    stats[name] = coco_metrics.evaluate(ground_truth, results, image_ids)
  return stats


def main(argv=None) -> int:
  import argparse

  parser = argparse.ArgumentParser(
    description="Exports a trained student to SavedModel and TFLite."
  )
  parser.add_argument("--model", required=True, help="student model directory")
  parser.add_argument("--out", required=True)
  parser.add_argument(
    "--input-size", type=int, help="the protocol's shorter side (default: arch.json)"
  )
  parser.add_argument(
    "--canvas",
    nargs="+",
    help="canvases HxW (multiples of 64; default: every protocol size of aspect ratios up to 3:2)",
  )
  flip = parser.add_mutually_exclusive_group()
  flip.add_argument("--flip", dest="flip", action="store_true", default=None, help="the flip test")
  flip.add_argument("--no-flip", dest="flip", action="store_false", help="one network pass")
  parser.add_argument("--top-k", type=int, default=30)
  parser.add_argument("--coco", help="also score every format on this COCO-layout root")
  parser.add_argument("--split", default="val2017")
  parser.add_argument(
    "--ids", help="with --coco: only these image ids (a file, e.g. a minival list)"
  )
  parser.add_argument("--max-images", type=int, default=0, help="with --coco: the first N images")
  args = parser.parse_args(argv)
  try:
    canvases = [tuple(int(v) for v in c.lower().split("x")) for c in args.canvas or []]
  except ValueError:
    parser.error(f"--canvas {args.canvas}: give HxW, e.g. 256x320")
  settings = settings_for(args.model, args.input_size, args.flip, canvases, args.top_k)
  print(
    f"{args.model}: input size {settings.input_size}, flip {settings.flip}, canvases "
    f"{' '.join(f'{h}x{w}' for h, w in settings.canvases)}, detection threshold "
    f"{settings.grouping.detection_threshold}, tag threshold {settings.grouping.tag_threshold}"
  )
  failed = []
  for name, difference in export_student(args.model, args.out, settings).items():
    ok = difference <= TOLERANCE[name]
    failed += [] if ok else [name]
    print(
      f"{os.path.join(args.out, name)}: max |maps - JAX| = {difference:.2e} of their range "
      f"(tolerance {TOLERANCE[name]:.0e}){'' if ok else ': TOO LARGE'}"
    )
  if args.coco:
    from rtpe_jax.data import coco

    ids = coco.read_id_list(args.ids) if args.ids else None
    stats = evaluate_formats(args.model, args.out, args.coco, args.split, ids, args.max_images)
    for name, s in stats.items():
      print(f"{name:>24}: AP {s['AP']:.4f}  AP .5 {s['AP .5']:.4f}  ({args.split})")
    with open(os.path.join(args.out, "ap.json"), "w") as f:
      json.dump(stats, f, indent=1)
  if failed:
    print(
      f"exported outputs differ from JAX beyond the tolerance: {', '.join(failed)}", file=sys.stderr
    )
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
