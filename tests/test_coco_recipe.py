"""The dress rehearsal of the README's COCO recipe: a small COCO directory laid
out as the README says, with COCO's quirks, a random-weight checkpoint in the
published W48 layout, and the README's commands, read from README.md and run one
after the other, each on what the one before left.

Shortened only by flags of size, steps and batch: the teacher at a 64-px input
and on six of the val images, two training steps of 64-px crops, two images a
batch, four evaluation images, the export scored on four. The val split holds
the 500 images of the shipped minival list (tiny copies of a few pictures), so
that the configs' list is the one a user's COCO is read with.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import time

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from rtpe_jax import keypoints
from rtpe_jax.data.synthetic import annotations as synthetic_annotations
from rtpe_jax.data.synthetic import scenes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow

# What each README command gets appended, by its program (size, steps, batch).
TRAIN = (
  "--config.total_steps=2 --config.log_every=1 --config.checkpoint_every=2 "
  "--config.eval_every=0 --config.image_every=0 --config.histogram_every=0 "
  "--config.data.input_size=64 --config.eval.input_size=64 --config.data.batch_size=2 "
  "--config.eval.max_images=4 --config.eval.overlays=1"
)
SHORTER = {
  "convert_hrnet_weights.py": "",
  "infer_teacher.py --split val2017": "--input-size 64 --ids val6.txt --no-progress",
  "infer_teacher.py --split train2017": "--input-size 64 --batch 2 --no-progress",
  "infer_teacher.py --images": "--input-size 64 --batch 2 --no-progress",
  "train.py": TRAIN,
  "predict.py": "",
  "rtpe_jax.export": "--max-images 4",
}
PROGRAMS = [
  "convert_hrnet_weights.py",
  "infer_teacher.py --split val2017",
  "infer_teacher.py --split train2017",
  "train.py distill_coco_w48.py:phase1",
  "train.py distill_coco_w48.py:phase2",
  "infer_teacher.py --images",
  "train.py distill_coco_w48.py:phase2,unlabelled",
  "train.py student_stem_coco.py",
  "predict.py",
  "rtpe_jax.export",
]


def readme_commands() -> list[str]:
  """The commands of the README's COCO recipe block, continuation lines joined."""
  with open(os.path.join(ROOT, "README.md")) as f:
    text = f.read()
  section = text[text.index("## The COCO recipe") :]
  section = section[: section.index("\n## ", 3)]
  block = re.match(r"((?:    .*\n)+)", section[section.index("    # 1.") :])
  lines = [line[4:] for line in block.group(1).splitlines()]
  joined = "\n".join(line for line in lines if not line.startswith("#"))
  return [c.strip() for c in joined.replace("\\\n", " ").splitlines() if c.strip()]


def _program(command: str) -> str:
  words = shlex.split(command)
  program = words[2] if words[1] == "-m" else words[1]
  if program == "infer_teacher.py" and "--images" in words:
    program += " --images"
  elif program == "infer_teacher.py":
    program += f" --split {words[words.index('--split') + 1]}"
  return program


def _shorter(command: str) -> str:
  program = _program(command)
  return SHORTER[program if program in SHORTER else program.split()[0]]


def _kind(command: str) -> str:
  words = shlex.split(command)
  if words[1] == "train.py":
    return f"train.py {os.path.basename(words[words.index('--config') + 1])}"
  return _program(command)


def test_the_readme_holds_the_rehearsed_commands():
  commands = readme_commands()
  assert [_kind(c) for c in commands] == PROGRAMS, commands
  assert all(c.startswith("python ") for c in commands)


# ---------------------------------------------------------------- a small COCO


def _image_of_shape(split: str, size: int, landscape: bool, start: int):
  """A synthetic picture `size` high, wider than high or narrower, and its people."""
  for index in range(start, start + 200):
    image, info, annotations = scenes.make_image(11, split, index, size)
    if (info["width"] > info["height"]) == landscape and info["width"] != info["height"]:
      return image, annotations, index
  raise AssertionError("no picture of that shape")


def _rle_compressed(ann: dict, h: int, w: int) -> dict:
  rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], h, w))
  return {"counts": rle["counts"].decode("ascii"), "size": [h, w]}


def write_coco(root: str) -> dict:
  """ROOT/images/{train2017,val2017,unlabeled2017}/ and ROOT/annotations/ with COCO's quirks:
  polygon, compressed and uncompressed RLE segmentations, a crowd, a person
  without keypoints, several sizes and both aspect ratios, a greyscale JPEG; val
  named after the 500 images of the minival list. Returns what it wrote."""
  with open(os.path.join(ROOT, "configs", "coco_minival2017_500.txt")) as f:
    minival = [line.strip() for line in f if line.strip()]
  wrote = {}
  for split in ("train2017", "val2017"):
    os.makedirs(os.path.join(root, "images", split))
    pictures, start = [], 0
    for size, landscape in ((64, True), (96, True), (64, False), (96, False)):
      image, annotations, start = _image_of_shape(split, size, landscape, start)
      pictures.append((image, annotations))
      start += 1
    names = (
      minival if split == "val2017" else [f"{i:012d}.jpg" for i in range(1, 2 * len(pictures) + 1)]
    )
    images, annotations = [], []
    for n, name in enumerate(names):
      image, anns = pictures[n % len(pictures)]
      w, h = image.size
      image_id = int(os.path.splitext(name)[0])
      path = os.path.join(root, "images", split, name)
      (image.convert("L") if split == "train2017" and n == 1 else image).save(path, quality=90)
      images.append({"id": image_id, "file_name": name, "width": w, "height": h})
      for a, ann in enumerate(anns):
        ann = dict(ann)
        if split == "train2017" and n == 0 and a == 0 and not ann["iscrowd"]:
          ann["segmentation"] = _rle_compressed(ann, h, w)
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
      if n == 2:  # a crowd (uncompressed RLE) and a person without keypoints
        crowd = np.zeros((h, w), np.uint8)
        crowd[: h // 4, : w // 3] = 1
        rle = synthetic_annotations.uncompressed_rle(crowd.astype(bool))
        base = {"category_id": 1, "bbox": [0, 0, w / 3, h / 4], "area": float(crowd.sum())}
        annotations.append(
          {
            **base,
            "id": len(annotations) + 1,
            "image_id": image_id,
            "iscrowd": 1,
            "segmentation": rle,
            "keypoints": [0] * 51,
            "num_keypoints": 0,
          }
        )
        x0, y0 = w * 0.6, h * 0.1
        polygon = [x0, y0, x0 + 8, y0, x0 + 8, y0 + 20, x0, y0 + 20]
        annotations.append(
          {
            **base,
            "id": len(annotations) + 1,
            "image_id": image_id,
            "iscrowd": 0,
            "segmentation": [polygon],
            "bbox": [x0, y0, 8, 20],
            "area": 160.0,
            "keypoints": [0] * 51,
            "num_keypoints": 0,
          }
        )
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    with open(os.path.join(root, "annotations", f"person_keypoints_{split}.json"), "w") as f:
      json.dump(
        {
          "images": images,
          "annotations": annotations,
          "categories": [keypoints.CATEGORY],
        },
        f,
      )
    wrote[split] = images
  # unlabeled2017: pictures without annotations, named as COCO names them
  os.makedirs(os.path.join(root, "images", "unlabeled2017"))
  wrote["unlabeled2017"] = []
  for n, image_id in enumerate((10, 200, 3000)):
    image, _, _ = scenes.make_image(12, "train2017", n, 64 + 32 * n)
    image.save(os.path.join(root, "images", "unlabeled2017", f"{image_id:012d}.jpg"), quality=90)
    wrote["unlabeled2017"].append({"id": image_id})
  return wrote


def write_w48_checkpoint(path: str) -> None:
  """Random weights in the published pose_higher_hrnet_w48_640.pth.tar layout:
  every key with the `1.` prefix of the fp16 release, convolutions in float16,
  batch norm in float32 with num_batches_tracked, from the key layout the
  converter expects (`convert.expected_torch_shapes`)."""
  import torch

  from rtpe_jax.models import ARCHS
  from rtpe_jax.models.conversion import expected_torch_shapes

  shapes = expected_torch_shapes(ARCHS["w48_640"])
  generator = torch.Generator().manual_seed(0)
  state = {}
  for key, shape in shapes.items():
    module, leaf = key.rsplit(".", 1)
    batch_norm = f"{module}.running_mean" in shapes
    if leaf == "running_var":
      value = torch.rand(shape, generator=generator) + 0.5
    elif batch_norm and leaf == "weight":
      value = torch.ones(shape)
    elif batch_norm:
      value = torch.zeros(shape)
    else:
      fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
      value = torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5
      value = value.half()
    state[f"1.{key}"] = value
    if batch_norm and leaf == "running_var":
      state[f"1.{module}.num_batches_tracked"] = torch.tensor(0)
  torch.save(state, path)


# ---------------------------------------------------------------- the rehearsal


def test_the_readme_coco_recipe_runs_end_to_end(tmp_path):
  work = tmp_path
  for name in ("train.py", "infer_teacher.py", "convert_hrnet_weights.py", "predict.py", "configs"):
    os.symlink(os.path.join(ROOT, name), work / name)
  wrote = write_coco(str(work / "data" / "coco"))
  os.makedirs(work / "models")
  write_w48_checkpoint(str(work / "models" / "pose_higher_hrnet_w48_640.pth.tar"))
  val6 = [image["id"] for image in wrote["val2017"][:6]]
  (work / "val6.txt").write_text("\n".join(map(str, val6)))
  env = {**os.environ, "PYTHONPATH": ROOT}
  for command in readme_commands():
    words = shlex.split(command) + shlex.split(_shorter(command))
    start = time.perf_counter()
    out = subprocess.run(
      [sys.executable, *words[1:]], cwd=work, env=env, capture_output=True, text=True
    )
    print(f"{time.perf_counter() - start:6.1f} s  {_kind(command)}")  # where CI's minutes go
    assert out.returncode == 0, (command, out.stdout[-2000:], out.stderr[-4000:])
    _check_step(_kind(command), work, out.stdout, wrote)


def _check_step(kind: str, work, printed: str, wrote: dict) -> None:
  """What each step leaves for the next."""
  from rtpe_jax.data import teacher_store
  from rtpe_jax.models import weights

  if kind == "convert_hrnet_weights.py":
    arch = weights.read_arch(str(work / "models" / "hrnet_w48_640"))
    assert arch["model"] == "higher_hrnet" and arch["config"]["name"] == "w48_640"
  elif kind == "infer_teacher.py --split val2017":
    results = json.load(open(work / "out" / "w48_val" / "results.json"))
    assert {r["image_id"] for r in results} <= {i["id"] for i in wrote["val2017"][:6]}
    assert "6 images done" in printed and "AP .5" in printed
  elif kind == "infer_teacher.py --split train2017":
    store = teacher_store.TeacherStore(str(work / "data" / "coco" / "w48_train" / "teacher"))
    assert sorted(store.image_ids()) == sorted(i["id"] for i in wrote["train2017"])
  elif kind == "train.py distill_coco_w48.py:phase1":
    assert "seg. iou" in printed and "AP .5" not in printed  # the metric it trains for
    assert "target segmentation_iou >= 0.80" in printed
    assert os.path.isfile(work / "out" / "w48_phase1" / "export" / "arch.json")
  elif kind == "train.py distill_coco_w48.py:phase2":
    assert "AP .5" in printed and "seg. iou" in printed
    arch = weights.read_arch(str(work / "out" / "w48_phase2" / "export"))
    assert arch["config"]["stem"] == "teacher" and arch["config"]["heatmap_sigmoid"]
  elif kind == "infer_teacher.py --images":
    predictions = str(work / "data" / "coco" / "w48_unlabeled")
    store = teacher_store.TeacherStore(os.path.join(predictions, "teacher"))
    unlabelled = sorted(i["id"] for i in wrote["unlabeled2017"])
    assert sorted(store.image_ids()) == sorted(teacher_store.read_people(predictions)) == unlabelled
  elif kind == "train.py distill_coco_w48.py:phase2,unlabelled":
    assert "AP .5" in printed
    assert os.path.isfile(work / "out" / "w48_unl" / "export" / "arch.json")
  elif kind == "train.py student_stem_coco.py":
    arch = weights.read_arch(str(work / "out" / "w48_phase3" / "export"))
    assert arch["config"]["stem"] == "own" and not arch["config"]["distill_stem"]
    assert arch["input_size"] == 64 and arch["flip"]
  elif kind == "predict.py":
    people = json.load(open(work / "out" / "w48_predict" / "keypoints.json"))
    assert all(p["image_id"] == 407002 for p in people)
    assert os.path.isfile(work / "out" / "w48_predict" / "000000407002.png")
  elif kind == "rtpe_jax.export":
    ap = json.load(open(work / "out" / "w48_export" / "ap.json"))
    assert set(ap) == {"jax", "saved_model", "student_float32.tflite", "student_float16.tflite"}
    for name in ("saved_model", "student_float32.tflite"):
      assert abs(ap[name]["AP"] - ap["jax"]["AP"]) <= 0.01, ap
