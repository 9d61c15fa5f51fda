"""The designs the benchmark compares: each the quickstart student with changes
(`StudentConfig` fields) and, where a part's removal needs it, changes to the
recipe's config (dotted keys), trained with the same recipe. Equal cost: GMAC at
256 px within 10 % of the quickstart student's 0.427 (the result files carry the
measured figure; tests/bench/test_bench_students.py checks it)."""

from __future__ import annotations

import dataclasses

from configs import quickstart, realtime

EQUAL_COST = 0.10  # relative GMAC at 256 px


@dataclasses.dataclass(frozen=True)
class Candidate:
  name: str
  description: str
  student: dict  # StudentConfig fields
  config: tuple[tuple[str, object], ...] = ()  # (dotted key, value) changes to the recipe
  # True: an idea removed at the quickstart's cost (EQUAL_COST); False: a design for the
  # front, at a cost of its own
  ablation: bool = True


# configs/realtime.py's changes to the quickstart's recipe (the first: no segmentation branch)
REALTIME_RECIPE = (("loss.segmentation", 0.0), ("eval.map_stride", 2))


def _quickstart(**changes) -> dict:
  return {**quickstart.student(), **changes}


CANDIDATES = {
  c.name: c
  for c in (
    Candidate(
      "quickstart",
      "the quickstart student: own stem, CAMs, segmentation attention, LAB branch, fine head "
      "(0.427 GMAC)",
      _quickstart(),
    ),
    Candidate(
      "residual_blocks",
      "every CAM replaced by a plain residual block of two 3x3 convolutions, 30 channels "
      "(0.439 GMAC)",
      _quickstart(block="residual", channels=30),
    ),
    Candidate(
      "inverted_residual",
      "every CAM replaced by MobileNetV2's inverted residual (x3, 7x7 depthwise, LitePose's "
      "kernel), 30 channels (0.445 GMAC)",
      _quickstart(block="inverted", channels=30),
    ),
    Candidate(
      "no_segmentation",
      "no segmentation branch: the features go to the detector unweighted, no mask loss "
      "(0.422 GMAC)",
      _quickstart(segmentation_attention=False),
      (("loss.segmentation", 0.0),),
    ),
    Candidate(
      "no_colour",
      "no LAB branch (RGB only), 34 channels (0.423 GMAC)",
      _quickstart(colour_channels=0, channels=34),
    ),
    Candidate(
      "no_fine_head",
      "no second heatmap head at 1/2, 54 channels (0.423 GMAC)",
      _quickstart(fine_heatmaps=False, channels=54),
      (("data.output_strides", (4,)),),
    ),
    Candidate(
      "realtime",
      "configs/realtime.py: no LAB branch, no segmentation branch, the lighter fine head "
      "(0.254 GMAC); grouped on maps at stride 2",
      realtime.student(),
      REALTIME_RECIPE,
      ablation=False,
    ),
    Candidate(
      "realtime_segmentation",
      "the realtime student with the segmentation branch and its mask loss (0.258 GMAC)",
      {**realtime.student(), "segmentation_attention": True},
      REALTIME_RECIPE[1:],
      ablation=False,
    ),
    Candidate(
      "realtime_concat_fine",
      "the realtime student with the quickstart's fine head (concatenated, 0.403 GMAC)",
      {**realtime.student(), "fine_merge": "concat"},
      REALTIME_RECIPE,
      ablation=False,
    ),
  )
}


def get(name: str) -> Candidate:
  if name not in CANDIDATES:
    raise ValueError(f"unknown candidate {name!r}; the candidates: {', '.join(CANDIDATES)}")
  return CANDIDATES[name]


def apply(candidate: Candidate, config) -> None:
  """Puts the candidate's student and config changes into `config` (in place)."""
  config.model.student = dict(candidate.student)
  for key, value in candidate.config:
    *path, leaf = key.split(".")
    node = config
    for part in path:
      node = node[part]
    if leaf not in node:
      raise KeyError(f"candidate {candidate.name}: the recipe has no {key}")
    node[leaf] = value
