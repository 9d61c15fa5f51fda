"""The real-time student: the quickstart's design cut to what a 2-core CPU runs
faster, trained on the students' benchmark.

  python -m rtpe_jax.data.synthetic --benchmark --out data/benchmark
  python train.py --config configs/realtime.py --workdir out/realtime
  python -m bench.students --only realtime          # the benchmark's three seeds

The student (`student()`): the quickstart's own stem and multi-resolution CAM
detector, without the LAB branch (RGB only: no colour conversion) and without the
segmentation branch, and a lighter fine head ("add": the 1/4 features brought to
16 channels before the 2x upsampling and added to the input's stride-2 conv,
instead of 65 channels concatenated into a 3x3 conv at 1/2). 0.254 GMAC at 256 px
(the quickstart 0.427). The quickstart's recipe (192-px crops, batch 16, 1800
steps of Adam, the parameters' moving average) on the benchmark's training split,
evaluated on its selection split with the flip test, grouped on maps at half the
input's resolution (`eval.map_stride` 2; arch.json carries both, the predictor
and the export follow).

Cost and figures (2-core AVX-512 AMD EPYC, 2026-12-08): about 15 minutes in
train.py (seed 0, 923 s, beside other work); benchmark AP 0.296 (the quickstart's
three seeds 0.296-0.349) with the flip test, 0.170 without it; its network 8.9 /
31.0 ms at 256 / 512 px (the quickstart's 17.1 / 53.3, YOLO11n-pose's in ONNX
Runtime 12.6 / 37.1, side by side), its whole path at 256 px 31 ms with the flip
test. Tables: docs/student.md (the benchmark) and
docs/realtime.md (the map stride and the path).

Arguments (`rtpe_jax.train.config.parse_arg`):
  runlocal  a seconds-long smoke run (the tests)
"""

import ml_collections

from configs import quickstart
from rtpe_jax.data.synthetic import benchmark
from rtpe_jax.train import config as config_lib


def student() -> dict:
  """The real-time student, `StudentConfig` fields (86,909 parameters, 0.254 GMAC at
  256 px)."""
  return dict(
    quickstart.student(),
    colour_channels=0,  # RGB only: no LAB conversion, no colour branch
    segmentation_attention=False,  # no segmentation branch, no mask loss
    fine_merge="add",  # the fine head's lighter join
  )


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  arg = config_lib.parse_arg(arg, __file__, runlocal=False)
  config = quickstart.get_config("runlocal" if arg.runlocal else "")
  config.model.student = student()
  config.loss.segmentation = 0.0
  # grouped on maps at 1/2 of the input, the fine head's own resolution: the whole path
  # 2-2.5x faster than at stride 1 for 0.003-0.005 AP (docs/realtime.md)
  config.eval.map_stride = 2
  config.data.root = "data/benchmark"
  config.data.train_split = benchmark.TRAIN
  config.data.eval_split = benchmark.SELECTION
  return config
