"""The student exported as it was scored: a TensorFlow SavedModel and TFLite
flatbuffers (float32, float16 weights), via jax2tf.

  python -m rtpe_jax.export --model out/quickstart/export --out out/export
  python -m rtpe_jax.export --model out/quickstart/export --out out/export \
      --coco data/synthetic --split val2017   # and each format's AP beside the JAX path's

writes OUT/saved_model/, OUT/student_float32.tflite, OUT/student_float16.tflite
and OUT/export.json, checks each one's outputs against JAX on a test picture
(exit status 1 beyond `TOLERANCE`) and, with --coco, scores each one with
COCOeval next to the JAX path (`predict` with the published protocol's exact
input, what the trainer scores).

What the model directory was scored with travels with it (arch.json, written by
the trainer): the protocol's input size, the flip test and the grouping
thresholds; the fine head is part of the network. The export takes them from
there (flags only override) and runs the published protocol's device part on
fixed canvases, one signature each: the protocol-resized image
(`protocol.protocol_resize`, the shorter side at the input size, the longer
rounded up to 64) goes to the smallest canvas that holds it, padded at the
bottom and right with the mean colour where it is smaller. An image whose
protocol size is a canvas runs exactly the scored protocol (a padded one does
not: the network sees the padding near the edges). The default canvases are
every protocol size whose longer side is 1 to 1.5 x the input size (aspect
ratios up to 3:2, both ways: 5 at 256, 9 at 512); `--canvas HxW` chooses others,
e.g. the one size of a camera's frames.

Each signature `canvas_HxW` takes `images` (B, H, W, 3) uint8 and `valid_hw`
(B, 2) int32, each image's protocol size (h, w) inside the canvas, and returns,
at the canvas resolution:
  heatmaps (B, H, W, J) float32: every output's heatmaps averaged (the fine
    head's too), over the flip run as well, zero beyond valid_hw;
  tags (B, H, W, T, D) float32 (D = 2 with the flip test);
  values (B, J, K), x (B, J, K), y (B, J, K) int32: the K strongest NMS peaks
    per joint, and their tags tags_at (B, J, K, D);
  depth (B, H/4, W/4, 18) float32 of a 3D student (`rtpe_jax.depth`: read at the
    grouped joints with `depth.read_people`), averaged over the flip run.
Grouping and the way back to the image stay on the host
(`exported_people`: `grouping.group_candidates`, `protocol.people_in_image`).
The network, flip and NMS are JAX (jax2tf); the top-k and the gather of the
tags are TensorFlow ops in the same graph: jax's `lax.top_k` and `lax.sort`
lower to StableHLO that TensorFlow 2.21's TFLite converter cannot read, while
`tf.math.top_k` is a TFLite built-in. `graph.jax_candidates` is the same step in JAX.

Modules: `settings` (what an export is made with), `graph` (the function and its
TensorFlow graph), `formats` (SavedModel, TFLite: writing, loading, running),
`parity` (each format against JAX), `scoring` (each format's COCO AP), and the
command line (`__main__`).
"""
