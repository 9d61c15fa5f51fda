"""Distillation end to end on the synthetic data, CI-sized `make distill`: train a
small teacher -> store its predictions on the labelled images and on an unlabelled
pool with infer_teacher.py -> the distillation experiment's table
(bench/distill_gain.py: (a) ground truth only and (c) with the teacher-labelled
pool) -> compare the models. The students on the teacher stem (phase 2) and with
their own stem (phase 3) train at COCO's layout in tests/test_coco_recipe.py."""

import json
import os
import types

import pytest

import infer_teacher
from bench import compare_models, distill_gain
from configs import distill_synthetic, quickstart, teacher_synthetic
from rtpe_jax.data import coco, teacher_store
from rtpe_jax.data.synthetic import scenes
from rtpe_jax.data.synthetic import writer as synthetic_writer
from rtpe_jax.inference import coco_metrics
from rtpe_jax.models import complexity, weights
from rtpe_jax.train import loop


@pytest.mark.slow
def test_teacher_store_student_chain(synthetic_root, tmp_path):
  teacher_dir = str(tmp_path / "teacher")
  config = teacher_synthetic.get_config("runlocal")
  config.data.root = synthetic_root
  loop.train_and_evaluate(config, teacher_dir)
  teacher_model = os.path.join(teacher_dir, "export")
  assert weights.read_arch(teacher_model)["model"] == "higher_hrnet"

  predictions = os.path.join(teacher_dir, "predictions")
  infer_teacher.main(
    [
      "--teacher",
      teacher_model,
      "--coco",
      synthetic_root,
      "--split",
      "train2017",
      "--out",
      predictions,
      "--input-size",
      "64",
      "--eval",
      "--no-progress",
    ]
  )
  store = teacher_store.TeacherStore(os.path.join(predictions, "teacher"))
  assert len(store) == 24
  # An unlabelled pool beside the labelled images, and the teacher's maps and people on it.
  synthetic_writer.write_split(
    synthetic_root, scenes.UNLABELLED, 6, seed=9, workers=1, annotation_name=scenes.WITHHELD
  )
  infer_teacher.main(
    [
      "--teacher",
      teacher_model,
      "--images",
      os.path.join(synthetic_root, "images", scenes.UNLABELLED),
      "--out",
      os.path.join(teacher_dir, "unlabelled"),
      "--input-size",
      "64",
      "--people",
      "--no-progress",
    ]
  )

  out = str(tmp_path / "gain")
  gain = distill_gain.main(
    [
      "--teacher",
      teacher_dir,
      "--data",
      synthetic_root,
      "--variants",
      "unlabelled",  # one variant: the others train the same student from less
      "--seeds",
      "0",
      "--out",
      out,
      "--input-sizes",
      "64",
      "--runs",
      "2",
      "--runlocal",
    ]
  )
  assert [r["variant"] for r in gain["results"]] == ["unlabelled"]
  # The table reports each run's own evaluation, and the teacher's store its own AP.
  ground_truth = coco.load_coco(synthetic_root, "val2017")
  ids = coco.select_image_ids(ground_truth)[
    : distill_synthetic.get_config("runlocal").eval.max_images
  ]
  for r in gain["results"]:
    results = os.path.join(r["workdir"], "minival_results.json")
    assert r["AP"] == coco_metrics.evaluate(ground_truth, results, ids)["AP"], r
  with open(os.path.join(predictions, "ap.json")) as f:
    assert gain["teacher"]["store_AP"] == json.load(f)["AP"]
  # Each model's cost is its own: the teacher's and the quickstart student's parameters
  # and GMAC at 64 px (the student's 100,320 parameters as the README gives them).
  dirs = {"teacher": teacher_model, "unlabelled": os.path.join(out, "unlabelled_s0", "export")}
  for name, model_dir in dirs.items():
    stats = complexity.summarize(weights.load_model(model_dir)[0], (64, 64), with_xla_total=False)
    m = gain["models"][name]
    assert (m["params"], m["gmac"]) == (stats["params"], stats["gmac_conv"]), name
    assert set(m["latency_ms"]) == {64}
  assert gain["models"]["unlabelled"]["params"] == 100_320
  with open(os.path.join(out, "table.md")) as f:
    assert f.read().count("\n| ") == 3  # the header's rule, the teacher and the student
  student = os.path.join(out, "unlabelled_s0", "export")

  rows = compare_models.main([teacher_model, student, "--input-size", "64", "--runs", "2"])
  assert [r["kind"] for r in rows] == ["higher_hrnet", "attention_student"]


def test_the_experiments_variants_differ_only_in_what_they_learn_from():
  quick = quickstart.get_config("short")
  configs = {v: distill_synthetic.get_config(a) for v, a in distill_gain.VARIANTS.items()}
  student = {v: c.model.student.to_dict() for v, c in configs.items()}
  for c in configs.values():
    assert c.total_steps == quick.total_steps
    assert c.optimizer.schedule.to_dict() == quick.optimizer.schedule.to_dict()
  # (a) is the quickstart at 1000 steps
  assert configs["gt"].to_dict() == {**quick.to_dict(), "target_ap": 0.0}
  assert configs["distill"].loss.alpha > 0 and configs["distill"].data.teacher_store
  unlabelled = configs["unlabelled"].data.unlabelled
  assert unlabelled.fraction == 0.5 and unlabelled.count == 0  # the whole pool
  assert configs["stem"].loss.stem > 0 and configs["stem"].init.teacher
  assert (
    student["gt"] == student["distill"] == student["unlabelled"] == quick.model.student.to_dict()
  )
  width = distill_synthetic.teacher_stem_width()
  assert student["stem"]["stem_features"] == width == 128
  ignore = ("distill_stem", "teacher_arch", "stem_features")
  assert {k: v for k, v in student["stem"].items() if k not in ignore} == {
    k: v for k, v in student["gt"].items() if k not in ignore
  }
  quarter = distill_synthetic.get_config("unlabelled,quarter").data
  assert quarter.train_count == 256 and quarter.unlabelled.count == 4 * 256
  assert configs["gt"].data.train_count == 0
  with pytest.raises(ValueError, match="distill_synthetic.py:gt,stem"):
    distill_synthetic.get_config("gt,stem")


def test_each_run_reads_its_teachers_files(tmp_path):
  args = types.SimpleNamespace(runlocal=False, data="D", teacher="T", out=str(tmp_path))
  c = distill_gain.variant_config("unlabelled", 2, 256, args)
  assert (c.seed, c.data.seed, c.data.root, c.data.train_count) == (2, 2, "D", 256)
  assert c.data.teacher_store == os.path.join("T", "predictions", "teacher")
  assert c.data.unlabelled.images == os.path.join("D", "images", scenes.UNLABELLED)
  assert (c.data.unlabelled.predictions, c.data.unlabelled.count) == ("T/unlabelled", 1024)
  assert distill_gain.variant_config("unlabelled", 0, 0, args).data.unlabelled.count == 0
  gt = distill_gain.variant_config("gt", 0, 0, args)
  assert not gt.data.teacher_store and not gt.init.teacher
  on_stem = distill_gain.variant_config("on_teacher_stem", 1, 0, args)
  assert on_stem.init.teacher == os.path.join("T", "export") and on_stem.data.teacher_store
  assert on_stem.model.student.stem == "teacher"
  # Phase 3 starts from the same seed's on_teacher_stem student, and says so if it is missing.
  with pytest.raises(SystemExit, match="on_teacher_stem run of seed 1"):
    distill_gain.variant_config("phase3", 1, 0, args)
  export = tmp_path / "on_teacher_stem_s1" / "export"
  export.mkdir(parents=True)
  phase3 = distill_gain.variant_config("phase3", 1, 0, args)
  assert phase3.init.model == str(export) and phase3.model.student.stem == "own"
  assert not phase3.data.teacher_store and phase3.optimizer.frozen


def test_a_gain_or_loss_counts_only_beyond_the_spread():
  rows = lambda *aps: [{"AP": ap} for ap in aps]
  gain, side = distill_gain.compare(rows(0.40, 0.42), rows(0.30, 0.35))
  assert side == "above" and gain == pytest.approx(0.085)
  assert distill_gain.compare(rows(0.28, 0.29), rows(0.33, 0.34))[1] == "below"
  assert distill_gain.compare(rows(0.30, 0.36), rows(0.33, 0.34))[1] == "within"
  assert distill_gain.compare(rows(0.34, 0.36), rows(0.33, 0.34))[1] == "within"  # a tie
