"""bench.students at runlocal size: a run trained and scored into its result file,
trained once (the second call trains nothing), rescored, the table, the timing and
the plot written into the doc."""

import dataclasses
import json
import os
import shutil

import pytest

from bench.students import __main__ as students
from bench.students import candidates, report, runs
from configs import quickstart
from rtpe_jax.data.synthetic import benchmark
from rtpe_jax.inference import coco_metrics, split_eval
from rtpe_jax.models import weights

pytestmark = pytest.mark.slow  # one runlocal training: about a minute


@pytest.fixture(scope="module")
def bench_root(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("benchmark"))
  splits = {
    split: (seed, 6 if split == benchmark.TRAIN else 3)
    for split, (seed, _) in benchmark.SPLITS.items()
  }
  original = dict(benchmark.SPLITS)
  benchmark.SPLITS.update(splits)
  try:
    benchmark.write(out, workers=1)
  finally:
    benchmark.SPLITS.update(original)
  return out


def test_a_run_is_trained_once_scored_and_reported(bench_root, tmp_path, capsys, monkeypatch):
  doc = str(tmp_path / "student.md")
  shutil.copy(report.DOC, doc)
  workdir, results = str(tmp_path / "work"), str(tmp_path / "bench" / "results")
  args = ["--only", "quickstart", "--seeds", "0", "--runlocal", "--data", bench_root]
  args += ["--workdir", workdir, "--results", results, "--doc", doc]
  students.main(args)  # trains the missing run; --time then only times it
  # --time: the trained run's network and path; no_colour, untrained, its network only.
  students.main(args + ["--time", "--rounds", "1", "--only", "quickstart,no_colour"])
  with open(runs.result_path("quickstart-s0", results)) as f:
    result = json.load(f)
  # The benchmark split scored through the predictor from the export, as a user would.
  export = os.path.join(workdir, "quickstart-s0", "export")
  again = split_eval.evaluate_model(export, bench_root, benchmark.BENCHMARK, max_images=2)
  assert result["benchmark"] == again and set(again) == set(coco_metrics.SIZE_NAMES)
  assert result["recipe"]["steps"] == 6 and result["seed"] == 0
  assert (result["params"], round(result["gmac_256"], 2)) == (100_320, 0.43)
  assert result["command"].endswith("--only quickstart --seeds 0 --runlocal")
  assert result["cpu"]["cores"] == os.cpu_count() and result["resumed_from_step"] == 0
  latency = report.read_latency(os.path.join(os.path.dirname(results), "latency.json"))
  assert set(latency["ms"]) == {
    f"quickstart {k} {s}" for k in ("network", "path") for s in (256, 512)
  } | {"no_colour network 256", "no_colour network 512"}
  text = open(doc).read()
  assert "| quickstart | 0 | 100,320 | 0.43 / 1.71 |" in text and "student_front.png" in text
  assert os.path.getsize(tmp_path / "student_front.png") > 10_000
  capsys.readouterr()

  # Once written, the run is not trained again; --list says so.
  mtime = os.path.getmtime(runs.result_path("quickstart-s0", results))
  students.main(args)
  assert "training" not in capsys.readouterr().out
  assert os.path.getmtime(runs.result_path("quickstart-s0", results)) == mtime
  students.main(args + ["--list"])
  assert "quickstart-s0" in capsys.readouterr().out.split("done")[0]

  # --rescore: the candidate's protocol changed (map stride 2), the network did not.
  changed = dataclasses.replace(candidates.get("quickstart"), config=(("eval.map_stride", 2),))
  monkeypatch.setitem(candidates.CANDIDATES, "quickstart", changed)
  students.main(args + ["--rescore"])
  with open(runs.result_path("quickstart-s0", results)) as f:
    rescored = json.load(f)
  assert weights.read_arch(export)["map_stride"] == 2 and rescored["recipe"]["map_stride"] == 2
  again = split_eval.evaluate_model(export, bench_root, benchmark.BENCHMARK, max_images=2)
  assert rescored["benchmark"] == again and rescored["train_s"] == result["train_s"]
  assert rescored["rescored"]["command"].endswith(
    "--rescore --only quickstart --seeds 0 --runlocal"
  )
  assert "rescored: `python -m bench.students --rescore --only quickstart" in open(doc).read()
  other = dataclasses.replace(changed, student={**changed.student, "channels": 8})
  monkeypatch.setitem(candidates.CANDIDATES, "quickstart", other)
  with pytest.raises(ValueError, match="not candidate quickstart's any more"):
    students.main(args + ["--rescore"])


def test_unknown_candidates_and_broken_result_files_are_named(tmp_path):
  assert candidates.get("quickstart").student == quickstart.student()
  with pytest.raises(ValueError, match="unknown candidate 'nope'"):
    students.main(["--only", "nope", "--report", "--results", str(tmp_path)])
  (tmp_path / "quickstart-s0.json").write_text("{ not json")
  with pytest.raises(ValueError, match="quickstart-s0.json: not a readable result file"):
    runs.read_results(str(tmp_path))


def test_interleaved_medians_take_every_call_in_each_round(monkeypatch):
  """A clock that each call moves by its own amount: the medians are those
  amounts, and the calls ran round by round."""
  from bench.students import timing

  now, order = [0.0], []
  monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])

  def call(name, seconds):
    def run():
      order.append(name)
      now[0] += seconds.pop(0)

    return run

  calls = {"a": call("a", [9.0, 0.001, 0.003, 0.002]), "b": call("b", [9.0, 0.010, 0.030, 0.050])}
  ms = timing.interleaved_medians(calls, rounds=3, warmup=1)
  assert ms == pytest.approx({"a": 2.0, "b": 30.0})
  assert order == ["a", "b"] + ["a", "b"] * 3  # warm-ups (a's, then b's), then rounds


def _gmac_256(config) -> float:
  from rtpe_jax.models import complexity
  from rtpe_jax.train import model_factory

  module = model_factory.build_model(config)
  return complexity.summarize(module, (256, 256), with_xla_total=False)["gmac_conv"]


def test_every_candidate_is_at_the_quickstarts_cost_and_its_config_checks():
  """GMAC at 256 px within 10 % of the quickstart student's; the recipe with each
  candidate's changes passes the config schema's checks."""
  from rtpe_jax.train import config as config_lib

  base = _gmac_256(runs.run_config(candidates.get("quickstart"), 0, "data/benchmark"))
  assert base == pytest.approx(0.427, abs=5e-4)
  for name, candidate in candidates.CANDIDATES.items():
    config = runs.run_config(candidate, 0, "data/benchmark")
    config_lib.check(config, files=False)
    if not candidate.ablation:
      continue
    assert abs(_gmac_256(config) / base - 1) <= candidates.EQUAL_COST, name
  with pytest.raises(KeyError, match="the recipe has no loss.nope"):
    candidates.apply(
      candidates.Candidate("x", "", {}, (("loss.nope", 1),)),
      runs.run_config(candidates.get("quickstart"), 0, "d"),
    )


def test_the_speed_anchors_get_their_rows_and_ratios(tmp_path):
  """Anchors timed in the students' rounds: a row each, network ms at 256 / 512 /
  640, the quickstart's time over theirs (and the real-time student's, where it was
  timed); a line in the plot at their 256-px time."""
  results = [r for r in runs.read_results() if r["run"] == "quickstart-s0"]
  ms = {"quickstart network 256": 20.0, "quickstart network 512": 60.0}
  ms.update({"yolo network 256": 10.0, "yolo network 512": 40.0, "yolo network 640": 64.0})
  latency = {
    "ms": ms,
    "anchors": ["yolo"],
    "runtime": "ONNX Runtime 9.9, 2 intra-op threads",
    "rounds": 3,
    "command": "python -m bench.students --time --anchors",
    "date": "2026-12-07",
    "machine": "a CPU",
  }
  text = report.table(results, latency)
  assert "| yolo | 10.0 / 40.0 / 64.0 | 2.00x / 1.50x |" in text
  ms.update({"realtime network 256": 5.0, "realtime network 512": 30.0})
  text = report.table(results, latency)
  assert "| yolo | 10.0 / 40.0 / 64.0 | 2.00x / 1.50x | 0.50x / 0.75x |" in text
  assert "| --- | --- | --- | --- |\n| yolo" in text
  assert "Anchors: ONNX Runtime 9.9, 2 intra-op threads." in text
  assert os.path.getsize(report.plot(results, latency, str(tmp_path / "front.png"))) > 10_000
