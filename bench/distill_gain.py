"""Does distillation help? The synthetic experiment's table, re-run.

  python -m bench.distill_gain --variants gt distill unlabelled --seeds 0 1 2 --labelled 0 256
  python -m bench.distill_gain --variants gt unlabelled --seeds 0 1 2   # what `make distill` runs
  python -m bench.distill_gain --variants on_teacher_stem phase3 --seeds 0   # phase 3

Needs the teacher's workdir (--teacher, default out/teacher_synthetic: its
export/, the predictions infer_teacher.py stored in predictions/ for the train
split and, for `unlabelled`, in unlabelled/ for the pool). Trains the student of
configs/distill_synthetic.py once per variant, labelled-set size and seed, the
same steps and schedule each time:
  gt          (a) ground truth only;
  distill     (b) the teacher's stored heatmaps mixed in on the labelled images;
  unlabelled  (c) as (b), and half of each batch from the unlabelled pool, the
              teacher's maps and people its targets (4 unlabelled images per labelled);
  stem        as (b), and the stem's features regressed to the teacher stem's;
  on_teacher_stem  as (b), the detector on the frozen teacher stem (phase 2);
  phase3      that student's own small stem trained to give the teacher stem's
              features under its fixed detector (configs/student_stem_synthetic.py;
              needs the on_teacher_stem run of the same seed, listed before it).
--labelled: the labelled-set sizes (0: the whole train split; 256: its first 256
images, the "quarter" runs). A seed sets the initialisation and the data order
(config.seed, config.data.seed). Each run lives in OUT/VARIANT[_lN]_sSEED and its
AP is kept in OUT/results.json as it finishes, so an interrupted table resumes
where it stopped. Then one row per model and size: AP per seed, mean and spread
(max - min), parameters, GMAC of the convolutions, the CPU latency of the
network (batch 1, float32, each of --input-sizes) and the frames/s of the whole
path (`predictor.predict_image`, one val image to COCO keypoints, the first input
size, no flip test); the teacher's row first (its AP on the same val split with
the same protocol). A gain over (a) counts only if every seed is above every
seed of (a) (beyond the spread); a loss only if every one is below.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from bench.common import machine, median_seconds
from bench.compare_models import latency_ms
from configs import distill_synthetic, student_stem_synthetic, teacher_synthetic
from rtpe_jax.data import coco
from rtpe_jax.data.images import read_image
from rtpe_jax.data.synthetic.scenes import UNLABELLED
from rtpe_jax.inference import predictor
from rtpe_jax.models import complexity, weights
from rtpe_jax.train import loop, minival

VARIANTS = {
  "gt": "gt",
  "distill": "",
  "unlabelled": "unlabelled",
  "stem": "stem",
  "on_teacher_stem": "on_teacher_stem",
}
LABELS = {
  "gt": "(a) ground truth only",
  "distill": "(b) distilled on the labelled images",
  "unlabelled": "(c) (b) + the teacher-labelled pool",
  "stem": "(b) + stem features distilled",
  "on_teacher_stem": "(b) on the frozen teacher stem",
  "phase3": "phase 3: own stem under that detector",
}


def variant_config(variant: str, seed: int, labelled: int, args):
  runlocal = "runlocal" if args.runlocal else ""
  if variant == "phase3":
    config = student_stem_synthetic.get_config(runlocal)
    config.init.model = os.path.join(args.out, f"on_teacher_stem_s{seed}", "export")
    if not os.path.isdir(config.init.model):
      raise SystemExit(f"{config.init.model}: phase3 needs the on_teacher_stem run of seed {seed}")
  else:
    config = distill_synthetic.get_config(",".join(filter(None, [VARIANTS[variant], runlocal])))
  config.data.root = args.data
  config.seed = config.data.seed = seed
  config.data.train_count = labelled
  if variant not in ("gt", "phase3"):
    config.data.teacher_store = os.path.join(args.teacher, "predictions", "teacher")
  if variant == "unlabelled":
    u = config.data.unlabelled
    u.images = os.path.join(args.data, "images", UNLABELLED)
    u.predictions = os.path.join(args.teacher, "unlabelled")
    u.count = distill_synthetic.POOL_FACTOR * labelled
  if variant in ("stem", "on_teacher_stem", "phase3"):
    config.init.teacher = os.path.join(args.teacher, "export")
  return config


def _check_teacher(args) -> None:
  export = os.path.join(args.teacher, "export")
  store = os.path.join(args.teacher, "predictions", "teacher")
  pool = os.path.join(args.teacher, "unlabelled", "teacher")
  needs_store = any(v not in ("gt", "phase3") for v in args.variants)
  needs = [(export, "the teacher's export", True), (store, "its stored predictions", needs_store)]
  needs.append((pool, "its predictions on the unlabelled pool", "unlabelled" in args.variants))
  images = os.path.join(args.data, "images", UNLABELLED)
  for path, what, needed in needs:
    if needed and not os.path.isdir(path):
      raise SystemExit(
        f"{path}: {what} is missing. Train and store the teacher first:\n"
        f"  python -m rtpe_jax.data.synthetic --out {args.data} --train 0 --val 0 "
        "--unlabelled 4096\n"
        f"  python train.py --config configs/teacher_synthetic.py --workdir {args.teacher}\n"
        f"  python infer_teacher.py --teacher {export} --coco {args.data} --split train2017 "
        f"--out {os.path.join(args.teacher, 'predictions')} --input-size 256 --eval\n"
        f"  python infer_teacher.py --teacher {export} --images {images} "
        f"--out {os.path.join(args.teacher, 'unlabelled')} --input-size 256 --people"
      )


def _read_results(path: str) -> list[dict]:
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return json.load(f)


def _write_results(path: str, results: list[dict]) -> None:
  with open(path + ".tmp", "w") as f:
    json.dump(results, f, indent=1)
  os.replace(path + ".tmp", path)


def train_runs(args) -> list[dict]:
  """Trains every (variant, seed) not yet in OUT/results.json; returns all rows."""
  path = os.path.join(args.out, "results.json")
  results = _read_results(path)
  done = {(r["variant"], r.get("labelled", 0), r["seed"]) for r in results}
  for labelled in args.labelled:
    for variant in args.variants:
      for seed in args.seeds:
        if (variant, labelled, seed) not in done:
          results.append(_train_run(variant, labelled, seed, args))
          _write_results(path, results)
  return results


def _train_run(variant: str, labelled: int, seed: int, args) -> dict:
  size = f"_l{labelled}" if labelled else ""
  workdir = os.path.join(args.out, f"{variant}{size}_s{seed}")
  print(f"--- {LABELS[variant]}, {labelled or 'all'} labelled, seed {seed}: {workdir}", flush=True)
  config = variant_config(variant, seed, labelled, args)
  start = time.perf_counter()
  stats = loop.train_and_evaluate(config, workdir)
  return {
    "variant": variant,
    "labelled": labelled,
    "seed": seed,
    "AP": stats["AP"],
    "AP .5": stats["AP .5"],
    "AR": stats["AR"],
    "steps": config.total_steps,
    "minutes": (time.perf_counter() - start) / 60,
    "workdir": workdir,
  }


def model_row(model_dir: str, sizes: list[int], runs: int, image) -> dict:
  """Parameters and GMAC (first size), network latency per size, whole-path frames/s."""
  module, variables = weights.load_model(model_dir)
  stats = complexity.summarize(module, (sizes[0], sizes[0]), with_xla_total=False)
  model = predictor.load(model_dir, input_size=sizes[0])
  whole = median_seconds(lambda: predictor.predict_image(model, image, flip=False), runs)
  return {
    "params": stats["params"],
    "gmac": stats["gmac_conv"],
    "latency_ms": {size: latency_ms(module, variables, size, runs) for size in sizes},
    "frames_per_s": 1.0 / whole,
  }


def first_val_image(args):
  ground_truth = coco.load_coco(args.data, "val2017")
  info = ground_truth.loadImgs(sorted(ground_truth.getImgIds())[:1])[0]
  return read_image(coco.image_path(args.data, "val2017", info["file_name"]), info["id"])


def teacher_ap(args) -> dict:
  """The teacher's AP on the val split, by the students' protocol (the synthetic
  configs' evaluation), and its stored predictions' AP on train if infer_teacher.py
  --eval wrote it."""
  config = teacher_synthetic.get_config("runlocal" if args.runlocal else "")
  config.data.root = args.data
  export = os.path.join(args.teacher, "export")
  module, variables = weights.load_model(export)
  out = {
    "AP": minival.Evaluator(module, config)(variables)["AP"],
    "arch": weights.read_arch(export)["config"]["name"],
  }
  ap_file = os.path.join(args.teacher, "predictions", "ap.json")
  if os.path.exists(ap_file):
    with open(ap_file) as f:
      out["store_AP"] = json.load(f)["AP"]
  return out


def compare(rows, base) -> tuple[float, str]:
  """Mean AP of `rows` minus that of `base`, and where the seeds lie: "above" (every
  seed above every one of `base`), "below" (every one below) or "within" the spread."""
  gain = statistics.mean(r["AP"] for r in rows) - statistics.mean(r["AP"] for r in base)
  aps, base_aps = [r["AP"] for r in rows], [r["AP"] for r in base]
  if min(aps) > max(base_aps):
    return gain, "above"
  return gain, "below" if max(aps) < min(base_aps) else "within"


def table(results: list[dict], teacher: dict, models: dict, args) -> tuple[str, dict]:
  """The markdown table and the verdicts: each variant against (a) per labelled-set
  size, and the best student's AP and GMAC against the teacher's."""
  sizes = args.input_sizes
  lines = [
    "| model | training | labelled | steps | AP per seed | AP mean | spread | AP .5 mean | params "
    f"| GMAC ({sizes[0]} px) | "
    + " | ".join(f"CPU ms {size} px" for size in sizes)
    + f" | whole path frames/s ({sizes[0]} px) |",
    "| --- " * (11 + len(sizes)) + "|",
  ]

  def cost(m):
    ms = " | ".join(f"{m['latency_ms'][size]:.1f}" for size in sizes)
    return f"{m['params']:,} | {m['gmac']:.2f} | {ms} | {m['frames_per_s']:.1f}"

  store = (
    f" (its stored train predictions: {teacher['store_AP']:.3f})" if "store_AP" in teacher else ""
  )
  lines.append(
    f"| teacher ({teacher['arch']}) | ground truth{store} | all | | {teacher['AP']:.3f} "
    f"| {teacher['AP']:.3f} | | | {cost(models['teacher'])} |"
  )
  verdict, notes, best = {}, [], None
  for labelled in args.labelled:
    runs = {
      v: sorted(
        (
          r
          for r in results
          if r["variant"] == v and r.get("labelled", 0) == labelled and r["seed"] in args.seeds
        ),
        key=lambda r: r["seed"],
      )
      for v in args.variants
    }
    for variant, rows in runs.items():
      if not rows:
        continue
      aps = [r["AP"] for r in rows]
      mean = statistics.mean(aps)
      if best is None or mean > best[0]:
        best = (mean, variant, labelled)
      per_seed = ", ".join(f"{r['AP']:.3f} (s{r['seed']})" for r in rows)
      lines.append(
        f"| student | {LABELS[variant]} | {labelled or 'all'} | {rows[0]['steps']} | {per_seed} "
        f"| {mean:.3f} | {max(aps) - min(aps):.3f} "
        f"| {statistics.mean(r['AP .5'] for r in rows):.3f} | {cost(models[variant])} |"
      )
    base = runs.get("gt")
    for variant, rows in runs.items():
      if variant == "gt" or not base or len(base) < 2 or len(rows) < 2:
        continue
      gain, side = compare(rows, base)
      verdict[f"{variant}_l{labelled}"] = {"gain": gain, "seeds": side}
      notes.append(
        f"{LABELS[variant][:3]} - (a), {labelled or 'all'} labelled: {gain:+.3f} AP; "
        + {
          "above": "every seed above every seed of (a): a gain beyond the spread.",
          "below": "every seed below every seed of (a): a loss beyond the spread.",
          "within": "within the spread.",
        }[side]
      )
  if best is not None:
    ratio = best[0] / teacher["AP"] if teacher["AP"] else float("nan")
    cost_ratio = models[best[1]]["gmac"] / models["teacher"]["gmac"]
    verdict["best"] = {"variant": best[1], "labelled": best[2], "of_teacher": ratio}
    notes.append(
      f"best student: {LABELS[best[1]]}, {best[2] or 'all'} labelled, mean AP {best[0]:.3f} = "
      f"{100 * ratio:.0f} % of its teacher's at {100 * cost_ratio:.0f} % of its GMAC."
    )
  text = "\n".join(lines)
  if notes:
    text += "\n\n" + "\n".join(notes)
  return text, verdict


def main(argv=None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--teacher", default=distill_synthetic.TEACHER, help="teacher workdir")
  parser.add_argument("--data", default="data/synthetic", help="the synthetic COCO root")
  parser.add_argument(
    "--variants", nargs="+", choices=list(LABELS), default=["gt", "distill", "unlabelled"]
  )
  parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
  parser.add_argument(
    "--labelled",
    nargs="+",
    type=int,
    default=[0],
    help="labelled-set sizes: 0 the whole train split, 256 its first 256 images",
  )
  parser.add_argument("--out", default="out/distill_gain")
  parser.add_argument(
    "--input-sizes", nargs="+", type=int, default=[256, 512], help="for the speed columns"
  )
  parser.add_argument("--runs", type=int, default=20, help="latency: median of this many")
  parser.add_argument("--runlocal", action="store_true", help="smoke-sized runs (tests)")
  args = parser.parse_args(argv)
  _check_teacher(args)
  os.makedirs(args.out, exist_ok=True)
  results = train_runs(args)
  teacher = teacher_ap(args)
  image = first_val_image(args)
  row = lambda model_dir: model_row(model_dir, args.input_sizes, args.runs, image)
  models = {"teacher": row(os.path.join(args.teacher, "export"))}
  for variant in args.variants:
    first = min(
      (r for r in results if r["variant"] == variant and r["seed"] in args.seeds),
      key=lambda r: r["seed"],
    )
    models[variant] = row(os.path.join(first["workdir"], "export"))
  text, verdict = table(results, teacher, models, args)
  text += f"\n\nMachine: {machine()}; the val split of {args.data}; {time.strftime('%Y-%m-%d')}."
  print(text)
  with open(os.path.join(args.out, "table.md"), "w") as f:
    f.write(text + "\n")
  return {"results": results, "teacher": teacher, "models": models, "verdict": verdict}


if __name__ == "__main__":
  main()
