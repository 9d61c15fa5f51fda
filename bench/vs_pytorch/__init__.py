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
people there (tests/fixtures/protocol_reference.npz, which tests/inference/test_protocol.py
checks our protocol against without the reference).

`--profile ARCH`: where each side spends a float32 forward, by part of the
network (stem, layer1, each stage's branches and fuse layers, transitions,
heads), both sides in their own process: the reference with forward hooks on
its modules (PyTorch runs op by op, so a module's wall time is its ops'), ours
from a jax.profiler trace, each compiled op (fusion, convolution) attributed to
the flax module it came from (`bench.profile_student.op_sources`).

Modules: `jobs` (a measurement in its own process, the reference's config),
`speed` (the forward and grouping rows), `protocol` (the test protocols' people
compared), `fixture` (the reference's people written for the tests),
`by_part` (the forward by part of the network), `__main__` (the command line).
"""
