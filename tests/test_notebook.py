"""notebooks/quickstart.ipynb: stored without outputs, public API only, and run
top to bottom by a real Jupyter kernel at CI size."""

import os
import re

import nbformat
import numpy as np
import pytest

from rtpe_jax.data import coco
from rtpe_jax.inference import coco_metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(REPO, "notebooks", "quickstart.ipynb")

# Small enough for CI: a few images, a few steps, a short clip.
CI_PARAMETERS = """
TRAIN_IMAGES = 12
VAL_IMAGES = 4
TRAIN_STEPS = 8
BATCH_SIZE = 4
EVAL_IMAGES = 0
VIDEO_FRAMES = 4
DATA_DIR = {data!r}
WORKDIR = {work!r}
"""


def _read():
  return nbformat.read(NOTEBOOK, as_version=4)


def _code(nb) -> list[str]:
  return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def test_notebook_is_stored_without_outputs():
  nb = _read()
  nbformat.validate(nb)
  for i, cell in enumerate(nb.cells):
    if cell.cell_type == "code":
      assert not cell.outputs, f"cell {i} holds outputs: clear them before committing"
      assert cell.execution_count is None, f"cell {i} holds an execution count"


def test_notebook_uses_the_public_api_only():
  code = "\n".join(_code(_read()))
  imported = re.findall(r"from (?:rtpe_jax|configs)[\w.]* import ([\w, ]+)", code)
  names = [n.strip() for group in imported for n in group.split(",")]
  assert names, "the notebook imports nothing from rtpe_jax"
  assert not [n for n in names if n.startswith("_")], names
  private = re.findall(r"\b\w+\._[a-z]\w*", code)
  assert not private, f"private attributes used: {private}"


def test_notebook_has_a_parameters_cell_first():
  nb = _read()
  first = next(cell for cell in nb.cells if cell.cell_type == "code")
  assert "parameters" in first.metadata.get("tags", [])
  for name in ("TRAIN_IMAGES", "VAL_IMAGES", "TRAIN_STEPS", "DATA_DIR", "WORKDIR"):
    assert re.search(rf"^{name} = ", first.source, re.M), name


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
  """Every cell runs without error in a fresh kernel; the figures, the AP table,
  the frames/s line and the TFLite files come out."""
  from nbclient import NotebookClient

  monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
  monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
  nb = _read()
  first = next(cell for cell in nb.cells if cell.cell_type == "code")
  work = tmp_path / "work"
  first.source += CI_PARAMETERS.format(data=str(tmp_path / "data"), work=str(work))
  NotebookClient(
    nb,
    timeout=900,
    kernel_name="python3",
    resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}},
  ).execute()

  outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
  errors = [out for out in outputs if out.output_type == "error"]
  assert not errors, errors
  texts = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
  figures = [out for out in outputs if "image/png" in out.get("data", {})]
  assert len(figures) >= 6, f"{len(figures)} figures"
  table = re.search(r"AP \.5 \|.*\n\s*([\d. |]+)\n", texts)
  assert table, texts[-3000:]
  # The printed table is COCOeval's on the training's own results file.
  printed = [float(v) for v in table.group(1).split("|")]
  ground_truth = coco.load_coco(str(tmp_path / "data"), "val2017")
  results = str(work / "quickstart" / "minival_results.json")
  stats = coco_metrics.evaluate(ground_truth, results, coco.select_image_ids(ground_truth))
  np.testing.assert_allclose(printed, [stats[n] for n in coco_metrics.STAT_NAMES], atol=5e-5)
  assert re.search(r"\d+ frames of \d+x\d+: [\d.]+ frames/s", texts), texts[-3000:]
  # The recipe's cells say what is there and what is not, on any machine.
  for line in re.findall(r"^(?:found  |MISSING) [^\n]+: \S+$", texts, re.M):
    state, path = line[:7], line.rsplit(": ", 1)[1]
    assert (state == "found  ") == os.path.exists(os.path.join(REPO, path)), line
  assert len(re.findall(r"^(?:found  |MISSING) ", texts, re.M)) == 4
  for name in ("student_float32.tflite", "student_float16.tflite"):
    assert (work / "tflite" / name).exists(), name
  assert (work / "quickstart" / "export").is_dir()
