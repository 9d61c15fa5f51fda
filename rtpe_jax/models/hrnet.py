"""HigherHRNet (Cheng et al., CVPR 2020) as Flax linen modules, NHWC.

Submodule names follow the published PyTorch state dict: a PyTorch key such as
``stage2.0.fuse_layers.1.0.0.1.weight`` lives at the Flax path
``stage2_0 / fuse_layers_1_0_0_1 / scale`` (a name followed by its indices,
joined by ``_``). The stem (``conv1`` .. ``layer1``) is the submodule ``stem``
so that a student can reuse it; `rtpe_jax.models.conversion` owns the key mapping.

Every module takes a compute ``dtype`` (float32, bfloat16, float16); parameters
are always float32. Batch-norm running statistics live in ``batch_stats``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

BN_MOMENTUM = 0.9  # PyTorch momentum 0.1
BN_EPSILON = 1e-5
BOTTLENECK_EXPANSION = 4


@dataclasses.dataclass(frozen=True)
class StageConfig:
  """One HRNet stage: `num_modules` HighResolutionModules of parallel branches."""

  num_modules: int
  num_blocks: tuple[int, ...]  # BasicBlocks per branch
  num_channels: tuple[int, ...]  # channels per branch, highest resolution first


@dataclasses.dataclass(frozen=True)
class HRNetConfig:
  """Architecture of a HigherHRNet; the published ones are in `ARCHS`."""

  stages: tuple[StageConfig, ...]
  deconv_channels: tuple[int, ...]
  deconv_kernels: tuple[int, ...]
  deconv_cat: tuple[bool, ...]
  with_ae: tuple[bool, ...]  # per output: does it carry tag channels
  deconv_blocks: int = 4
  final_kernel: int = 1
  tag_per_joint: bool = True
  # Tags given the map position (a * x + b * y, one learnt pair per tagged output), as
  # the quickstart student's `tag_coordinates`: two similar people then get different
  # tags (a translation-equivariant network cannot tell them apart otherwise).
  tag_coordinates: bool = False
  num_joints: int = 17
  stem_channels: int = 64
  layer1_blocks: int = 4
  layer1_planes: int = 64
  name: str = "custom"
  input_size: int = 512  # the test-time input size the weights were made for

  def __post_init__(self):
    for i, stage in enumerate(self.stages):
      if len(stage.num_blocks) != len(stage.num_channels):
        raise ValueError(f"stage {i + 2}: num_blocks and num_channels differ in length")
      if i:
        prev = self.stages[i - 1].num_channels
        if len(stage.num_channels) < len(prev):
          raise ValueError(f"stage {i + 2} has fewer branches than the stage before it")
        # The reference feeds a channel-changing transition of an existing branch
        # with the lowest-resolution branch, which only lines up for the last one.
        if tuple(stage.num_channels[: len(prev) - 1]) != tuple(prev[:-1]):
          raise ValueError(
            f"stage {i + 2} may change the channels of the previous stage's last branch only"
          )
    n = len(self.deconv_channels)
    if not (len(self.deconv_kernels) == len(self.deconv_cat) == n and len(self.with_ae) == n + 1):
      raise ValueError(
        "deconv_kernels/deconv_cat need one entry per deconvolution and "
        "with_ae one per output (deconvolutions + 1)"
      )
    for k in self.deconv_kernels:
      if k not in DECONV_PADDING:
        raise ValueError(f"deconvolution kernel {k} not supported (2, 3 or 4)")

  @property
  def tag_channels(self) -> int:
    return self.num_joints if self.tag_per_joint else 1

  @property
  def num_outputs(self) -> int:
    return len(self.deconv_channels) + 1

  def output_channels(self, i: int) -> int:
    """Channels of output `i`: heatmaps, then tags if that output carries them."""
    return self.num_joints + (self.tag_channels if self.with_ae[i] else 0)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "HRNetConfig":
    d = dict(d)
    d["stages"] = tuple(
      StageConfig(s["num_modules"], tuple(s["num_blocks"]), tuple(s["num_channels"]))
      for s in d["stages"]
    )
    for key in ("deconv_channels", "deconv_kernels", "deconv_cat", "with_ae"):
      d[key] = tuple(d[key])
    return cls(**d)


# ConvTranspose2d (padding, output_padding) per kernel size, as HigherHRNet uses.
DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


def published_config(width: int, input_size: int) -> HRNetConfig:
  """The published HigherHRNet-W{width} at {input_size} px (COCO, 17 joints)."""
  c = width
  return HRNetConfig(
    stages=(
      StageConfig(1, (4, 4), (c, 2 * c)),
      StageConfig(4, (4, 4, 4), (c, 2 * c, 4 * c)),
      StageConfig(3, (4, 4, 4, 4), (c, 2 * c, 4 * c, 8 * c)),
    ),
    deconv_channels=(c,),
    deconv_kernels=(4,),
    deconv_cat=(True,),
    with_ae=(True, False),
    deconv_blocks=4,
    final_kernel=1,
    tag_per_joint=True,
    name=f"w{width}_{input_size}",
    input_size=input_size,
  )


def small_config(
  width: int, blocks: int, stem_channels: int, tag_coordinates: bool, name: str
) -> HRNetConfig:
  """A HigherHRNet-W{width} for the synthetic data at 256 px: one module of `blocks`
  blocks per branch, one deconvolution block, a `stem_channels` stem with one
  {width}-plane bottleneck (4 x width channels at 1/4), tags optionally given the
  map position (`tag_coordinates`)."""
  widths = tuple(width * 2**i for i in range(4))
  return dataclasses.replace(
    published_config(width, 256),
    stages=tuple(StageConfig(1, (blocks,) * n, widths[:n]) for n in (2, 3, 4)),
    deconv_blocks=1,
    stem_channels=stem_channels,
    layer1_blocks=1,
    layer1_planes=width,
    tag_coordinates=tag_coordinates,
    name=name,
  )


ARCHS = {
  "w32_512": published_config(32, 512),
  "w32_640": published_config(32, 640),
  "w48_640": published_config(48, 640),
  # The first synthetic teacher: 0.47 GMAC at 256 px, as costly as the quickstart student.
  "synthetic_w16": small_config(
    16, 1, stem_channels=32, tag_coordinates=False, name="synthetic_w16"
  ),
  # The synthetic data's strong teacher (configs/teacher_synthetic.py): 2.44 GMAC at
  # 256 px, 5.5x the quickstart student's 0.44.
  "synthetic_w32": small_config(
    32, 2, stem_channels=64, tag_coordinates=True, name="synthetic_w32"
  ),
}


def map_position(h: int, w: int, stride: float):
  """(h, w, 2) float32: each cell's column and row in units of 64 input pixels, for a
  map at `stride` (the learnt tag plane's coordinates, `tag_coordinates`)."""
  rows, cols = jnp.meshgrid(jnp.arange(h), jnp.arange(w), indexing="ij")
  return jnp.stack([cols, rows], -1).astype(jnp.float32) * (stride / 64)


class _Layers(nn.Module):
  """Shared factory for the conv and batch-norm layers of every HRNet module."""

  dtype: Any = jnp.float32

  def conv(
    self,
    features: int,
    kernel: int,
    stride: int = 1,
    padding: int | None = None,
    bias: bool = False,
    name: str | None = None,
    kernel_init=nn.initializers.lecun_normal(),
  ) -> nn.Conv:
    p = kernel // 2 if padding is None else padding
    return nn.Conv(
      features,
      (kernel, kernel),
      strides=(stride, stride),
      padding=((p, p), (p, p)),
      use_bias=bias,
      dtype=self.dtype,
      param_dtype=jnp.float32,
      kernel_init=kernel_init,
      name=name,
    )

  def bn(self, train: bool, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(
      use_running_average=not train,
      momentum=BN_MOMENTUM,
      epsilon=BN_EPSILON,
      dtype=self.dtype,
      param_dtype=jnp.float32,
      name=name,
    )


class BasicBlock(_Layers):
  """3x3 conv-BN-ReLU, 3x3 conv-BN, + identity (or 1x1 projection), ReLU."""

  features: int = 64
  stride: int = 1

  @nn.compact
  def __call__(self, x, train: bool = False):
    residual = x
    y = nn.relu(self.bn(train, "bn1")(self.conv(self.features, 3, self.stride, name="conv1")(x)))
    y = self.bn(train, "bn2")(self.conv(self.features, 3, name="conv2")(y))
    if self.stride != 1 or x.shape[-1] != self.features:
      residual = self.conv(self.features, 1, self.stride, name="downsample_0")(x)
      residual = self.bn(train, "downsample_1")(residual)
    return nn.relu(y + residual)


class Bottleneck(_Layers):
  """1x1 -> 3x3 -> 1x1 (x4 channels) residual block of ResNet / HRNet layer1."""

  planes: int = 64
  stride: int = 1

  @nn.compact
  def __call__(self, x, train: bool = False):
    out_features = self.planes * BOTTLENECK_EXPANSION
    residual = x
    y = nn.relu(self.bn(train, "bn1")(self.conv(self.planes, 1, name="conv1")(x)))
    y = nn.relu(self.bn(train, "bn2")(self.conv(self.planes, 3, self.stride, name="conv2")(y)))
    y = self.bn(train, "bn3")(self.conv(out_features, 1, name="conv3")(y))
    if self.stride != 1 or x.shape[-1] != out_features:
      residual = self.conv(out_features, 1, self.stride, name="downsample_0")(x)
      residual = self.bn(train, "downsample_1")(residual)
    return nn.relu(y + residual)


class HRNetStem(_Layers):
  """conv1 .. layer1: (B, H, W, 3) -> (B, H/4, W/4, 4 * layer1_planes) (256 published)."""

  stem_channels: int = 64
  layer1_blocks: int = 4
  layer1_planes: int = 64

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = x.astype(self.dtype)
    x = nn.relu(self.bn(train, "bn1")(self.conv(self.stem_channels, 3, 2, name="conv1")(x)))
    x = nn.relu(self.bn(train, "bn2")(self.conv(self.stem_channels, 3, 2, name="conv2")(x)))
    for k in range(self.layer1_blocks):
      x = Bottleneck(dtype=self.dtype, planes=self.layer1_planes, name=f"layer1_{k}")(x, train)
    return x

  @classmethod
  def for_config(cls, cfg: HRNetConfig, dtype: Any = jnp.float32, **kwargs) -> "HRNetStem":
    return cls(
      dtype=dtype,
      stem_channels=cfg.stem_channels,
      layer1_blocks=cfg.layer1_blocks,
      layer1_planes=cfg.layer1_planes,
      **kwargs,
    )


def upsample_nearest(x, factor: int):
  """(B, H, W, C) -> (B, factor H, factor W, C) by repeating pixels."""
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


class HighResolutionModule(_Layers):
  """Parallel branches of BasicBlocks, then exchange between all resolutions.

  Inputs and outputs are lists highest resolution first; with
  `multi_scale_output=False` only the highest-resolution output is produced.
  """

  num_blocks: Sequence[int] = ()
  num_channels: Sequence[int] = ()
  multi_scale_output: bool = True

  @nn.compact
  def __call__(self, xs, train: bool = False):
    chans = self.num_channels
    xs = list(xs)
    for b, x in enumerate(xs):
      for k in range(self.num_blocks[b]):
        x = BasicBlock(dtype=self.dtype, features=chans[b], name=f"branches_{b}_{k}")(x, train)
      xs[b] = x
    if len(xs) == 1:
      return xs

    outputs = []
    for i in range(len(xs) if self.multi_scale_output else 1):
      y = xs[i]
      for j, x in enumerate(xs):
        if j > i:
          x = self.conv(chans[i], 1, name=f"fuse_layers_{i}_{j}_0")(x)
          x = upsample_nearest(self.bn(train, f"fuse_layers_{i}_{j}_1")(x), 2 ** (j - i))
        elif j < i:
          for k in range(i - j):
            last = k == i - j - 1
            x = self.conv(chans[i] if last else chans[j], 3, 2, name=f"fuse_layers_{i}_{j}_{k}_0")(
              x
            )
            x = self.bn(train, f"fuse_layers_{i}_{j}_{k}_1")(x)
            if not last:
              x = nn.relu(x)
        else:
          continue
        y = y + x
      outputs.append(nn.relu(y))
    return outputs


class HigherHRNet(_Layers):
  """HigherHRNet: (B, H, W, 3) normalised RGB -> list of outputs, NHWC float32.

  Output 0 is (B, H/4, W/4, J [+ tags]); output i adds deconvolution i and is at
  1/(4 / 2^i) resolution. H and W must be multiples of 32.
  """

  config: HRNetConfig = None

  @nn.compact
  def __call__(self, x, train: bool = False):
    cfg = self.config
    if x.shape[1] % 32 or x.shape[2] % 32:
      raise ValueError(f"input height and width must be multiples of 32, got {x.shape[1:3]}")
    x = HRNetStem.for_config(cfg, self.dtype, name="stem")(x, train)

    ys = [x]
    for s, stage in enumerate(cfg.stages):
      xs = self._transition(ys, stage.num_channels, f"transition{s + 1}", train)
      last_stage = s == len(cfg.stages) - 1
      for m in range(stage.num_modules):
        xs = HighResolutionModule(
          dtype=self.dtype,
          num_blocks=stage.num_blocks,
          num_channels=stage.num_channels,
          multi_scale_output=not (last_stage and m == stage.num_modules - 1),
          name=f"stage{s + 2}_{m}",
        )(xs, train)
      ys = xs

    return self._heads(ys[0], train)

  def _transition(self, ys, channels, name, train):
    """Adapt the previous stage's branches to `channels`; new branches from the last one."""
    xs = []
    for i, c in enumerate(channels):
      if i < len(ys):
        x = ys[i]
        if x.shape[-1] != c:
          x = nn.relu(self.bn(train, f"{name}_{i}_1")(self.conv(c, 3, name=f"{name}_{i}_0")(x)))
      else:
        x = ys[-1]
        for j in range(i + 1 - len(ys)):
          out = c if j == i - len(ys) else x.shape[-1]
          x = self.conv(out, 3, 2, name=f"{name}_{i}_{j}_0")(x)
          x = nn.relu(self.bn(train, f"{name}_{i}_{j}_1")(x))
      xs.append(x)
    return xs

  def _heads(self, x, train):
    cfg = self.config
    pad = 1 if cfg.final_kernel == 3 else 0
    # HigherHRNet's init: near-zero maps at the start, so that training from
    # scratch does not begin by killing the units behind huge initial outputs.
    final_init = nn.initializers.normal(0.001)
    y = self.conv(
      cfg.output_channels(0),
      cfg.final_kernel,
      padding=pad,
      bias=True,
      kernel_init=final_init,
      name="final_layers_0",
    )(x)
    outputs = [self._with_coordinates(y, 0)]
    for i, features in enumerate(cfg.deconv_channels):
      if cfg.deconv_cat[i]:
        x = jnp.concatenate([x, y], axis=-1)
      k = cfg.deconv_kernels[i]
      p, op = DECONV_PADDING[k]
      x = nn.ConvTranspose(
        features,
        (k, k),
        strides=(2, 2),
        padding=((k - 1 - p, k - 1 - p + op),) * 2,
        use_bias=False,
        transpose_kernel=True,
        dtype=self.dtype,
        param_dtype=jnp.float32,
        name=f"deconv_layers_{i}_0_0",
      )(x)
      x = nn.relu(self.bn(train, f"deconv_layers_{i}_0_1")(x))
      for b in range(cfg.deconv_blocks):
        x = BasicBlock(dtype=self.dtype, features=features, name=f"deconv_layers_{i}_{b + 1}_0")(
          x, train
        )
      y = self.conv(
        cfg.output_channels(i + 1),
        cfg.final_kernel,
        padding=pad,
        bias=True,
        kernel_init=final_init,
        name=f"final_layers_{i + 1}",
      )(x)
      outputs.append(self._with_coordinates(y, i + 1))
    return [o.astype(jnp.float32) for o in outputs]

  def _with_coordinates(self, y, i: int):
    """Output i (B, h, w, J + T) with a * x + b * y added to its T tag channels, x and
    y the cell's column and row in units of 64 input pixels; as it is without
    `tag_coordinates` or tags."""
    cfg = self.config
    if not (cfg.tag_coordinates and cfg.with_ae[i]):
      return y
    _, h, w, _ = y.shape
    slope = self.param(f"tag_coordinates_{i}", nn.initializers.zeros, (2,), jnp.float32)
    shift = (map_position(h, w, 4 / 2**i) @ slope).astype(y.dtype)[None, :, :, None]
    j = cfg.num_joints
    return jnp.concatenate([y[..., :j], y[..., j:] + shift], -1)
