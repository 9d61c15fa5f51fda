"""The synthetic COCO-format dataset (rtpe_jax/data/synthetic: figures, drawing,
annotations, scenes, writer, video, cli): format, content, determinism, self-evaluation AP 1."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from rtpe_jax.data import coco
from rtpe_jax.data.synthetic import cli as synthetic_cli
from rtpe_jax.data.synthetic import video as synthetic_video
from rtpe_jax.data.synthetic import writer as synthetic_writer


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("synthetic"))
  synthetic_writer.write_split(out, "train2017", 40, seed=3, workers=2)
  synthetic_writer.write_split(out, "val2017", 8, seed=3, workers=2)
  return out


def load(root, split):
  with contextlib.redirect_stdout(io.StringIO()):
    return COCO(os.path.join(root, "annotations", f"person_keypoints_{split}.json"))


def test_coco_layout_and_format(dataset):
  coco = load(dataset, "train2017")
  assert len(coco.getImgIds()) == 40
  assert (
    coco.loadCats(1)[0]["keypoints"][0] == "nose" and len(coco.loadCats(1)[0]["skeleton"]) == 19
  )
  for info in coco.loadImgs(coco.getImgIds()):
    with Image.open(os.path.join(dataset, "images", "train2017", info["file_name"])) as im:
      assert im.format == "JPEG" and im.size == (info["width"], info["height"])
  val_ids = set(load(dataset, "val2017").getImgIds())
  assert not val_ids & set(coco.getImgIds())
  for ann in coco.loadAnns(coco.getAnnIds()):
    kps = np.asarray(ann["keypoints"]).reshape(17, 3)
    assert ann["num_keypoints"] == int((kps[:, 2] > 0).sum())
    assert len(ann["bbox"]) == 4 and ann["area"] > 0
    if ann["iscrowd"]:
      assert isinstance(ann["segmentation"]["counts"], list)
    else:
      assert isinstance(ann["segmentation"], list)


def test_content_covers_coco_cases(dataset):
  coco = load(dataset, "train2017")
  anns = coco.loadAnns(coco.getAnnIds())
  people_per_image = [len(coco.getAnnIds(imgIds=i, iscrowd=False)) for i in coco.getImgIds()]
  assert min(people_per_image) == 0 and max(people_per_image) <= 6 + 1
  vis = np.concatenate([np.asarray(a["keypoints"]).reshape(17, 3)[:, 2] for a in anns])
  assert {0, 1, 2} <= set(vis.astype(int).tolist())
  assert any(a["iscrowd"] for a in anns)
  assert any(a["num_keypoints"] == 0 and not a["iscrowd"] for a in anns)
  areas = [a["area"] for a in anns if not a["iscrowd"]]
  assert min(areas) < 32**2 and max(areas) > 96**2 and any(32**2 < a < 96**2 for a in areas)


def test_faces_are_drawn_and_labelled_only_when_facing_the_camera(dataset):
  """A labelled nose is red on a figure facing the camera (its left shoulder on the
  image right); a figure seen from the back (hair, no face) has no nose or eyes
  labelled, as COCO annotators leave unseen face joints out."""
  coco = load(dataset, "train2017")
  checked = {True: 0, False: 0}
  for info in coco.loadImgs(coco.getImgIds()):
    image = np.asarray(Image.open(os.path.join(dataset, "images", "train2017", info["file_name"])))
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=info["id"], iscrowd=False)):
      k = np.asarray(ann["keypoints"]).reshape(17, 3)
      if not (k[5, 2] and k[6, 2] and ann["area"] > 60**2):
        continue
      facing = bool(k[5, 0] > k[6, 0])
      if not facing:
        assert not k[:3, 2].any(), (info["file_name"], k[:3])
      elif k[0, 2] == 2:
        r, c = int(k[0, 1]), int(k[0, 0])  # the pixel that holds the position
        around = image[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2].reshape(-1, 3).astype(int)
        assert np.abs(around - (150, 40, 40)).max(-1).min() < 40, (info["file_name"], around)
      checked[facing] += 1
  assert checked[True] >= 5 and checked[False] >= 2, checked


def test_ground_truth_scores_ap_one_against_itself(dataset):
  coco = load(dataset, "val2017")
  results = [
    {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
    for a in coco.loadAnns(coco.getAnnIds())
    if a["num_keypoints"] > 0
  ]
  with contextlib.redirect_stdout(io.StringIO()):
    evaluator = COCOeval(coco, coco.loadRes(results), "keypoints")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
  assert evaluator.stats[0] == pytest.approx(1.0)


def test_deterministic_whatever_the_number_of_workers(dataset, tmp_path):
  synthetic_writer.write_split(str(tmp_path), "val2017", 8, seed=3, workers=1)
  for sub in ("annotations/person_keypoints_val2017.json", "images/val2017/000001000004.jpg"):
    with open(os.path.join(dataset, sub), "rb") as a, open(tmp_path / sub, "rb") as b:
      assert a.read() == b.read(), sub


def test_command_line(tmp_path):
  synthetic_cli.main(["--out", str(tmp_path), "--train", "2", "--val", "1", "--workers", "1"])
  with open(tmp_path / "annotations" / "person_keypoints_val2017.json") as f:
    assert len(json.load(f)["images"]) == 1
  assert len(os.listdir(tmp_path / "images" / "train2017")) == 2
  # An unlabelled pool added later: the labelled splits stay; its labels lie where
  # no loader looks (coco.load_coco(root, "unlabelled2017") finds nothing).
  before = sorted(os.listdir(tmp_path / "annotations"))
  synthetic_cli.main(["--out", str(tmp_path), "--train", "0", "--val", "0", "--unlabelled", "3"])
  names = sorted(os.listdir(tmp_path / "images" / "unlabelled2017"))
  assert names == [f"{2_000_000 + i:012d}.jpg" for i in (1, 2, 3)]
  assert sorted(os.listdir(tmp_path / "annotations")) == sorted(
    before + ["withheld_person_keypoints_unlabelled2017.json"]
  )
  assert len(os.listdir(tmp_path / "images" / "train2017")) == 2
  with pytest.raises(FileNotFoundError, match="person_keypoints_unlabelled2017.json"):
    coco.load_coco(str(tmp_path), "unlabelled2017")


def test_video_alone_holds_moving_figures(tmp_path):
  import cv2

  path = str(tmp_path / "clip.avi")
  synthetic_cli.main(["--video", path, "--size", "96"])
  capture = cv2.VideoCapture(path)
  frames = []
  while True:
    ok, frame = capture.read()
    if not ok:
      break
    frames.append(frame)
  assert len(frames) == 24 and frames[0].shape == (96, 128, 3)
  assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1  # people moved
  assert not (tmp_path / "annotations").exists()
  _, joints = synthetic_video.video_frames(num_frames=3, size=96)
  assert joints.shape == (3, 3, 17, 2) and not np.allclose(joints[0], joints[2])
