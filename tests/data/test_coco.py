"""COCO reading: joints, ignore and person masks, image selection, id lists."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from rtpe_jax.data import coco as coco_data
from rtpe_jax.data.synthetic import annotations as synthetic_annotations
from rtpe_jax.data.synthetic import writer as synthetic_writer


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("coco"))
  synthetic_writer.write_split(out, "train2017", 40, seed=3, workers=2)
  return out


def test_joints_and_masks_follow_the_annotations(root):
  coco = coco_data.load_coco(root, "train2017")
  crowd_seen = unannotated_seen = False
  for image_id in coco.getImgIds():
    record = coco_data.image_annotations(coco, root, "train2017", image_id)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
    with_kps = [a for a in anns if a["num_keypoints"] > 0 and not a["iscrowd"]]
    assert record.joints.shape == (len(with_kps), 17, 3)
    for joints, ann in zip(record.joints, with_kps):
      # COCO's pixel indices become positions (+ 0.5) where labelled; unlabelled stay 0.
      stored = np.reshape(ann["keypoints"], (17, 3))
      labelled = stored[:, 2] > 0
      np.testing.assert_allclose(joints[labelled, :2], stored[labelled, :2] + 0.5, atol=1e-4)
      np.testing.assert_array_equal(joints[~labelled], 0.0)
      np.testing.assert_array_equal(joints[:, 2], stored[:, 2])
    assert record.ignore_mask.shape == record.person_mask.shape == (record.height, record.width)
    for ann in anns:
      m = coco.annToMask(ann).astype(bool)
      if ann["iscrowd"]:
        crowd_seen = True
        assert record.ignore_mask[m].all()
      elif ann["num_keypoints"] == 0:
        unannotated_seen = True
        assert record.ignore_mask[m].all() and record.person_mask[m].all()
      else:
        assert record.person_mask[m].all()
    if not any(a["iscrowd"] or a["num_keypoints"] == 0 for a in anns):
      assert not record.ignore_mask.any()
  assert crowd_seen and unannotated_seen


def test_training_selection_keeps_images_with_annotated_people(root):
  coco = coco_data.load_coco(root, "train2017")
  every = coco_data.select_image_ids(coco)
  train = coco_data.select_image_ids(coco, require_people=True)
  assert len(train) < len(every)
  for image_id in every:
    anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
    has_person = any(a["num_keypoints"] > 0 and not a["iscrowd"] for a in anns)
    assert (image_id in train) == has_person


def test_whitelist_from_an_id_list_file(root, tmp_path):
  coco = coco_data.load_coco(root, "train2017")
  ids = coco_data.select_image_ids(coco)[:5]
  listing = tmp_path / "minival.txt"
  listing.write_text("".join(f"{i:012d}.jpg\n" for i in ids))
  assert coco_data.select_image_ids(coco, whitelist=coco_data.read_id_list(str(listing))) == ids
  with pytest.raises(ValueError, match="not in the annotations"):
    coco_data.select_image_ids(coco, whitelist=[999_999_999])


def test_missing_annotation_file_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="person_keypoints_val2017.json"):
    coco_data.load_coco(str(tmp_path), "val2017")
  (tmp_path / "annotations").mkdir()
  (tmp_path / "annotations" / "person_keypoints_val2017.json").write_text("{not json")
  with pytest.raises(ValueError, match="not a COCO annotation file"):
    coco_data.load_coco(str(tmp_path), "val2017")


def test_uncompressed_crowd_rle_decodes_to_the_same_mask():
  mask = np.zeros((7, 5), bool)
  mask[2:5, 1:4] = True
  mask[0, 0] = True
  rle = synthetic_annotations.uncompressed_rle(mask)
  decoded = mask_utils.decode(mask_utils.frPyObjects(rle, 7, 5)).astype(bool)
  np.testing.assert_array_equal(decoded, mask)
