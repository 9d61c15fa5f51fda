"""The lifter's training: the generated stream, learning, resume, its config's checks,
train.py and the command line."""

import os
import subprocess
import sys

import jax
import numpy as np
import optax
import pytest

from configs import lifting as lifting_config
from rtpe_jax.threed import lifter, lifter_training, metrics3d, synthetic3d
from rtpe_jax.train import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_stream_is_what_the_camera_sees():
  x, truth, camera = lifter.sample_people(np.random.default_rng(2), 64)
  np.testing.assert_allclose(metrics3d.root(truth), 0, atol=1e-9)
  np.testing.assert_allclose(truth, metrics3d.root_relative(camera))
  assert (camera[..., 2] > 1000).all()
  seen = np.ones((64, 17), bool)
  np.testing.assert_allclose(x, lifter.features(camera[..., :2] / camera[..., 2:], seen))
  noisy, _, _ = lifter.sample_people(np.random.default_rng(2), 64, noise_px=1.0, drop=0.2)
  hidden = noisy[:, 34:51] == 0
  assert 0.1 < hidden.mean() < 0.3
  # uniform 0 is the generator's stream; a share of uniform poses changes only poses
  _, same, _ = lifter.sample_people(np.random.default_rng(2), 64, uniform=0.0)
  np.testing.assert_array_equal(same, truth)
  _, mixed, _ = lifter.sample_people(np.random.default_rng(2), 64, uniform=0.5)
  assert not np.allclose(mixed, truth)
  # Runs of every training seed are scored on the same validation people.
  config = lifting_config.get_config("runlocal")
  first = lifter_training.validation_set(config)
  config.seed = 3
  np.testing.assert_array_equal(first[1], lifter_training.validation_set(config)[1])


def test_a_few_people_are_learnt_by_heart():
  """32 people, no dropout, 1500 steps: their MPJPE falls below 15 mm (from about 1500)."""
  x, truth, _ = lifter.sample_people(np.random.default_rng(3), 32)
  module = lifter.Lifter(width=256, blocks=1, dropout=0.0)
  tx = optax.adam(1e-3)
  params = module.init(jax.random.key(0), x[:1])["params"]
  state = {
    "params": params,
    "opt_state": tx.init(params),
    "step": np.int32(0),
    "key": jax.random.key_data(jax.random.key(1)),
  }
  step = lifter_training._train_step(module, tx)
  before = lifter.errors(np.asarray(module.apply({"params": params}, x)), truth)["MPJPE"]
  for _ in range(1500):
    state, _ = step(state, x, (truth / 1000.0).astype(np.float32))
  after = lifter.errors(np.asarray(module.apply({"params": state["params"]}, x)), truth)
  assert before > 500 and after["MPJPE"] < 15.0, (before, after)


@pytest.mark.slow
def test_an_interrupted_run_resumes_as_if_never_stopped(tmp_path, monkeypatch):
  config = lifting_config.get_config("runlocal")
  straight = lifter_training.train_and_evaluate(config, str(tmp_path / "straight"))
  batch = lifter_training._batch

  def stopped_at_11(config, step):
    if step == 11:
      raise KeyboardInterrupt("stopped")
    return batch(config, step)

  monkeypatch.setattr(lifter_training, "_batch", stopped_at_11)
  with pytest.raises(KeyboardInterrupt):
    lifter_training.train_and_evaluate(config, str(tmp_path / "resumed"))
  assert not (tmp_path / "resumed" / "export").exists()
  monkeypatch.setattr(lifter_training, "_batch", batch)
  resumed = lifter_training.train_and_evaluate(config, str(tmp_path / "resumed"))
  assert resumed == straight
  a = lifter.load(str(tmp_path / "straight" / "export")).variables
  b = lifter.load(str(tmp_path / "resumed" / "export")).variables
  jax.tree.map(np.testing.assert_array_equal, a, b)


def test_bad_values_are_named():
  config = lifting_config.get_config("runlocal")
  config.batch_size, config.data.drop, config.data.uniform = 0, 1.5, -0.1
  with pytest.raises(config_lib.ConfigError) as err:
    lifter_training.check_config(config)
  assert "config.batch_size: 0" in str(err.value) and "config.data.drop" in str(err.value)
  assert "config.data.uniform: -0.1" in str(err.value)


def _run(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.slow
def test_train_py_then_the_command_line_as_the_docs_show_them(tmp_path):
  workdir = str(tmp_path / "lifting")
  out = _run("train.py", "--config", "configs/lifting.py:runlocal", "--workdir", workdir)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "PA-MPJPE" in out.stdout and f"{workdir}/export" in out.stdout
  _, _, camera = lifter.sample_people(np.random.default_rng(4), 16)
  K = synthetic3d.intrinsics(320, 256, 60.0)
  poses = str(tmp_path / "poses.npz")
  np.savez(poses, joints_3d=camera, K=K)
  command = ("-m", "rtpe_jax.threed.lifter", "--model", f"{workdir}/export", "--poses", poses)
  out = _run(*command)
  assert out.returncode == 0, out.stderr[-3000:]
  model = lifter.load(f"{workdir}/export")
  uv = synthetic3d.project(camera, K)
  lifted = lifter.lift(model, np.concatenate([uv, np.ones((16, 17, 1))], -1), K)
  expected = lifter.errors(lifted, camera)
  assert out.stdout.strip().splitlines()[-1] == (
    f"16 poses: MPJPE {expected['MPJPE']:.1f} mm, PA-MPJPE {expected['PA-MPJPE']:.1f} mm"
  )
  np.savez(poses, joints_3d=camera)
  out = _run(*command)
  assert out.returncode != 0 and "poses.npz: missing K" in out.stderr
