"""Students: Context-Aware Modules on a stem, with a human-segmentation attention branch.

The attention student (docs/student.md, phases 1-2):
  stem (the converted teacher stem, frozen; or its own small stem, phase 3)
    (B, H/4, W/4, 256)
  -> mid stem: 1x1 conv-BN-ReLU to `channels`
  -> segmentation branch: CAMs at 1/4, 1/8 and 1/16 of the image (the stem's
     resolution and two average-poolings), upsampled and summed, 3x3 conv to one
     logit map (B, H/4, W/4, 1)
  -> attention: features * sigmoid(logits / divisor), the divisor decaying
     from ~20 to 1 early in training
  -> concatenated with the alternate colour space (LAB/HSV) branch (two
     stride-2 3x3 conv-BN-ReLU) and a 1x1 conv back to `channels`
  -> keypoint detector: `detector_steps` CAMs, each refining the sum of the
     previous outputs (with `detector_levels` > 1 each step is a multi-resolution
     CAM as in the segmentation branch: more context at little cost) -> 3x3 conv
     to 17 heatmaps and `tag_channels` (0, 1 or 17), with `tag_coordinates` plus
     a learnt plane a * x + b * y of the map position;
  -> with `depth`, a 3x3 conv-BN-ReLU and a 3x3 conv from the detector's
     features to 18 depth maps (B, H/4, W/4, 18): the root depth and the
     joints' depths relative to it (`rtpe_jax.depth`, phase 4);
  -> with `fine_heatmaps`, a second head at 1/2: the detector's features and
     heatmaps upsampled 2x beside a stride-2 conv of the input, a 3x3
     conv-BN-ReLU, 3x3 to 17 heatmaps (B, H/2, W/2, 17) (HigherHRNet's idea: the
     protocol averages both outputs' heatmaps); with `fine_merge` "add" the
     1/4 part goes through a 1x1 conv to `fine_channels` first and is added to
     the input's conv instead (the real-time student's).
Input: (B, H, W, 3) normalised RGB, or (B, H, W, 6) with the alternate colour
space in the last three channels (`rtpe_jax.preprocess.model_input` makes it from uint8).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from rtpe_jax import resize
from rtpe_jax.depth import CHANNELS as DEPTH_CHANNELS
from rtpe_jax.models.hrnet import ARCHS, HRNetStem, _Layers, map_position


@dataclasses.dataclass(frozen=True)
class StudentConfig:
  name: str = "attention_student"
  stem: str = "teacher"  # "teacher": the HigherHRNet stem (frozen); "own": a small stem
  teacher_arch: str = "w48_640"  # whose stem
  own_stem_channels: tuple[int, ...] = (32, 64)  # the own stem's two stride-2 convs
  stem_features: int = 256  # stem output channels (the teacher stem's)
  channels: int = 64
  segmentation_channels: int = 32
  dilations: tuple[int, ...] = (1, 2, 3, 4)
  detector_steps: int = 3
  detector_levels: int = 1  # resolutions each detector CAM step sees (1/4, 1/8, ...): context
  colour_channels: int = 16  # 0: no alternate colour space input
  num_joints: int = 17
  tag_channels: int = 1  # 0, 1 (shared) or num_joints
  colour_space: str = "lab"  # the second input when colour_channels > 0: "lab" or "hsv"
  heatmap_sigmoid: bool = False  # heatmaps are logits (trained with BCE): sigmoid at inference
  distill_stem: bool = False  # own stem: also run the frozen teacher stem, output "teacher_stem"
  fine_heatmaps: bool = False  # a second heatmap head at 1/2 of the input (HigherHRNet's idea)
  fine_channels: int = 16
  # How the fine head joins the 1/4 features to the input's stride-2 conv: "concat"
  # (both upsampled, beside the conv, into a 3x3 conv-BN-ReLU) or "add" (a 1x1 to
  # `fine_channels` at 1/4, upsampled and added to the conv: about a quarter of the
  # fine head's multiply-adds)
  fine_merge: str = "concat"
  # tags + a * x + b * y (the map cell's position, a and b learnt): a tag can then say
  # where its person is, which a translation-equivariant net alone cannot
  tag_coordinates: bool = False
  # phase 4: 18 depth maps at 1/4 beside the heatmaps, the root's depth and each
  # joint's relative to it (`rtpe_jax.depth`), from the detector's features
  depth: bool = False
  # The benchmark's ablations (bench/students/candidates.py): "cam", "residual"
  # (`ResidualBlock`, the CAM's multiply-adds) or "inverted" (`InvertedResidual`,
  # MobileNetV2's block with a 7x7 depthwise kernel) wherever a CAM stands; without the
  # segmentation branch the features go to the detector unweighted and the
  # "segmentation" output is zeros.
  block: str = "cam"
  segmentation_attention: bool = True

  @property
  def input_channels(self) -> int:
    return 6 if self.colour_channels else 3

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: dict) -> "StudentConfig":
    d = dict(d)
    for key in ("own_stem_channels", "dilations"):
      d[key] = tuple(d[key])
    return cls(**d)


class SqueezeExcitation(nn.Module):
  """(B, H, W, C) -> per-channel weights (B, 1, 1, C): GAP, dense C -> C/r + ReLU,
  dense -> C + sigmoid."""

  reduction: int = 4
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    s = jnp.mean(x, axis=(1, 2))  # (B, C): rank-2 dense layers export to TFLite
    s = nn.relu(nn.Dense(max(1, c // self.reduction), dtype=self.dtype, name="squeeze")(s))
    return nn.sigmoid(nn.Dense(c, dtype=self.dtype, name="excite")(s))[:, None, None, :]


class ContextAwareModule(_Layers):
  """ReLU(residual(x) + context(x) * channel_attention(x)), C channels in and out.

  residual: 1x1 conv-BN-ReLU; channel attention: squeeze-excitation; context:
  3x3 conv-BN-ReLU branches of C/4 channels at each dilation, concatenated,
  1x1 conv-BN-ReLU back to C.
  """

  dilations: tuple[int, ...] = (1, 2, 3, 4)

  def _conv_bn_relu(self, x, features, kernel, dilation, train, name):
    p = dilation * (kernel // 2)
    x = nn.Conv(
      features,
      (kernel, kernel),
      padding=((p, p), (p, p)),
      kernel_dilation=(dilation, dilation),
      use_bias=False,
      dtype=self.dtype,
      name=f"{name}_conv",
    )(x)
    return nn.relu(self.bn(train, f"{name}_bn")(x))

  @nn.compact
  def __call__(self, x, train: bool = False):
    c = x.shape[-1]
    residual = self._conv_bn_relu(x, c, 1, 1, train, "residual")
    weights = SqueezeExcitation(dtype=self.dtype, name="attention")(x)
    branches = [
      self._conv_bn_relu(x, max(1, c // 4), 3, d, train, f"context{d}") for d in self.dilations
    ]
    context = self._conv_bn_relu(jnp.concatenate(branches, -1), c, 1, 1, train, "fuse")
    return nn.relu(residual + context * weights)


class ResidualBlock(_Layers):
  """ReLU(x + BN(conv3x3(ReLU(BN(conv3x3(x)))))), C channels in and out, the middle
  11 C / 18 wide: a CAM's multiply-adds (11 C^2 a pixel) in plain 3x3
  convolutions. `dilations` is accepted and unused (a CAM's stand-in)."""

  dilations: tuple[int, ...] = ()

  @nn.compact
  def __call__(self, x, train: bool = False):
    c = x.shape[-1]
    h = nn.relu(self.bn(train, "bn1")(self.conv(max(1, 11 * c // 18), 3, name="conv1")(x)))
    return nn.relu(x + self.bn(train, "bn2")(self.conv(c, 3, name="conv2")(h)))


class InvertedResidual(_Layers):
  """x + BN(1x1(ReLU(BN(depthwise 7x7(ReLU(BN(1x1 to 3C)(x))))))), C channels in and
  out: MobileNetV2's inverted residual with LitePose's large kernel, at C = 32 about
  a CAM's multiply-adds (6 C^2 + 147 C a pixel against 11 C^2). `dilations` is
  accepted and unused (a CAM's stand-in)."""

  dilations: tuple[int, ...] = ()
  expansion: int = 3
  kernel: int = 7

  @nn.compact
  def __call__(self, x, train: bool = False):
    c = x.shape[-1]
    wide = self.expansion * c
    h = nn.relu(self.bn(train, "expand_bn")(self.conv(wide, 1, name="expand")(x)))
    k, p = self.kernel, self.kernel // 2
    h = nn.Conv(
      wide,
      (k, k),
      padding=((p, p), (p, p)),
      feature_group_count=wide,
      use_bias=False,
      dtype=self.dtype,
      param_dtype=jnp.float32,
      name="depthwise",
    )(h)
    h = nn.relu(self.bn(train, "depthwise_bn")(h))
    return x + self.bn(train, "project_bn")(self.conv(c, 1, name="project")(h))


BLOCKS = {"cam": ContextAwareModule, "residual": ResidualBlock, "inverted": InvertedResidual}


def block(kind: str):
  """The module class a config's `block` names."""
  if kind not in BLOCKS:
    raise ValueError(f"block {kind!r}: use one of {', '.join(BLOCKS)}")
  return BLOCKS[kind]


def multi_resolution_cam(
  x, levels: int, dilations, dtype, train: bool, prefix: str, kind: str = "cam"
):
  """Sum of CAMs (or the `kind` of block) on x (B, h, w, C) and on its 2x, 4x, ...
  average-pooled copies (`levels` resolutions), each upsampled back: (B, h, w, C).
  Called inside a module's compact method: the blocks are its submodules
  `{prefix}{level}`."""
  hw = x.shape[1:3]
  total = 0.0
  for level in range(levels):
    pooled = nn.avg_pool(x, (2**level, 2**level), (2**level, 2**level)) if level else x
    out = block(kind)(dtype=dtype, dilations=dilations, name=f"{prefix}{level}")(pooled, train)
    total = total + (resize.bilinear(out, hw) if level else out)
  return total


class SegmentationBranch(_Layers):
  """(B, h, w, C) features -> (B, h, w, 1) person logits from CAMs at three resolutions."""

  channels: int = 32
  dilations: tuple[int, ...] = (1, 2, 3, 4)
  kind: str = "cam"

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.relu(self.bn(train, "reduce_bn")(self.conv(self.channels, 1, name="reduce")(x)))
    total = multi_resolution_cam(x, 3, self.dilations, self.dtype, train, "cam_", self.kind)
    return nn.Conv(1, (3, 3), padding=((1, 1), (1, 1)), dtype=self.dtype, name="logits")(total)


class OwnStem(_Layers):
  """A small trainable stem with the teacher stem's output shape: two stride-2 3x3
  conv-BN-ReLU, a CAM, 1x1 conv-BN-ReLU to `features` (B, H/4, W/4, features)."""

  channels: tuple[int, ...] = (32, 64)
  features: int = 256
  dilations: tuple[int, ...] = (1, 2, 3, 4)
  kind: str = "cam"

  @nn.compact
  def __call__(self, x, train: bool = False):
    for i, c in enumerate(self.channels):
      x = nn.relu(self.bn(train, f"bn{i + 1}")(self.conv(c, 3, 2, name=f"conv{i + 1}")(x)))
    x = block(self.kind)(dtype=self.dtype, dilations=self.dilations, name="cam")(x, train)
    return nn.relu(self.bn(train, "out_bn")(self.conv(self.features, 1, name="out")(x)))


class AttentionStudent(_Layers):
  """See the module docstring. Returns a dict: heatmaps (B, H/4, W/4, 17), tags
  (B, H/4, W/4, T) (T = 0: an empty last axis), segmentation logits
  (B, H/4, W/4, 1), stem features (B, H/4, W/4, 256); heatmaps_2 (B, H/2, W/2, 17)
  with `fine_heatmaps`; depth (B, H/4, W/4, 18) with `depth`."""

  config: StudentConfig = StudentConfig()

  def _head_bias(self, key, shape, dtype=jnp.float32):
    """Near-empty maps at the start, as HigherHRNet's heads (their weights are
    near zero too): heatmaps 0, or as logits a 1 % prior (RetinaNet's)."""
    del key
    prior = -jnp.log(99.0) if self.config.heatmap_sigmoid else 0.0
    return jnp.zeros(shape, dtype).at[: self.config.num_joints].set(prior)

  @nn.compact
  def __call__(self, x, train: bool = False, attention_divisor: float = 1.0):
    cfg = self.config
    x = x.astype(self.dtype)
    rgb = x[..., :3]
    if cfg.stem == "teacher":
      stem = HRNetStem.for_config(ARCHS[cfg.teacher_arch], dtype=self.dtype, name="teacher_stem")
    elif cfg.stem == "own":
      stem = OwnStem(
        dtype=self.dtype,
        channels=cfg.own_stem_channels,
        features=cfg.stem_features,
        dilations=cfg.dilations,
        kind=cfg.block,
        name="own_stem",
      )
    else:
      raise ValueError(f"stem {cfg.stem!r}: use 'teacher' or 'own'")
    # The teacher stem is always frozen: batch statistics from its running averages.
    stem_features = stem(rgb, train and cfg.stem == "own")
    extra = {}
    if cfg.stem == "own" and cfg.distill_stem:
      teacher = HRNetStem.for_config(ARCHS[cfg.teacher_arch], dtype=self.dtype, name="teacher_stem")
      extra["teacher_stem"] = jax.lax.stop_gradient(teacher(rgb, False)).astype(jnp.float32)
    f = nn.relu(self.bn(train, "mid_bn")(self.conv(cfg.channels, 1, name="mid")(stem_features)))
    if cfg.segmentation_attention:
      logits = SegmentationBranch(
        dtype=self.dtype,
        channels=cfg.segmentation_channels,
        dilations=cfg.dilations,
        kind=cfg.block,
        name="segmentation",
      )(f, train)
      f = f * nn.sigmoid(logits / attention_divisor)
    else:
      logits = jnp.zeros((*f.shape[:3], 1), self.dtype)
    if cfg.colour_channels:
      if x.shape[-1] != 6:
        raise ValueError(f"this student takes RGB + LAB/HSV input (6 channels), got {x.shape}")
      c = x[..., 3:]
      for i in range(2):
        c = nn.relu(
          self.bn(train, f"colour_bn{i + 1}")(
            self.conv(cfg.colour_channels, 3, 2, name=f"colour_conv{i + 1}")(c)
          )
        )
      f = jnp.concatenate([f, c], -1)
      f = nn.relu(self.bn(train, "merge_bn")(self.conv(cfg.channels, 1, name="merge")(f)))
    total, h = 0.0, f
    for step in range(cfg.detector_steps):
      if cfg.detector_levels == 1:
        out = block(cfg.block)(dtype=self.dtype, dilations=cfg.dilations, name=f"detector_{step}")(
          h, train
        )
      else:
        out = multi_resolution_cam(
          h, cfg.detector_levels, cfg.dilations, self.dtype, train, f"detector_{step}_", cfg.block
        )
      total = total + out
      h = total
    out = nn.Conv(
      cfg.num_joints + cfg.tag_channels,
      (3, 3),
      padding=((1, 1), (1, 1)),
      dtype=self.dtype,
      kernel_init=nn.initializers.normal(0.001),
      bias_init=self._head_bias,
      name="head",
    )(h)
    tags = out[..., cfg.num_joints :]
    if cfg.tag_coordinates and cfg.tag_channels:
      tags = self._with_coordinates(tags)
    if cfg.fine_heatmaps:
      extra["heatmaps_2"] = self._fine_heatmaps(x, h, out[..., : cfg.num_joints], train)
    if cfg.depth:
      g = nn.relu(self.bn(train, "depth_bn")(self.conv(cfg.channels, 3, name="depth_conv")(h)))
      extra["depth"] = nn.Conv(
        DEPTH_CHANNELS, (3, 3), padding=((1, 1), (1, 1)), dtype=self.dtype, name="depth_head"
      )(g)
    f32 = lambda a: a.astype(jnp.float32)
    return {
      "heatmaps": f32(out[..., : cfg.num_joints]),
      "tags": f32(tags),
      "segmentation": f32(logits),
      "stem": f32(stem_features),
      **{k: f32(v) for k, v in extra.items()},
    }

  def _with_coordinates(self, tags):
    """(B, H/4, W/4, T) tags + a * x + b * y, with x, y the cell's column and row in
    units of 64 input pixels and (a, b) one learnt pair shared by the tag channels."""
    _, h, w, _ = tags.shape
    slope = self.param("tag_coordinates", nn.initializers.zeros, (2,), jnp.float32)
    return tags + (map_position(h, w, 4) @ slope).astype(tags.dtype)[None, :, :, None]

  def _fine_heatmaps(self, x, features, heatmaps, train):
    """(B, H/2, W/2, 17) from the detector's features and heatmaps at 1/4 and a
    stride-2 conv of the input (edges where the joints are). "concat": both
    upsampled 2x beside the conv, a 3x3 conv-BN-ReLU, a 3x3 head; "add": a 1x1
    conv-BN of both to `fine_channels` at 1/4, upsampled 2x, added to the conv
    (BN, no ReLU), ReLU, the 3x3 head."""
    cfg = self.config
    _, h, w, _ = x.shape
    coarse = jnp.concatenate([features, heatmaps], -1)
    skip = self.conv(cfg.fine_channels, 3, 2, name="fine_input")(x)
    if cfg.fine_merge == "concat":
      coarse = resize.bilinear(coarse, (h // 2, w // 2))
      g = jnp.concatenate([coarse, nn.relu(self.bn(train, "fine_input_bn")(skip))], -1)
      g = nn.relu(self.bn(train, "fine_bn")(self.conv(cfg.fine_channels, 3, name="fine")(g)))
    elif cfg.fine_merge == "add":
      coarse = self.bn(train, "fine_bn")(self.conv(cfg.fine_channels, 1, name="fine")(coarse))
      g = resize.bilinear(coarse, (h // 2, w // 2)) + self.bn(train, "fine_input_bn")(skip)
      g = nn.relu(g)
    else:
      raise ValueError(f"fine_merge {cfg.fine_merge!r}: use 'concat' or 'add'")
    return nn.Conv(
      cfg.num_joints,
      (3, 3),
      padding=((1, 1), (1, 1)),
      dtype=self.dtype,
      kernel_init=nn.initializers.normal(0.001),
      bias_init=self._head_bias,
      name="fine_head",
    )(g)


def protocol_outputs(module: AttentionStudent, apply=None):
  """(network, OutputSpec) for `rtpe_jax.inference.protocol`: the network takes uint8 RGB
  (B, H, W, 3) and makes the student's input itself (`preprocess.model_input`);
  its outputs: heatmaps (after a sigmoid if they are logits) then tags (and the
  stride-2 heatmaps of `fine_heatmaps`), and last the depth maps of `depth`. `apply` (variables, x) -> outputs
  replaces `module.apply(..., train=False)` (e.g. `models.folding.folded_apply`)."""
  from rtpe_jax import preprocess
  from rtpe_jax.inference.protocol import OutputSpec

  cfg = module.config

  def network(variables, images):
    x = preprocess.model_input(module, images)
    out = apply(variables, x) if apply else module.apply(variables, x, train=False)
    as_maps = nn.sigmoid if cfg.heatmap_sigmoid else (lambda a: a)
    outputs = [jnp.concatenate([as_maps(out["heatmaps"]), out["tags"]], -1)]
    outputs += [as_maps(out["heatmaps_2"])] if cfg.fine_heatmaps else []
    return outputs + ([out["depth"]] if cfg.depth else [])

  fine = (True,) if cfg.fine_heatmaps else ()
  spec = OutputSpec(
    with_heatmaps=(True,) + fine,
    with_tags=(cfg.tag_channels > 0,) + (False,) * len(fine),
    num_joints=cfg.num_joints,
    tag_per_joint=cfg.tag_channels == cfg.num_joints,
    depth=cfg.depth,
  )
  return network, spec


def segmentation_output(module: AttentionStudent, apply=None):
  """network(variables, images) -> the person probability (B, H/4, W/4): the sigmoid
  of the segmentation branch's logits (the attention map at divisor 1) of uint8
  RGB images (B, H, W, 3); `apply` as for `protocol_outputs`."""
  from rtpe_jax import preprocess

  def network(variables, images):
    x = preprocess.model_input(module, images)
    out = apply(variables, x) if apply else module.apply(variables, x, train=False)
    return nn.sigmoid(out["segmentation"][..., 0])

  return network


def with_teacher_stem(student_variables: dict, teacher_variables: dict, source: str = "") -> dict:
  """The student's variables with a HigherHRNet's stem (its `stem` params and
  batch statistics) in `teacher_stem`; every variable of the stem must fit one
  of the student's (path and shape), else a ValueError naming `source` (the
  trainer's `init.teacher`)."""
  import flax.traverse_util as traverse_util
  import numpy as np

  flat = traverse_util.flatten_dict(student_variables)
  stem = {
    (k[0], "teacher_stem", *k[2:]): v
    for k, v in traverse_util.flatten_dict(teacher_variables).items()
    if k[1] == "stem"
  }
  fits = [k for k, v in stem.items() if k in flat and np.shape(flat[k]) == np.shape(v)]
  if not stem or len(fits) != len(stem):
    raise ValueError(
      f"{source or 'the teacher'}: {len(fits)} of {len(stem)} stem variables fit the "
      "student's teacher_stem (is model.student.teacher_arch the teacher's architecture?)"
    )
  for k in fits:
    flat[k] = np.asarray(stem[k], np.asarray(flat[k]).dtype)
  return traverse_util.unflatten_dict(flat)
