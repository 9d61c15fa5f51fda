"""The published bottom-up test protocol, for any network that outputs heatmaps and tags.

Per image: for each scale (largest first) resize the image with an affine
around its centre (the shorter side becomes the scale's input size, the longer
keeps the aspect ratio, both rounded up to multiples of 64); run the network on
the image and its mirror; resize every output to the last (highest-resolution)
one, bilinear with half-pixel centres (PyTorch's align_corners=False); average
the heatmaps of the outputs that carry heatmaps and of the two runs (the
mirrored run flipped back, its joint channels swapped with the COCO flip
index, its tags too when there is one tag map per joint); keep both runs' tags;
project heatmaps and tags to the scale-1.0 input size (a map at stride 1 of
it). Heatmaps are averaged over scales. Tags: the reference implementation that
produced the published numbers keeps the scale-1.0 tags only (D = 2 with flip);
`tags_from_all_scales` stacks every scale's (D = 2 x scales). Then grouping
(`rtpe_jax.inference.grouping`), and the people go back to the original image: a peak
at stride-1 map position u is the joint at input position u + 0.5
(`coordinates.from_map`), through the inverse of the scale-1.0 affine. That is
the reference's arithmetic to the last digit (its inverse OpenCV matrix applied
to the grouping's output), so HigherHRNet's published weights give the
published people; with the flip test it carries the reference's half-pixel
bias in x (`rtpe_jax.coordinates`). `unbiased_flip` takes that bias off
(`flip_shift`): every model trained here is read so; converted published
weights keep the reference's protocol (arch.json "unbiased_flip", written by
where the weights come from). Results leave in COCO's convention
(`coco_results`: pixel indices).

`network(variables, images)` takes (B, H, W, 3) RGB uint8, makes the model's
input itself (normalisation, a student's LAB/HSV: `preprocess.model_input`) and
returns a list of NHWC outputs; `rtpe_jax.inference.predictor.network_and_spec` makes one
of any model. It must be hashable: it is a static argument of the compiled
step. `OutputSpec` says which outputs carry heatmaps (the first `num_joints`
channels) and tags (the channels after the heatmaps, or all of them for an
output without heatmaps).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rtpe_jax import coordinates, depth, resize
from rtpe_jax.inference import grouping
from rtpe_jax.keypoints import FLIP_INDEX

Network = Callable[[object, jax.Array], Sequence[jax.Array]]


@dataclasses.dataclass(frozen=True)
class OutputSpec:
  """Which network outputs carry heatmaps and tags (HigherHRNet: both, then heatmaps)."""

  with_heatmaps: tuple[bool, ...] = (True, True)
  with_tags: tuple[bool, ...] = (True, False)
  num_joints: int = 17
  tag_per_joint: bool = True
  depth: bool = False  # the last output is the depth maps (`rtpe_jax.depth`), no heatmaps or tags

  @classmethod
  def for_hrnet(cls, config) -> "OutputSpec":
    """From an `HRNetConfig`."""
    n = config.num_outputs
    return cls(
      with_heatmaps=(True,) * n,
      with_tags=tuple(bool(config.with_ae[i]) for i in range(n)),
      num_joints=config.num_joints,
      tag_per_joint=config.tag_per_joint,
    )


@dataclasses.dataclass(frozen=True)
class ProtocolConfig:
  input_size: int = 512
  scales: tuple[float, ...] = (1.0,)
  flip: bool = True
  tags_from_all_scales: bool = False
  grouping: grouping.GroupingConfig = grouping.GroupingConfig()
  unbiased_flip: bool = False  # False: the reference's protocol, bias and all

  @property
  def x_shift(self) -> float:
    """`flip_shift` of this protocol."""
    return flip_shift(self.flip, self.unbiased_flip, self.scales)


def flip_shift(flip: bool, unbiased: bool, scales: Sequence[float] = (1.0,)) -> float:
  """x shift (stride-1 map pixels of the scale-1.0 input) that takes the flip test's
  bias off the grouped peaks: the average of a run and its mirror peaks half an
  input pixel right of the map convention (`rtpe_jax.coordinates`), 0.5 / s of the
  scale-1.0 input at scale s. 0 without the flip test or with the reference's
  protocol. Exact at one scale; several scales' maps are averaged before the
  peaks are found, so there it is the mean of their shifts."""
  if not (flip and unbiased):
    return 0.0
  return -0.5 * float(np.mean([1.0 / s for s in scales]))


def scale_size(h: int, w: int, input_size: int, scale: float, min_scale: float):
  """Input (width, height), centre (x, y) and affine scale (sx, sy) in 200-px units
  of one test scale, as the reference computes them."""
  center = np.array([int(w / 2.0 + 0.5), int(h / 2.0 + 0.5)])
  min_input = int((min_scale * input_size + 63) // 64 * 64)
  if w < h:
    w_resized = int(min_input * scale / min_scale)
    h_resized = int(int((min_input / w * h + 63) // 64 * 64) * scale / min_scale)
    scale_w = w / 200.0
    scale_h = h_resized / w_resized * w / 200.0
  else:
    h_resized = int(min_input * scale / min_scale)
    w_resized = int(int((min_input / h * w + 63) // 64 * 64) * scale / min_scale)
    scale_h = h / 200.0
    scale_w = w_resized / h_resized * h / 200.0
  return (w_resized, h_resized), center, np.array([scale_w, scale_h])


def resize_affine(center, scale, size) -> np.ndarray:
  """(3, 3) image position -> position in the resized image of `size` (w, h): the
  reference's resize (the width scale[0] * 200 around `center` onto size[0], the
  same factor vertically, the centre onto the middle of `size`, as an OpenCV
  matrix) in the project's convention (`rtpe_jax.coordinates`)."""
  k = size[0] / (scale[0] * 200.0)
  opencv = np.array(
    [[k, 0.0, size[0] / 2.0 - k * center[0]], [0.0, k, size[1] / 2.0 - k * center[1]]]
  )
  return coordinates.from_opencv(opencv)


def resize_image(image: np.ndarray, center, scale, size) -> np.ndarray:
  """The image (H, W, C) resized as the reference resizes it: (size[1], size[0], C)."""
  return coordinates.warp(image, resize_affine(center, scale, size), (size[1], size[0]))


def protocol_resize(image: np.ndarray, input_size: int, scale: float = 1.0, min_scale: float = 1.0):
  """The image (H, W, 3) resized for one test scale: (resized, centre, scale (sx, sy),
  size (w, h)); the last three map positions back (`people_in_image`)."""
  h, w = image.shape[:2]
  size, center, affine_scale = scale_size(h, w, input_size, scale, min_scale)
  return resize_image(image, center, affine_scale, size), center, affine_scale, size


def to_image(xy: np.ndarray, center, scale, size) -> np.ndarray:
  """(..., 2) peak positions in the maps projected to the resized input of `size`
  (w, h) (stride 1) -> the joints' positions in the original image."""
  matrix = np.linalg.inv(resize_affine(center, scale, size)) @ coordinates.from_map(1)
  return coordinates.apply(matrix, xy)


def people_in_image(
  people: np.ndarray, center, scale, size, x_shift: float = 0.0, map_stride: int = 1
) -> np.ndarray:
  """Grouped people (P, J, >= 3) at the protocol size -> keypoints (P, J, 3): x, y
  positions in the original image and the joint's value; x_shift (`flip_shift`)
  moves the peaks first. map_stride: the people were grouped on maps at that
  stride of the protocol's input (`predictor.Model.map_stride`): a position v there
  is s v at stride 1 (both measure from the maps' edge)."""
  keypoints = np.array(people[..., :3], np.float32)
  xy = keypoints[..., :2] * np.float32(map_stride) + np.array([x_shift, 0.0], np.float32)
  keypoints[..., :2] = to_image(xy, center, scale, size)
  return keypoints


def compiler_options() -> dict[str, str]:
  """XLA options of the inference programs. On a CPU, YNNPACK takes the
  elementwise work too (folded batch norm, ReLU, the fuse layers' sums): on the
  2-core EPYC 13-23 % faster for HigherHRNet, 4-18 % for the student
  (docs/teacher.md). The train step was slower with it, so only inference uses it."""
  if jax.default_backend() != "cpu":
    return {}
  return {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_ELTWISE"}


def inference_jit(fn=None, **jit_kwargs):
  """`jax.jit` with `compiler_options()`, chosen at the first call rather than at
  import (the backend must not start before `jax.distributed.initialize`). Called
  inside another jit it is a plain nested jit (options go on the outermost only)."""
  if fn is None:
    return functools.partial(inference_jit, **jit_kwargs)
  nested = jax.jit(fn, **jit_kwargs)
  top = []

  @functools.wraps(fn)
  def call(*args, **kwargs):
    if any(isinstance(a, jax.core.Tracer) for a in jax.tree.leaves((args, kwargs))):
      return nested(*args, **kwargs)
    if not top:
      top.append(jax.jit(fn, compiler_options=compiler_options(), **jit_kwargs))
    return top[0](*args, **kwargs)

  call._cache_size = lambda: top[0]._cache_size() if top else 0  # compiles so far (tests)
  return call


@inference_jit(static_argnames=("network", "spec", "flip", "projected_hw"))
def scale_maps(network, spec: OutputSpec, flip: bool, projected_hw, variables, images):
  """images (B, H, W, 3) uint8 -> heatmaps (B, h, w, J) averaged over outputs and
  runs and tags (B, h, w, Jt, runs), both at projected_hw (h, w); the native
  maps: the averaged heatmaps at the last heatmap output's resolution and the first
  run's tags at the resolution of the first output that carries them; and the
  depth maps (B, H/4, W/4, 18) averaged over the runs (the mirror's flipped back,
  its left and right swapped), None without `spec.depth`.
  projected_hw None: no projection (None for the first two)."""
  b = images.shape[0]
  batch = jnp.concatenate([images, images[:, :, ::-1]]) if flip else images
  outputs = network(variables, batch)
  depth_maps = None
  if spec.depth:
    outputs, depth_maps = outputs[:-1], outputs[-1].astype(jnp.float32)
    if flip:
      mirrored = depth_maps[b:, :, ::-1][..., list(depth.FLIP_CHANNELS)]
      depth_maps = (depth_maps[:b] + mirrored) / 2
  last_hw = outputs[-1].shape[1:3]
  j = spec.num_joints
  heatmap_sum, count, tags, native_tags = 0.0, 0, [], None
  for i, out in enumerate(outputs):
    out = out.astype(jnp.float32)
    if spec.with_tags[i] and native_tags is None:
      native_tags = out[:b, ..., j if spec.with_heatmaps[i] else 0 :]
    if i != len(outputs) - 1:
      out = resize.bilinear(out, last_hw)
    runs = [out[:b]]
    if flip:
      runs.append(out[b:, :, ::-1])
    for r, run in enumerate(runs):
      flipped = r == 1
      offset = j if spec.with_heatmaps[i] else 0
      if spec.with_heatmaps[i]:
        hm = run[..., :j]
        heatmap_sum += hm[..., list(FLIP_INDEX)] if flipped else hm
        count += 1
      if spec.with_tags[i]:
        tag = run[..., offset:]
        if flipped and spec.tag_per_joint:
          tag = tag[..., list(FLIP_INDEX)]
        tags.append(tag)
  native_heatmaps = heatmap_sum / count
  if projected_hw is None:
    return None, None, native_heatmaps, native_tags, depth_maps
  heatmaps = resize.bilinear(native_heatmaps, projected_hw)
  tags = jnp.stack([resize.bilinear(t, projected_hw) for t in tags], -1)
  return heatmaps, tags, native_heatmaps, native_tags, depth_maps


def multi_person_maps(
  network: Network, variables, spec: OutputSpec, image: np.ndarray, cfg: ProtocolConfig
):
  """Final heatmaps (1, h, w, J) and tags (1, h, w, Jt, D) of one RGB uint8 image,
  with the scale-1.0 centre, scale and size (w, h) that map them back."""
  h, w = image.shape[:2]
  min_scale = min(cfg.scales)
  base_size, center, scale = scale_size(h, w, cfg.input_size, 1.0, min_scale)
  projected_hw = (base_size[1], base_size[0])
  heatmaps, tags = 0.0, []
  for s in sorted(cfg.scales, reverse=True):
    resized = protocol_resize(image, cfg.input_size, s, min_scale)[0]
    hm, tg, *_ = scale_maps(network, spec, cfg.flip, projected_hw, variables, resized[None])
    heatmaps = heatmaps + hm
    if s == 1.0 or len(cfg.scales) == 1 or cfg.tags_from_all_scales:
      tags.append(tg)
  heatmaps = heatmaps / len(cfg.scales)
  return heatmaps, jnp.concatenate(tags, -1), (center, scale, base_size)


def group_and_map(
  heatmaps, tags, center, scale, size, cfg: grouping.GroupingConfig, x_shift: float = 0.0
):
  """Final maps (B, h, w, J), (B, h, w, Jt, D) of images sharing one scale-1.0
  affine -> per image keypoints (P, J, 3) in the image and scores (P,); x_shift:
  `flip_shift` of the protocol that made the maps."""
  return [
    (people_in_image(people, center, scale, size, x_shift), scores)
    for people, scores in grouping.group(heatmaps, tags, cfg)
  ]


def coco_results(image_id: int, keypoints: np.ndarray, scores: np.ndarray) -> list[dict]:
  """COCO keypoint results of keypoints (P, J, 3) (positions, value): one dict per
  person (category 1), x and y as COCO's pixel indices (`coordinates.to_coco_keypoints`)."""
  return [
    {
      "image_id": int(image_id),
      "category_id": 1,
      "keypoints": [round(float(v), 3) for v in person.reshape(-1)],
      "score": float(score),
    }
    for person, score in zip(coordinates.to_coco_keypoints(keypoints), scores)
  ]
