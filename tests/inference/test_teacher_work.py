"""The teacher run's bookkeeping: its work items, shards, what a rerun skips, and
the files it leaves."""

import json

import pytest

from rtpe_jax.data import coco
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.data.ground_truth_teacher import ground_truth_stand_in
from rtpe_jax.inference import teacher_work


def test_shards_are_checked():
  assert teacher_work.parse_shard("1/4") == (1, 4)
  for bad, message in (("4/4", "need 0 <= i < n"), ("a/b", "expected i/n")):
    with pytest.raises(ValueError, match=message):
      teacher_work.parse_shard(bad)


def test_work_of_a_split_and_a_rerun_skips_what_is_done(synthetic_root, tmp_path):
  items, index = teacher_work.coco_work(synthetic_root, "val2017")
  assert [it.image_id for it in items] == sorted(index.getImgIds()) and len(items) == 8
  with pytest.raises(ValueError, match=r"ids.txt \(--ids\): 1 listed image ids are not in"):
    teacher_work.coco_work(synthetic_root, "val2017", [items[0].image_id, 5], "ids.txt (--ids)")
  out = str(tmp_path / "run")
  files = teacher_work.RunFiles(out, (0, 1), 17, 17, evaluate=True)
  assert files.todo(items) == items
  ann = coco.image_annotations(index, synthetic_root, "val2017", items[0].image_id)
  files.store.add(items[0].image_id, ground_truth_stand_in(ann.joints, (ann.height, ann.width)))
  files.add_people(items[0].image_id, [{"image_id": items[0].image_id, "score": 1.0}])
  files.store.add(items[1].image_id, ground_truth_stand_in(ann.joints, (ann.height, ann.width)))
  files.failed(items[2], ValueError("does not decode"))
  files.close()
  again = teacher_work.RunFiles(out, (0, 1), 17, 17, evaluate=True)
  # image 0 is done; image 1 has its store entry but no results yet
  assert again.todo(items) == items[1:]
  again.close()
  assert teacher_work.RunFiles(out, (0, 1), 17, 17, evaluate=False).todo(items) == items[2:]
  with open(f"{out}/failures.txt") as f:
    assert f.read() == f"{items[2].image_id}\t{items[2].path}\tdoes not decode\n"
  with open(f"{out}/results-shard0of1.jsonl") as f:
    assert json.loads(f.readline())["image_id"] == items[0].image_id
  assert len(ts.TeacherStore(f"{out}/teacher")) == 2
