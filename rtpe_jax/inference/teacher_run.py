"""Running the teacher over a split: the teacher-prediction store, and COCO results.

Per image (single scale, flip test): the image is resized as the test protocol
does; one network call on the image and its mirror gives
- for the store: the heatmaps averaged over outputs and runs at the last
  output's resolution (1/2) and the unflipped tags at their own (1/4), each
  with the affine from a peak's map position to the joint's image position
  (`rtpe_jax.coordinates.from_map`, the flip-averaged heatmaps' own one), so
  that the student's targets from them land where its ground-truth targets do;
- for `--eval`: the maps projected to the input size, grouped and mapped back:
  COCO results, as the published single-scale evaluation.
Work is resumable (images in the store, and with `evaluate` in the results
file, are skipped), split by shard i/n, batched over images of the same
resized size, and an image that does not decode is logged, listed in
failures.txt and skipped.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import logging
import os

import jax
import numpy as np
from PIL import Image
from tqdm import tqdm

from rtpe_jax import coordinates
from rtpe_jax.data import coco, images
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.inference import coco_metrics, grouping, predictor, protocol


@dataclasses.dataclass
class WorkItem:
  image_id: int
  path: str
  width: int
  height: int


def coco_work(root: str, split: str, image_ids=None) -> tuple[list[WorkItem], coco.COCO]:
  index = coco.load_coco(root, split)
  ids = coco.select_image_ids(index, whitelist=image_ids)
  items = [
    WorkItem(i, coco.image_path(root, split, info["file_name"]), info["width"], info["height"])
    for i, info in zip(ids, index.loadImgs(ids))
  ]
  return items, index


def folder_work(folder: str) -> list[WorkItem]:
  """Images of a folder (`images.folder_images`: ids from numeric file names)."""
  items = []
  for image_id, path in images.folder_images(folder):
    try:
      with Image.open(path) as image:
        w, h = image.size
    except OSError:
      w = h = 0  # read (and reported) later
    items.append(WorkItem(image_id, path, w, h))
  return items


def parse_shard(text: str) -> tuple[int, int]:
  try:
    i, n = (int(v) for v in text.split("/"))
  except ValueError:
    raise ValueError(f"--shard {text!r}: expected i/n, e.g. 0/4") from None
  if not 0 <= i < n:
    raise ValueError(f"--shard {text!r}: need 0 <= i < n")
  return i, n


def store_affine(center, scale, size, stride: float, flip_averaged: bool = False) -> np.ndarray:
  """(2, 3) a peak's map position -> the joint's image position, for a map at
  `stride` of the input resized to `size` (`rtpe_jax.coordinates.from_map`)."""
  to_resized = coordinates.from_map(stride, flip_averaged)
  return (np.linalg.inv(protocol.resize_affine(center, scale, size)) @ to_resized)[:2].astype(
    np.float32
  )


def _prefetch(items, read, depth: int = 8):
  """Yields (item, image or error) in order, reading ahead on two threads."""
  with concurrent.futures.ThreadPoolExecutor(2) as pool:
    queue = collections.deque()
    for item in items:
      queue.append((item, pool.submit(read, item)))
      if len(queue) >= depth:
        done, future = queue.popleft()
        yield done, future.result()
    while queue:
      done, future = queue.popleft()
      yield done, future.result()


def run(
  model: predictor.Model,
  items: list[WorkItem],
  out: str,
  evaluate: bool = False,
  shard: tuple[int, int] = (0, 1),
  batch_size: int = 1,
  grouping_cfg: grouping.GroupingConfig = grouping.GroupingConfig(),
  progress: bool = True,
  scales: tuple[float, ...] = (1.0,),
) -> dict:
  """Runs `model` (at its input size, with the flip test) over this shard's items:
  fills OUT/teacher (the store) and, with `evaluate`, OUT/results-shard*.jsonl;
  results use the multi-scale protocol when `scales` is not (1.0,) (the store
  keeps the scale-1.0 maps). Returns counts: done, skipped, failed."""
  network, variables, spec = model.network, model.variables, model.spec
  input_size = model.input_size
  i, n = shard
  items = items[i::n]
  os.makedirs(out, exist_ok=True)
  writer = ts.TeacherStoreWriter(
    os.path.join(out, "teacher"),
    spec.num_joints,
    spec.num_joints if spec.tag_per_joint else 1,
    writer=f"shard{i}of{n}",
  )
  results_path = os.path.join(out, f"results-shard{i}of{n}.jsonl")
  results = ts.read_people_file(results_path) if evaluate else {}
  todo = [
    it for it in items if it.image_id not in writer or (evaluate and it.image_id not in results)
  ]
  skipped = len(items) - len(todo)

  # Images of the same resized size run together.
  def size_of(it):  # unknown sizes (unreadable headers) first: they fail fast
    return (
      protocol.scale_size(it.height, it.width, input_size, 1.0, 1.0)[0]
      if it.width and it.height
      else (0, 0)
    )

  todo.sort(key=lambda it: (size_of(it), it.image_id))
  failures = open(os.path.join(out, "failures.txt"), "a")
  results_file = open(results_path, "a") if evaluate else None
  counts = {"done": 0, "skipped": skipped, "failed": 0}

  def read(item):
    try:
      return images.read_image(item.path, item.image_id)
    except images.ImageError as err:
      return err

  def flush(batch):
    images = np.stack([resized for _, resized, _, _ in batch])
    size = (images.shape[2], images.shape[1])
    # The projected maps are only needed, and stay on the device, for single-scale results.
    single_scale_results = evaluate and tuple(scales) == (1.0,)
    heatmaps, tags, native_hm, native_tags, _ = protocol.scale_maps(
      network, spec, True, (size[1], size[0]) if single_scale_results else None, variables, images
    )
    native_hm, native_tags = jax.device_get((native_hm, native_tags))
    hm_stride, tag_stride = size[0] / native_hm.shape[2], size[0] / native_tags.shape[2]
    for b, (item, _, (_, c, s), image) in enumerate(batch):
      if item.image_id not in writer:
        writer.add(
          item.image_id,
          ts.TeacherPrediction(
            native_hm[b],
            native_tags[b],
            store_affine(c, s, size, hm_stride, flip_averaged=True),
            store_affine(c, s, size, tag_stride),
          ),
        )
      if single_scale_results:
        ((keypoints, scores),) = protocol.group_and_map(
          heatmaps[b : b + 1], tags[b : b + 1], c, s, size, grouping_cfg
        )
      elif evaluate:
        keypoints, scores = predictor.predict_image(
          model, image, True, buckets=(), cfg=grouping_cfg, scales=scales
        )
      if evaluate:
        entry = {
          "image_id": item.image_id,
          "people": protocol.coco_results(item.image_id, keypoints, scores),
        }
        results_file.write(json.dumps(entry) + "\n")
        results[item.image_id] = entry["people"]
      counts["done"] += 1

  try:
    bar = tqdm(total=len(todo), unit="img", disable=not progress, desc=f"teacher {i}/{n}")
    batch = []
    for item, image in _prefetch(todo, read):
      if isinstance(image, images.ImageError):
        logging.warning("skipped: %s", image)
        failures.write(f"{item.image_id}\t{item.path}\t{image}\n")
        failures.flush()
        counts["failed"] += 1
        bar.update(1)
        continue
      resized, center, scale, size = protocol.protocol_resize(image, input_size)
      if batch and resized.shape != batch[0][1].shape:
        flush(batch)
        bar.update(len(batch))
        batch = []
      batch.append((item, resized, (size, center, scale), image))
      if len(batch) == batch_size:
        flush(batch)
        bar.update(len(batch))
        batch = []
    if batch:
      flush(batch)
      bar.update(len(batch))
    bar.close()
  finally:
    writer.close()
    failures.close()
    if results_file:
      results_file.close()
  return counts


def collect_results(out: str) -> list[dict]:
  """Every shard's results in OUT, one entry per image (the last one written)."""
  merged = ts.read_people(out)
  return [person for image_id in sorted(merged) for person in merged[image_id]]


def evaluate_results(ground_truth, out: str, image_ids) -> dict:
  """Writes OUT/results.json and OUT/ap.json for `image_ids`; returns the numbers."""
  results = [r for r in collect_results(out) if r["image_id"] in set(image_ids)]
  with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f)
  stats = coco_metrics.evaluate(ground_truth, results, image_ids)
  with open(os.path.join(out, "ap.json"), "w") as f:
    json.dump(stats, f, indent=1)
  return stats
