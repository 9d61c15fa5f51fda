"""A small HigherHRNet trained from ground truth on the synthetic dataset.

  python train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
  python infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
      --split train2017 --out out/teacher_synthetic/predictions --input-size 256

It stands in for the published W48 (not on these machines), so that distillation
can be shown end to end (`configs/distill_synthetic.py`). HigherHRNet's loss
(heatmaps at 1/4 and 1/2, associative embedding at 1/4) with the quickstart's
weighting, hard-joint mining and Adam schedule, and HigherHRNet's near-zero
init of the heatmap heads (without it this short run collapsed to all-zero
heatmaps, README). W16-like widths, one module per stage, the quickstart's
192-px crops. The README gives its cost and AP on a 2-core CPU (1500 steps,
about 52 minutes on a shared machine). `get_config("runlocal")`: a
seconds-long smoke run.
"""

import ml_collections

from rtpe_jax import trainer


def small_arch() -> dict:
  """HRNetConfig fields of the small teacher (the published W48 has 8x its width)."""
  return dict(
      stages=[dict(num_modules=1, num_blocks=(1, 1), num_channels=(16, 32)),
              dict(num_modules=1, num_blocks=(1, 1, 1), num_channels=(16, 32, 64)),
              dict(num_modules=1, num_blocks=(1, 1, 1, 1), num_channels=(16, 32, 64, 128))],
      deconv_channels=(16,), deconv_kernels=(4,), deconv_cat=(True,), with_ae=(True, False),
      deconv_blocks=1, final_kernel=1, tag_per_joint=True, num_joints=17, stem_channels=32,
      layer1_blocks=1, layer1_planes=16, name="synthetic_w16", input_size=256)


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  config = trainer.default_config()
  config.task = "teacher"
  config.total_steps = 1500
  config.log_every = 50
  config.checkpoint_every = 250
  config.eval_every = 750
  config.image_every = 250

  config.data.root = "data/synthetic"
  config.data.input_size = 192  # the quickstart's crops and augmentation
  config.data.output_strides = (4, 2)  # the order of HigherHRNet's outputs
  config.data.sigmas = (2.0,)
  config.data.batch_size = 16
  config.data.augment.max_rotation = 15.0
  config.data.augment.min_scale = 0.9
  config.data.augment.max_scale = 1.4

  config.model.arch = small_arch()
  config.loss.heatmap = 1000.0  # the quickstart's loss: see its config
  config.loss.push_pull = 1.0
  config.loss.ohkm_top = 8

  config.optimizer.name = "adam"
  config.optimizer.frozen = ()
  config.optimizer.clip_norm = 5.0
  config.optimizer.schedule = dict(kind="cosine", peak=3e-3, floor=1e-5, period=1500,
                                   warmup=50, peak_decay=1.0, floor_decay=1.0, period_mult=1.0)
  config.attention = dict(divisor=1.0, steps=0)
  config.eval.flip = True
  config.eval.input_size = 256  # the synthetic images' own height

  if arg == "runlocal":
    config.total_steps = 4
    config.log_every = 2
    config.checkpoint_every = 2
    config.eval_every = 0
    config.image_every = 0
    config.data.input_size = 64
    config.eval.input_size = 64
    config.data.batch_size = 2
    config.eval.max_images = 2
    config.eval.overlays = 1
  return config
