"""Shared fixtures: the tiny HigherHRNet reference (tests/data/hhrnet_tiny.*)."""

import json
import os

import numpy as np
import pytest

DATA = os.path.join(os.path.dirname(__file__), "data")
TINY_PTH = os.path.join(DATA, "hhrnet_tiny.pth")


@pytest.fixture(scope="session")
def tiny_reference():
  """Input and outputs of the PyTorch reference, as NHWC arrays."""
  ref = np.load(os.path.join(DATA, "hhrnet_tiny.npz"))
  to_nhwc = lambda a: a.transpose(0, 2, 3, 1)
  return {"input": to_nhwc(ref["input_nchw"]),
          "outputs": [to_nhwc(ref["output_0_nchw"]), to_nhwc(ref["output_1_nchw"])]}


@pytest.fixture(scope="session")
def tiny_arch_json():
  with open(os.path.join(DATA, "hhrnet_tiny.json")) as f:
    return json.load(f)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
  """The tiny checkpoint converted once per session."""
  from rtpe_jax.convert import convert_checkpoint
  out = str(tmp_path_factory.mktemp("models") / "hhrnet_tiny")
  convert_checkpoint(TINY_PTH, out)
  return out


def relative_error(a, b) -> float:
  """max |a - b| / max |b|."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.abs(a - b).max() / np.abs(b).max())
