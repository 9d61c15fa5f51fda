"""The forward and grouping rows: each side's worker, the rows to measure, the
rounds interleaved with the people compared, and the table."""

from __future__ import annotations

import json
import os
import statistics

from bench.vs_pytorch import jobs

MAP_SIZE = 256


def reference_forward(job: dict) -> dict:
  import torch

  torch.set_grad_enabled(False)
  cfg = jobs.reference_config(job["reference"], job["arch"])
  from models.pose_higher_hrnet import PoseHigherResolutionNet

  model = PoseHigherResolutionNet(cfg).eval()
  size = cfg.DATASET.INPUT_SIZE
  x = torch.randn(job["batch"], 3, size, size)
  return {
    "ms": jobs.median_ms(lambda: model(x), job["runs"], job["warmup"]),
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
  }


def reference_grouping(job: dict) -> dict:
  import numpy as np
  import torch

  cfg = jobs.reference_config(job["reference"], None)
  from core.group import HeatmapParser

  cfg.MODEL.TAG_PER_JOINT = True
  cfg.DATASET.NUM_JOINTS = 17
  cfg.DATASET.MAX_NUM_PEOPLE = 30
  cfg.TEST.DETECTION_THRESHOLD, cfg.TEST.TAG_THRESHOLD = 0.1, 1.0
  cfg.TEST.NMS_KERNEL, cfg.TEST.NMS_PADDING = 5, 2
  cfg.TEST.USE_DETECTION_VAL, cfg.TEST.IGNORE_TOO_MUCH = True, False
  parser = HeatmapParser(cfg)
  maps = np.load(job["maps"])
  det = torch.from_numpy(np.ascontiguousarray(maps["heatmaps"].transpose(2, 0, 1)[None]))
  tag = torch.from_numpy(np.ascontiguousarray(maps["tags"].transpose(2, 0, 1, 3)[None]))
  people, _ = parser.parse(det, tag, True, True)
  ms = jobs.median_ms(lambda: parser.parse(det, tag, True, True), job["runs"], job["warmup"])
  return {"ms": ms, "people": np.asarray(people[0], np.float64)[..., :3].tolist()}


def ours_forward(job: dict) -> dict:
  import jax
  import jax.numpy as jnp

  from bench.common import DTYPES
  from rtpe_jax.inference import predictor, protocol
  from rtpe_jax.models import ARCHS, HigherHRNet

  module = HigherHRNet(config=ARCHS[job["arch"]], dtype=DTYPES[job["dtype"]])
  size = module.config.input_size
  variables = jax.jit(module.init)(jax.random.key(1), jnp.zeros((1, size, size, 3)))
  model = predictor.from_module(module, variables)
  forward = jax.jit(model.network, compiler_options=protocol.compiler_options())
  x = jax.random.randint(jax.random.key(0), (job["batch"], size, size, 3), 0, 256).astype(jnp.uint8)
  jax.block_until_ready(forward(model.variables, x))
  run = lambda: jax.block_until_ready(forward(model.variables, x))
  return {"ms": jobs.median_ms(run, job["runs"], job["warmup"]), "jax": jax.__version__}


def ours_grouping(job: dict) -> dict:
  import numpy as np

  from rtpe_jax.inference import grouping

  maps = np.load(job["maps"])
  heatmaps, tags = maps["heatmaps"][None], maps["tags"][None]
  run = lambda: grouping.group(heatmaps, tags)
  people, _ = run()[0]
  return {
    "ms": jobs.median_ms(run, job["runs"], job["warmup"]),
    "people": np.asarray(people, np.float64)[..., :3].tolist(),
  }


def same_people(a: list, b: list, atol: float = 1e-3) -> bool:
  """Same count, order, positions and values of people (P, 17, 3)."""
  import numpy as np

  a, b = np.asarray(a), np.asarray(b)
  return a.shape == b.shape and bool(np.allclose(a, b, atol=atol))


def measurements(args) -> list[dict]:
  """The rows to measure: (label, what, ours job, reference job or None)."""
  rows = []
  base = {"runs": args.runs, "warmup": args.warmup, "reference": args.reference}
  if args.only in (None, "forward"):
    for arch in args.archs:
      for batch in args.batches:
        for dtype in args.dtypes:
          job = {**base, "what": "forward", "arch": arch, "batch": batch}
          rows.append(
            {
              "label": f"HigherHRNet {arch.replace('_', '-').upper()} forward, batch "
              f"{batch}, ours {dtype}",
              "ours": {**job, "side": "ours", "dtype": dtype},
              "reference": {**job, "side": "reference", "dtype": "float32"},
            }
          )
  if args.only in (None, "grouping"):
    for people in args.people:
      job = {
        **base,
        "what": "grouping",
        "people": people,
        "runs": args.grouping_runs,
        "maps": os.path.join(args.maps_dir, f"maps_{people}.npz"),
      }
      rows.append(
        {
          "label": f"grouping, 17 x {MAP_SIZE} x {MAP_SIZE}, 2 tags/joint, "
          f"{people} {'person' if people == 1 else 'people'}",
          "ours": {**job, "side": "ours"},
          "reference": {**job, "side": "reference"},
        }
      )
  return rows


def write_maps(directory: str, people: list[int]) -> None:
  import numpy as np

  from bench.grouping import make_maps

  for count in people:
    heatmaps, tags = make_maps(count, MAP_SIZE)
    np.savez(os.path.join(directory, f"maps_{count}.npz"), heatmaps=heatmaps, tags=tags)


def compare(rows: list[dict], rounds: int, run=jobs.run_job, log=print) -> list[dict]:
  """Runs every row `rounds` times, the two sides alternating which goes first;
  checks the grouping sides found the same people. Fills ours_ms, reference_ms
  (medians over rounds), ratio, and for grouping the people found. A reference
  job already measured for an earlier row (the same forward against our
  float32 and bfloat16) is not run again: its times are reused."""
  measured = {}
  for row in rows:
    key = json.dumps(row["reference"], sort_keys=True)
    reuse = key in measured
    times = {"ours": [], "reference": []}
    for r in range(rounds):
      for side in ("ours", "reference") if r % 2 == 0 else ("reference", "ours"):
        if side == "reference" and reuse:
          result = measured[key][r]
        else:
          result = run(row[side])
          if side == "reference":
            measured.setdefault(key, []).append(result)
        times[side].append(result["ms"])
        row[f"{side}_result"] = result
      if row["ours"]["what"] == "grouping":
        ours, reference = row["ours_result"]["people"], row["reference_result"]["people"]
        if not same_people(ours, reference):
          raise AssertionError(
            f"{row['label']}: the two sides found different people "
            f"({len(ours)} vs {len(reference)})"
          )
        row["found"] = len(ours)
    row["ours_ms"] = statistics.median(times["ours"])
    row["reference_ms"] = statistics.median(times["reference"])
    row["ratio"] = row["reference_ms"] / row["ours_ms"]
    log(
      f"{row['label']}: reference {row['reference_ms']:.1f} ms, ours {row['ours_ms']:.1f} ms, "
      f"{row['ratio']:.2f}x"
    )
  return rows


def table(rows: list[dict], machine: str, date: str) -> str:
  lines = [
    f"Measured {date} on {machine}; each side in its own process, rounds interleaved, "
    "medians. ratio = reference ms / rtpe-jax ms (above 1: rtpe-jax is faster).",
    "",
    "| work | PyTorch reference ms | rtpe-jax ms | ratio |",
    "| --- | --- | --- | --- |",
  ]
  for row in rows:
    found = f" ({row['found']} found by both)" if "found" in row else ""
    lines.append(
      f"| {row['label']}{found} | {row['reference_ms']:.1f} | {row['ours_ms']:.1f} | "
      f"{row['ratio']:.2f}x |"
    )
  return "\n".join(lines) + "\n"
