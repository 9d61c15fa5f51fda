"""Conversion of PyTorch HigherHRNet checkpoints: parity, round trip, bad input."""

import os
import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from conftest import TINY_PTH, relative_error

from rtpe_jax.models import ARCHS, HigherHRNet, HRNetConfig, StageConfig, conversion, load_teacher
from rtpe_jax.models.conversion import ConversionError, convert_checkpoint

# Compute-dtype tolerances on max|a - b| / max|b| against the float32 reference
# (measured: bfloat16 0.019 / 0.023, float16 0.0026 / 0.0033 for the two outputs).
TOLERANCE = {jnp.float32: 1e-4, jnp.bfloat16: 5e-2, jnp.float16: 1e-2}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fixture_config(arch_json) -> HRNetConfig:
  """The fixture's own architecture description as an HRNetConfig."""
  return HRNetConfig(
    stages=tuple(StageConfig(m, tuple(b), tuple(c)) for m, b, c in arch_json["stages"]),
    deconv_channels=tuple(arch_json["deconv_channels"]),
    deconv_kernels=tuple(arch_json["deconv_kernels"]),
    deconv_cat=tuple(arch_json["deconv_cat"]),
    with_ae=tuple(arch_json["with_ae"]),
    deconv_blocks=arch_json["deconv_blocks"],
    final_kernel=arch_json["final_kernel"],
    tag_per_joint=arch_json["tag_per_joint"],
  )


def tiny_state_dict():
  return torch.load(TINY_PTH, map_location="cpu", weights_only=True)


@pytest.mark.parametrize(
  "dtype", [jnp.float32, jnp.bfloat16, jnp.float16], ids=["float32", "bfloat16", "float16"]
)
def test_converted_outputs_match_pytorch(tiny_model_dir, tiny_reference, dtype):
  module, variables = load_teacher(tiny_model_dir, dtype=dtype)
  outputs = module.apply(variables, tiny_reference["input"], train=False)
  assert len(outputs) == 2
  for out, ref in zip(outputs, tiny_reference["outputs"]):
    assert out.shape == ref.shape and out.dtype == jnp.float32
    assert relative_error(out, ref) <= TOLERANCE[dtype]


def test_round_trip_save_load_gives_identical_outputs(tiny_model_dir, tiny_reference):
  state = conversion.read_state_dict(TINY_PTH)
  cfg = conversion.resolve_config(state, "auto", TINY_PTH)
  direct = conversion.state_dict_to_variables(state, cfg)
  module, loaded = load_teacher(tiny_model_dir)
  jax.tree.map(np.testing.assert_array_equal, direct, jax.tree.map(np.asarray, loaded))
  x = tiny_reference["input"]
  for a, b in zip(HigherHRNet(config=cfg).apply(direct, x), module.apply(loaded, x)):
    np.testing.assert_array_equal(a, b)


def test_params_are_float32_and_conv_weights_transposed(tiny_model_dir):
  _, variables = load_teacher(tiny_model_dir, dtype=jnp.bfloat16)
  assert {x.dtype for x in jax.tree.leaves(variables)} == {np.dtype(np.float32)}
  torch_conv = tiny_state_dict()["1.stage2.0.fuse_layers.1.0.0.0.weight"].float().numpy()
  flax_conv = variables["params"]["stage2_0"]["fuse_layers_1_0_0_0"]["kernel"]
  np.testing.assert_array_equal(flax_conv, torch_conv.transpose(2, 3, 1, 0))
  torch_mean = tiny_state_dict()["1.bn1.running_mean"].numpy()
  np.testing.assert_array_equal(variables["batch_stats"]["stem"]["bn1"]["mean"], torch_mean)


def test_auto_inference_recovers_the_fixture_architecture(tiny_arch_json):
  shapes = {k: v.shape for k, v in conversion.read_state_dict(TINY_PTH).items()}
  assert conversion.infer_config(shapes) == fixture_config(tiny_arch_json)


@pytest.mark.parametrize("variant", ["plain", "module", "float32", "training_checkpoint"])
def test_accepts_prefixes_dtypes_and_training_checkpoints(tmp_path, tiny_model_dir, variant):
  state = tiny_state_dict()
  plain = {k[2:]: v for k, v in state.items()}
  obj = {
    "plain": plain,
    "module": {"module." + k: v for k, v in plain.items()},
    "float32": {k: v.float() for k, v in plain.items()},
    "training_checkpoint": {"epoch": 3, "model": "pose_higher_hrnet", "state_dict": state},
  }[variant]
  src = tmp_path / "ckpt.pth.tar"
  torch.save(obj, src)
  convert_checkpoint(str(src), str(tmp_path / "out"))
  _, expected = load_teacher(tiny_model_dir)
  _, got = load_teacher(str(tmp_path / "out"))
  jax.tree.map(np.testing.assert_array_equal, got, expected)


def assert_refused(src, out_dir, match, arch="auto"):
  with pytest.raises(ConversionError, match=match) as info:
    convert_checkpoint(str(src), str(out_dir), arch)
  assert not os.path.exists(out_dir)
  assert os.listdir(os.path.dirname(out_dir)) == [os.path.basename(src)], "staging left behind"
  return str(info.value)


def test_truncated_file_is_refused(tmp_path):
  src = tmp_path / "truncated.pth"
  data = open(TINY_PTH, "rb").read()
  src.write_bytes(data[: len(data) // 2])
  message = assert_refused(src, tmp_path / "out", "not a readable PyTorch checkpoint")
  assert str(src) in message


def test_file_that_is_not_a_checkpoint_is_refused(tmp_path):
  src = tmp_path / "photo.pth"
  src.write_bytes(b"\xff\xd8\xff\xe0 this is not a checkpoint" * 100)
  assert_refused(src, tmp_path / "out", "not a readable PyTorch checkpoint")


class _RunsCode:
  """A pickle payload that would create a file when unpickled."""

  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_pickle_that_would_run_code_is_refused_not_executed(tmp_path, writer):
  marker = tmp_path / "pwned"
  src = tmp_path / "evil.pth"
  payload = {"conv1.weight": torch.zeros(1), "payload": _RunsCode(str(marker))}
  if writer == "torch.save":
    torch.save(payload, src)
    assert_refused(src, tmp_path / "out", "refused: unpickling it would call .*open")
  else:
    with open(src, "wb") as f:
      pickle.dump(payload, f)
    assert_refused(src, tmp_path / "out", "not a readable PyTorch checkpoint")
  assert not marker.exists()


def test_checkpoint_of_another_architecture_lists_every_difference(tmp_path):
  state = {k[2:]: v for k, v in tiny_state_dict().items()}
  del state["stage3.1.branches.0.0.bn1.weight"]
  del state["final_layers.1.bias"]
  state["conv2.weight"] = torch.zeros(64, 64, 5, 5)
  state["head.extra.weight"] = torch.zeros(3)
  src = tmp_path / "other.pth"
  torch.save(state, src)
  message = assert_refused(src, tmp_path / "out", "does not match")
  for key in (
    "stage3.1.branches.0.0.bn1.weight",
    "final_layers.1.bias",
    "conv2.weight",
    "head.extra.weight",
  ):
    assert key in message
  assert "2 missing keys" in message and "1 unexpected keys" in message
  assert "1 shape mismatches" in message


def test_explicit_arch_is_checked_against_the_checkpoint(tmp_path):
  src = tmp_path / "tiny.pth"
  src.write_bytes(open(TINY_PTH, "rb").read())
  message = assert_refused(
    src, tmp_path / "out", "does not match architecture 'w32_512'", arch="w32_512"
  )
  assert "shape mismatches" in message and "missing keys" in message


def test_missing_output_parent_is_refused(tmp_path):
  out = tmp_path / "no" / "such" / "dir"
  with pytest.raises(ConversionError, match="parent directory .* does not exist"):
    convert_checkpoint(TINY_PTH, str(out))
  assert not (tmp_path / "no").exists()


def test_existing_output_needs_overwrite(tmp_path):
  out = tmp_path / "out"
  out.mkdir()
  with pytest.raises(ConversionError, match="already exists"):
    convert_checkpoint(TINY_PTH, str(out))
  convert_checkpoint(TINY_PTH, str(out), overwrite=True)
  assert sorted(os.listdir(out)) == ["arch.json", "variables"]


def test_published_architectures_are_recognised_by_auto():
  for name, cfg in ARCHS.items():
    if cfg.tag_coordinates:  # trained here (synthetic_w32): no PyTorch counterpart
      with pytest.raises(ConversionError, match="trained here, not converted"):
        conversion.expected_torch_shapes(cfg)
      continue
    shapes = conversion.expected_torch_shapes(cfg)
    filename = f"pose_higher_hrnet_{name}.pth"
    assert (
      conversion.resolve_config({k: np.zeros(s) for k, s in shapes.items()}, "auto", filename)
      == cfg
    )


def test_cli_converts_and_reports_errors(tmp_path):
  env = {**os.environ, "PYTHONPATH": REPO}
  run = lambda *args: subprocess.run(
    [sys.executable, os.path.join(REPO, "convert_hrnet_weights.py"), *args],
    capture_output=True,
    text=True,
    env=env,
  )
  ok = run(TINY_PTH, str(tmp_path / "tiny"))
  assert ok.returncode == 0, ok.stderr
  assert os.path.isfile(tmp_path / "tiny" / "arch.json")
  bad = run(TINY_PTH, str(tmp_path / "x"), "--arch", "w48_640")
  assert bad.returncode == 1
  assert "does not match architecture 'w48_640'" in bad.stderr
  assert not os.path.exists(tmp_path / "x")
