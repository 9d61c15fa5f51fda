"""The teacher over a split (`teacher_run.run`, through infer_teacher.py): store, results
and AP table; survives a corrupt image and a restart."""

import json
import os
import shutil

import numpy as np
import pytest

import infer_teacher
from rtpe_jax.data import coco, images
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.inference import coco_metrics

pytestmark = pytest.mark.slow


@pytest.fixture
def coco_copy(synthetic_root, tmp_path):
  root = str(tmp_path / "coco")
  shutil.copytree(synthetic_root, root)
  return root


def _args(model, root, out, *extra):
  return [
    "--teacher",
    model,
    "--coco",
    root,
    "--split",
    "val2017",
    "--out",
    out,
    "--input-size",
    "128",
    "--no-progress",
    *extra,
  ]


def test_store_results_and_table_survive_corruption_and_restart(
  tiny_model_dir, coco_copy, tmp_path, monkeypatch, capsys
):
  out = str(tmp_path / "pred")
  names = sorted(os.listdir(os.path.join(coco_copy, "images", "val2017")))
  broken = os.path.join(coco_copy, "images", "val2017", names[2])
  with open(broken, "wb") as f:
    f.write(b"not a jpeg")

  real_read = images.read_image
  calls = {"n": 0}

  def interrupted(path, image_id):
    calls["n"] += 1
    if calls["n"] > 4:
      raise KeyboardInterrupt
    return real_read(path, image_id)

  monkeypatch.setattr(images, "read_image", interrupted)
  with pytest.raises(KeyboardInterrupt):
    infer_teacher.main(_args(tiny_model_dir, coco_copy, out, "--eval"))
  monkeypatch.setattr(images, "read_image", real_read)
  partial = len(ts.TeacherStore(os.path.join(out, "teacher")))
  assert 1 <= partial <= 4

  infer_teacher.main(_args(tiny_model_dir, coco_copy, out, "--eval", "--batch", "2"))
  printed = capsys.readouterr().out
  assert "already stored" in printed and "AP (M)" in printed
  store = ts.TeacherStore(os.path.join(out, "teacher"))
  assert len(store) == len(names) - 1
  prediction = store[store.image_ids()[0]]
  assert prediction.heatmaps.shape[-1] == 17 and prediction.tags.shape[-1] == 17
  assert prediction.affine[0, 0] > 0 and prediction.tag_affine[0, 0] == pytest.approx(
    2 * prediction.affine[0, 0]
  )
  with open(os.path.join(out, "failures.txt")) as f:
    assert names[2] in f.read()
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert {r["image_id"] for r in results} <= set(store.image_ids())
  _ap_is_cocoeval_of_the_results(coco_copy, out, slice(None))


def _ap_is_cocoeval_of_the_results(root, out, share: slice):
  """ap.json holds COCOeval's numbers of results.json on the split's images of
  this share (an unreadable image stays in, its people missed)."""
  from rtpe_jax.data import coco
  from rtpe_jax.inference import coco_metrics

  ground_truth = coco.load_coco(root, "val2017")
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  with open(os.path.join(out, "ap.json")) as f:
    table = json.load(f)
  image_ids = sorted(ground_truth.getImgIds())[share]
  assert {r["image_id"] for r in results} <= set(image_ids)
  assert table == coco_metrics.evaluate(ground_truth, results, image_ids)


def test_shards_split_the_work(tiny_model_dir, synthetic_root, tmp_path):
  out = str(tmp_path / "pred")
  for shard in ("0/2", "1/2"):
    infer_teacher.main(
      _args(tiny_model_dir, synthetic_root, out, "--shard", shard, "--eval", "--scales", "1", "0.5")
    )
  store = ts.TeacherStore(os.path.join(out, "teacher"))
  assert len(store) == 8
  _ap_is_cocoeval_of_the_results(synthetic_root, out, slice(1, None, 2))
  single = str(tmp_path / "single")
  infer_teacher.main(_args(tiny_model_dir, synthetic_root, single))
  other = ts.TeacherStore(os.path.join(single, "teacher"))
  for image_id in store.image_ids():
    np.testing.assert_array_equal(store[image_id].heatmaps, other[image_id].heatmaps)


def test_bad_shard_is_refused(tiny_model_dir, synthetic_root, tmp_path):
  with pytest.raises(ValueError, match="--shard '2/2'"):
    infer_teacher.main(_args(tiny_model_dir, synthetic_root, str(tmp_path), "--shard", "2/2"))


def test_a_folder_of_images(tiny_model_dir, synthetic_root, tmp_path):
  folder = tmp_path / "photos"
  folder.mkdir()
  source = os.path.join(synthetic_root, "images", "val2017")
  for name in sorted(os.listdir(source))[:2]:
    shutil.copy(os.path.join(source, name), folder / name)
  (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
  out = str(tmp_path / "pred")
  folder_args = ["--teacher", tiny_model_dir, "--images", str(folder), "--input-size", "128"]
  infer_teacher.main([*folder_args, "--out", out, "--people", "--no-progress"])
  assert len(ts.TeacherStore(os.path.join(out, "teacher"))) == 2
  with open(os.path.join(out, "failures.txt")) as f:
    assert "broken.jpg" in f.read()
  ids = sorted(int(name[:-4]) for name in os.listdir(folder) if name[0].isdigit())
  people = ts.read_people(out)  # the pseudo-labels of unlabelled training
  assert sorted(people) == ids

  # Scored against a COCO file that lists these images (the run resumes: nothing to
  # compute again), as on the COCO split.
  annotations = os.path.join(synthetic_root, "annotations", "person_keypoints_val2017.json")
  infer_teacher.main([*folder_args, "--out", out, "--eval", "--annotations", annotations])
  with open(os.path.join(out, "ap.json")) as f:
    ap = json.load(f)["AP"]
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert results == [p for image_id in ids for p in people[image_id]]
  assert ap == coco_metrics.evaluate(coco.load_coco(synthetic_root, "val2017"), results, ids)["AP"]
  with pytest.raises(SystemExit):
    infer_teacher.main([*folder_args, "--out", out, "--eval"])  # nothing to score with
