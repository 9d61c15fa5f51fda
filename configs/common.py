"""What the synthetic-data configs share (quickstart, teacher_synthetic,
distill_synthetic): the data and its crops, the loss weighting, the optimizer
and schedule, the evaluation; and the `runlocal` shrink for smoke runs."""

import ml_collections


def synthetic(config: ml_collections.ConfigDict, steps: int) -> ml_collections.ConfigDict:
  """`config` set up for `steps` steps on the synthetic dataset (data/synthetic)."""
  config.total_steps = steps
  config.data.root = "data/synthetic"
  config.data.input_size = 192
  config.data.sigmas = (2.0,)
  config.data.batch_size = 16
  config.data.augment.max_rotation = 15.0  # milder than COCO training: a short CPU run
  # Crops of 0.6-1.0 x the 256-px side onto 192 px: figures at 0.75-1.25 of their
  # size, centred on the evaluation's 1.0 (docs/learning.md).
  config.data.augment.min_scale = 0.6
  config.data.augment.max_scale = 1.0

  config.loss.heatmap = 1000.0  # MSE on 2-px Gaussians is tiny; scale it to the other terms
  config.loss.ohkm_top = 8  # online hard keypoint mining: the 8 hardest joints per sample
  config.loss.push_pull = 1.0

  config.optimizer.name = "adam"
  config.optimizer.frozen = ()
  # Gradient norms run 300-2300 in the first steps and 10-40 later: 100 only
  # catches the rare spikes (unclipped, a run can diverge).
  config.optimizer.clip_norm = 100.0
  config.optimizer.schedule = dict(
    kind="cosine",
    peak=3e-3,
    floor=1e-5,
    period=steps,
    warmup=50,
    peak_decay=1.0,
    floor_decay=1.0,
    period_mult=1.0,
  )
  config.eval.flip = True
  config.eval.input_size = 256  # the synthetic images' own height
  # Candidates below 0.3 start no people: a short run's heatmaps are noisy, and
  # weak peaks made spurious people that took joints from real ones (chosen on 64
  # training images with the quickstart student: docs/learning.md).
  config.eval.detection_threshold = 0.3
  return config


def runlocal(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A seconds-long smoke run of `config` (the tests run these)."""
  config.total_steps = 6
  config.log_every = 2
  config.checkpoint_every = 3
  config.eval_every = 3
  config.image_every = 3
  config.histogram_every = 3
  config.data.batch_size = 2
  config.eval.max_images = 2
  config.eval.overlays = 1
  return config
