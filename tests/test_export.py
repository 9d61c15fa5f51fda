"""Exported student (network + NMS + top-k): SavedModel and TFLite match JAX."""

import jax
import numpy as np
import pytest
from conftest import relative_error

from rtpe_jax import export

pytestmark = pytest.mark.slow  # TensorFlow conversion: ~30 s


@pytest.fixture(scope="module")
def exported(small_student_dir, tmp_path_factory):
  f, variables = export.inference_function(small_student_dir)
  images = np.random.default_rng(0).integers(0, 256, (1, 128, 192, 3), dtype=np.uint8)
  reference = jax.device_get(export.jax_candidates(jax.jit(f)(variables, images), k=30))
  out = tmp_path_factory.mktemp("export")
  saved = export.export_saved_model(f, variables, images.shape, str(out / "saved_model"))
  return images, reference, saved, out


def _check(reference, got, tolerance):
  assert set(got) == set(reference)
  for key in ("heatmaps", "tags", "tags_at"):
    assert got[key].shape == reference[key].shape, key
  for key in ("heatmaps", "tags"):
    assert relative_error(got[key], reference[key]) < tolerance, key


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


def test_saved_model_matches_jax(exported):
  images, reference, saved, _ = exported
  got = export.run_saved_model(saved, images)
  _check(reference, got, 1e-5)
  _same_candidates(got, reference, 1e-5)


def test_tflite_float32_matches_jax(exported):
  images, reference, saved, out = exported
  got = export.run_tflite(export.export_tflite(saved, str(out / "student.tflite")), images)
  _check(reference, got, 1e-5)
  _same_candidates(got, reference, 1e-5)


def test_tflite_float16_within_tolerance(exported):
  """float16 weights: maps within 1 % of their range; the strongest peak per
  joint (the map's maximum, which rounding cannot move far) within 1 % too."""
  images, reference, saved, out = exported
  path = export.export_tflite(saved, str(out / "student_f16.tflite"), float16=True)
  got = export.run_tflite(path, images)
  _check(reference, got, 1e-2)
  scale = np.abs(reference["heatmaps"]).max()
  np.testing.assert_allclose(got["values"][..., 0], reference["values"][..., 0], atol=1e-2 * scale)


def test_command_line_writes_and_checks_every_format(small_student_dir, tmp_path, capsys):
  """The README's command: SavedModel and both TFLite files written, then each
  read back and compared with JAX (the float32 file first written, then read)."""
  out = tmp_path / "export"
  export.main(["--model", small_student_dir, "--out", str(out), "--height", "64", "--width", "64"])
  printed = capsys.readouterr().out
  for name in ("saved_model", "student_float32.tflite", "student_float16.tflite"):
    assert (out / name).exists(), name
    assert name in printed, printed
