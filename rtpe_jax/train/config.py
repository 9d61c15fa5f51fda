"""The whole config schema with its defaults: what `train.py --config` files
override (configs/). Importable without TensorFlow: the train step, the
benchmarks and a GPU machine read configs without the input pipeline.

  config.data       the input pipeline (`data_config`: COCO root, crops, strides,
                    targets, teacher store, augmentation)
  config.model      the student (`StudentConfig` fields) or the teacher's arch
  config.loss       loss weights (`train_step.default_loss_config`)
  config.optimizer  optimizer, schedule, parameter groups (`optim.default_config`)
  config.eval       the evaluation's protocol, metrics and pictures
  config.init       weights copied in before training

`rtpe_jax.train.config_checks.check` validates a config before training starts.
"""

from __future__ import annotations

import ml_collections

from rtpe_jax.data import augment, schema
from rtpe_jax.models.student import StudentConfig
from rtpe_jax.train import optim, train_step


def data_config() -> ml_collections.ConfigDict:
  """The input pipeline's settings (`rtpe_jax.data.pipeline`)."""
  return ml_collections.ConfigDict(
    dict(
      root="data/synthetic",  # COCO layout: images/{split}/, annotations/
      train_split="train2017",
      eval_split="val2017",
      train_ids="",  # optional file of image ids to train on (default: every image with people)
      train_count=0,  # > 0: only the first N of those images (by id), e.g. a smaller labelled set
      eval_ids="",  # optional file of image ids (e.g. a minival list)
      tfds_dir="",  # read the TFDS build (`tfds_coco`) in this data_dir instead of `root`
      input_size=512,
      output_strides=(4, 2),
      sigmas=(2.0,),
      tag_stride=4,
      max_people=schema.MAX_PEOPLE,
      depth=False,  # 3D data: depth targets for a student with depth maps (`rtpe_jax.depth`)
      depth_stride=4,
      teacher_store="",  # directory written by infer_teacher.py; "" for none
      teacher_stride=4,
      skip_missing_teacher=False,  # False: a missing/corrupt entry is an error
      # Unlabelled images (rtpe_jax.data.unlabelled): a share `fraction` of the samples
      # from `images`, their targets the teacher's maps and people stored in
      # `predictions` by infer_teacher.py --images IMAGES --out PREDICTIONS --people
      # (loss.alpha_unlabelled); people and joints below the scores are not targets;
      # `count` > 0 reads only the first count images.
      unlabelled=dict(
        images="",
        predictions="",
        fraction=0.0,
        min_score=0.2,
        min_joint_score=0.1,
        count=0,
      ),
      augment=augment.default_config(),
      colour_space="",  # "", "lab" or "hsv": the student's second input, made on the device
      # from the uint8 crop (rtpe_jax.preprocess.network_inputs)
      batch_size=16,
      seed=0,
      prefetch=2,
    )
  )


def default_config() -> ml_collections.ConfigDict:
  """Settings every config shares; configs/ override them."""
  config = ml_collections.ConfigDict()
  config.task = "student"
  config.seed = 0
  config.precision = "float32"  # "float32", "bfloat16" (compute; params float32) or "float16"
  config.total_steps = 1000
  config.log_every = 50
  config.checkpoint_every = 500
  config.keep_checkpoints = 2
  config.eval_every = 500  # minival AP (0: only at the end)
  config.histogram_every = 0  # parameter and gradient histograms (0: never)
  config.image_every = 0  # input, targets and outputs as pictures (0: never)
  config.max_nonfinite = 20  # stop after this many skipped steps in a row
  config.target_ap = 0.0  # the AP a config is meant to reach: the closing table says if it did
  config.target_segmentation_iou = 0.0  # the same for the person segmentation (phase 1)
  config.devices = 0  # use the first N local devices (0: all)
  config.data = data_config()
  config.model = ml_collections.ConfigDict()
  config.model.student = StudentConfig().to_dict()  # task "student": update these
  # task "teacher": config.model.arch = a name in ARCHS or a dict of HRNetConfig fields
  config.loss = train_step.default_loss_config()
  config.optimizer = optim.default_config()
  config.attention = ml_collections.ConfigDict(dict(divisor=20.0, steps=0))  # steps 0: off
  config.init = ml_collections.ConfigDict(
    dict(
      teacher="",  # converted teacher model dir: its stem into the student's teacher_stem
      model="",  # an exported model dir: every variable of the same path and shape
    )
  )
  config.eval = ml_collections.ConfigDict(
    dict(
      split="",
      ids="",
      max_images=0,  # split "" = data.eval_split; ids: a file of ids
      input_size=0,
      flip=True,
      scales=(1.0,),  # input_size 0 = data.input_size
      overlays=4,  # pictures of the people found in the first N images, at the end
      overlay_min_score=0.2,  # people drawn in them from this score (mean joint value) up
      # The grouping's thresholds (`grouping.GroupingConfig`; HigherHRNet's 0.1 and 1.0).
      detection_threshold=0.1,
      tag_threshold=1.0,
      # "keypoints": COCO AP by the test protocol; "segmentation": the person
      # segmentation's IoU, precision and recall (a student's attention branch).
      # The best checkpoint is chosen by AP, or by the IoU without "keypoints".
      metrics=("keypoints",),
    )
  )
  return config
