"""Shared fixtures: the tiny HigherHRNet reference (tests/fixtures/hhrnet_tiny.*), small
synthetic datasets and stores, perfect networks."""

import json
import os

# One persistent XLA compilation cache for the session's workers and the
# commands the tests run (inherited through the environment): the same student,
# step and teacher programs compile once a run instead of once a test. Inside
# the clone, so a fresh clone starts empty; set before JAX is first imported.
os.environ.setdefault(
  "JAX_COMPILATION_CACHE_DIR",
  os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".pytest_cache", "jax"),
)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from configs import quickstart  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "fixtures")  # the reference fixtures
TINY_PTH = os.path.join(DATA, "hhrnet_tiny.pth")


@pytest.fixture(scope="session")
def tiny_reference():
  """Input and outputs of the PyTorch reference, as NHWC arrays."""
  ref = np.load(os.path.join(DATA, "hhrnet_tiny.npz"))
  to_nhwc = lambda a: a.transpose(0, 2, 3, 1)
  return {
    "input": to_nhwc(ref["input_nchw"]),
    "outputs": [to_nhwc(ref["output_0_nchw"]), to_nhwc(ref["output_1_nchw"])],
  }


@pytest.fixture(scope="session")
def tiny_arch_json():
  with open(os.path.join(DATA, "hhrnet_tiny.json")) as f:
    return json.load(f)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
  """The tiny checkpoint converted once per session."""
  from rtpe_jax.models.conversion import convert_checkpoint

  out = str(tmp_path_factory.mktemp("models") / "hhrnet_tiny")
  convert_checkpoint(TINY_PTH, out)
  return out


def relative_error(a, b) -> float:
  """max |a - b| / max |b|."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
  """A small synthetic COCO-format dataset: 24 training and 8 validation images."""
  from rtpe_jax.data.synthetic import writer as synthetic_writer

  out = str(tmp_path_factory.mktemp("synthetic"))
  synthetic_writer.write_split(out, "train2017", 24, seed=5, workers=1)
  synthetic_writer.write_split(out, "val2017", 8, seed=5, workers=1)
  return out


@pytest.fixture(scope="session")
def synthetic_store(synthetic_root, tmp_path_factory):
  """A teacher store of ground-truth stand-in maps for every synthetic image."""
  from rtpe_jax.data import ground_truth_teacher

  out = str(tmp_path_factory.mktemp("store") / "teacher")
  return ground_truth_teacher.write_stand_in_store(
    synthetic_root, ("train2017", "val2017"), out, shard_size=10
  )


def tiny_train_config(root: str, task: str = "student"):
  """A trainer config small enough to compile and run in seconds on a CPU."""
  from rtpe_jax.train import config as config_lib

  config = config_lib.default_config(task)
  config.total_steps = 4
  config.log_every = 1
  config.checkpoint_every = 2
  config.eval_every = 0
  config.data.root = root
  config.data.input_size = 64
  config.data.output_strides = (4,)
  config.data.sigmas = (2.0,)
  config.data.batch_size = 2
  if task == "student":
    config.model.student.update(
      dict(
        stem="own",
        own_stem_channels=(8, 8),
        stem_features=16,
        channels=8,
        segmentation_channels=4,
        dilations=(1, 2),
        detector_steps=1,
        colour_channels=4,
        colour_space="lab",
        tag_channels=1,
      )
    )
  config.loss.alpha = 0.0
  config.loss.heatmap = 100.0
  config.optimizer.frozen = ()
  config.optimizer.schedule = dict(
    kind="constant",
    peak=3e-3,
    floor=0.0,
    period=1,
    warmup=0,
    peak_decay=1.0,
    floor_decay=1.0,
    period_mult=1.0,
  )
  config.eval.max_images = 1
  config.eval.overlays = 1
  return config


@pytest.fixture(scope="session")
def fixed_batch(synthetic_root):
  """One training batch (4 samples of 64 px, targets at 1/4) of the synthetic data."""
  from rtpe_jax.data import pipeline

  config = tiny_train_config(synthetic_root)
  config.data.batch_size = 4
  return next(iter(pipeline.train_dataset(config.data).take(1).as_numpy_iterator()))


def perturbed_variables(variables: dict, seed: int = 0) -> dict:
  """`variables` with random parameters and batch statistics (positive variances):
  a stand-in for a trained model, where folding batch norm is not trivial."""
  import jax
  from flax import traverse_util

  rng = np.random.default_rng(seed)
  out = {}
  for collection, tree in variables.items():
    flat = traverse_util.flatten_dict(tree)
    out[collection] = traverse_util.unflatten_dict(
      {
        k: np.asarray(
          rng.uniform(0.5, 2.0, a.shape)
          if k[-1] == "var"
          else (a if a.ndim > 1 else 0) + rng.normal(0, 0.3, a.shape),
          np.float32,
        )
        for k, a in flat.items()
      }
    )
  return jax.tree.map(np.asarray, out)


def _small_hrnet():
  from rtpe_jax.models import HRNetConfig, StageConfig

  return HRNetConfig(
    stages=(StageConfig(1, (1, 1), (8, 16)), StageConfig(1, (1, 1, 1), (8, 16, 24))),
    deconv_channels=(8,),
    deconv_kernels=(4,),
    deconv_cat=(True,),
    with_ae=(True, False),
    deconv_blocks=1,
    stem_channels=16,
    layer1_blocks=1,
    layer1_planes=8,
  )


SMALL_HRNET = _small_hrnet()  # two stages, one block each: compiles in seconds

QUICKSTART_STUDENT = quickstart.student()  # the one definition, configs/quickstart.py


@pytest.fixture(scope="session")
def quickstart_student_dir(tmp_path_factory):
  """A model directory holding the quickstart student with random weights."""
  import jax
  import jax.numpy as jnp

  from rtpe_jax.models import student, weights

  cfg = student.StudentConfig(**QUICKSTART_STUDENT)
  module = student.AttentionStudent(config=cfg)
  variables = module.init(jax.random.key(0), jnp.zeros((1, 64, 64, 6)))
  out = str(tmp_path_factory.mktemp("models") / "quickstart_student")
  weights.save_model(
    out, perturbed_variables(variables), {"model": "attention_student", "config": cfg.to_dict()}
  )
  return out


@pytest.fixture(scope="session")
def quickstart_root(tmp_path_factory):
  """The quickstart's synthetic split: seed 0, 64 val images (and 16 train images)."""
  from rtpe_jax.data.synthetic import writer as synthetic_writer

  out = str(tmp_path_factory.mktemp("quickstart_data"))
  synthetic_writer.write_split(out, "train2017", 16, seed=0, workers=1)
  synthetic_writer.write_split(out, "val2017", 64, seed=0, workers=1)
  return out


def perfect_maps(joints, hw, stride: int, with_tags: bool = True, sigma: float = 2.0):
  """What a perfect network outputs for an input of `hw` (h, w) holding `joints`
  (P, 17, 3) (input positions): the project's training targets at `stride`,
  (h/s, w/s, 17), and with `with_tags` 17 tag maps after them, person p's tag
  p + 1 where its Gaussian is the strongest, 0 elsewhere."""
  from rtpe_jax.data import targets

  out_hw = (hw[0] // stride, hw[1] // stride)
  heatmaps = targets.gaussian_heatmaps(joints, out_hw, stride, (sigma,))[0]
  if not with_tags:
    return heatmaps
  tags, best = np.zeros_like(heatmaps), np.zeros_like(heatmaps)
  for p in range(len(joints)):
    g = targets.gaussian_heatmaps(joints[p : p + 1], out_hw, stride, (sigma,))[0]
    tags = np.where(g > best, p + 1.0, tags)
    best = np.maximum(best, g)
  return np.concatenate([heatmaps, tags], -1)


def protocol_people(network, variables, spec, image, cfg, map_stride: int = 1):
  """People of one image at the published protocol `cfg` (`inference.ProtocolConfig`):
  the predictor without buckets (grouping on maps at `map_stride`)."""
  from rtpe_jax.inference import predictor

  model = predictor.Model(
    network,
    variables,
    spec,
    cfg.input_size,
    unbiased_flip=cfg.unbiased_flip,
    map_stride=map_stride,
  )
  return predictor.predict_image(
    model, image, cfg.flip, buckets=(), cfg=cfg.grouping, scales=cfg.scales
  )


def perfect_network(variables, images):
  """A network for `rtpe_jax.inference.protocol` that returns `variables["outputs"]`
  (the perfect maps of the images it is given, made beforehand)."""
  del images
  return variables["outputs"]


def mirrored_as_in_training(joints, hw):
  """joints (P, 17, 3) of an (h, w) input as the training augmentation places them
  in its mirror image (a flip and nothing else), left and right swapped."""
  from rtpe_jax.data import augment
  from rtpe_jax.train import config as config_lib

  cfg = config_lib.augment_config()
  cfg.update(
    dict(
      max_rotation=0.0, min_scale=1.0, max_scale=1.0, max_translate=0.0, flip=1.0, scale_type="long"
    )
  )
  side = max(hw)  # the square crop holds the whole input, centred
  matrix, flipped = augment.random_affine(np.random.default_rng(0), hw, side, cfg)
  out = augment.transform_joints(joints, matrix, flipped)
  out[..., :2] -= [(side - hw[1]) / 2, (side - hw[0]) / 2]
  return out


def perfect_outputs(joints, hw, strides, flip: bool):
  """`perfect_network`'s variables for one protocol-resized input of `hw` holding
  `joints`: per stride (heatmaps and tags at the first, heatmaps at the others)
  a batch of the image's maps and, with `flip`, its mirror's (with the joints
  mirrored by the training augmentation, so that its convention is tested too)."""
  runs = [joints] + ([mirrored_as_in_training(joints, hw)] if flip else [])
  return {
    "outputs": [
      np.stack([perfect_maps(j, hw, s, with_tags=i == 0) for j in runs])
      for i, s in enumerate(strides)
    ]
  }
