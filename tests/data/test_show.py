"""Pictures of samples: one PNG per sample with both rows of panels."""

import numpy as np
import pytest
from PIL import Image

from rtpe_jax.data import ground_truth_teacher, show
from rtpe_jax.inference import overlays
from rtpe_jax.train import config as config_lib


def test_pictures_have_every_panel(synthetic_root, tmp_path):
  cfg = config_lib.data_config()
  cfg.root, cfg.input_size, cfg.sigmas = synthetic_root, 128, (2.0, 4.0)
  cfg.teacher_store = ground_truth_teacher.write_stand_in_store(
    synthetic_root, ("train2017",), str(tmp_path / "teacher")
  )
  paths = show.write_pictures(cfg, str(tmp_path / "pictures"), samples=2, colour_space="lab")
  assert len(paths) == 2
  picture = np.asarray(Image.open(paths[0]))
  # Bottom row: crop, LAB input, weights, 2 strides x 2 spreads, person mask, teacher
  # heatmaps and tag.
  assert picture.shape[0] == 2 * show.PANEL + 8
  assert picture.shape[1] >= 10 * show.PANEL
  assert picture[show.PANEL + 8 :, : show.PANEL].std() > 10  # the crop is not blank


def test_colour_maps():
  np.testing.assert_array_equal(
    overlays.heat(np.array([[0.0, 1.0]])), [[[0, 0, 0], [255, 255, 255]]]
  )
  np.testing.assert_array_equal(
    overlays.diverging(np.array([[-2.0, 0.0, 2.0]])), [[[0, 0, 255], [255, 255, 255], [255, 0, 0]]]
  )


@pytest.mark.slow
def test_command_line_as_the_readme_shows_it(synthetic_root, tmp_path):
  """`python -m rtpe_jax.data.show --config configs/quickstart.py --out DIR
  --stand_in_teacher`, on the test's synthetic data."""
  import os
  import subprocess
  import sys

  repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  out = tmp_path / "show"
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "rtpe_jax.data.show",
      "--config",
      "configs/quickstart.py",
      f"--config.data.root={synthetic_root}",
      "--out",
      str(out),
      "--samples",
      "2",
      "--stand_in_teacher",
    ],
    cwd=repo,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert len([f for f in os.listdir(out) if f.endswith(".png")]) == 2, os.listdir(out)
