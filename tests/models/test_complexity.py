"""Sizes of the published teachers against the reference figures."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rtpe_jax.models import ARCHS, HigherHRNet, complexity
from rtpe_jax.models.conversion import expected_torch_shapes
from rtpe_jax.models.weights import abstract_variables


@pytest.mark.parametrize("arch", ["w32_512", "w48_640"])
def test_parameter_counts_equal_the_reference(arch):
  reference_params = complexity.REFERENCE[arch][0]
  variables = abstract_variables(HigherHRNet(config=ARCHS[arch]))
  assert complexity.count_params(variables["params"]) == reference_params
  # The same count from the PyTorch state dict the converter expects (BN
  # running statistics are buffers there, not parameters).
  torch_params = sum(
    int(np.prod(s))
    for k, s in expected_torch_shapes(ARCHS[arch]).items()
    if not k.endswith(("running_mean", "running_var"))
  )
  assert torch_params == reference_params


@pytest.mark.parametrize("arch", ["w32_512", "w48_640"])
def test_conv_multiply_adds_agree_with_flop_counter_reference(arch):
  cfg = ARCHS[arch]
  module = HigherHRNet(config=cfg)
  size = (cfg.input_size, cfg.input_size)
  variables = abstract_variables(module, size)
  x = jax.ShapeDtypeStruct((1, *size, 3), jnp.float32)
  forward = lambda v, x: module.apply(v, x)
  gmac = complexity.conv_macs(forward, variables, x) / 1e9
  reference = complexity.REFERENCE[arch][1]
  assert abs(gmac - reference) / reference <= 0.02
  valid_only = complexity.conv_macs(forward, variables, x, count_padding=False) / 1e9
  assert valid_only < gmac  # XLA's own count skips taps on zero padding


def test_summary_table_prints_published_rows(capsys):
  complexity.main(["--arch", "w32_512", "--no-xla-total"])
  table = capsys.readouterr().out
  row = next(line for line in table.splitlines() if line.startswith("| w32_512"))
  cells = [c.strip() for c in row.split("|")[1:-1]]
  # Computed: parameters and conv GMAC; then the reference's, which they must equal.
  assert cells[:2] == ["w32_512", "512"]
  assert cells[2] == cells[-3] and cells[3] == cells[-2], cells
