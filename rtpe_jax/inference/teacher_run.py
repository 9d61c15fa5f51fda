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
failures.txt and skipped: the bookkeeping is `rtpe_jax.inference.teacher_work`.
"""

from __future__ import annotations

import collections
import concurrent.futures

import jax
import numpy as np
from tqdm import tqdm

from rtpe_jax import coordinates
from rtpe_jax.data import images
from rtpe_jax.data import teacher_store as ts
from rtpe_jax.inference import grouping, predictor, protocol
from rtpe_jax.inference.teacher_work import RunFiles, WorkItem


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
  fills OUT/teacher (the store) and, with `evaluate`, OUT/results-shard*.jsonl
  (`teacher_work.RunFiles`); results use the multi-scale protocol when `scales`
  is not (1.0,) (the store keeps the scale-1.0 maps). Returns counts: done,
  skipped, failed."""
  spec, input_size = model.spec, model.input_size
  i, n = shard
  items = items[i::n]
  files = RunFiles(
    out, shard, spec.num_joints, spec.num_joints if spec.tag_per_joint else 1, evaluate
  )
  todo = files.todo(items)
  counts = {"done": 0, "skipped": len(items) - len(todo), "failed": 0}

  def size_of(it):  # images of the same resized size run together; unknown sizes first
    if not (it.width and it.height):
      return (0, 0)
    return protocol.scale_size(it.height, it.width, input_size, 1.0, 1.0)[0]

  todo.sort(key=lambda it: (size_of(it), it.image_id))

  def read(item):
    try:
      return images.read_image(item.path, item.image_id)
    except images.ImageError as err:
      return err

  bar = tqdm(total=len(todo), unit="img", disable=not progress, desc=f"teacher {i}/{n}")
  try:
    batch = []
    for item, image in _prefetch(todo, read):
      if isinstance(image, images.ImageError):
        files.failed(item, image)
        counts["failed"] += 1
        bar.update(1)
        continue
      resized, center, scale, size = protocol.protocol_resize(image, input_size)
      if batch and resized.shape != batch[0][1].shape:
        counts["done"] += _run_batch(model, batch, files, grouping_cfg, scales)
        bar.update(len(batch))
        batch = []
      batch.append((item, resized, (size, center, scale), image))
      if len(batch) == batch_size:
        counts["done"] += _run_batch(model, batch, files, grouping_cfg, scales)
        bar.update(len(batch))
        batch = []
    if batch:
      counts["done"] += _run_batch(model, batch, files, grouping_cfg, scales)
      bar.update(len(batch))
  finally:
    bar.close()
    files.close()
  return counts


def _run_batch(model, batch, files: RunFiles, grouping_cfg, scales) -> int:
  """One network call on a batch of same-size resized images (and their mirrors):
  each image's store entry, and evaluating its people. Returns the images done."""
  resized = np.stack([r for _, r, _, _ in batch])
  size = (resized.shape[2], resized.shape[1])
  # The projected maps are only needed, and stay on the device, for single-scale results.
  single_scale_results = files.evaluate and tuple(scales) == (1.0,)
  heatmaps, tags, native_hm, native_tags, _ = protocol.scale_maps(
    model.network,
    model.spec,
    True,
    (size[1], size[0]) if single_scale_results else None,
    model.variables,
    resized,
  )
  native_hm, native_tags = jax.device_get((native_hm, native_tags))
  hm_stride, tag_stride = size[0] / native_hm.shape[2], size[0] / native_tags.shape[2]
  for b, (item, _, (_, c, s), image) in enumerate(batch):
    if item.image_id not in files.store:
      files.store.add(
        item.image_id,
        ts.TeacherPrediction(
          native_hm[b],
          native_tags[b],
          store_affine(c, s, size, hm_stride, flip_averaged=True),
          store_affine(c, s, size, tag_stride),
        ),
      )
    if single_scale_results:
      shift = protocol.flip_shift(True, model.unbiased_flip)
      ((keypoints, scores),) = protocol.group_and_map(
        heatmaps[b : b + 1], tags[b : b + 1], c, s, size, grouping_cfg, shift
      )
    elif files.evaluate:
      keypoints, scores = predictor.predict_image(
        model, image, True, buckets=(), cfg=grouping_cfg, scales=scales
      )
    if files.evaluate:
      files.add_people(item.image_id, protocol.coco_results(item.image_id, keypoints, scores))
  return len(batch)
