"""predict.py and the predictor: bucketed shapes, the same people as the protocol, overlap, the CLI."""

import dataclasses
import json

import numpy as np
import pytest

import predict as predict_cli
from conftest import DATA
from rtpe_jax.data.synthetic import scenes
from rtpe_jax.data.synthetic import video as synthetic_video
from rtpe_jax.inference import predictor, protocol


def test_canvas_size_picks_the_smallest_bucket_that_fits():
  buckets = (1.0, 1.5, 2.0)
  assert predictor.canvas_size((320, 256), 256, buckets) == (384, 256)
  assert predictor.canvas_size((256, 448), 256, buckets) == (256, 512)
  assert predictor.canvas_size((256, 256), 256, buckets) == (256, 256)
  assert predictor.canvas_size((640, 256), 256, buckets) == (640, 256)  # beyond: as it is
  assert predictor.canvas_size((320, 256), 256, ()) == (320, 256)


@pytest.fixture(scope="module")
def model(quickstart_student_dir):
  return predictor.load(quickstart_student_dir, input_size=128)


def _scene(index, size=128):
  image, _, _ = scenes.make_image(7, "val2017", index, size)
  return np.asarray(image)


def test_unpadded_prediction_is_the_protocol(model):
  """buckets=(): the canvas is the protocol's input, the people those of the
  whole-map protocol (`protocol.multi_person_maps`, `group_and_map`: every map
  to the host grouping) on the same folded network. (Folding's own rounding is
  tested in tests/models/test_folding.py: through the grouping it can turn a
  half-pixel choice between two neighbours of nearly equal value.)"""
  image = _scene(0)
  cfg = protocol.ProtocolConfig(input_size=128)
  heatmaps, tags, mapping = protocol.multi_person_maps(
    model.network, model.variables, model.spec, image, cfg
  )
  ((want, want_scores),) = protocol.group_and_map(heatmaps, tags, *mapping, cfg.grouping)
  got, scores = predictor.predict_image(model, image, buckets=())
  assert len(want) > 0
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
  np.testing.assert_allclose(scores, want_scores, rtol=1e-4)


def test_one_compile_per_bucket_and_nothing_found_in_the_padding(quickstart_student_dir):
  """Four images 256 high of widths 256, 300, 340 and 370: three protocol sizes
  (256, 320 and 384 wide), two canvases (256 and the 1.5 bucket, 384): exactly
  two compiles (a model loaded here, so no other test's compiles count)."""
  model = predictor.load(quickstart_student_dir, input_size=256)
  scene = _scene(0, 256)
  images = [np.ascontiguousarray(np.resize(scene, (256, w, 3))) for w in (256, 300, 340, 370)]
  sizes = {protocol.scale_size(*img.shape[:2], 256, 1.0, 1.0)[0] for img in images}
  assert sorted(sizes) == [(256, 256), (320, 256), (384, 256)]
  before = predictor._canvas_maps._cache_size()
  for image in images:
    frame = predictor.run_network(model, image)
    w, h = frame.size
    heatmaps = np.asarray(frame.heatmaps[0])
    assert heatmaps.shape[:2] == (256, 256 if w == 256 else 384)
    assert not heatmaps[h:].any() and not heatmaps[:, w:].any()
    found = np.asarray(frame.candidates["values"][0]) > 0
    assert np.all(np.asarray(frame.candidates["x"][0])[found] < w)
    assert np.all(np.asarray(frame.candidates["y"][0])[found] < h)
  assert predictor._canvas_maps._cache_size() - before == 2


def test_coarser_maps_are_the_canvas_over_the_stride_and_masked_there(quickstart_student_dir):
  """map_stride 2: maps (and candidates) at half the canvas, zero from the first
  map pixel whose input pixels lie beyond the image; a stride that does not divide
  every canvas is refused. (Where the joints land: the perfect network's test in
  tests/inference/test_protocol.py.)"""
  model = predictor.load(quickstart_student_dir, input_size=256)
  coarse = dataclasses.replace(model, map_stride=2)
  image = np.ascontiguousarray(np.resize(_scene(0, 256), (256, 300, 3)))  # protocol 320 wide
  frame = predictor.run_network(coarse, image)
  heatmaps = np.asarray(frame.heatmaps[0])
  assert heatmaps.shape[:2] == (128, 192) and frame.tags.shape[1:3] == (128, 192)
  assert frame.size == (320, 256) and not heatmaps[:, 160:].any() and heatmaps[:, :160].any()
  found = np.asarray(frame.candidates["values"][0]) > 0
  assert np.all(np.asarray(frame.candidates["x"][0])[found] < 160)
  keypoints, _ = predictor.group_frame(frame)
  # The protocol's 320 columns are the image's 300 and 10 of its border on each side.
  assert len(keypoints) and keypoints[..., 0].max() <= 310 and keypoints[..., 1].max() <= 256
  with pytest.raises(ValueError, match="map_stride 3: use one of"):
    predictor.from_module(model.network, model.variables, fold=False, map_stride=3)


def test_overlapped_stream_gives_the_sequential_results(model):
  frames, _ = synthetic_video.video_frames(num_frames=4, size=128)
  overlapped = list(predictor.predict_stream(model, frames, overlap=True))
  sequential = list(predictor.predict_stream(model, frames, overlap=False))
  assert len(overlapped) == 4
  for (a, sa), (b, sb) in zip(overlapped, sequential):
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)


def test_cli_on_coco_photos_and_a_synthetic_video(quickstart_student_dir, tmp_path, capsys):
  out = tmp_path / "photos"
  assert (
    predict_cli.main(
      ["--model", quickstart_student_dir, "--dir", DATA, "--out", str(out), "--input-size", "128"]
    )
    == 0
  )
  results = json.load(open(out / "keypoints.json"))
  assert {r["image_id"] for r in results} <= {1000, 2685}
  assert (out / "000000001000.png").exists() and (out / "000000002685.png").exists()

  video = synthetic_video.write_video(str(tmp_path / "clip.avi"), num_frames=6, size=128)
  out = tmp_path / "video"
  assert (
    predict_cli.main(
      [
        "--model",
        quickstart_student_dir,
        "--video",
        video,
        "--out",
        str(out),
        "--dtype",
        "bfloat16",
      ]
    )
    == 0
  )
  printed = capsys.readouterr().out
  assert "6 frames 170x128" in printed and "frames/s" in printed and "compile" in printed
  import cv2

  video_out = cv2.VideoCapture(str(out / "overlay.avi"))  # every frame, at the clip's size
  frames = []
  while True:
    ok, frame = video_out.read()
    if not ok:
      break
    frames.append(frame)
  assert len(frames) == 6 and {f.shape for f in frames} == {(128, 170, 3)}
  assert {r["image_id"] for r in json.load(open(out / "keypoints.json"))} <= set(range(6))


def test_bad_inputs_are_named(quickstart_student_dir, tmp_path):
  with pytest.raises(ValueError, match="cannot open as a video"):
    list(predictor.read_video(str(tmp_path / "missing.avi")))
  with pytest.raises(FileNotFoundError, match="not a model directory"):
    predictor.load(str(tmp_path))
