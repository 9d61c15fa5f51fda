"""rtpe-jax against the public PyTorch HigherHRNet on the same machine.

  python -m bench.vs_pytorch --reference PATH/TO/HigherHRNet --out bench/results_vs_pytorch.md
  python -m bench.vs_pytorch --reference DIR --only grouping --people 20 --rounds 3
  python -m bench.vs_pytorch --reference DIR --profile w48_640 --batches 1

DIR is a clone of the public HigherHRNet repository (its `lib/` and the
`w32_512_adam_lr1e-3.yaml` / `w48_640_adam_lr1e-3.yaml` experiment files, found
anywhere under `experiments/`); the reference side needs torch, yacs and
munkres. Measured, each in a process of its own (torch's OpenMP threads and
XLA's thread pool would slow each other down in one), rounds interleaved
(ours, reference, then reference, ours, ...) so that a machine's drift hits both:

- the teacher forward: W32-512 and W48-640, batch 1 and 8, random weights,
  float32 on both sides and bfloat16 on ours (the network as the predictor runs
  it: batch norm folded, uint8 in; the reference's `model(x)` on a float tensor);
- the grouping of the same maps (17 x 256 x 256 heatmaps, two tag maps per joint
  as after the flip test, 1, 5 and 20 people: `bench.grouping.make_maps`): NMS
  through refinement, `rtpe_jax.inference.grouping.group` against the reference's
  `HeatmapParser.parse(adjust=True, refine=True)`; the people of both sides are
  compared (same count, order and positions) before a time is reported.

Each measurement is the median of `--runs` timed calls after a warm-up (and, on
our side, compilation); a row's figure is the median over `--rounds`. The ratio
is reference time / ours: above 1, rtpe-jax is faster.

`--only protocol`: the whole single-scale test protocol on the same maps
(`protocol_maps`: HigherHRNet-shaped outputs of the image and of its mirror
for a few image shapes and input sizes), the reference's
`get_multi_stage_outputs`, `aggregate_results`, `HeatmapParser.parse` and
`get_final_preds` against `rtpe_jax.inference.predictor` and `protocol.coco_results`: the
people must agree to 0.01 px (no times). `--fixture F` writes the reference's
people there (tests/data/protocol_reference.npz, which tests/test_inference.py
checks our protocol against without the reference).

`--profile ARCH`: where each side spends a float32 forward, by part of the
network (stem, layer1, each stage's branches and fuse layers, transitions,
heads), both sides in their own process: the reference with forward hooks on
its modules (PyTorch runs op by op, so a module's wall time is its ops'), ours
from a jax.profiler trace, each compiled op (fusion, convolution) attributed to
the flax module it came from (`bench.profile_student.op_sources`).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

EXPERIMENTS = {"w32_512": "w32_512_adam_lr1e-3.yaml", "w48_640": "w48_640_adam_lr1e-3.yaml"}
MAP_SIZE = 256


def _median_ms(fn, runs: int, warmup: int) -> float:
  """Median ms of fn() (which waits for its own result). Not bench.common's
  timer: that one imports JAX, which the reference's process must not load."""
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1e3 * statistics.median(times)


# ---- the reference side (torch; no JAX in this process) --------------------------------------


def _reference_config(reference: str, arch: str | None):
  sys.path.insert(0, os.path.join(reference, "lib"))
  from config import cfg as defaults  # the reference's yacs defaults

  cfg = defaults.clone()
  if arch:
    found = glob.glob(
      os.path.join(reference, "experiments", "**", EXPERIMENTS[arch]), recursive=True
    )
    if not found:
      raise SystemExit(f"{reference}/experiments: no {EXPERIMENTS[arch]}")
    cfg.merge_from_file(found[0])
  cfg.defrost()
  return cfg


def reference_forward(job: dict) -> dict:
  import torch

  torch.set_grad_enabled(False)
  cfg = _reference_config(job["reference"], job["arch"])
  from models.pose_higher_hrnet import PoseHigherResolutionNet

  model = PoseHigherResolutionNet(cfg).eval()
  size = cfg.DATASET.INPUT_SIZE
  x = torch.randn(job["batch"], 3, size, size)
  return {
    "ms": _median_ms(lambda: model(x), job["runs"], job["warmup"]),
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
  }


def reference_grouping(job: dict) -> dict:
  import numpy as np
  import torch

  cfg = _reference_config(job["reference"], None)
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
  ms = _median_ms(lambda: parser.parse(det, tag, True, True), job["runs"], job["warmup"])
  return {"ms": ms, "people": np.asarray(people[0], np.float64)[..., :3].tolist()}


# The protocol's cases: (image height, width, input size, flip), the two COCO
# photos' shapes (tests/data) and a portrait one; resize factors 0.30 to 0.92.
PROTOCOL_CASES = (
  (480, 640, 256, True),
  (480, 640, 256, False),
  (555, 640, 512, True),
  (640, 427, 128, True),
)


def protocol_size(h: int, w: int, input_size: int) -> tuple[int, int]:
  """(h, w) of the protocol-resized input at scale 1 (the reference's rule)."""
  if w < h:
    return int((input_size / w * h + 63) // 64 * 64), input_size
  return input_size, int((input_size / h * w + 63) // 64 * 64)


def protocol_maps(case: int) -> dict:
  """HigherHRNet-shaped outputs of protocol case `case` (NHWC float32, batch 2:
  the image's run and the raw run on its mirror): "quarter" (2, H/4, W/4, 34)
  heatmaps and per-joint tags, "half" (2, H/2, W/2, 17) heatmaps. Five people
  as Gaussians of different widths and heights, tags per person plus noise, and
  low noise everywhere; the mirror's maps from the mirrored people. NumPy only
  (both sides' processes make them)."""
  import numpy as np

  from rtpe_jax.keypoints import FLIP_INDEX

  h, w, input_size, _ = PROTOCOL_CASES[case]
  hr, wr = protocol_size(h, w, input_size)
  rng = np.random.default_rng([7, case])
  people = rng.uniform([0.1 * wr, 0.1 * hr], [0.9 * wr, 0.9 * hr], (5, 1, 2)) + rng.normal(
    0, 0.08 * min(hr, wr), (5, 17, 2)
  )
  values = rng.uniform(0.3, 1.0, (5, 17))
  tags = rng.normal(0, 3, 5)
  runs = {"quarter": [], "half": []}
  for mirror in (False, True):
    joints = people.copy()
    if mirror:
      joints = joints[:, FLIP_INDEX]
      joints[..., 0] = wr - joints[..., 0]
    for name, stride in (("quarter", 4), ("half", 2)):
      mh, mw = hr // stride, wr // stride
      yy, xx = np.mgrid[:mh, :mw].astype(np.float64)
      heat = rng.uniform(0, 0.02, (mh, mw, 17))
      tag = rng.normal(0, 0.1, (mh, mw, 17))
      for p in range(5):
        for k in range(17):
          x, y = (joints[p, k] - 0.5) / stride  # map position (rtpe_jax.coordinates.to_map)
          sigma = 1.0 + 0.3 * p
          g = values[p, k] * np.exp(-((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2) / (2 * sigma**2))
          heat[..., k] = np.maximum(heat[..., k], g)
          tag[..., k] = np.where(g > 0.05 * values[p, k], tags[p] + 0.05 * p, tag[..., k])
      runs[name].append(np.concatenate([heat, tag], -1) if name == "quarter" else heat)
  return {name: np.stack(maps).astype(np.float32) for name, maps in runs.items()}


def reference_protocol(job: dict) -> dict:
  """The reference's single-scale test protocol on `protocol_maps` (a stand-in
  model returns them): final people per case as it writes them (COCO's pixel
  indices), and scores."""
  import types

  import numpy as np
  import torch

  from rtpe_jax.keypoints import FLIP_INDEX

  cfg = _reference_config(job["reference"], None)
  # core/inference.py takes its flip index from the dataset package, which needs
  # the COCO and CrowdPose APIs; the index is data, the same as ours.
  dataset = types.ModuleType("dataset")
  dataset.transforms = types.ModuleType("dataset.transforms")
  dataset.transforms.FLIP_CONFIG = {"COCO": list(FLIP_INDEX)}
  sys.modules.update({"dataset": dataset, "dataset.transforms": dataset.transforms})
  from core.group import HeatmapParser
  from core.inference import aggregate_results, get_multi_stage_outputs
  from utils.transforms import get_final_preds, get_multi_scale_size, resize_align_multi_scale

  cfg.DATASET.DATASET = "coco_kpt"
  cfg.DATASET.NUM_JOINTS = 17
  cfg.DATASET.WITH_CENTER = False
  cfg.MODEL.TAG_PER_JOINT = True
  cfg.LOSS.WITH_HEATMAPS_LOSS = (True, True)
  cfg.LOSS.WITH_AE_LOSS = (True, False)
  cfg.TEST.WITH_HEATMAPS = (True, True)
  cfg.TEST.WITH_AE = (True, False)
  cfg.TEST.PROJECT2IMAGE = True
  cfg.TEST.SCALE_FACTOR = [1]
  cfg.TEST.DETECTION_THRESHOLD, cfg.TEST.TAG_THRESHOLD = 0.1, 1.0
  cfg.TEST.NMS_KERNEL, cfg.TEST.NMS_PADDING = 5, 2
  cfg.TEST.USE_DETECTION_VAL, cfg.TEST.IGNORE_TOO_MUCH = True, False
  cfg.TEST.ADJUST, cfg.TEST.REFINE = True, True
  parser = HeatmapParser(cfg)
  out = []
  for case, (h, w, input_size, flip) in enumerate(PROTOCOL_CASES):
    cfg.TEST.FLIP_TEST = flip
    maps = protocol_maps(case)
    runs = iter(range(2))
    to_torch = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

    def model(_, runs=runs, maps=maps):
      r = next(runs)
      return [to_torch(maps["quarter"][r : r + 1]), to_torch(maps["half"][r : r + 1])]

    image = np.zeros((h, w, 3), np.uint8)
    base_size, _, _ = get_multi_scale_size(image, input_size, 1.0, 1.0)
    resized, center, scale = resize_align_multi_scale(image, input_size, 1.0, 1.0)
    x = torch.zeros(1, 3, resized.shape[0], resized.shape[1])
    with torch.no_grad():
      _, heatmaps, tags = get_multi_stage_outputs(cfg, model, x, flip, True, base_size)
      final, tags_list = aggregate_results(cfg, 1, None, [], heatmaps, tags)
      grouped, scores = parser.parse(final, torch.cat(tags_list, dim=4), True, True)
    people = get_final_preds(grouped, center, scale, [final.size(3), final.size(2)])
    people = np.asarray(people, np.float64).reshape(-1, 17, grouped[0].shape[-1])[..., :3]
    out.append({"people": people.tolist(), "scores": [float(v) for v in scores]})
  return {"ms": 0.0, "cases": out}


def ours_protocol(job: dict) -> dict:
  """Our single-scale protocol (the one predictor, exact protocol sizes) on the
  same maps: COCO results' keypoints and scores per case."""
  import numpy as np

  from rtpe_jax.inference import predictor, protocol

  out = []
  for case, (h, w, input_size, flip) in enumerate(PROTOCOL_CASES):
    maps = protocol_maps(case)
    outputs = [maps["quarter"], maps["half"]] if flip else [maps["quarter"][:1], maps["half"][:1]]
    model = predictor.Model(_given_outputs, {"outputs": outputs}, protocol.OutputSpec(), input_size)
    keypoints, scores = predictor.predict_image(
      model, np.zeros((h, w, 3), np.uint8), flip, buckets=()
    )
    results = protocol.coco_results(0, keypoints, scores)
    people = np.reshape([r["keypoints"] for r in results], (-1, 17, 3))
    out.append({"people": people.tolist(), "scores": [float(v) for v in scores]})
  return {"ms": 0.0, "cases": out}


def _given_outputs(variables, images):
  """A network for `rtpe_jax.inference.protocol` that returns `variables["outputs"]`."""
  del images
  return variables["outputs"]


def compare_protocols(reference: dict, ours: dict) -> float:
  """The largest position difference between the two sides' people (inf when
  the counts differ); scores must agree to 1e-5."""
  import numpy as np

  worst = 0.0
  for case, (r, o) in enumerate(zip(reference["cases"], ours["cases"])):
    a, b = np.asarray(r["people"]), np.asarray(o["people"])
    if a.shape != b.shape or not np.allclose(r["scores"], o["scores"], atol=1e-5):
      return float("inf")
    if len(a):
      worst = max(worst, float(np.abs(a[..., :2] - b[..., :2]).max()))
  return worst


# ---- our side -------------------------------------------------------------------------------


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
  return {"ms": _median_ms(run, job["runs"], job["warmup"]), "jax": jax.__version__}


def ours_grouping(job: dict) -> dict:
  import numpy as np

  from rtpe_jax.inference import grouping

  maps = np.load(job["maps"])
  heatmaps, tags = maps["heatmaps"][None], maps["tags"][None]
  run = lambda: grouping.group(heatmaps, tags)
  people, _ = run()[0]
  return {
    "ms": _median_ms(run, job["runs"], job["warmup"]),
    "people": np.asarray(people, np.float64)[..., :3].tolist(),
  }


def _part(path: str) -> str:
  """The part of HigherHRNet a module path belongs to, in either side's naming
  (reference `stage3.1.fuse_layers.2.0.0`, ours `HigherHRNet/stage3_1/fuse_layers_2_0_0`)."""
  import re

  path = re.sub(r"HigherHRNet(\.\w+)?/", "", path)  # the model and its methods' scopes
  stage = re.match(r"stage(\d)[._](\d+)[./](branches|fuse_layers)?", path)
  if stage:
    return f"stage{stage.group(1)} {'branches' if stage.group(3) == 'branches' else 'fuse'}"
  for prefix, part in (
    ("stem/layer1", "layer1"),
    ("layer1", "layer1"),
    ("stem/", "stem"),
    ("transition", "transitions"),
    ("final_layers", "heads"),
    ("deconv_layers", "heads"),
  ):
    if path.startswith(prefix):
      return part
  if re.match(r"(conv|bn)\d", path):
    return "stem"
  return "other"


PARTS = (
  "stem",
  "layer1",
  "transitions",
  "stage2 branches",
  "stage2 fuse",
  "stage3 branches",
  "stage3 fuse",
  "stage4 branches",
  "stage4 fuse",
  "heads",
  "other",
)


def reference_profile(job: dict) -> dict:
  """ms per part of one forward: forward hooks time the reference's modules
  (a stage's fuse time is the stage's minus its branches')."""
  import collections

  import torch

  torch.set_grad_enabled(False)
  cfg = _reference_config(job["reference"], job["arch"])
  from models.pose_higher_hrnet import PoseHigherResolutionNet

  model = PoseHigherResolutionNet(cfg).eval()
  size = cfg.DATASET.INPUT_SIZE
  x = torch.randn(job["batch"], 3, size, size)
  spent, started = collections.Counter(), {}

  def hook(name):
    def pre(module, inputs):
      started[name] = time.perf_counter()

    def post(module, inputs, output):
      spent[name] += time.perf_counter() - started[name]

    return pre, post

  timed = [n for n, _ in model.named_children() if not n.startswith(("stage", "relu"))]
  timed = [n for n in timed if not isinstance(getattr(model, n), torch.nn.ModuleList)]
  for name, child in model.named_children():
    if isinstance(child, torch.nn.ModuleList):
      timed += [f"{name}.{i}" for i, c in enumerate(child) if c is not None]
    if name.startswith("stage"):
      for m, module in enumerate(child):
        timed.append(f"{name}.{m}")
        timed += [f"{name}.{m}.branches.{b}" for b in range(len(module.branches))]
  modules = dict(model.named_modules())
  for name in timed:
    pre, post = hook(name)
    modules[name].register_forward_pre_hook(pre)
    modules[name].register_forward_hook(post)
  for _ in range(job["warmup"]):
    model(x)
  spent.clear()
  start = time.perf_counter()
  for _ in range(job["runs"]):
    model(x)
  total = (time.perf_counter() - start) / job["runs"] * 1e3
  parts = collections.Counter()
  for name, seconds in spent.items():
    ms = seconds / job["runs"] * 1e3
    if name.startswith("stage") and ".branches." not in name:
      parts[f"{name.split('.')[0]} fuse"] += ms  # the branches' time is taken off below
    elif ".branches." in name:
      stage = name.split(".")[0]
      parts[f"{stage} branches"] += ms
      parts[f"{stage} fuse"] -= ms
    else:
      parts[_part(name)] += ms
  parts["other"] += total - sum(parts.values())
  return {"total_ms": total, "parts": dict(parts)}


def conv_shares(hlo_text: str) -> dict[str, dict[str, float]]:
  """{op: {module path: share}} for the ops of a compiled HLO module that hold
  convolutions (a fusion often holds several, from different modules): each
  convolution's share of the op's multiply-adds, named by its `op_name`."""
  import re

  shapes, convs, calls = {}, {}, {}
  computation = None
  for line in hlo_text.splitlines():
    header = re.match(r"(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
    if header and not line.startswith(" "):
      computation = header.group(1)
      continue
    inst = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = \w+\[([\d,]*)\]", line)
    if not inst:
      continue
    name, dims = inst.group(1), [int(d) for d in inst.group(2).split(",") if d]
    shapes[computation, name] = dims
    called = re.search(r"calls=%?([\w.\-]+)", line)
    if called:
      calls[name] = called.group(1)
    conv = re.search(r" convolution\(%?[\w.\-]+, %?([\w.\-]+)\).*dim_labels=\w+_(\w+)->", line)
    source = re.search(r'op_name="([^"]+)"', line)
    if conv and source:
      kernel = shapes.get((computation, conv.group(1)), [])
      out_features = kernel[conv.group(2).index("o")] if kernel else 1
      macs = math.prod(dims) * math.prod(kernel) / out_features
      path = "/".join(p for p in source.group(1).split("/") if not p.startswith("jit("))
      convs.setdefault(computation, []).append((path, macs))
  shares = {}
  for op, computation in calls.items():
    if computation in convs:
      total = sum(m for _, m in convs[computation])
      share = shares.setdefault(op, {})
      for path, macs in convs[computation]:
        share[path] = share.get(path, 0.0) + macs / total
  return shares


def ours_profile(job: dict) -> dict:
  """ms per part of one forward from a jax.profiler trace of the predictor's
  network (batch norm folded, the inference compiler options)."""
  import collections

  import jax
  import jax.numpy as jnp

  from bench.profile_student import op_sources, op_times_ms
  from rtpe_jax.inference import predictor, protocol
  from rtpe_jax.models import ARCHS, HigherHRNet

  module = HigherHRNet(config=ARCHS[job["arch"]])
  size = module.config.input_size
  variables = jax.jit(module.init)(jax.random.key(1), jnp.zeros((1, size, size, 3)))
  model = predictor.from_module(module, variables)
  forward = jax.jit(model.network, compiler_options=protocol.compiler_options())
  x = jax.random.randint(jax.random.key(0), (job["batch"], size, size, 3), 0, 256).astype(jnp.uint8)
  hlo = forward.lower(model.variables, x).compile().as_text()
  sources, shares = op_sources(hlo), conv_shares(hlo)
  for _ in range(job["warmup"] + 1):
    jax.block_until_ready(forward(model.variables, x))
  start = time.perf_counter()
  for _ in range(job["runs"]):
    jax.block_until_ready(forward(model.variables, x))
  total = (time.perf_counter() - start) / job["runs"] * 1e3
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
      for _ in range(job["runs"]):
        jax.block_until_ready(forward(model.variables, x))
    times = op_times_ms(trace_dir, job["runs"])
  parts = collections.Counter()
  for op, ms in times.items():
    for path, share in shares.get(op, {sources.get(op): 1.0}).items():
      if path is not None:
        parts[_part(path)] += ms * share
  # The traced run is slower than the timed one (the profiler's cost): the parts
  # keep their shares of the traced time, scaled to the timed forward.
  scale = total / sum(parts.values())
  return {"total_ms": total, "parts": {part: ms * scale for part, ms in parts.items()}}


def profile_table(reference: dict, ours: dict, arch: str, batch: int, machine: str, date: str):
  """Markdown: ms per part of each side and the ratio."""
  lines = [
    f"HigherHRNet {arch.replace('_', '-').upper()} float32 forward, batch {batch}, by part "
    f"of the network; {date}, {machine}. Whole forward: reference "
    f"{reference['total_ms']:.1f} ms, rtpe-jax {ours['total_ms']:.1f} ms. Ours: each "
    "compiled op's traced time, a fusion's split over its convolutions by multiply-adds, "
    "scaled to the timed forward.",
    "",
    "| part | PyTorch reference ms | rtpe-jax ms | ratio |",
    "| --- | --- | --- | --- |",
  ]
  for part in PARTS:
    r, o = reference["parts"].get(part, 0.0), ours["parts"].get(part, 0.0)
    ratio = f"{r / o:.2f}x" if o > 0.05 and r > 0.05 else "-"
    lines.append(f"| {part} | {r:.1f} | {o:.1f} | {ratio} |")
  return "\n".join(lines) + "\n"


WORKERS = {
  ("reference", "forward"): reference_forward,
  ("reference", "grouping"): reference_grouping,
  ("ours", "forward"): ours_forward,
  ("ours", "grouping"): ours_grouping,
  ("reference", "profile"): reference_profile,
  ("ours", "profile"): ours_profile,
  ("reference", "protocol"): reference_protocol,
  ("ours", "protocol"): ours_protocol,
}


def run_job(job: dict) -> dict:
  """One measurement in a fresh process: `python -m bench.vs_pytorch --job JSON`."""
  out = subprocess.run(
    [sys.executable, "-m", "bench.vs_pytorch", "--job", json.dumps(job)],
    capture_output=True,
    text=True,
    cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
  )
  if out.returncode:
    raise RuntimeError(f"{job['side']} {job['what']} failed:\n{out.stderr[-3000:]}")
  return json.loads(out.stdout.strip().splitlines()[-1])


# ---- the comparison -------------------------------------------------------------------------


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


def compare(rows: list[dict], rounds: int, run=run_job, log=print) -> list[dict]:
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


def _write_protocol_fixture(path: str, reference: dict) -> None:
  """The reference's people per case (P, 17, 3) and scores, with each case's maps'
  sum (so that a test can tell that it made the same maps)."""
  import numpy as np

  arrays = {"cases": np.asarray(PROTOCOL_CASES, np.int64)}
  for case, r in enumerate(reference["cases"]):
    arrays[f"case{case}_people"] = np.asarray(r["people"], np.float64).reshape(-1, 17, 3)
    arrays[f"case{case}_scores"] = np.asarray(r["scores"], np.float64)
    arrays[f"case{case}_maps_sum"] = np.array(
      [float(np.sum(m, dtype=np.float64)) for m in protocol_maps(case).values()]
    )
  np.savez_compressed(path, **arrays)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--reference", help="a clone of the public HigherHRNet repository")
  parser.add_argument("--only", choices=["forward", "grouping", "protocol"])
  parser.add_argument("--fixture", help="with --only protocol: write the reference's people here")
  parser.add_argument("--profile", choices=list(EXPERIMENTS), help="time by part of the network")
  parser.add_argument("--archs", nargs="+", default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
  parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
  parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
  parser.add_argument("--people", nargs="+", type=int, default=[1, 5, 20])
  parser.add_argument("--rounds", type=int, default=2)
  parser.add_argument("--runs", type=int, default=3, help="timed forward calls per measurement")
  parser.add_argument("--grouping-runs", type=int, default=20)
  parser.add_argument("--warmup", type=int, default=1)
  parser.add_argument("--out", help="write the table (markdown) here")
  parser.add_argument("--job", help=argparse.SUPPRESS)  # a worker process's one measurement
  args = parser.parse_args(argv)
  if args.job:
    job = json.loads(args.job)
    print(json.dumps(WORKERS[job["side"], job["what"]](job)))
    return
  if not args.reference or not os.path.isdir(os.path.join(args.reference, "lib")):
    parser.error(
      f"--reference {args.reference}: give a clone of the public HigherHRNet "
      "repository (a directory with lib/ and experiments/)"
    )
  from bench.common import machine

  if args.only == "protocol":
    job = {"what": "protocol", "reference": args.reference}
    results = {side: run_job({**job, "side": side}) for side in ("reference", "ours")}
    worst = compare_protocols(results["reference"], results["ours"])
    for case, r in zip(PROTOCOL_CASES, results["reference"]["cases"]):
      print(f"{case[1]}x{case[0]} at {case[2]}, flip {case[3]}: {len(r['people'])} people")
    print(f"largest difference of our people to the reference's: {worst:.2e} px")
    if args.fixture:
      _write_protocol_fixture(args.fixture, results["reference"])
      print(f"wrote {args.fixture}")
    if not worst <= 0.01:
      raise SystemExit("the protocols disagree")
    return
  if args.profile:
    job = {"what": "profile", "arch": args.profile, "batch": args.batches[0]}
    job.update(runs=args.runs, warmup=args.warmup, reference=args.reference)
    results = {side: run_job({**job, "side": side}) for side in ("reference", "ours")}
    text = profile_table(
      results["reference"],
      results["ours"],
      args.profile,
      args.batches[0],
      machine(),
      time.strftime("%Y-%m-%d"),
    )
    print(text)
    return
  with tempfile.TemporaryDirectory() as maps_dir:
    args.maps_dir = maps_dir
    if args.only in (None, "grouping"):
      write_maps(maps_dir, args.people)
    rows = compare(measurements(args), args.rounds)
  text = table(rows, machine(), time.strftime("%Y-%m-%d"))
  print(text)
  if args.out:
    with open(args.out, "w") as f:
      f.write(
        f"# rtpe-jax against the PyTorch reference\n\n`python -m bench.vs_pytorch "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n{text}"
      )


if __name__ == "__main__":
  main()
