"""The whole single-scale test protocol on the same maps, the reference's against
ours: the people must agree to 0.01 px."""

from __future__ import annotations

import sys

from bench.vs_pytorch import jobs

# The protocol's cases: (image height, width, input size, flip), the two COCO
# photos' shapes (tests/fixtures) and a portrait one; resize factors 0.30 to 0.92.
PROTOCOL_CASES = (
  (480, 640, 256, True),
  (480, 640, 256, False),
  (555, 640, 512, True),
  (640, 427, 128, True),
)


def protocol_size(h: int, w: int, input_size: int) -> tuple[int, int]:
  """(h, w) of the protocol-resized input at scale 1 (the reference's rule)."""
  if w < h:
    return int((input_size / w * h + 63) // 64 * 64), input_size
  return input_size, int((input_size / h * w + 63) // 64 * 64)


def protocol_maps(case: int) -> dict:
  """HigherHRNet-shaped outputs of protocol case `case` (NHWC float32, batch 2:
  the image's run and the raw run on its mirror): "quarter" (2, H/4, W/4, 34)
  heatmaps and per-joint tags, "half" (2, H/2, W/2, 17) heatmaps. Five people
  as Gaussians of different widths and heights, tags per person plus noise, and
  low noise everywhere; the mirror's maps from the mirrored people. NumPy only
  (both sides' processes make them)."""
  import numpy as np

  from rtpe_jax.keypoints import FLIP_INDEX

  h, w, input_size, _ = PROTOCOL_CASES[case]
  hr, wr = protocol_size(h, w, input_size)
  rng = np.random.default_rng([7, case])
  people = rng.uniform([0.1 * wr, 0.1 * hr], [0.9 * wr, 0.9 * hr], (5, 1, 2)) + rng.normal(
    0, 0.08 * min(hr, wr), (5, 17, 2)
  )
  values = rng.uniform(0.3, 1.0, (5, 17))
  tags = rng.normal(0, 3, 5)
  runs = {"quarter": [], "half": []}
  for mirror in (False, True):
    joints = people.copy()
    if mirror:
      joints = joints[:, FLIP_INDEX]
      joints[..., 0] = wr - joints[..., 0]
    for name, stride in (("quarter", 4), ("half", 2)):
      mh, mw = hr // stride, wr // stride
      yy, xx = np.mgrid[:mh, :mw].astype(np.float64)
      heat = rng.uniform(0, 0.02, (mh, mw, 17))
      tag = rng.normal(0, 0.1, (mh, mw, 17))
      for p in range(5):
        for k in range(17):
          x, y = (joints[p, k] - 0.5) / stride  # map position (rtpe_jax.coordinates.to_map)
          sigma = 1.0 + 0.3 * p
          g = values[p, k] * np.exp(-((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2) / (2 * sigma**2))
          heat[..., k] = np.maximum(heat[..., k], g)
          tag[..., k] = np.where(g > 0.05 * values[p, k], tags[p] + 0.05 * p, tag[..., k])
      runs[name].append(np.concatenate([heat, tag], -1) if name == "quarter" else heat)
  return {name: np.stack(maps).astype(np.float32) for name, maps in runs.items()}


def reference_protocol(job: dict) -> dict:
  """The reference's single-scale test protocol on `protocol_maps` (a stand-in
  model returns them): final people per case as it writes them (COCO's pixel
  indices), and scores."""
  import types

  import numpy as np
  import torch

  from rtpe_jax.keypoints import FLIP_INDEX

  cfg = jobs.reference_config(job["reference"], None)
  # core/inference.py takes its flip index from the dataset package, which needs
  # the COCO and CrowdPose APIs; the index is data, the same as ours.
  dataset = types.ModuleType("dataset")
  dataset.transforms = types.ModuleType("dataset.transforms")
  dataset.transforms.FLIP_CONFIG = {"COCO": list(FLIP_INDEX)}
  sys.modules.update({"dataset": dataset, "dataset.transforms": dataset.transforms})
  from core.group import HeatmapParser
  from core.inference import aggregate_results, get_multi_stage_outputs
  from utils.transforms import get_final_preds, get_multi_scale_size, resize_align_multi_scale

  cfg.DATASET.DATASET = "coco_kpt"
  cfg.DATASET.NUM_JOINTS = 17
  cfg.DATASET.WITH_CENTER = False
  cfg.MODEL.TAG_PER_JOINT = True
  cfg.LOSS.WITH_HEATMAPS_LOSS = (True, True)
  cfg.LOSS.WITH_AE_LOSS = (True, False)
  cfg.TEST.WITH_HEATMAPS = (True, True)
  cfg.TEST.WITH_AE = (True, False)
  cfg.TEST.PROJECT2IMAGE = True
  cfg.TEST.SCALE_FACTOR = [1]
  cfg.TEST.DETECTION_THRESHOLD, cfg.TEST.TAG_THRESHOLD = 0.1, 1.0
  cfg.TEST.NMS_KERNEL, cfg.TEST.NMS_PADDING = 5, 2
  cfg.TEST.USE_DETECTION_VAL, cfg.TEST.IGNORE_TOO_MUCH = True, False
  cfg.TEST.ADJUST, cfg.TEST.REFINE = True, True
  parser = HeatmapParser(cfg)
  out = []
  for case, (h, w, input_size, flip) in enumerate(PROTOCOL_CASES):
    cfg.TEST.FLIP_TEST = flip
    maps = protocol_maps(case)
    runs = iter(range(2))
    to_torch = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

    def model(_, runs=runs, maps=maps):
      r = next(runs)
      return [to_torch(maps["quarter"][r : r + 1]), to_torch(maps["half"][r : r + 1])]

    image = np.zeros((h, w, 3), np.uint8)
    base_size, _, _ = get_multi_scale_size(image, input_size, 1.0, 1.0)
    resized, center, scale = resize_align_multi_scale(image, input_size, 1.0, 1.0)
    x = torch.zeros(1, 3, resized.shape[0], resized.shape[1])
    with torch.no_grad():
      _, heatmaps, tags = get_multi_stage_outputs(cfg, model, x, flip, True, base_size)
      final, tags_list = aggregate_results(cfg, 1, None, [], heatmaps, tags)
      grouped, scores = parser.parse(final, torch.cat(tags_list, dim=4), True, True)
    people = get_final_preds(grouped, center, scale, [final.size(3), final.size(2)])
    people = np.asarray(people, np.float64).reshape(-1, 17, grouped[0].shape[-1])[..., :3]
    out.append({"people": people.tolist(), "scores": [float(v) for v in scores]})
  return {"ms": 0.0, "cases": out}


def ours_protocol(job: dict) -> dict:
  """Our single-scale protocol (the one predictor, exact protocol sizes) on the
  same maps: COCO results' keypoints and scores per case."""
  import numpy as np

  from rtpe_jax.inference import predictor, protocol

  out = []
  for case, (h, w, input_size, flip) in enumerate(PROTOCOL_CASES):
    maps = protocol_maps(case)
    outputs = [maps["quarter"], maps["half"]] if flip else [maps["quarter"][:1], maps["half"][:1]]
    model = predictor.Model(_given_outputs, {"outputs": outputs}, protocol.OutputSpec(), input_size)
    keypoints, scores = predictor.predict_image(
      model, np.zeros((h, w, 3), np.uint8), flip, buckets=()
    )
    results = protocol.coco_results(0, keypoints, scores)
    people = np.reshape([r["keypoints"] for r in results], (-1, 17, 3))
    out.append({"people": people.tolist(), "scores": [float(v) for v in scores]})
  return {"ms": 0.0, "cases": out}


def _given_outputs(variables, images):
  """A network for `rtpe_jax.inference.protocol` that returns `variables["outputs"]`."""
  del images
  return variables["outputs"]


def compare_protocols(reference: dict, ours: dict) -> float:
  """The largest position difference between the two sides' people (inf when
  the counts differ); scores must agree to 1e-5."""
  import numpy as np

  worst = 0.0
  for case, (r, o) in enumerate(zip(reference["cases"], ours["cases"])):
    a, b = np.asarray(r["people"]), np.asarray(o["people"])
    if a.shape != b.shape or not np.allclose(r["scores"], o["scores"], atol=1e-5):
      return float("inf")
    if len(a):
      worst = max(worst, float(np.abs(a[..., :2] - b[..., :2]).max()))
  return worst


# ---- our side -------------------------------------------------------------------------------
