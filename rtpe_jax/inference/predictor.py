"""The one predictor: a model (directory or module + variables) and images or
video in, people out.

The network side of `rtpe_jax.inference.protocol` (same resize, flip averaging and
grouping), arranged for throughput:
- shapes are bucketed: the protocol-resized image is padded (bottom, right,
  with the mean colour) to the smallest of a few canvas sizes, and the
  heatmaps beyond the image are zeroed on the device, so XLA compiles once per
  bucket, not once per aspect ratio;
- batch norm is folded into the convolutions (`models.folding`), compute in
  float32, bfloat16 or float16;
- NMS and top-k run on the device inside the network's program: only the 30
  candidates per joint and the maps the refinement reads stay behind;
- on video, host grouping of frame t runs while the device runs frame t + 1.
Padding changes what the network sees near the right and bottom edges of an
image whose shape is not a bucket; with `buckets=()` the canvas is exactly the
protocol size (one compile per shape: the published protocol's result).
`predict_image` with several scales runs the published multi-scale protocol.
Every caller (the trainer's evaluator, infer_teacher.py, predict.py,
visualize, export) builds its network here: `load` or `from_module`. A model
with depth maps (a 3D student) also gives people in camera space:
`predict_image_3d` / `group_frame_3d` read the maps at the grouped joints
(`rtpe_jax.depth`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import time
from typing import Any, Callable, Iterable, Iterator

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from rtpe_jax import coordinates, depth, preprocess
from rtpe_jax.inference import grouping, protocol
from rtpe_jax.models import folding, weights
from rtpe_jax.precision import compute_dtype

MEAN_COLOUR = tuple(int(round(255 * m)) for m in preprocess.MEAN_RGB)
MAP_STRIDES = (1, 2, 4)  # `Model.map_stride`: divides every canvas (multiples of 64)


@dataclasses.dataclass(frozen=True)
class Model:
  """A loaded network ready for the protocol: `network(variables, images)` as
  `rtpe_jax.inference.protocol` takes it, its `OutputSpec`, the protocol's input size, the
  grouping settings it is meant to be read with (the default of every function
  below that takes `cfg`), whether it is read with the flip test and whether that
  test is unbiased (`protocol.flip_shift`) and the stride of the maps it is
  grouped on; a model directory carries all five in its arch.json ("input_size",
  "grouping", "flip", "unbiased_flip", "map_stride").

  map_stride 1 is the published protocol: every map projected to the input's
  resolution before the peaks are found. 2 or 4 group on maps at that stride of the
  input (a fine head's own resolution, or the tags'): a quarter or a sixteenth of
  the pixels to resize, search and read, each peak's quarter-pixel step s/4 input
  pixels (the real-time student's setting, docs/realtime.md)."""

  network: Callable
  variables: Any
  spec: protocol.OutputSpec
  input_size: int
  name: str = ""
  grouping: grouping.GroupingConfig = grouping.GroupingConfig()
  flip: bool = True  # the flip test, the default of every function below that takes `flip`
  unbiased_flip: bool = False  # False: the reference's protocol (published weights)
  map_stride: int = 1  # the grouping's maps at this stride of the input (1: the protocol's)


def network_and_spec(module, fold: bool):
  """(network(variables, images uint8), OutputSpec) of a student or HigherHRNet
  module, the network as `rtpe_jax.inference.protocol` takes it; with `fold` it takes
  `folding.fold_batch_norm` variables."""
  from rtpe_jax.models.student import AttentionStudent, protocol_outputs

  apply = (
    functools.partial(folding.folded_apply, module)
    if fold
    else functools.partial(module.apply, train=False)
  )
  if isinstance(module, AttentionStudent):
    return protocol_outputs(module, apply)
  network = lambda v, images: apply(v, preprocess.normalise(images))
  return network, protocol.OutputSpec.for_hrnet(module.config)


def from_module(
  module,
  variables,
  fold: bool = True,
  input_size: int | None = None,
  name: str = "",
  grouping_cfg: grouping.GroupingConfig = grouping.GroupingConfig(),
  flip: bool = True,
  unbiased_flip: bool = False,
  map_stride: int = 1,
) -> Model:
  """A student or HigherHRNet module and its variables, ready for prediction
  (batch norm folded with `fold`); input_size: the protocol's (default: the
  model's own, else 512); grouping_cfg: the grouping settings it is read with;
  unbiased_flip: True for a model trained here, False for published weights;
  map_stride: `Model.map_stride`."""
  if map_stride not in MAP_STRIDES:
    raise ValueError(f"map_stride {map_stride}: use one of {MAP_STRIDES}")
  if fold:
    channels = weights.input_channels(module)
    variables = folding.fold_batch_norm(module, variables, jnp.zeros((1, 64, 64, channels)))
  network, spec = network_and_spec(module, fold)
  size = input_size or getattr(module.config, "input_size", 512)
  return Model(
    network,
    variables,
    spec,
    size,
    name=name,
    grouping=grouping_cfg,
    flip=flip,
    unbiased_flip=unbiased_flip,
    map_stride=map_stride,
  )


def load(
  model_dir: str, dtype: str = "float32", fold: bool = True, input_size: int | None = None
) -> Model:
  """A trained student or a (converted or trained) HigherHRNet from its model
  directory, with the protocol input size, grouping settings and flip test its
  arch.json names (a trainer's export writes them; defaults: the network's own
  size, else 512, HigherHRNet's grouping, the flip test, the reference's
  protocol)."""
  module, variables = weights.load_model(model_dir, compute_dtype(dtype))
  arch = weights.read_arch(model_dir)
  settings = grouping.GroupingConfig(**arch.get("grouping", {}))
  size = input_size or arch.get("input_size")
  return from_module(
    module,
    variables,
    fold,
    size,
    model_dir,
    settings,
    arch.get("flip", True),
    arch.get("unbiased_flip", False),
    int(arch.get("map_stride", 1)),
  )


def canvas_size(
  protocol_wh: tuple[int, int], input_size: int, buckets: tuple[float, ...]
) -> tuple[int, int]:
  """(w, h) of the canvas an image of protocol size (w, h) is padded to: the
  shorter side is `input_size` already, the longer one goes up to the first
  bucket (multiples of the input size, rounded up to 64) that holds it."""
  if not buckets:
    return protocol_wh
  w, h = protocol_wh
  long_side = max(w, h)
  for b in sorted(buckets):
    side = int(-(-b * input_size // 64) * 64)
    if side >= long_side:
      return (w, side) if h > w else (side, h)
  return protocol_wh


def pad_to_canvas(resized: np.ndarray, canvas_wh: tuple[int, int]) -> np.ndarray:
  """A protocol-resized image (h, w, 3) padded at the bottom and right with the
  mean colour (the network's zero after normalisation) to (H, W, 3)."""
  h, w = resized.shape[:2]
  return cv2.copyMakeBorder(
    resized, 0, canvas_wh[1] - h, 0, canvas_wh[0] - w, cv2.BORDER_CONSTANT, value=MEAN_COLOUR
  )


def canvas_maps(network, spec, flip: bool, variables, canvas, valid_hw, map_stride: int = 1):
  """canvas (B, H, W, 3) uint8 (protocol-resized images padded to one canvas)
  and valid_hw (B, 2) int32 (each image's (h, w) in it) -> heatmaps (B, h, w, J)
  of the protocol at (h, w) = (H, W) / map_stride, zero beyond each image, tags
  (B, h, w, Jt, D) and the depth maps (B, H/4, W/4, 18) of a model with them
  (`spec.depth`, else None). Traced inside the predictor's program and the export's."""
  s = map_stride
  hw = (canvas.shape[1] // s, canvas.shape[2] // s)
  heatmaps, tags, _, _, depth_maps = protocol.scale_maps(network, spec, flip, hw, variables, canvas)
  # A map pixel is inside an image where its first input pixel is.
  rows = jnp.arange(hw[0])[None, :, None] * s < valid_hw[:, :1, None]
  cols = jnp.arange(hw[1])[None, None, :] * s < valid_hw[:, 1:, None]
  return jnp.where((rows & cols)[..., None], heatmaps, 0.0), tags, depth_maps


@protocol.inference_jit(static_argnames=("network", "spec", "flip", "k", "kernel", "map_stride"))
def _canvas_maps(network, spec, flip, k, kernel, variables, canvas, valid_hw, map_stride=1):
  """`canvas_maps` and the top-k candidates of its maps."""
  heatmaps, tags, depth_maps = canvas_maps(
    network, spec, flip, variables, canvas, valid_hw, map_stride
  )
  return heatmaps, tags, depth_maps, grouping.top_candidates(heatmaps, tags, k, kernel)


@dataclasses.dataclass
class Frame:
  """What the device returned for one image, and how to map it back."""

  heatmaps: jax.Array
  tags: jax.Array
  candidates: dict
  center: np.ndarray
  scale: np.ndarray
  size: tuple[int, int]
  grouping: grouping.GroupingConfig = grouping.GroupingConfig()
  depth: jax.Array | None = None  # (B, H/4, W/4, 18) of a model with depth maps
  x_shift: float = 0.0  # `protocol.flip_shift` of the maps
  map_stride: int = 1  # the maps' stride of the input (`Model.map_stride`)


def run_network(
  model: Model,
  image: np.ndarray,
  flip: bool | None = None,
  buckets: tuple[float, ...] = (1.0, 1.5, 2.0),
  cfg: grouping.GroupingConfig | None = None,
) -> Frame:
  """Dispatches the network on one RGB uint8 image (H, W, 3); returns at once
  (the arrays are computed asynchronously). cfg: the grouping's settings (None:
  the model's)."""
  return run_batch(model, [image], flip, buckets, cfg)


def run_batch(
  model: Model,
  images: list[np.ndarray],
  flip: bool | None = None,
  buckets: tuple[float, ...] = (1.0, 1.5, 2.0),
  cfg: grouping.GroupingConfig | None = None,
) -> Frame:
  """As `run_network` for several images of one shape (e.g. video frames):
  one network call on the batch (B, H, W, 3)."""
  cfg = cfg or model.grouping
  flip = model.flip if flip is None else flip
  if any(image.shape != images[0].shape for image in images):
    raise ValueError("run_batch takes images of one shape; use run_network per image")
  resized = [protocol.protocol_resize(image, model.input_size) for image in images]
  center, scale, size = resized[0][1:]
  canvas = np.stack(
    [pad_to_canvas(r[0], canvas_size(size, model.input_size, buckets)) for r in resized]
  )
  valid = np.tile(np.array([[size[1], size[0]]], np.int32), (len(images), 1))
  heatmaps, tags, depth_maps, candidates = _canvas_maps(
    model.network,
    model.spec,
    flip,
    cfg.max_num_people,
    cfg.nms_kernel,
    model.variables,
    canvas,
    valid,
    model.map_stride,
  )
  x_shift = protocol.flip_shift(flip, model.unbiased_flip)
  return Frame(
    heatmaps, tags, candidates, center, scale, size, cfg, depth_maps, x_shift, model.map_stride
  )


def _grouped(frame: Frame, cfg: grouping.GroupingConfig | None, index: int):
  cfg = cfg or frame.grouping
  candidates = {k: v[index] for k, v in jax.device_get(frame.candidates).items()}
  return grouping.group_candidates(candidates, frame.heatmaps, frame.tags, cfg, index)


def group_frame(frame: Frame, cfg: grouping.GroupingConfig | None = None, index: int = 0):
  """Host side of image `index` of a frame: keypoints (P, J, 3) in the image and
  scores (P,). cfg None: the settings the frame was made with."""
  people, scores = _grouped(frame, cfg, index)
  keypoints = protocol.people_in_image(
    people, frame.center, frame.scale, frame.size, frame.x_shift, frame.map_stride
  )
  return keypoints, scores


def group_frame_3d(
  frame: Frame, intrinsics, cfg: grouping.GroupingConfig | None = None, index: int = 0
):
  """`group_frame` and the people in camera space: keypoints (P, J, 3), scores
  (P,) and keypoints_3d (P, J, 3) mm (x right, y down, z forward), read from the
  frame's depth maps at the grouped joints (`depth.read_people`) and back-projected
  through the image's intrinsics (3, 3), in pixel indices."""
  if frame.depth is None:
    raise ValueError("this model has no depth maps (a student with model.student.depth)")
  people, scores = _grouped(frame, cfg, index)
  people = np.array(people, np.float32)
  people[..., :2] *= frame.map_stride  # at stride 1 of the input
  people[..., 0] += frame.x_shift  # the flip test's bias off, where it is taken off
  keypoints = protocol.people_in_image(people, frame.center, frame.scale, frame.size)
  # Grouped joints sit at stride-1 map positions u of the input: input position u + 0.5.
  on_input = coordinates.apply(coordinates.from_map(1), people[..., :2])
  input_scale = protocol.resize_affine(frame.center, frame.scale, frame.size)[0, 0]
  depth_maps = np.asarray(frame.depth[index])
  keypoints_3d = depth.read_people(depth_maps, on_input, keypoints, intrinsics, input_scale)
  return keypoints, scores, keypoints_3d


def predict_image(
  model: Model,
  image: np.ndarray,
  flip: bool | None = None,
  buckets: tuple[float, ...] = (1.0, 1.5, 2.0),
  cfg: grouping.GroupingConfig | None = None,
  scales: tuple[float, ...] = (1.0,),
):
  """People of one RGB uint8 image (H, W, 3): keypoints (P, J, 3) as x, y in the
  image and the joint's value, and scores (P,) (mean joint value).

  One scale: the device path of this module (buckets () for exactly the
  published protocol's input), on maps at the model's `map_stride`. Several: the
  published multi-scale protocol (`protocol.multi_person_maps`, scale-1.0 tags),
  whole maps at stride 1 to the grouping."""
  cfg = cfg or model.grouping
  flip = model.flip if flip is None else flip
  if tuple(scales) != (1.0,):
    protocol_cfg = protocol.ProtocolConfig(
      model.input_size, tuple(scales), flip, grouping=cfg, unbiased_flip=model.unbiased_flip
    )
    heatmaps, tags, mapping = protocol.multi_person_maps(
      model.network, model.variables, model.spec, image, protocol_cfg
    )
    return protocol.group_and_map(heatmaps, tags, *mapping, cfg, protocol_cfg.x_shift)[0]
  return group_frame(run_network(model, image, flip, buckets, cfg), cfg)


def predict_image_3d(
  model: Model,
  image: np.ndarray,
  intrinsics,
  flip: bool | None = None,
  buckets: tuple[float, ...] = (1.0, 1.5, 2.0),
  cfg: grouping.GroupingConfig | None = None,
):
  """People of one RGB uint8 image in 2D and 3D, by a model with depth maps:
  keypoints (P, J, 3), scores (P,), keypoints_3d (P, J, 3) camera mm
  (`group_frame_3d`); intrinsics (3, 3) of the image, in pixel indices."""
  cfg = cfg or model.grouping
  return group_frame_3d(run_network(model, image, flip, buckets, cfg), intrinsics, cfg)


def predict_stream(
  model: Model,
  images: Iterable[np.ndarray],
  flip: bool | None = None,
  buckets: tuple[float, ...] = (1.0, 1.5, 2.0),
  cfg: grouping.GroupingConfig | None = None,
  overlap: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
  """(keypoints, scores) per image, in order. With `overlap`, image t + 1 is on
  the device while a worker thread groups image t."""
  cfg = cfg or model.grouping
  if not overlap:
    for image in images:
      yield predict_image(model, image, flip, buckets, cfg)
    return
  with concurrent.futures.ThreadPoolExecutor(1) as pool:
    pending = None
    for image in images:
      frame = run_network(model, image, flip, buckets, cfg)
      if pending is not None:
        yield pending.result()
      pending = pool.submit(group_frame, frame, cfg)
    if pending is not None:
      yield pending.result()


def read_video(path: str) -> Iterator[np.ndarray]:
  """RGB uint8 frames of a video file (OpenCV)."""
  capture = cv2.VideoCapture(path)
  if not capture.isOpened():
    raise ValueError(f"{path}: cannot open as a video")
  try:
    while True:
      ok, frame = capture.read()
      if not ok:
        return
      yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
  finally:
    capture.release()


def timed_stream(model: Model, frames: list[np.ndarray], **kwargs) -> dict:
  """Runs `predict_stream` twice over `frames` (the first pass compiles):
  {"compile_s", "frames_per_s", "results"}."""
  start = time.perf_counter()
  list(predict_stream(model, frames[:1], **kwargs))
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  results = list(predict_stream(model, frames, **kwargs))
  return {
    "compile_s": compile_s,
    "frames_per_s": len(frames) / (time.perf_counter() - start),
    "results": results,
  }
