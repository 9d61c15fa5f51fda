"""Latency, interleaved: every timed call takes its turn in each round, so a slow
spell of the machine falls on all of them alike; the medians over the rounds are
reported. Plain Python (no JAX import): the same harness times ONNX Runtime in an
environment of its own."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def interleaved_medians(
  calls: dict[str, Callable[[], object]],
  rounds: int,
  warmup: int = 2,
  wait: Callable[[object], object] = lambda result: result,
) -> dict[str, float]:
  """Median milliseconds of each of `calls` over `rounds` rounds, after `warmup`
  calls each; `wait(result)` waits for a call's work to end (for JAX:
  `jax.block_until_ready`)."""
  for fn in calls.values():
    for _ in range(warmup):
      wait(fn())
  times = {name: [] for name in calls}
  for _ in range(rounds):
    for name, fn in calls.items():
      start = time.perf_counter()
      wait(fn())
      times[name].append(1e3 * (time.perf_counter() - start))
  return {name: statistics.median(t) for name, t in times.items()}


def student_calls(model_dirs: dict[str, str], sizes=(256, 512)) -> dict[str, Callable]:
  """For each named model directory and size: "NAME network S" (the jitted
  network on a (1, S, S, 3) uint8 image: preprocessing, maps; batch norm folded,
  float32) and "NAME path S" (a benchmark scene S px tall to people: resize and pad,
  the network with NMS and top-k, the grouping, the flip test as the model is
  scored), each compiled before it is timed."""
  import jax
  import numpy as np

  from rtpe_jax.data.synthetic import benchmark
  from rtpe_jax.inference import predictor

  seed = benchmark.SPLITS[benchmark.BENCHMARK][0]
  calls = {}
  for name, model_dir in model_dirs.items():
    for size in sizes:
      model = predictor.load(model_dir, input_size=size)
      network = jax.jit(model.network)
      images = np.zeros((1, size, size, 3), np.uint8)
      scene = np.asarray(benchmark.make_image(seed, benchmark.BENCHMARK, 0, size)[0])
      calls[f"{name} network {size}"] = lambda n=network, m=model, x=images: n(m.variables, x)
      calls[f"{name} path {size}"] = lambda m=model, s=scene: predictor.predict_image(
        m, s, flip=m.flip
      )
  return calls


def untrained_network_calls(configs: dict, sizes=(256, 512)) -> dict[str, Callable]:
  """ "NAME network S" for each named training config's model with random weights
  (batch norm folded, float32, a (1, S, S, 3) uint8 image): a network's time does
  not depend on its weights, so a candidate without a trained export here is timed
  too (its whole path, which depends on what it finds, is not)."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  from rtpe_jax.inference import predictor
  from rtpe_jax.models import weights
  from rtpe_jax.train import model_factory

  calls = {}
  for name, config in configs.items():
    module = model_factory.build_model(config)
    x = jnp.zeros((1, 64, 64, weights.input_channels(module)))
    variables = jax.jit(lambda x, m=module: m.init(jax.random.key(0), x))(x)
    model = predictor.from_module(module, variables)
    network = jax.jit(model.network)
    for size in sizes:
      images = np.zeros((1, size, size, 3), np.uint8)
      calls[f"{name} network {size}"] = lambda n=network, m=model, x=images: n(m.variables, x)
  return calls
