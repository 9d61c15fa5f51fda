"""Speed anchors for the students' table: YOLO-pose as ultralytics builds it from
its YAML (random weights: nothing is downloaded), exported to ONNX and run by
ONNX Runtime, timed in the same interleaved rounds as the students
(`python -m bench.students --time --anchors`). Timed, never trained.

ultralytics, onnx and onnxruntime are not dependencies of the project: they live
in an environment of their own that also sees the project's packages:

  python -m venv .venv-anchors
  echo "$PWD/.venv/lib/python3.11/site-packages" > .venv-anchors/lib/python3.11/site-packages/project.pth
  .venv-anchors/bin/pip install torch==2.13.0 ultralytics onnx onnxruntime
  YOLO_OFFLINE=1 .venv-anchors/bin/python -m bench.students --time --anchors
"""

from __future__ import annotations

import os
import shutil
from typing import Callable

MODELS = ("yolo11n-pose", "yolo26n-pose")
SIZES = (256, 512, 640)
ONNX_DIR = "out/bench_students/anchors"


def export(name: str, size: int, out_dir: str = ONNX_DIR) -> str:
  """OUT_DIR/NAME-SIZE.onnx, exported once from NAME.yaml (opset 17, not simplified)."""
  path = os.path.join(out_dir, f"{name}-{size}.onnx")
  if os.path.isfile(path):
    return path
  from ultralytics import YOLO

  os.makedirs(out_dir, exist_ok=True)
  model = YOLO(f"{name}.yaml")  # the architecture with random weights
  written = model.export(format="onnx", imgsz=size, opset=17, simplify=False)
  shutil.move(written, path)
  return path


def runtime(threads: int | None = None) -> str:
  """How `calls` runs the anchors, for the table's latency line."""
  import onnxruntime as ort

  return f"ONNX Runtime {ort.__version__}, {threads or os.cpu_count()} intra-op threads"


def calls(
  models=MODELS, sizes=SIZES, out_dir: str = ONNX_DIR, threads: int | None = None
) -> dict[str, Callable[[], object]]:
  """ "NAME network S": one ONNX Runtime run of the exported network on a
  (1, 3, S, S) float32 image, `threads` intra-op threads (default: every core),
  its graph optimizations on."""
  import numpy as np
  import onnxruntime as ort

  options = ort.SessionOptions()
  options.intra_op_num_threads = threads or os.cpu_count()
  options.inter_op_num_threads = 1
  options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
  # No spinning: a session's idle threads would otherwise busy-wait for work and take
  # the cores from the next call in the round (YOLO11n-pose at 256 px 28 against 9 ms
  # with four sessions, 2-core AVX-512 EPYC).
  options.add_session_config_entry("session.intra_op.allow_spinning", "0")
  out = {}
  for name in models:
    for size in sizes:
      session = ort.InferenceSession(
        export(name, size, out_dir), options, providers=["CPUExecutionProvider"]
      )
      feed = {session.get_inputs()[0].name: np.zeros((1, 3, size, size), np.float32)}
      out[f"{name} network {size}"] = lambda s=session, f=feed: s.run(None, f)
  return out
