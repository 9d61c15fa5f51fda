"""One benchmark run: a candidate trained with the quickstart's recipe on the
benchmark's train split with one seed, scored on the selection and benchmark
splits, its result file written."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time

from bench.common import cpu
from bench.students import candidates
from configs import quickstart
from rtpe_jax.data.synthetic import benchmark

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
DATA = "data/benchmark"
WORKDIR = "out/bench_students"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_name(candidate: str, seed: int) -> str:
  return f"{candidate}-s{seed}"


def result_path(name: str, results: str = RESULTS) -> str:
  return os.path.join(results, f"{name}.json")


def read_results(results: str = RESULTS) -> list[dict]:
  """Every result file under `results`, by name; a file that does not parse is an
  error naming it."""
  out = []
  for name in sorted(os.listdir(results)) if os.path.isdir(results) else []:
    if not name.endswith(".json"):
      continue
    path = os.path.join(results, name)
    try:
      with open(path) as f:
        out.append(json.load(f))
    except (OSError, json.JSONDecodeError) as err:
      raise ValueError(f"{path}: not a readable result file ({err})") from None
  return out


def run_config(candidate: candidates.Candidate, seed: int, root: str, runlocal: bool = False):
  """The quickstart's config with the candidate's student, the seed and the
  benchmark's splits: trained on train2017, evaluated on selection2017."""
  config = quickstart.get_config("runlocal" if runlocal else "")
  config.seed = seed
  config.data.seed = seed
  config.data.root = root
  config.data.train_split = benchmark.TRAIN
  config.data.eval_split = benchmark.SELECTION
  config.eval.overlays = 1 if runlocal else 4
  candidates.apply(candidate, config)
  return config


def cost(config) -> dict:
  """Parameters and GMAC (convolutions) of the config's student at 256 and 512 px."""
  from rtpe_jax.models import complexity
  from rtpe_jax.train import model_factory

  module = model_factory.build_model(config)
  at = {s: complexity.summarize(module, (s, s), with_xla_total=False) for s in (256, 512)}
  return {
    "params": at[256]["params"],
    "gmac_256": at[256]["gmac_conv"],
    "gmac_512": at[512]["gmac_conv"],
  }


def _commit() -> str:
  try:
    head = subprocess.run(
      ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(
      ["git", "status", "--porcelain", "--untracked-files=no"],
      cwd=ROOT,
      capture_output=True,
      text=True,
    ).stdout.strip()
    return head + ("+changes" if dirty else "")
  except (OSError, subprocess.CalledProcessError):
    return "unknown"


def _last_checkpoint(workdir: str) -> int:
  path = os.path.join(workdir, "checkpoints")
  steps = [int(d) for d in os.listdir(path) if d.isdigit()] if os.path.isdir(path) else []
  return max(steps, default=0)


def train_and_score(
  name: str,
  seed: int,
  root: str = DATA,
  workdir: str = WORKDIR,
  results: str = RESULTS,
  runlocal: bool = False,
  command: str = "",
) -> dict:
  """Trains `name` with `seed` (resuming from its checkpoints under workdir),
  scores it and writes its result file (whole, then renamed); returns it."""
  from rtpe_jax.inference import coco_metrics, split_eval
  from rtpe_jax.data import coco
  from rtpe_jax.train import loop

  candidate = candidates.get(name)
  config = run_config(candidate, seed, root, runlocal)
  run = run_name(name, seed)
  run_dir = os.path.join(workdir, run)
  resumed_from = _last_checkpoint(run_dir)
  start = time.perf_counter()
  loop.train_and_evaluate(config, run_dir)
  train_s = time.perf_counter() - start
  ground_truth = coco.load_coco(root, benchmark.SELECTION)
  ids = coco.select_image_ids(ground_truth)[: config.eval.max_images or None]  # as the trainer
  results_file = os.path.join(run_dir, "minival_results.json")
  selection = coco_metrics.evaluate_by_size(ground_truth, results_file, ids)
  start = time.perf_counter()
  scored = split_eval.evaluate_model(
    os.path.join(run_dir, "export"),
    root,
    benchmark.BENCHMARK,
    max_images=config.eval.max_images,
    progress=f"{run}: {benchmark.BENCHMARK}",
  )
  result = {
    "run": run,
    "candidate": name,
    "description": candidate.description,
    "seed": seed,
    "recipe": _recipe(config, runlocal),
    "student": candidate.student,
    "config_changes": {key: value for key, value in candidate.config},
    **cost(config),
    "selection": selection,
    "benchmark": scored,
    "train_s": round(train_s, 1),
    "resumed_from_step": resumed_from,
    "score_s": round(time.perf_counter() - start, 1),
    "command": command or f"python -m bench.students --only {name} --seeds {seed}",
    "date": datetime.date.today().isoformat(),
    "commit": _commit(),
    "cpu": cpu(),
  }
  _write(result, results)
  return result


def _recipe(config, runlocal: bool) -> dict:
  return {
    "config": "configs/quickstart.py" + (":runlocal" if runlocal else ""),
    "steps": config.total_steps,
    "batch": config.data.batch_size,
    "crop": config.data.input_size,
    "eval_input": config.eval.input_size,
    "flip": config.eval.flip,
    "map_stride": config.eval.map_stride,
  }


def rescore(
  name: str,
  seed: int,
  root: str = DATA,
  workdir: str = WORKDIR,
  results: str = RESULTS,
  runlocal: bool = False,
  command: str = "",
) -> dict:
  """Scores a trained run again under its candidate's present protocol settings
  (the export's arch.json rewritten from the candidate's config: input size, flip
  test, map stride, grouping; the network untouched), the selection split too
  (through the predictor, as the benchmark split); its training figures stay.
  Rewrites its result file with a "rescored" entry (date, command, commit)."""
  from rtpe_jax.inference import split_eval
  from rtpe_jax.models import weights
  from rtpe_jax.models.student import StudentConfig
  from rtpe_jax.train import model_factory

  run = run_name(name, seed)
  path = result_path(run, results)
  if not os.path.exists(path):
    raise ValueError(f"{path}: no result file to rescore (train {run} first)")
  export = os.path.join(workdir, run, "export")
  if not os.path.isfile(os.path.join(export, "arch.json")):
    raise ValueError(f"{export}: no trained export of {run} to rescore")
  with open(path) as f:
    result = json.load(f)
  candidate = candidates.get(name)
  config = run_config(candidate, seed, root, runlocal)
  arch = model_factory.model_arch(config)
  trained = StudentConfig.from_dict(weights.read_arch(export)["config"])
  if StudentConfig.from_dict(arch["config"]) != trained:
    raise ValueError(f"{export}: its network is not candidate {name}'s any more: train it again")
  with open(os.path.join(export, "arch.json"), "w") as f:
    json.dump(arch, f, indent=1)
  start = time.perf_counter()
  score = lambda split, progress: split_eval.evaluate_model(
    export, root, split, max_images=config.eval.max_images, progress=progress
  )
  result.update(
    recipe=_recipe(config, runlocal),
    config_changes={key: value for key, value in candidate.config},
    description=candidate.description,
    selection=score(benchmark.SELECTION, f"{run}: {benchmark.SELECTION}"),
    benchmark=score(benchmark.BENCHMARK, f"{run}: {benchmark.BENCHMARK}"),
    score_s=round(time.perf_counter() - start, 1),
    rescored={
      "date": datetime.date.today().isoformat(),
      "command": command or f"python -m bench.students --rescore --only {name} --seeds {seed}",
      "commit": _commit(),
    },
  )
  _write(result, results)
  return result


def _write(result: dict, results: str) -> None:
  """The result file, whole, then renamed."""
  os.makedirs(results, exist_ok=True)
  path = result_path(result["run"], results)
  with open(path + ".tmp", "w") as f:
    json.dump(result, f, indent=1, sort_keys=True)
    f.write("\n")
  os.replace(path + ".tmp", path)
