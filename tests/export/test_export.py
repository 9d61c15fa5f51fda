"""The exported student (protocol maps + NMS + top-k on a canvas): SavedModel and
TFLite match JAX, take their settings from the model directory, and the
command line fails when a format strays beyond its tolerance."""

import json
import os

import jax
import numpy as np
import pytest

from rtpe_jax.data.synthetic import scenes
from rtpe_jax.export import cli, formats, graph, parity
from rtpe_jax.export import settings as export_settings
from rtpe_jax.inference import predictor
from rtpe_jax.models import weights

pytestmark = pytest.mark.slow  # TensorFlow conversion: ~30 s


@pytest.fixture(scope="module")
def scored_student_dir(quickstart_student_dir, tmp_path_factory):
  """The small student as a trainer exports it: arch.json says it was scored at
  input 64 with the flip test and a detection threshold of 0.2."""
  out = str(tmp_path_factory.mktemp("models") / "scored")
  module, variables = weights.load_model(quickstart_student_dir)
  arch = weights.read_arch(quickstart_student_dir)
  arch.update(input_size=64, flip=True, grouping={"detection_threshold": 0.2, "tag_threshold": 1.0})
  weights.save_model(out, variables, arch)
  return out


@pytest.fixture(scope="module")
def exported(scored_student_dir, tmp_path_factory):
  out = str(tmp_path_factory.mktemp("export"))
  settings = export_settings.settings_for(scored_student_dir)
  found = formats.export_student(scored_student_dir, out, settings)
  return settings, out, found


def test_settings_come_from_the_model_directory(scored_student_dir, exported):
  settings, out, _ = exported
  assert settings.input_size == 64 and settings.flip
  # Every protocol size with the longer side 64 to 96 (rounded up: 128), both ways.
  assert settings.canvases == ((64, 64), (64, 128), (128, 64))
  assert settings.canvas_for((64, 128)) == (64, 128) and settings.canvas_for((64, 100)) == (64, 128)
  with pytest.raises(ValueError, match="fits none of the export's canvases"):
    settings.canvas_for((64, 192))
  assert settings.grouping.detection_threshold == 0.2
  assert export_settings.read_settings(out) == settings
  other = export_settings.settings_for(
    scored_student_dir, input_size=128, flip=False, canvases=[(192, 256)]
  )
  assert (other.input_size, other.flip, other.canvases) == (128, False, ((192, 256),))
  with pytest.raises(ValueError, match="multiples of 64"):
    export_settings.settings_for(scored_student_dir, canvases=[(100, 128)])


def test_every_format_matches_jax_within_its_tolerance(exported):
  """Measured on the test picture: float32 graphs to about 1e-6 of the maps'
  range, float16 weights to about 1e-3."""
  _, out, found = exported
  assert set(found) == set(formats.FORMATS)
  for name, difference in found.items():
    assert difference <= parity.TOLERANCE[name], (name, difference)
    assert os.path.exists(os.path.join(out, name))
  assert found["saved_model"] <= 1e-5 and found["student_float32.tflite"] <= 1e-5
  with open(os.path.join(out, "export.json")) as f:
    assert json.load(f)["differences"] == found


def _same_candidates(got, reference, atol):
  """The same peaks (x, y) with the same values and tags, in any order among ties;
  peaks tied with the k-th value may be swapped for another of that value."""
  for b, j in np.ndindex(reference["values"].shape[:2]):
    peaks = lambda o: {
      (int(x), int(y)): (v, t)
      for x, y, v, t in zip(o["x"][b, j], o["y"][b, j], o["values"][b, j], o["tags_at"][b, j])
    }
    want, have = peaks(reference), peaks(got)
    last = reference["values"][b, j].min()
    for xy, (value, tag) in want.items():
      if value > last + atol:
        assert xy in have, (b, j, xy)
        np.testing.assert_allclose(have[xy][0], value, atol=atol)
        np.testing.assert_allclose(have[xy][1], tag, atol=10 * atol)


def test_the_exported_people_are_the_jax_functions(scored_student_dir, exported):
  """The same candidates as JAX, and through the host grouping the same people as
  the JAX function on the same canvas; on a canvas the protocol's own size, the
  people `predict` finds with the published protocol."""
  settings, out, _ = exported
  f, variables = graph.inference_function(scored_student_dir, settings)
  forward = jax.jit(f)
  jax_run = lambda canvas, valid: jax.device_get(
    graph.jax_candidates(forward(variables, canvas, valid), settings.top_k)
  )
  image = np.asarray(scenes.make_image(0, "val2017", 1, size=64)[0])  # 80 x 64
  canvas, valid, _ = export_settings.canvas_input(image, settings)
  assert canvas.shape[1:3] == (64, 128) and tuple(valid[0]) == (64, 128)
  run = formats.load_runner(os.path.join(out, "student_float32.tflite"))
  _same_candidates(run(canvas, valid), jax_run(canvas, valid), 1e-5)
  keypoints, scores = formats.exported_people(run, image, settings)
  want, want_scores = formats.exported_people(jax_run, image, settings)
  assert len(scores) == len(want_scores) > 0
  np.testing.assert_allclose(scores, want_scores, atol=1e-4)
  np.testing.assert_allclose(keypoints[..., :2], want[..., :2], atol=0.01)
  scored, scored_scores = predictor.predict_image(
    predictor.load(scored_student_dir), image, buckets=()
  )
  np.testing.assert_allclose(scores, scored_scores, atol=1e-4)
  np.testing.assert_allclose(keypoints[..., :2], scored[..., :2], atol=0.01)


def test_command_line_fails_beyond_the_tolerance(scored_student_dir, tmp_path, monkeypatch, capsys):
  """The README's command writes every format and exits 0; with a tolerance the
  float16 weights cannot meet it, it names the format and exits 1."""
  out = tmp_path / "export"
  assert cli.main(["--model", scored_student_dir, "--out", str(out)]) == 0
  printed = capsys.readouterr().out
  with open(out / "export.json") as f:
    differences = json.load(f)["differences"]
  for name in formats.FORMATS:  # each written format was run and is within its tolerance
    assert differences[name] <= parity.TOLERANCE[name] and name in printed, name
    assert f"{out / name}: max |maps - JAX| = {differences[name]:.2e}" in printed
    maps = formats.load_runner(str(out / name))(
      np.zeros((1, 64, 128, 3), np.uint8), np.array([[64, 128]], np.int32)
    )
    assert maps["heatmaps"].shape == (1, 64, 128, 17) and maps["values"].shape == (1, 17, 30)
  assert (
    "input size 64, flip True, canvases 64x64 64x128 128x64, detection threshold 0.2" in printed
  )
  monkeypatch.setitem(parity.TOLERANCE, "student_float16.tflite", 1e-9)
  assert cli.main(["--model", scored_student_dir, "--out", str(tmp_path / "again")]) == 1
  assert "beyond the tolerance: student_float16.tflite" in capsys.readouterr().err
