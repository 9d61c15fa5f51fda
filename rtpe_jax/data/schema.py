"""The one declaration of the input pipeline's data: each field's name, dtype,
shape and, for maps, stride (input pixels per map pixel, `rtpe_jax.coordinates`).

The pipeline (`data.pipeline`) reads, augments and checks against it, the TFDS
build (`data.tfds_coco`) takes its features from it, the train step reads its
batch fields by these names (`training.batch_fields`) and the benchmarks make
their random batches from it (`random_batch`). No TensorFlow here: the train step
imports it.

Three stages, S the crop size (`data.input_size`), m the finest output stride:
  raw example     one COCO image as read: image_id, image (H, W, 3) uint8,
                  joints (P, 17, 3) x, y, visibility, ignore_mask and person_mask
                  (H, W) uint8; with a teacher store its record, still encoded
                  (`TEACHER_RECORD`: deflated planes, quantisation, affines); with
                  `data.depth` (3D data) depths (P, 18) mm and the focal length
  augmented       the NumPy augmentation's output (`augment.augment_example`):
                  image (S, S, 3), joints in crop pixels, masks (S/m, S/m, 2)
                  (loss weight, person), teacher maps warped onto the crop
  training sample the augmented example with its targets, batched with a
                  leading B by the pipeline (`sample_fields`)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rtpe_jax.depth import CHANNELS as DEPTH_CHANNELS
from rtpe_jax.keypoints import NUM_JOINTS

J = NUM_JOINTS
MAX_PEOPLE = 30  # people per training sample (targets and tags are padded to this)


@dataclasses.dataclass(frozen=True)
class Field:
  name: str
  dtype: str  # a NumPy dtype name, or "string" (bytes)
  shape: tuple  # ints; None where the size varies
  stride: int | None = None  # a map's input pixels per map pixel


# The teacher's record in a raw example, as the store holds it (`data.teacher_store`);
# tag_channels T comes from the store.
TEACHER_RECORD = (
  ("teacher_heatmap_data", "string", ()),
  ("teacher_tag_data", "string", ()),
  ("teacher_heatmap_hw", "int32", (2,)),
  ("teacher_tag_hw", "int32", (2,)),
  ("teacher_heatmap_affine", "float32", (2, 3)),
  ("teacher_tag_affine", "float32", (2, 3)),
  ("teacher_heatmap_low", "float32", ("J",)),
  ("teacher_heatmap_step", "float32", ("J",)),
  ("teacher_tag_low", "float32", ("T",)),
  ("teacher_tag_step", "float32", ("T",)),
  ("teacher_ok", "bool", ()),
)
TEACHER_FIELDS = tuple(name for name, _, _ in TEACHER_RECORD)


def raw_fields(
  teacher: bool = False, tag_channels: int | None = None, depth: bool = False
) -> tuple[Field, ...]:
  """A raw example, with a teacher store's record if `teacher` (its tag channels
  T: `tag_channels`, None where unknown), with the people's depths (P, 18: each
  joint's camera depth in mm, then the root's) and the focal length (pixels) if
  `depth`."""
  fields = [
    Field("image_id", "int64", ()),
    Field("image", "uint8", (None, None, 3)),
    Field("joints", "float32", (None, J, 3)),
    Field("ignore_mask", "uint8", (None, None)),
    Field("person_mask", "uint8", (None, None)),
  ]
  if teacher:
    sizes = {"J": J, "T": tag_channels}
    fields += [
      Field(name, dtype, tuple(sizes.get(d, d) for d in shape))
      for name, dtype, shape in TEACHER_RECORD
    ]
  if depth:
    fields += [Field("depths", "float32", (None, J + 1)), Field("focal", "float32", ())]
  return tuple(fields)


def augmented_fields(cfg, tag_channels: int | None = None) -> tuple[Field, ...]:
  """The augmentation's output for data config `cfg`; tag_channels None: no teacher."""
  s, m, t = cfg.input_size, min(cfg.output_strides), cfg.teacher_stride
  fields = [
    Field("image_id", "int64", ()),
    Field("image", "uint8", (s, s, 3)),
    Field("joints", "float32", (None, J, 3)),
    Field("masks", "uint8", (s // m, s // m, 2), m),
  ]
  if tag_channels is not None:
    fields += [
      Field("teacher_heatmaps", "float32", (s // t, s // t, J), t),
      Field("teacher_tags", "float32", (s // t, s // t, tag_channels), t),
      Field("teacher_ok", "bool", ()),
    ]
  return tuple(fields) + depth_fields(cfg) + labelled_fields(cfg)


def mixes_unlabelled(cfg) -> bool:
  """Does data config `cfg` draw samples from unlabelled images (`cfg.unlabelled`)?"""
  return bool(cfg.get("unlabelled") and cfg.unlabelled.fraction)


def labelled_fields(cfg) -> tuple[Field, ...]:
  """With unlabelled images in the mix: `labelled` (), False where the targets are
  the teacher's alone (`rtpe_jax.data.unlabelled`); else none."""
  return (Field("labelled", "bool", ()),) if mixes_unlabelled(cfg) else ()


def depth_fields(cfg) -> tuple[Field, ...]:
  """With `cfg.depth`: the depth targets and their weights (S/d, S/d, 18) at
  `cfg.depth_stride` d (`rtpe_jax.depth`); else none."""
  if not cfg.get("depth"):
    return ()
  d = cfg.depth_stride
  hw = (cfg.input_size // d, cfg.input_size // d)
  return (
    Field(f"depth_{d}", "float32", (*hw, DEPTH_CHANNELS), d),
    Field(f"depth_weights_{d}", "float32", (*hw, DEPTH_CHANNELS), d),
  )


def sample_fields(cfg, tag_channels: int | None = None) -> tuple[Field, ...]:
  """A training sample of data config `cfg` (unbatched):
  image           (S, S, 3) uint8 RGB (normalised, and turned into the LAB/HSV
                  input, on the device: rtpe_jax.preprocess)
  heatmaps_{s}    (len(sigmas), S/s, S/s, 17) ground truth per output stride s
  weights_{s}     (S/s, S/s) loss weights: 0 on crowds and unannotated people, 1
                  elsewhere (also beyond the image: the crop is black there)
  person_mask_{s} (S/s, S/s) union of the people's segmentations
  tags            (max_people, 17, 2) int32: flat index at `tag_stride`, visible
  joints          (max_people, 17, 3) in crop pixels (zero rows pad)
  teacher_heatmaps, teacher_tags (S/t, S/t, 17 | T) at `teacher_stride` t
  depth_{d}, depth_weights_{d} (S/d, S/d, 18) with `depth` (3D data)
  labelled        () bool, with unlabelled images in the mix (`cfg.unlabelled`)
  image_id        () int64
  """
  s = cfg.input_size
  fields = [Field("image_id", "int64", ()), Field("image", "uint8", (s, s, 3))]
  for stride in cfg.output_strides:
    hw = (s // stride, s // stride)
    fields += [
      Field(f"heatmaps_{stride}", "float32", (len(cfg.sigmas), *hw, J), stride),
      Field(f"weights_{stride}", "float32", hw, stride),
      Field(f"person_mask_{stride}", "float32", hw, stride),
    ]
  fields += [
    Field("tags", "int32", (cfg.max_people, J, 2), cfg.tag_stride),
    Field("joints", "float32", (cfg.max_people, J, 3)),
  ]
  if tag_channels is not None:
    t = cfg.teacher_stride
    fields += [
      Field("teacher_heatmaps", "float32", (s // t, s // t, J), t),
      Field("teacher_tags", "float32", (s // t, s // t, tag_channels), t),
    ]
  return tuple(fields) + depth_fields(cfg) + labelled_fields(cfg)


def names(fields) -> list[str]:
  return [f.name for f in fields]


def random_batch(fields, batch_size: int, seed: int = 0) -> dict:
  """Random arrays (batch_size, *shape) of the fields' dtypes, values in each
  field's range: uint8 images, maps in [0, 1], tags as valid flat indices."""
  rng = np.random.default_rng(seed)
  out = {}
  for f in fields:
    shape = (batch_size, *f.shape)
    if f.name == "tags":
      hw = np.prod([d for d in _map_hw(fields, f.stride)])
      index = rng.integers(0, hw, shape[:-1] + (1,))
      out[f.name] = np.concatenate([index, np.ones_like(index)], -1).astype(np.int32)
    elif f.dtype == "uint8":
      out[f.name] = rng.integers(0, 256, shape, np.uint8)
    elif f.name.startswith("teacher_tags"):
      out[f.name] = rng.normal(0, 1, shape).astype(np.float32)
    elif f.dtype == "float32":
      out[f.name] = rng.uniform(0, 1, shape).astype(np.float32)
    else:
      out[f.name] = np.zeros(shape, f.dtype)
  return out


def _map_hw(fields, stride: int) -> tuple[int, int]:
  """The (h, w) of the sample's maps at `stride`, from its image field."""
  image = next(f for f in fields if f.name == "image")
  return image.shape[0] // stride, image.shape[1] // stride
