"""The README as a newcomer reads it: its layout table is the package (every module
listed, none invented), and its quickstart commands run as written."""

import glob
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme() -> str:
  with open(os.path.join(ROOT, "README.md")) as f:
    return f.read()


def _section(title: str) -> str:
  text = _readme()
  section = text[text.index(f"## {title}\n") :]
  return section[: section.index("\n## ", 3)]


def layout_rows() -> dict[str, set[str]]:
  """{package path: the file and folder names its row names in backticks}."""
  rows = {}
  for line in _section("Layout").splitlines()[4:]:
    cells = [c.strip() for c in line.strip("|").split("|")]
    if len(cells) == 2:
      package = cells[0].strip("`")
      rows[package] = set(re.findall(r"`([\w./]+)`", cells[1]))
  return rows


def _modules(folder: str) -> set[str]:
  """The .py files of a folder (not __init__.py) and its Python subpackages (NAME/)."""
  path = os.path.join(ROOT, folder)
  names = {os.path.basename(p) for p in glob.glob(os.path.join(path, "*.py"))} - {"__init__.py"}
  packages = {
    f"{name}/"
    for name in os.listdir(path)
    if os.path.isfile(os.path.join(path, name, "__init__.py"))
  }
  return names | packages


def test_the_layout_table_lists_every_module_and_invents_none():
  rows = layout_rows()
  packages = [
    "rtpe_jax/",
    "rtpe_jax/models/",
    "rtpe_jax/data/",
    "rtpe_jax/data/synthetic/",
    "rtpe_jax/inference/",
    "rtpe_jax/export/",
    "rtpe_jax/train/",
    "rtpe_jax/threed/",
    "configs/",
    "bench/",
  ]
  for package in packages:
    have = _modules(package)
    # a subpackage has its own row; its name in the parent's row is optional
    listed = rows[package] | {f"{p.rstrip('/').split('/')[-1]}/" for p in rows if p != package}
    assert have - listed == set(), (package, "not in the README", have - listed)
    named = {n for n in rows[package] if n.endswith(".py") or n.endswith("/")}
    assert named - have == set(), (package, "in the README, not in the package", named - have)
  # the root holds entry points only
  entry_points = {"train.py", "predict.py", "infer_teacher.py", "convert_hrnet_weights.py"}
  assert _modules("") == entry_points | {"rtpe_jax/", "bench/", "configs/"}
  assert {n for n in rows["root"] if n.endswith(".py")} == entry_points
  # at most eight modules directly in the library, the rest in subpackages by role
  assert len([n for n in _modules("rtpe_jax/") if n.endswith(".py")]) <= 8


def readme_quickstart() -> list[str]:
  block = re.search(r"\n((?:    .*\n)+)", _section("Quickstart"))
  return [line.strip() for line in block.group(1).splitlines() if line.strip()]


# What each quickstart command gets appended to run in seconds (size, steps, batch).
SHORTER = {
  "rtpe_jax.data.synthetic": "--train 8 --val 4 --workers 1",
  "train.py": (
    "--config.total_steps=2 --config.log_every=1 --config.checkpoint_every=2 "
    "--config.eval_every=0 --config.image_every=0 --config.data.input_size=64 "
    "--config.eval.input_size=64 --config.data.batch_size=2 --config.eval.max_images=2 "
    "--config.eval.overlays=1"
  ),
  "predict.py": "",
  "rtpe_jax.export": "--max-images 2",
}


@pytest.mark.slow
def test_the_readme_quickstart_runs_as_written(tmp_path):
  """The Quickstart's commands one after the other in a fresh directory, each on
  what the one before left, shortened only by size, step and batch flags."""
  for name in ("train.py", "predict.py", "configs"):
    os.symlink(os.path.join(ROOT, name), tmp_path / name)
  env = {**os.environ, "PYTHONPATH": ROOT}
  commands = readme_quickstart()
  programs = [(w[2] if w[1] == "-m" else w[1]) for w in map(shlex.split, commands)]
  assert programs == list(SHORTER), commands
  for command, program in zip(commands, programs):
    words = shlex.split(command) + shlex.split(SHORTER[program])
    out = subprocess.run(
      [sys.executable, *words[1:]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, (command, out.stdout[-2000:], out.stderr[-4000:])
    if program == "train.py":  # what train.py says and leaves in its workdir
      workdir = tmp_path / "out" / "quickstart"
      assert "AP .5" in out.stdout and f"{workdir}/export" in out.stdout
      assert os.listdir(workdir / "overlays")
      assert sorted(os.listdir(workdir / "checkpoints"))[-1] == "2"
      assert any(name.startswith("events.out.tfevents") for name in os.listdir(workdir))
      results = json.load(open(workdir / "minival_results.json"))
      assert all(r["category_id"] == 1 and len(r["keypoints"]) == 51 for r in results)
  assert (tmp_path / "out" / "quickstart" / "export" / "arch.json").is_file()
  assert (tmp_path / "out" / "predict" / "000001000001.png").is_file()
  assert "AP" in out.stdout and (tmp_path / "out" / "export" / "ap.json").is_file()


# Modules tested in a file that is not their mirror's (a package of small modules
# tested together, or a module exercised through the one that reads it).
TESTED_IN = {
  "rtpe_jax/export/scoring.py": "tests/train/test_loop.py",  # the four images, every format scored
  "rtpe_jax/data/synthetic/benchmark.py": "tests/data/test_benchmark.py",
  "rtpe_jax/data/synthetic/": "tests/data/test_synthetic.py",
  "rtpe_jax/export/": "tests/export/test_export.py",
  "bench/vs_pytorch/protocol.py": "tests/inference/test_protocol.py",
  "bench/vs_pytorch/fixture.py": "tests/inference/test_protocol.py",
  "bench/vs_pytorch/": "tests/bench/test_bench_vs_pytorch.py",
  "bench/students/": "tests/bench/test_bench_students.py",
  "rtpe_jax/data/coco_source.py": "tests/data/test_pipeline.py",
  "rtpe_jax/data/build_tfds.py": "tests/data/test_tfds_coco.py",
  "bench/common.py": "tests/bench/test_bench_grouping.py",
  "bench/compare_models.py": "tests/bench/test_bench_distill_gain.py",
  "bench/table3d.py": "tests/train/test_loop.py",
  # benchmarks run by hand (their tables in bench/*.md); the suite imports them
  # without TensorFlow only
  "bench/optimisations.py": "tests/test_without_tensorflow.py",
  "bench/profile_student.py": "tests/test_without_tensorflow.py",
  "bench/teacher_forward.py": "tests/test_without_tensorflow.py",
}


def mirrored_test(module: str) -> str:
  """Where a module's tests are: tests/PACKAGE/test_NAME.py (bench: test_bench_NAME)."""
  if module in TESTED_IN:
    return TESTED_IN[module]
  for prefix, test in TESTED_IN.items():
    if prefix.endswith("/") and module.startswith(prefix):
      return test
  if module.startswith("configs/"):
    return "tests/test_configs.py"
  folder, name = os.path.split(module)
  if folder == "bench":
    return f"tests/bench/test_bench_{name}"
  folder = folder.removeprefix("rtpe_jax").strip("/")
  return os.path.join("tests", folder, f"test_{name}")


def test_every_module_has_its_tests_where_a_reader_would_look():
  modules = [
    os.path.relpath(p, ROOT)
    for top in ("rtpe_jax", "bench", "configs")
    for p in glob.glob(os.path.join(ROOT, top, "**", "*.py"), recursive=True)
    if os.path.basename(p) not in ("__init__.py", "__main__.py")
  ]
  assert len(modules) > 60
  missing = [
    (m, mirrored_test(m))
    for m in modules
    if not os.path.isfile(os.path.join(ROOT, mirrored_test(m)))
  ]
  assert missing == []
  unnamed = []
  for module in modules:  # each test file names what it tests
    name = os.path.splitext(os.path.basename(module))[0]
    with open(os.path.join(ROOT, mirrored_test(module))) as f:
      if name not in f.read():
        unnamed.append((module, mirrored_test(module)))
  assert unnamed == []
