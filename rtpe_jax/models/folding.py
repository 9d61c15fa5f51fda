"""Batch norm folded into the preceding convolution, for inference.

At inference a BatchNorm after a convolution is an affine map per output
channel: y = (conv(x) - mean) * gamma / sqrt(var + eps) + beta. Folding scales
the convolution kernel by gamma / sqrt(var + eps) and adds the bias
beta - mean * gamma / sqrt(var + eps) (plus the convolution's own bias,
scaled), so the network runs one op where it ran two.

The models keep their definitions: `fold_batch_norm` finds every BatchNorm
whose input is exactly a convolution's output (traced once, abstractly), and
`folded_apply` runs the module with those BatchNorms skipped and the folded
bias added to their convolutions (flax method interception). Variables of a
folded model: {"params": kernels folded, "folded_bias": {conv path: (C,)},
"batch_stats": what was not folded}.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
from flax import traverse_util


def _path(module: nn.Module) -> str:
  return "/".join(module.path)


def _output_axis(conv: nn.Module) -> int:
  """The kernel axis of a convolution's output channels."""
  transposed = isinstance(conv, nn.ConvTranspose) and conv.transpose_kernel
  return -2 if transposed else -1


def conv_bn_pairs(
  module: nn.Module, variables: dict, *args, **kwargs
) -> dict[str, tuple[str, float, int]]:
  """{BatchNorm path: (convolution path, epsilon, kernel output axis)} for every
  BatchNorm of `module.apply(variables, *args, train=False)` whose input is a
  Conv's or ConvTranspose's output. Folding assumes that output feeds nothing
  else, as in every model here (tests/models/test_folding.py compares the outputs)."""
  conv_outputs: dict[int, tuple[str, int]] = {}
  keep_alive, pairs = [], {}

  def record(next_fun, call_args, call_kwargs, context):
    out = next_fun(*call_args, **call_kwargs)
    if context.method_name != "__call__":
      return out
    if isinstance(context.module, (nn.Conv, nn.ConvTranspose)):
      conv_outputs[id(out)] = (_path(context.module), _output_axis(context.module))
      keep_alive.append(out)
    elif isinstance(context.module, nn.BatchNorm) and id(call_args[0]) in conv_outputs:
      conv, axis = conv_outputs[id(call_args[0])]
      pairs[_path(context.module)] = (conv, context.module.epsilon, axis)
    return out

  def trace(v, *a):
    with nn.intercept_methods(record):
      return module.apply(v, *a, train=False, **kwargs)

  jax.eval_shape(trace, variables, *args)
  return pairs


def fold_batch_norm(module: nn.Module, variables: dict, *example_args, **kwargs) -> dict:
  """Inference variables of `module` with its conv -> BatchNorm pairs folded.
  `example_args`: inputs of the right rank (e.g. a (1, 64, 64, C) array); only
  their shapes are used."""
  pairs = conv_bn_pairs(module, variables, *example_args, **kwargs)
  params = traverse_util.flatten_dict(variables["params"], sep="/")
  stats = traverse_util.flatten_dict(variables.get("batch_stats", {}), sep="/")
  biases = {}
  for bn, (conv, eps, axis) in pairs.items():
    scale = params.pop(f"{bn}/scale") * jax.lax.rsqrt(stats.pop(f"{bn}/var") + eps)
    shift = params.pop(f"{bn}/bias") - stats.pop(f"{bn}/mean") * scale
    kernel = params[f"{conv}/kernel"]
    params[f"{conv}/kernel"] = kernel * (scale[:, None] if axis == -2 else scale)
    if f"{conv}/bias" in params:
      shift = shift + params.pop(f"{conv}/bias") * scale
    biases[conv] = shift
  out = {"params": traverse_util.unflatten_dict(params, sep="/"), "folded_bias": biases}
  if stats:
    out["batch_stats"] = traverse_util.unflatten_dict(stats, sep="/")
  return out


def folded_apply(module: nn.Module, folded: dict, *args, **kwargs) -> Any:
  """`module.apply` in inference mode with the variables of `fold_batch_norm`."""
  biases = folded["folded_bias"]
  found = set()

  def apply_folded(next_fun, call_args, call_kwargs, context):
    if context.method_name != "__call__":
      return next_fun(*call_args, **call_kwargs)
    path = _path(context.module)
    if isinstance(context.module, (nn.Conv, nn.ConvTranspose)) and path in biases:
      out = next_fun(*call_args, **call_kwargs)
      found.add(path)
      return out + biases[path].astype(out.dtype)
    if isinstance(context.module, nn.BatchNorm) and not _kept_statistics(folded, path):
      return call_args[0]
    return next_fun(*call_args, **call_kwargs)

  variables = {k: v for k, v in folded.items() if k != "folded_bias"}
  with nn.intercept_methods(apply_folded):
    out = module.apply(variables, *args, train=False, **kwargs)
  if len(found) != len(biases):
    raise ValueError(
      f"{len(biases) - len(found)} folded convolutions were not found in "
      f"{type(module).__name__}: variables from another model?"
    )
  return out


def _kept_statistics(folded: dict, path: str) -> bool:
  """Whether the BatchNorm at `path` kept its statistics (was not folded)."""
  node = folded.get("batch_stats", {})
  for name in path.split("/"):
    if not isinstance(node, dict) or name not in node:
      return False
    node = node[name]
  return True
