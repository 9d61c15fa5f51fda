"""Trains a student (or a small teacher, or the 3D lifter) from a config.

  python train.py --config configs/quickstart.py --workdir out/quickstart
  python train.py --config configs/distill_coco_w48.py:phase2 --workdir out/w48_phase2 \
      --config.data.batch_size=64

Any config entry can be overridden with --config.KEY=VALUE. Re-running with the
same workdir resumes. Several hosts: one process each with --multiprocess
(jax.distributed.initialize; coordinator from the cluster or the JAX_* variables).
"""

import logging as std_logging
import os
import time

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from rtpe_jax.inference import coco_metrics
from rtpe_jax.train import config as config_lib
from rtpe_jax.train import loop

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "configs/NAME.py[:ARG]", lock_config=True)
flags.DEFINE_string("workdir", None, "checkpoints, TensorBoard logs and the exported model")
flags.DEFINE_bool("multiprocess", False, "initialise jax.distributed (one process per host)")
flags.mark_flags_as_required(["config", "workdir"])


class _QuietOrbax(std_logging.Filter):
  """orbax logs every step of every save at INFO: keep its warnings only."""

  def filter(self, record):
    return record.levelno >= std_logging.WARNING or "orbax" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  std_logging.getLogger("absl").addFilter(_QuietOrbax())
  if FLAGS.multiprocess:
    jax.distributed.initialize()
  logging.info("devices: %s", jax.devices())
  start = time.perf_counter()
  if FLAGS.config.get("task") == "lifting":
    _train_lifter(FLAGS.config, FLAGS.workdir, start)
    return
  try:
    stats = loop.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except config_lib.ConfigError as err:  # before any data is read or code compiled
    raise SystemExit(f"train.py: {err}") from None
  if jax.process_index() == 0:
    workdir = os.path.abspath(FLAGS.workdir)
    config = FLAGS.config
    print(
      f"\nminival ({config.eval.split or config.data.eval_split}), "
      f"{(time.perf_counter() - start) / 60:.1f} min in train.py:"
    )
    print(coco_metrics.format_table(stats))
    for metric, target in (
      ("AP", config.target_ap),
      ("segmentation_iou", config.target_segmentation_iou),
    ):
      if target and metric in stats:
        verdict = "reached" if stats[metric] >= target else "NOT reached"
        print(f"target {metric} >= {target:.2f}: {verdict} ({metric} {stats[metric]:.4f})")
    print(f"TensorBoard logs: tensorboard --logdir {workdir}")
    best = "AP" if "keypoints" in config.eval.metrics else "segmentation IoU"
    print(f"checkpoints:      {workdir}/checkpoints (best by {best}: {workdir}/best)")
    print(f"exported model:   {workdir}/export")
    print(f"overlays:         {workdir}/overlays")


def _train_lifter(config, workdir: str, start: float) -> None:
  """configs/lifting.py: the lifter's own loop (rtpe_jax/threed/lifter_training.py)."""
  from rtpe_jax.threed import lifter_training

  try:
    stats = lifter_training.train_and_evaluate(config, workdir)
  except config_lib.ConfigError as err:
    raise SystemExit(f"train.py: {err}") from None
  workdir = os.path.abspath(workdir)
  minutes = (time.perf_counter() - start) / 60
  print(f"\nvalidation people from exact 2D, {minutes:.1f} min in train.py:")
  print(lifter_training.format_table(stats))
  print(f"TensorBoard logs: tensorboard --logdir {workdir}")
  print(f"exported model:   {workdir}/export")


if __name__ == "__main__":
  app.run(main)
