"""Every speed figure of the README in one run: one JSON and one Markdown table.

  python -m bench.run_all --out bench/results_cpu.json         # the full suite
  python -m bench.run_all --quick --out /tmp/quick.json        # CI-sized (a test runs it)
  python -m bench.run_all --models student --sizes 512 --dtypes bfloat16 --batches 1

Rows (each with the machine it ran on):
- network: the W48 and W32 teachers and the default student (random weights:
  speed does not depend on their values), batch norm folded, at each input
  size and compute dtype: parameters, GMAC of the convolutions, median latency
  at batch 1 and images/s at batch 16 (`block_until_ready`, after warm-up);
- whole path: the same models from a 640 x 480 RGB uint8 image to COCO
  keypoints: resize and pad on the host, network + NMS + top-k on the device,
  grouping on the host, keypoints mapped back (`rtpe_jax.inference.predictor`; no flip
  run), batch 1 latency and batch 16 images/s, and the people found per
  image: with random weights that is the grouping's load (none for the
  student, whose heads start near zero; a few to 30 spurious ones for the
  teachers, whose BatchNorm statistics are first measured on the benchmark
  photo by `calibrate_batch_stats`: left at identity, their activations grow
  through the random stages and hundreds of people appear), so read it with
  the grouping rows, which time realistic loads;
- train step: images/s of the jitted student step of each of --train-configs
  (default configs/distill_coco_w48.py: phase 2, frozen W48 stem, bfloat16;
  `quickstart`: the demo's step) on random batches of its shapes;
- input pipeline: augmented training samples/s (bench.input_pipeline);
  needs TensorFlow, skipped where it is missing (the GPU machine);
- grouping: ms per image of the host grouping with 1, 5 and 20 people.
Timings are medians of --runs calls after --warmup calls.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from bench import grouping as grouping_bench
from bench.common import DTYPES, machine, median_seconds
from configs import quickstart
from rtpe_jax import preprocess
from rtpe_jax.inference import predictor
from rtpe_jax.models import ARCHS, HigherHRNet, complexity, folding
from rtpe_jax.models.student import AttentionStudent, StudentConfig

QUICK_STUDENT = StudentConfig(**quickstart.student())  # --quick: the quickstart student


def build(name: str, dtype: str, quick: bool):
  """(module, float32 variables) with random weights: a teacher arch or the student."""
  dt = DTYPES[dtype]
  if name == "student":
    module = AttentionStudent(config=QUICK_STUDENT if quick else StudentConfig(), dtype=dt)
  else:
    module = HigherHRNet(config=ARCHS[name], dtype=dt)
  x = jnp.zeros((1, 64, 64, getattr(module.config, "input_channels", 3)))
  variables = jax.jit(lambda x: module.init(jax.random.key(0), x, train=False))(x)
  return module, variables


def calibrate_batch_stats(module, variables: dict, images: jax.Array) -> dict:
  """`variables` with every BatchNorm's running mean and variance set to the
  statistics of its input on `images` (B, H, W, C), each layer normalised by
  them as in training: a random network whose activations stay in a trained
  network's range instead of growing through its stages, so that its maps, like
  a trained one's, are quiet where nothing is."""

  def batch_statistics(v, x):
    stats = {}

    def record(next_fun, args, kwargs, context):
      if isinstance(context.module, nn.BatchNorm) and context.method_name == "__call__":
        h = args[0].astype(jnp.float32)
        axes = tuple(range(h.ndim - 1))
        path = "/".join(context.module.path)
        stats[f"{path}/mean"], stats[f"{path}/var"] = h.mean(axes), h.var(axes)
      return next_fun(*args, **kwargs)

    with nn.intercept_methods(record):
      module.apply(v, x, train=True, mutable=["batch_stats"])
    return stats

  stats = traverse_util.flatten_dict(variables["batch_stats"], sep="/")
  measured = jax.jit(batch_statistics)(variables, images)
  if set(measured) != set(stats):
    raise ValueError(
      f"{type(module).__name__}: BatchNorm statistics of {len(measured)} "
      f"entries measured for {len(stats)} stored"
    )
  return {**variables, "batch_stats": traverse_util.unflatten_dict(measured, sep="/")}


def model_for(module, variables, input_size: int) -> predictor.Model:
  x = jnp.zeros((1, 64, 64, getattr(module.config, "input_channels", 3)))
  folded = folding.fold_batch_norm(module, variables, x)
  network, spec = predictor.network_and_spec(module, fold=True)
  return predictor.Model(network, folded, spec, input_size)


def network_rows(name, dtype, size, batches, args, model) -> list[dict]:
  rows = []
  images = np.random.default_rng(0).integers(0, 256, (max(batches), size, size, 3), np.uint8)
  for batch in batches:
    x = jnp.asarray(images[:batch])
    forward = lambda: jax.block_until_ready(
      predictor._canvas_maps(
        model.network,
        model.spec,
        False,
        30,
        5,
        model.variables,
        x,
        np.full((batch, 2), size, np.int32),
      )
    )
    forward()  # compile
    seconds = median_seconds(forward, args.runs, args.warmup)
    rows.append(
      {
        "kind": "network",
        "model": name,
        "input": size,
        "dtype": dtype,
        "batch": batch,
        "latency_ms": 1e3 * seconds,
        "images_per_s": batch / seconds,
      }
    )
  return rows


def whole_path_rows(name, dtype, size, batches, args, model, frame) -> list[dict]:
  """Rows of image in, people out: `frame` (H, W, 3) uint8, repeated `batch` times."""
  rows = []
  for batch in batches:
    images = [frame] * batch

    def whole():
      out = predictor.run_batch(model, images, flip=False)
      return [predictor.group_frame(out, index=i) for i in range(batch)]

    people = np.mean([len(scores) for _, scores in whole()])  # also compiles
    seconds = median_seconds(whole, args.runs, args.warmup)
    rows.append(
      {
        "kind": "whole path",
        "model": name,
        "input": size,
        "dtype": dtype,
        "batch": batch,
        "latency_ms": 1e3 * seconds,
        "images_per_s": batch / seconds,
        "people": float(people),
      }
    )
  return rows


def synthetic_photo(h: int, w: int) -> np.ndarray:
  """A (h, w, 3) uint8 scene of the synthetic dataset (people on a textured background)."""
  from rtpe_jax.data.synthetic import video as synthetic_video

  frames, _ = synthetic_video.video_frames(num_frames=1, size=h, people=4)
  return np.ascontiguousarray(frames[0][:, :w])


def train_step_row(args, config_name: str = "distill_coco_w48") -> dict:
  """images/s of the student train step of configs/`config_name`.py, on random batches."""
  import importlib

  from rtpe_jax.train import model_factory, optim, train_step

  config = importlib.import_module(f"configs.{config_name}").get_config(
    "runlocal" if args.quick else ""
  )
  if args.quick:
    config.model.student.update(QUICK_STUDENT.to_dict())
    config.data.output_strides = (4, 2)  # its fine heatmap head's targets
    config.optimizer.frozen = ()
  module = model_factory.build_model(config)
  variables = model_factory.init_variables(module, config, jax.random.key(0))
  trained, _ = optim.split_frozen(variables["params"], config.optimizer.frozen)
  tx = optim.make_optimizer(config.optimizer, trained, 1000)
  state = train_step.create_state(variables, config, tx, jax.random.key_data(jax.random.key(1)))
  batch = random_batch(config)
  step = train_step.make_train_step(module, config, tx)
  state, metrics = step(state, batch)
  jax.block_until_ready(metrics)

  def run():
    nonlocal state
    state, m = step(state, batch)
    jax.block_until_ready(m)

  seconds = median_seconds(run, args.runs, args.warmup)
  b = config.data.batch_size
  return {
    "kind": "train step",
    "model": f"student ({config_name}" + (", quick" if args.quick else "") + ")",
    "input": config.data.input_size,
    "dtype": config.precision,
    "batch": b,
    "latency_ms": 1e3 * seconds,
    "images_per_s": b / seconds,
  }


def random_batch(config) -> dict:
  """Random arrays of the fields the train step of `config` reads, shaped and
  typed as the pipeline's batches (`rtpe_jax.data.schema`; the teacher's maps,
  17 tag channels, when the config has a store)."""
  from rtpe_jax import keypoints
  from rtpe_jax.data import schema
  from rtpe_jax.train import train_step

  with_teacher = bool(config.data.teacher_store)
  fields = schema.sample_fields(config.data, keypoints.NUM_JOINTS if with_teacher else None)
  arrays = schema.random_batch(fields, config.data.batch_size)
  return {name: arrays[name] for name in train_step.batch_fields(config, with_teacher)}


def input_pipeline_row(args) -> dict | None:
  try:
    import tensorflow  # noqa: F401
  except ImportError:
    return None
  from bench import input_pipeline

  size, batch = (128, 4) if args.quick else (512, 32)
  with tempfile.TemporaryDirectory() as tmp:
    root, store = input_pipeline.prepare(tmp, 8 if args.quick else 64)
    rate = input_pipeline.bench(root, store, size, batch, 3 if args.quick else 20)
  return {
    "kind": "input pipeline",
    "model": "",
    "input": size,
    "dtype": "",
    "batch": batch,
    "images_per_s": rate,
  }


def grouping_rows(args) -> list[dict]:
  rows = []
  size = 96 if args.quick else 256
  for people in (1, 5, 20):
    heatmaps, tags = grouping_bench.make_maps(people, size, seed=people)
    from rtpe_jax.inference import grouping

    ms = 1e3 * median_seconds(lambda: grouping.group(heatmaps[None], tags[None]), args.runs)
    rows.append(
      {
        "kind": "grouping",
        "model": f"{people} people",
        "input": size,
        "dtype": "",
        "batch": 1,
        "latency_ms": ms,
        "images_per_s": 1e3 / ms,
      }
    )
  return rows


def table(rows: list[dict]) -> str:
  lines = [
    "| what | model | input | dtype | batch | params | GMAC | ms (median) | images/s "
    "| people/image | machine |",
    "|" + " --- |" * 11,
  ]
  for r in rows:
    fmt = lambda key, f: format(r[key], f) if r.get(key) is not None else ""
    lines.append(
      f"| {r['kind']} | {r['model']} | {r['input']} | {r['dtype']} | {r['batch']} "
      f"| {fmt('params', ',')} | {fmt('gmac_conv', '.2f')} | {fmt('latency_ms', '.1f')} "
      f"| {fmt('images_per_s', '.1f')} | {fmt('people', '.1f')} | {r['machine']} |"
    )
  return "\n".join(lines)


def main(argv=None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true", help="CI-sized: small models and inputs")
  parser.add_argument("--models", nargs="*", default=["w48_640", "w32_512", "student"])
  parser.add_argument("--sizes", nargs="+", type=int, default=[512, 640])
  parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
  parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
  parser.add_argument("--runs", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument(
    "--train-configs",
    nargs="+",
    default=["distill_coco_w48"],
    help="configs/NAME.py whose train step is timed (quickstart: the demo's)",
  )
  parser.add_argument(
    "--skip", nargs="*", default=[], choices=["network", "whole", "train", "pipeline", "grouping"]
  )
  parser.add_argument("--out", help="write the rows as JSON here (and the table beside it, .md)")
  parser.add_argument(
    "--append",
    action="store_true",
    help="keep the rows already in --out (runs of different settings, one file)",
  )
  args = parser.parse_args(argv)
  if args.quick:
    args.models, args.sizes, args.dtypes, args.batches = ["student"], [128], ["float32"], [1, 2]
    args.runs, args.warmup = 3, 1
  device = machine()
  rows = []

  def add(row):
    row = {"machine": device, **row}
    rows.append(row)
    print(table([row]).splitlines()[-1], flush=True)

  print("\n".join(table([]).splitlines()))
  frame = synthetic_photo(480, 640)  # video_frames are 4:3
  for name in args.models:
    for dtype in args.dtypes:
      module, variables = build(name, dtype, args.quick)
      if isinstance(module, HigherHRNet):
        photo = preprocess.normalise(jnp.asarray(frame[None]))
        variables = calibrate_batch_stats(module, variables, photo)
      for size in args.sizes:
        stats = complexity.summarize(module, (size, size), with_xla_total=False)
        model = model_for(module, variables, size)
        if "network" not in args.skip:
          for row in network_rows(name, dtype, size, args.batches, args, model):
            add({**row, "params": stats["params"], "gmac_conv": stats["gmac_conv"]})
        if "whole" not in args.skip:
          for row in whole_path_rows(name, dtype, size, args.batches, args, model, frame):
            add(row)
  if "train" not in args.skip:
    for config_name in args.train_configs:
      add(train_step_row(args, config_name))
  if "pipeline" not in args.skip:
    row = input_pipeline_row(args)
    if row:
      add(row)
  if "grouping" not in args.skip:
    for row in grouping_rows(args):
      add(row)
  if args.out:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    kept = []
    if args.append and os.path.exists(args.out):
      with open(args.out) as f:
        kept = json.load(f)["rows"]
    with open(args.out, "w") as f:
      json.dump({"jax": jax.__version__, "rows": kept + rows}, f, indent=1)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
      f.write(table(kept + rows) + "\n")
  return rows


if __name__ == "__main__":
  main()
