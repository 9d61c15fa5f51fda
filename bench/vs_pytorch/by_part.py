"""Where each side spends a float32 forward, by part of the network (stem,
layer1, each stage's branches and fuse layers, transitions, heads): the
reference with forward hooks on its modules, ours from a jax.profiler trace."""

from __future__ import annotations

import math
import tempfile
import time

from bench.vs_pytorch import jobs


def part_of(path: str) -> str:
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
  cfg = jobs.reference_config(job["reference"], job["arch"])
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
      parts[part_of(name)] += ms
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
        parts[part_of(path)] += ms * share
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
