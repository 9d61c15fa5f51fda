"""The model a config describes and what its export carries (arch.json)."""

import json
import os

import numpy as np

from rtpe_jax.inference import predictor


def test_protocol_size_and_grouping_settings_travel_with_the_model(
  quickstart_student_dir, tmp_path
):
  """The thresholds a config evaluates with are written to the exported arch.json
  (`model_factory.model_arch`) and read back by `predictor.load` as the model's default."""
  import shutil

  from rtpe_jax.train import config as config_lib
  from rtpe_jax.train import model_factory

  config = config_lib.default_config()
  config.eval.detection_threshold, config.eval.tag_threshold = 0.3, 0.75
  config.eval.input_size = 320
  assert model_factory.model_arch(config)["input_size"] == 320
  assert model_factory.model_arch(config)["grouping"] == {
    "detection_threshold": 0.3,
    "tag_threshold": 0.75,
  }
  model_dir = str(tmp_path / "student")
  shutil.copytree(quickstart_student_dir, model_dir)
  with open(os.path.join(model_dir, "arch.json")) as f:
    arch = json.load(f)
  assert (
    predictor.load(model_dir).grouping.detection_threshold == 0.1
  )  # none written: HigherHRNet's
  arch["grouping"] = model_factory.grouping_settings(config)
  arch["input_size"] = 320
  with open(os.path.join(model_dir, "arch.json"), "w") as f:
    json.dump(arch, f)
  model = predictor.load(model_dir)
  assert model.input_size == 320 and predictor.load(model_dir, input_size=256).input_size == 256
  assert (model.grouping.detection_threshold, model.grouping.tag_threshold) == (0.3, 0.75)
  frame = predictor.run_network(model, np.zeros((64, 64, 3), np.uint8))
  assert frame.grouping == model.grouping
