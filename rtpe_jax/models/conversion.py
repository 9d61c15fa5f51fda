"""Exact conversion of published PyTorch HigherHRNet state dicts to Flax.

A PyTorch key maps to a Flax variable path by a fixed rule (see
`torch_key`): module names with their indices joined by ``_``, the stem under
``stem``, and leaf renames (weight -> kernel / scale, running_mean -> mean,
running_var -> var). 4-D tensors are transposed (2, 3, 1, 0): OIHW -> HWIO for
convolutions, (in, out, kh, kw) -> (kh, kw, out, in) for the transposed
convolution, which `flax.linen.ConvTranspose(transpose_kernel=True)` expects.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import os
import pickle
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from typing import Any

import jax
import numpy as np

from rtpe_jax.models.hrnet import ARCHS, HigherHRNet, HRNetConfig, StageConfig
from rtpe_jax.models.weights import abstract_variables, save_model

PREFIXES = ("module.", "1.")  # multi-GPU wrappers, fp16 wrapper of the published files
LEAF_TO_TORCH = {
  ("params", "kernel"): "weight",
  ("params", "scale"): "weight",
  ("params", "bias"): "bias",
  ("batch_stats", "mean"): "running_mean",
  ("batch_stats", "var"): "running_var",
}
IGNORED_SUFFIX = ".num_batches_tracked"
_ELEMENT = re.compile(r"([A-Za-z][A-Za-z0-9_]*?)((?:_\d+)*)")


class ConversionError(ValueError):
  """A checkpoint that cannot be converted; the message says why."""


def torch_key(collection: str, path: tuple[str, ...]) -> str:
  """`("params", ("stage2_0", "fuse_layers_1_0_0_1", "scale"))` -> PyTorch key."""
  parts = []
  for element in path[:-1]:
    if element == "stem":
      continue
    name, indices = _ELEMENT.fullmatch(element).groups()
    parts.append(name + indices.replace("_", "."))
  parts.append(LEAF_TO_TORCH[(collection, path[-1])])
  return ".".join(parts)


def torch_shape(flax_shape: tuple[int, ...]) -> tuple[int, ...]:
  if len(flax_shape) == 4:
    h, w, a, b = flax_shape
    return (b, a, h, w)
  return tuple(flax_shape)


def expected_torch_shapes(cfg: HRNetConfig) -> dict[str, tuple[int, ...]]:
  """The PyTorch state dict (without num_batches_tracked) that `cfg` corresponds to."""
  return {key: torch_shape(shape) for key, (_, _, shape) in _flax_leaves(cfg).items()}


@functools.lru_cache(maxsize=8)
def _flax_leaves(cfg: HRNetConfig) -> dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]]:
  """torch key -> (collection, flax path, flax shape) for every variable of `cfg`."""
  if cfg.tag_coordinates:
    raise ConversionError(
      f"architecture {cfg.name!r} gives its tags the map position (tag_coordinates), which "
      "HigherHRNet's PyTorch code has not: it is trained here, not converted"
    )
  variables = abstract_variables(HigherHRNet(config=cfg))
  leaves = {}
  for collection, tree in variables.items():
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
      names = tuple(k.key for k in path)
      leaves[torch_key(collection, names)] = (collection, names, leaf.shape)
  return leaves


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """Loads a `.pth` / `.pth.tar` safely (no code runs) -> {key: float32 array}.

  Accepts a plain state dict, a training checkpoint with a "state_dict" entry,
  and the "module." / "1." key prefixes; float16 tensors become float32.
  """
  import torch  # only needed here; the rest of the package does not use torch

  if not os.path.isfile(path):
    raise ConversionError(f"{path}: no such file")
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except pickle.UnpicklingError as err:
    unsafe = re.search(r"GLOBAL (\S+) was not an allowed global", str(err))
    if unsafe:
      raise ConversionError(
        f"{path}: refused: unpickling it would call {unsafe.group(1)}; only tensors and "
        "plain containers are accepted (torch.load weights_only=True)"
      ) from None
    detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(err))
    raise ConversionError(
      f"{path}: not a readable PyTorch checkpoint (truncated, another format, or a pickle "
      f"of objects other than tensors): {detail.group(1) if detail else err}"
    ) from None
  except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
    raise ConversionError(
      f"{path}: not a readable PyTorch checkpoint (truncated or another "
      f"format): {type(err).__name__}: {str(err).splitlines()[0]}"
    ) from None
  if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
    obj = obj["state_dict"]
  if not isinstance(obj, dict) or not obj:
    raise ConversionError(f"{path}: holds a {type(obj).__name__}, not a state dict")
  bad = [k for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
  if bad:
    raise ConversionError(f"{path}: entries that are not named tensors: {bad[:10]}")

  state = {k: v for k, v in obj.items() if not k.endswith(IGNORED_SUFFIX)}
  for prefix in PREFIXES:
    if state and all(k.startswith(prefix) for k in state):
      state = {k[len(prefix) :]: v for k, v in state.items()}
  return {k: v.detach().to(torch.float32).numpy() for k, v in state.items()}


def _indices(keys, pattern: str) -> list[int]:
  found = {int(m.group(1)) for k in keys if (m := re.match(pattern, k))}
  return sorted(found)


def infer_config(
  shapes: dict[str, tuple[int, ...]],
  num_joints: int = 17,
  name: str = "custom",
  input_size: int = 512,
) -> HRNetConfig:
  """Reads the architecture off the key names and shapes of a state dict."""
  keys = list(shapes)
  try:
    stem_channels = shapes["conv1.weight"][0]
    layer1_blocks = len(_indices(keys, r"layer1\.(\d+)\."))
    layer1_planes = shapes["layer1.0.conv1.weight"][0]
    stages = []
    for s in _indices(keys, r"stage(\d+)\."):
      modules = _indices(keys, rf"stage{s}\.(\d+)\.")
      branches = _indices(keys, rf"stage{s}\.0\.branches\.(\d+)\.")
      stages.append(
        StageConfig(
          num_modules=len(modules),
          num_blocks=tuple(
            len(_indices(keys, rf"stage{s}\.0\.branches\.{b}\.(\d+)\.")) for b in branches
          ),
          num_channels=tuple(
            shapes[f"stage{s}.0.branches.{b}.0.conv1.weight"][0] for b in branches
          ),
        )
      )
    finals = [shapes[f"final_layers.{i}.weight"] for i in _indices(keys, r"final_layers\.(\d+)\.")]
    deconvs = [
      shapes[f"deconv_layers.{i}.0.0.weight"] for i in _indices(keys, r"deconv_layers\.(\d+)\.")
    ]
    deconv_blocks = len(_indices(keys, r"deconv_layers\.0\.(\d+)\.")) - 1 if deconvs else 0
  except KeyError as err:
    raise ConversionError(f"not a HigherHRNet state dict: no key {err}") from None
  if not stages or not finals:
    raise ConversionError("not a HigherHRNet state dict: no stage or final layer keys")

  out_channels = [f[0] for f in finals]
  tag_dims = {c - num_joints for c in out_channels if c != num_joints}
  if len(tag_dims) > 1 or tag_dims - {1, num_joints}:
    raise ConversionError(
      f"final layers output {out_channels} channels: not {num_joints} "
      "heatmaps optionally followed by 1 or one-per-joint tags"
    )
  tag_per_joint = tag_dims != {1}
  prev_channels = stages[-1].num_channels[0]
  deconv_cat = []
  for i, (cin, _, _, _) in enumerate(deconvs):
    deconv_cat.append(cin != prev_channels)
    prev_channels = deconvs[i][1]
  try:
    return HRNetConfig(
      stages=tuple(stages),
      deconv_channels=tuple(d[1] for d in deconvs),
      deconv_kernels=tuple(d[2] for d in deconvs),
      deconv_cat=tuple(deconv_cat),
      with_ae=tuple(c != num_joints for c in out_channels),
      deconv_blocks=deconv_blocks,
      final_kernel=finals[0][2],
      tag_per_joint=tag_per_joint,
      num_joints=num_joints,
      stem_channels=stem_channels,
      layer1_blocks=layer1_blocks,
      layer1_planes=layer1_planes,
      name=name,
      input_size=input_size,
    )
  except ValueError as err:
    raise ConversionError(f"inconsistent architecture: {err}") from None


def _published_name(cfg: HRNetConfig, filename: str) -> tuple[str, int] | None:
  """Name and input size of a published architecture equal to `cfg`, if any."""
  matches = [
    n
    for n, a in ARCHS.items()
    if dataclasses.replace(cfg, name=a.name, input_size=a.input_size) == a
  ]
  if not matches:
    return None
  in_name = [n for n in matches if n in os.path.basename(filename)]
  name = (in_name or matches)[0]
  return name, ARCHS[name].input_size


def check_shapes(found: dict[str, tuple[int, ...]], cfg: HRNetConfig, source: str) -> None:
  """Raises ConversionError listing every missing, unexpected and mismatched key."""
  expected = expected_torch_shapes(cfg)
  missing = sorted(set(expected) - set(found))
  unexpected = sorted(set(found) - set(expected))
  mismatched = sorted(k for k in set(expected) & set(found) if tuple(found[k]) != expected[k])
  if not (missing or unexpected or mismatched):
    return
  lines = [f"{source}: does not match architecture {cfg.name!r}:"]
  for title, items in (("missing", missing), ("unexpected", unexpected)):
    if items:
      lines.append(f"  {len(items)} {title} keys:")
      lines += [f"    {k} {tuple(expected.get(k, found.get(k)))}" for k in items]
  if mismatched:
    lines.append(f"  {len(mismatched)} shape mismatches (checkpoint vs architecture):")
    lines += [f"    {k}: {tuple(found[k])} vs {expected[k]}" for k in mismatched]
  raise ConversionError("\n".join(lines))


def state_dict_to_variables(state: dict[str, np.ndarray], cfg: HRNetConfig) -> dict[str, Any]:
  """Strictly converts a (prefix-free, float32) state dict to Flax variables."""
  check_shapes({k: v.shape for k, v in state.items()}, cfg, "state dict")
  variables: dict[str, Any] = defaultdict(dict)
  for key, (collection, path, _) in _flax_leaves(cfg).items():
    value = state[key]
    if value.ndim == 4:
      value = value.transpose(2, 3, 1, 0)
    node = variables[collection]
    for name in path[:-1]:
      node = node.setdefault(name, {})
    node[path[-1]] = np.ascontiguousarray(value, dtype=np.float32)
  return dict(variables)


def resolve_config(state: dict[str, np.ndarray], arch: str, source: str) -> HRNetConfig:
  """The architecture for `state`: inferred (`auto`) or named and checked against it."""
  shapes = {k: v.shape for k, v in state.items()}
  if arch != "auto":
    if arch not in ARCHS:
      raise ConversionError(f"unknown --arch {arch!r}; choose auto or one of {sorted(ARCHS)}")
    check_shapes(shapes, ARCHS[arch], source)
    return ARCHS[arch]
  cfg = infer_config(shapes)
  published = _published_name(cfg, source)
  if published:
    cfg = ARCHS[published[0]]
  check_shapes(shapes, cfg, source)
  return cfg


def convert_checkpoint(
  src: str, out_dir: str, arch: str = "auto", overwrite: bool = False
) -> HRNetConfig:
  """Converts the PyTorch checkpoint `src` into the model directory `out_dir`.

  Nothing is written unless the whole conversion succeeds: the directory is
  assembled beside `out_dir` and renamed into place at the end.
  """
  out_dir = os.path.abspath(out_dir)
  parent = os.path.dirname(out_dir)
  if not os.path.isdir(parent):
    raise ConversionError(f"{out_dir}: parent directory {parent} does not exist")
  if os.path.exists(out_dir) and not overwrite:
    raise ConversionError(f"{out_dir}: already exists (pass --overwrite to replace it)")

  state = read_state_dict(src)
  cfg = resolve_config(state, arch, src)
  variables = state_dict_to_variables(state, cfg)
  with open(src, "rb") as f:
    sha256 = hashlib.file_digest(f, "sha256").hexdigest()
  meta = {
    "model": "higher_hrnet",
    "config": cfg.to_dict(),
    "unbiased_flip": False,  # published weights: the reference's flip test, bias and all
    "source": {
      "file": os.path.basename(src),
      "sha256": sha256,
      "converted": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    },
  }
  staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", dir=parent)
  try:
    model_dir = os.path.join(staging, "model")
    save_model(model_dir, variables, meta)
    if os.path.exists(out_dir):
      shutil.rmtree(out_dir)
    os.rename(model_dir, out_dir)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return cfg
