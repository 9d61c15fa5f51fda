"""Every shipped config (configs/): it loads with every argument its docstring
lists, writes every key of the schema and passes its checks, refuses an unknown
argument naming those it accepts, and differs from the config it is documented as
a variant of in exactly the documented keys."""

import pytest
from flax import traverse_util

from configs import (
  distill_coco_w48,
  distill_synthetic,
  lifting,
  quickstart,
  quickstart3d,
  realtime,
  student_stem_coco,
  student_stem_synthetic,
  teacher_synthetic,
)
from rtpe_jax.threed import lifter_training
from rtpe_jax.train import config as config_lib

CONFIGS = {
  "quickstart": quickstart,
  "quickstart3d": quickstart3d,
  "teacher_synthetic": teacher_synthetic,
  "distill_synthetic": distill_synthetic,
  "student_stem_synthetic": student_stem_synthetic,
  "distill_coco_w48": distill_coco_w48,
  "student_stem_coco": student_stem_coco,
  "lifting": lifting,
  "realtime": realtime,
}


def documented_args(module) -> list[str]:
  """The tokens a config's docstring lists under "Arguments", up to the first blank
  line (`phase1 | phase2`: both)."""
  lines = module.__doc__.split("Arguments")[1].splitlines()[1:]
  tokens = []
  for line in lines:
    if not line.strip():
      break
    if not line.startswith("   "):  # an argument's line; its description continues indented
      tokens += [t.strip() for t in line.strip().split("  ")[0].split("|")]
  return tokens


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_config_loads_with_every_documented_arg_and_writes_every_key(name):
  """Each documented argument alone and with runlocal: the config has exactly the
  schema's keys (check refuses a missing or unknown one) and valid values."""
  module = CONFIGS[name]
  tokens = documented_args(module)
  assert "runlocal" in tokens, tokens
  args = [""] + tokens + [f"{t},runlocal" for t in tokens if t != "runlocal"]
  for arg in args:
    config = module.get_config(arg)
    if name == "lifting":
      lifter_training.check_config(config)
    else:
      config_lib.check(config, files=False)
      assert not config_lib.key_problems(config, config_lib.default_config(config.task))
  with pytest.raises(ValueError) as err:
    module.get_config("runlcoal")
  assert f"configs/{name}.py:runlcoal: unknown argument 'runlcoal'; accepted: " in str(err.value)
  assert "runlocal" in str(err.value).split("accepted: ")[1]


def test_the_variants_of_an_experiment_are_written_with_their_documented_differences():
  """Where a docstring says one config is another with changes, the two differ in
  exactly those keys."""

  def differences(a, b):
    fa, fb = (traverse_util.flatten_dict(c.to_dict()) for c in (a, b))
    return {".".join(k) for k in set(fa) | set(fb) if fa.get(k) != fb.get(k)}

  short = quickstart.get_config("short")
  assert differences(short, distill_synthetic.get_config("gt")) == {"target_ap"}
  assert differences(short, quickstart3d.get_config()) == {
    "target_ap",
    "data.root",
    "data.depth",
    "model.student.depth",
    "eval.metrics",
  }
  assert differences(short, quickstart.get_config()) == {
    "total_steps",
    "eval_every",
    "image_every",
    "optimizer.schedule.period",
    "optimizer.ema",
  }
  assert differences(quickstart.get_config(), realtime.get_config()) == {
    "model.student.colour_channels",
    "model.student.segmentation_attention",
    "model.student.fine_merge",
    "loss.segmentation",
    "eval.map_stride",
    "data.root",
    "data.eval_split",  # the benchmark's selection split (its train split is train2017)
  }
  # The benchmark's realtime row trains exactly this config (seed 0).
  from bench.students import candidates, runs

  row = runs.run_config(candidates.get("realtime"), 0, "data/benchmark")
  assert differences(row, realtime.get_config()) == set()
  phase3 = {
    "attention.divisor",
    "attention.steps",
    "init.model",
    "loss.heatmap",
    "loss.push_pull",
    "loss.segmentation",
    "loss.stem",
    "model.student.distill_stem",
    "model.student.stem",
    "optimizer.frozen",
  }
  phase2 = distill_synthetic.get_config("on_teacher_stem")
  assert differences(phase2, student_stem_synthetic.get_config()) == phase3 | {
    "data.teacher_store",
    "init.teacher",
  }
  coco = student_stem_coco.get_config()
  assert coco.optimizer.schedule.period == coco.total_steps  # the cosine reaches its floor
  assert differences(distill_coco_w48.get_config("phase2"), coco) >= phase3 | {"precision"}
