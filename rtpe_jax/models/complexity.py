"""Parameter counts and compute of the published teachers (and any Flax model).

  python -m rtpe_jax.models.complexity                 # every published variant
  python -m rtpe_jax.models.complexity --arch w48_640  # one, at its input size

Columns (G = 1e9), all from XLA's cost analysis of the jitted forward pass on
one image:
  GMAC conv: multiply-adds of the convolutions, counting taps on zero padding
      too (XLA's count of each convolution with its padding made part of the
      input, / 2): the convention of PyTorch's FlopCounterMode / 2, which the
      reference column uses;
  GMAC conv (valid taps): XLA's own count, which skips taps on zero padding;
  GFLOP (XLA): XLA's cost analysis of the whole compiled forward pass: 2 per
      multiply-add plus one per element-wise operation (batch norm, ReLU, sums);
  paper GFLOPs: the HigherHRNet paper's figure (multiply-adds plus element-wise
      operations).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np

from rtpe_jax.models.hrnet import ARCHS, HigherHRNet
from rtpe_jax.models.weights import abstract_variables, input_channels

# Published figures: (params, conv GMACs by FlopCounterMode / 2, paper GFLOPs).
REFERENCE = {
  "w32_512": (28_645_331, 46.2, 47.9),
  "w32_640": (28_645_331, None, 74.8),
  "w48_640": (63_827_139, 149.5, 154.3),
}


def count_params(params: Any) -> int:
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(params)))


def conv_equations(jaxpr):
  """Every convolution in `jaxpr`, nested jaxprs included."""
  yield from (e for e in jaxpr.eqns if e.primitive.name == "conv_general_dilated")
  for sub in jax.extend.core.subjaxprs(jaxpr):
    yield from conv_equations(sub)


def _xla_conv_macs(eqn, count_padding: bool) -> float:
  """XLA's cost analysis of one convolution / 2.

  XLA skips kernel taps that fall on zero padding; with `count_padding` the
  padding of a plain convolution becomes part of its input first, so that every
  tap counts as in PyTorch's FlopCounterMode. (Transposed convolutions are left
  as they are: XLA skips the inserted zeros, which is PyTorch's convention.)
  """
  lhs, rhs = (v.aval for v in eqn.invars)
  params = dict(eqn.params)
  if count_padding and all(d == 1 for d in params["lhs_dilation"]):
    shape = list(lhs.shape)
    for dim, (lo, hi) in zip(params["dimension_numbers"].lhs_spec[2:], params["padding"]):
      shape[dim] += lo + hi
    lhs = jax.ShapeDtypeStruct(tuple(shape), lhs.dtype)
    params["padding"] = tuple((0, 0) for _ in params["padding"])
  conv = lambda a, b: jax.lax.conv_general_dilated_p.bind(a, b, **params)
  with jax.default_device(jax.devices("cpu")[0]):  # a GPU lowering has no cost analysis
    return jax.jit(conv).lower(lhs, rhs).cost_analysis()["flops"] / 2


def conv_macs(fn: Callable, *args, count_padding: bool = True) -> float:
  """Multiply-adds of every convolution `fn(*args)` runs, by XLA's cost analysis."""
  total, cache = 0.0, {}
  for eqn in conv_equations(jax.make_jaxpr(fn)(*args).jaxpr):
    key = (tuple(v.aval for v in eqn.invars), str(sorted(eqn.params.items())))
    if key not in cache:
      cache[key] = _xla_conv_macs(eqn, count_padding)
    total += cache[key]
  return total


def xla_flops(fn: Callable, *args) -> float:
  """Total flops of the compiled `fn(*args)` by XLA's cost analysis."""
  return jax.jit(fn).lower(*args).compile().cost_analysis()["flops"]


def summarize(module, input_hw: tuple[int, int], with_xla_total: bool = True) -> dict[str, Any]:
  """Parameters and compute of `module` on one (1, H, W, 3) float32 image."""
  variables = abstract_variables(module, input_hw)
  x = jax.ShapeDtypeStruct((1, *input_hw, input_channels(module)), jnp.float32)
  forward = lambda v, x: module.apply(v, x, train=False)
  row = {
    "params": count_params(variables["params"]),
    "gmac_conv": conv_macs(forward, variables, x) / 1e9,
    "gmac_conv_valid": conv_macs(forward, variables, x, count_padding=False) / 1e9,
  }
  if with_xla_total:
    row["gflop_xla"] = xla_flops(forward, variables, x) / 1e9
  return row


def format_table(rows: list[dict[str, Any]]) -> str:
  header = (
    "| model | input | params | GMAC conv | GMAC conv (valid taps) | GFLOP (XLA) "
    "| reference params | reference GMAC conv | paper GFLOPs |"
  )
  lines = [header, "|" + " --- |" * (header.count("|") - 1)]
  fmt = lambda v, f: "" if v is None else format(v, f)
  for r in rows:
    lines.append(
      f"| {r['name']} | {r['input']} | {r['params']:,} | {r['gmac_conv']:.1f} "
      f"| {r['gmac_conv_valid']:.1f} | {fmt(r.get('gflop_xla'), '.1f')} "
      f"| {fmt(r.get('ref_params'), ',')} | {fmt(r.get('ref_gmac'), '.1f')} "
      f"| {fmt(r.get('paper_gflops'), '.1f')} |"
    )
  return "\n".join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description="Parameters and GFLOPs of the HigherHRNet teachers.")
  parser.add_argument("--arch", nargs="*", default=list(ARCHS), choices=list(ARCHS))
  parser.add_argument("--input-size", type=int, help="square input size (default: the arch's)")
  parser.add_argument(
    "--no-xla-total",
    action="store_true",
    help="skip compiling the whole network for the GFLOP (XLA) column",
  )
  args = parser.parse_args(argv)
  rows = []
  for name in args.arch:
    cfg = ARCHS[name]
    size = args.input_size or cfg.input_size
    row = {
      "name": name,
      "input": size,
      **summarize(HigherHRNet(config=cfg), (size, size), not args.no_xla_total),
    }
    if size == cfg.input_size:
      row["ref_params"], row["ref_gmac"], row["paper_gflops"] = REFERENCE[name]
    rows.append(row)
  print("Columns" + __doc__.split("Columns", 1)[1].rstrip())
  print()
  print(format_table(rows))


if __name__ == "__main__":
  main()
