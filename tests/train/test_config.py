"""Config values and files checked before training: one error naming each key."""

import os

import pytest

from configs import (
  distill_coco_w48,
  quickstart,
)
from rtpe_jax.train import config as config_lib


def _set(path: str, value):
  def mutate(config):
    *parents, leaf = path.split(".")
    node = config
    for key in parents:
      node = node[key]
    node[leaf] = value

  return mutate


def _both(*mutations):
  def mutate(config):
    for m in mutations:
      m(config)

  return mutate


# (what is wrong, the change to the quickstart config, what the error must say)
BAD_VALUES = [
  ("batch 0", _set("data.batch_size", 0), "config.data.batch_size: 0: must be an integer >= 1"),
  ("crop not /32", _set("data.input_size", 200), "config.data.input_size: 200: the training crop"),
  ("stride 3", _set("data.output_strides", (4, 3)), "config.data.output_strides: 3 is not one of"),
  ("tag stride 128", _set("data.tag_stride", 128), "config.data.tag_stride: 128 is not one of"),
  ("no steps", _set("total_steps", 0), "config.total_steps: 0: must be an integer >= 1"),
  ("negative eval", _set("eval_every", -1), "config.eval_every: -1"),
  ("lr 0", _set("optimizer.schedule.peak", 0.0), "config.optimizer.schedule.peak: 0.0"),
  ("lr 5", _set("optimizer.schedule.peak", 5.0), "a learning rate must lie in (0, 1]"),
  (
    "floor above peak",
    _set("optimizer.schedule.floor", 0.1),
    "config.optimizer.schedule.floor: 0.1: must lie in [0, optimizer.schedule.peak]",
  ),
  ("ema 1", _set("optimizer.ema", 1.0), "config.optimizer.ema: 1.0: a moving average's decay"),
  ("optimizer", _set("optimizer.name", "lamb"), "config.optimizer.name: 'lamb' is not one of"),
  ("schedule", _set("optimizer.schedule.kind", "step"), "config.optimizer.schedule.kind: 'step'"),
  ("precision", _set("precision", "int8"), "config.precision: 'int8' is not one of"),
  ("task", _set("task", "teach"), "config.task: 'teach' is not one of"),
  (
    "bce without the sigmoid",
    _set("loss.heatmap_kind", "bce"),
    "config.loss.heatmap_kind: 'bce' with model.student.heatmap_sigmoid=False",
  ),
  (
    "sigmoid without bce",
    _set("model.student.heatmap_sigmoid", True),
    "bce trains logits, which need heatmap_sigmoid=True",
  ),
  ("heatmap kind", _set("loss.heatmap_kind", "l1"), "config.loss.heatmap_kind: 'l1' is not one"),
  (
    "scales without 1.0",
    _set("eval.scales", (2.0, 0.5)),
    "config.eval.scales: (2.0, 0.5): positive scales that include 1.0",
  ),
  (
    "eval size not /64",
    _set("eval.input_size", 250),
    "config.eval.input_size: 250: the test protocol's input size must be a multiple of 64",
  ),
  ("alpha 2", _set("loss.alpha", 2.0), "config.loss.alpha: 2.0: must lie in [0, 1]"),
  (
    "teacher mix without a store",
    _set("loss.alpha", 0.5),
    "config.data.teacher_store: empty, but loss.alpha > 0",
  ),
  ("flip 1.5", _set("data.augment.flip", 1.5), "config.data.augment.flip: 1.5: must lie in [0, 1]"),
  (
    "scales swapped",
    _set("data.augment.max_scale", 0.5),
    "config.data.augment.max_scale: 0.5 is below data.augment.min_scale 0.6",
  ),
  ("scale type", _set("data.augment.scale_type", "wide"), "config.data.augment.scale_type"),
  (
    "no stride 4",
    _set("data.output_strides", (2,)),
    "config.data.output_strides: (2,): the student's maps are at stride 4",
  ),
  (
    "fine head without stride 2",
    _set("data.output_strides", (4,)),
    "model.student.fine_heatmaps makes maps at stride 2",
  ),
  ("tag channels", _set("model.student.tag_channels", 5), "config.model.student.tag_channels: 5"),
  ("stem", _set("model.student.stem", "big"), "config.model.student.stem: 'big' is not one of"),
  (
    "stem loss without the teacher stem",
    _set("loss.stem", 1.0),
    "config.loss.stem: 1.0 needs model.student.stem='own' and distill_stem=True",
  ),
  (
    "no loss",
    _both(*(_set(f"loss.{t}", 0.0) for t in ("segmentation", "heatmap", "push_pull"))),
    "config.loss: every loss weight",
  ),
  ("threshold", _set("eval.detection_threshold", 1.5), "config.eval.detection_threshold: 1.5"),
  ("metrics", _set("eval.metrics", ("ap",)), "config.eval.metrics: ('ap',): use one or both"),
  (
    "depth maps without targets",
    _set("model.student.depth", True),
    "config.data.depth: False with model.student.depth=True: a 3D student needs",
  ),
  (
    "3d without depth maps",
    _set("eval.metrics", ("keypoints", "3d")),
    "config.eval.metrics: 3d needs keypoints beside it and a student with depth maps",
  ),
  (
    "a pool without its folders",
    _set("data.unlabelled.fraction", 0.5),
    "config.data.unlabelled: fraction > 0 needs images (a folder) and predictions",
  ),
  (
    "a pool without the labelled images' store",
    _both(
      _set("data.unlabelled.fraction", 0.5),
      _set("data.unlabelled.images", "pool"),
      _set("data.unlabelled.predictions", "pool_teacher"),
    ),
    "config.data.teacher_store: empty, but data.unlabelled mixes in images the teacher labelled",
  ),
  ("all unlabelled", _set("data.unlabelled.fraction", 1.0), "1 leaves no labelled samples"),
  ("count", _set("data.train_count", -2), "config.data.train_count: -2: must be an integer >= 0"),
  ("divisor", _set("attention.divisor", 0.5), "config.attention.divisor: 0.5"),
  ("target", _set("target_ap", 30.0), "config.target_ap: 30.0: must lie in [0, 1]"),
  (
    "rotation 720",
    _set("data.augment.max_rotation", 720.0),
    "config.data.augment.max_rotation: 720.0: must be <= 180",
  ),
  ("jitter", _set("data.augment.colour_jitter.hue", 2.0), "colour_jitter.hue: 2.0: must lie in"),
  ("overlay score", _set("eval.overlay_min_score", -1.0), "config.eval.overlay_min_score: -1.0"),
  ("depth weight", _set("loss.depth", -1.0), "config.loss.depth: -1.0: must be a number >= 0"),
]


@pytest.mark.parametrize("name, mutate, message", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_a_bad_value_is_named_with_its_key(name, mutate, message):
  config = quickstart.get_config()
  config_lib.check(config, files=False)  # the config as shipped is fine
  mutate(config)
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.check(config, files=False)
  assert message in str(err.value), (name, str(err.value))


def test_every_problem_is_listed_in_one_error():
  config = quickstart.get_config()
  config.data.batch_size, config.optimizer.schedule.peak = 0, -1.0
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.check(config, files=False)
  assert len(err.value.problems) == 3, err.value.problems  # peak < 0 and floor > peak too
  assert str(err.value).startswith("3 problems in the config:")


def test_a_key_the_schema_lacks_or_a_missing_key_is_refused():
  config = quickstart.get_config()
  with config.unlocked():
    config.data.colour_sapce = "lab"
    del config.eval["flip"]
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.check(config)
  assert err.value.problems == [
    "config.data.colour_sapce: not a key of the schema (a typo?)",
    "config.eval.flip: missing (every config writes every key)",
  ]


def test_the_argument_parser():
  parse = config_lib.parse_arg
  spec = dict(phase=("phase2", "phase1"), unlabelled=False, runlocal=False)
  assert parse("", "x.py", **spec).to_dict() == dict(
    phase="phase2", unlabelled=False, runlocal=False
  )
  assert parse("phase1,runlocal", "x.py", **spec).to_dict() == dict(
    phase="phase1", unlabelled=False, runlocal=True
  )
  with pytest.raises(ValueError, match="'phase2' and 'phase1' exclude each other"):
    parse("phase2,phase1", "x.py", **spec)
  with pytest.raises(ValueError, match="accepted: phase2, phase1, unlabelled, runlocal"):
    parse("phase3", "x.py", **spec)
  with pytest.raises(ValueError, match="'unlabelled' is a phase-2 argument"):
    distill_coco_w48.get_config("phase1,unlabelled")


def test_missing_files_name_the_file_and_the_command_that_makes_it(tmp_path, monkeypatch):
  """The COCO recipe's phase 2 on a machine with nothing yet: every missing file,
  each with what makes it. The minival list ships with the configs."""
  monkeypatch.chdir(tmp_path)
  config = distill_coco_w48.get_config("phase2")
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.check(config)
  text = str(err.value)
  assert os.path.isfile(config.data.eval_ids), config.data.eval_ids
  want = [
    "config.data.root: data/coco/annotations/person_keypoints_train2017.json does not exist; "
    "unpack COCO 2017 as data/coco/images/{train2017,val2017}/",
    "config.data.root: data/coco/annotations/person_keypoints_val2017.json does not exist",
    "config.data.teacher_store: data/coco/w48_train/teacher holds no teacher store; make it "
    "with python infer_teacher.py --teacher TEACHER_DIR --coco data/coco --split train2017 "
    "--out data/coco/w48_train",
    "config.init.teacher: models/hrnet_w48_640 is not a model directory; convert the published "
    "checkpoint with python convert_hrnet_weights.py models/pose_higher_hrnet_w48_640.pth.tar "
    "models/hrnet_w48_640",
    "config.init.model: out/w48_phase1/export is not a model directory; it is what python "
    "train.py --config CONFIG --workdir out/w48_phase1 leaves in out/w48_phase1/export",
  ]
  for line in want:
    assert line in text, (line, text)
  assert len(err.value.problems) == len(want)
  os.makedirs("data/coco/images/unlabeled2017")
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.check(distill_coco_w48.get_config("phase2,unlabelled"))
  assert (
    "config.data.unlabelled.predictions: data/coco/w48_unlabeled holds no teacher store; make "
    "it with python infer_teacher.py --teacher TEACHER_DIR --images "
    "data/coco/images/unlabeled2017 --out data/coco/w48_unlabeled --people"
  ) in str(err.value)
  config = quickstart.get_config()
  config.data.root = "data/synthetic"
  config.data.eval_ids = "minival.txt"
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.check(config)
  assert "python -m rtpe_jax.data.synthetic --out data/synthetic" in str(err.value)
  assert "config.data.eval_ids: minival.txt does not exist" in str(err.value)


def test_train_py_stops_before_compiling(tmp_path):
  """A bad config: train.py exits 1 with the error, and writes nothing."""
  import subprocess
  import sys

  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  out = subprocess.run(
    [
      sys.executable,
      os.path.join(root, "train.py"),
      "--config",
      os.path.join(root, "configs", "quickstart.py"),
      "--workdir",
      str(tmp_path / "w"),
      "--config.data.root",
      str(tmp_path / "nothing"),
      "--config.data.batch_size=0",
    ],
    capture_output=True,
    text=True,
    cwd=root,
  )
  assert out.returncode == 1, out.stderr[-2000:]
  assert "config.data.batch_size: 0" in out.stderr
  assert f"{tmp_path / 'nothing'}/annotations/person_keypoints_train2017.json" in out.stderr
  assert not (tmp_path / "w").exists()
