"""bench.map_stride: the AP at each map stride, stride 1 that of the published protocol."""

from bench import map_stride
from rtpe_jax.inference import split_eval


def test_stride_one_is_the_protocols_ap_and_every_stride_is_timed(
  quickstart_student_dir, quickstart_root, capsys
):
  measured = map_stride.main(
    [
      "--model",
      quickstart_student_dir,
      "--strides",
      "1,2",
      "--data",
      quickstart_root,
      "--split",
      "val2017",
      "--max-images",
      "2",
      "--rounds",
      "1",
    ]
  )
  want = split_eval.evaluate_model(quickstart_student_dir, quickstart_root, "val2017", 2)
  assert measured["ap"][1] == want
  assert set(measured["ms"]) == {f"stride {s} path {n}" for s in (1, 2) for n in (256, 512)}
  out = capsys.readouterr().out
  assert "| map stride | AP |" in out and "\n| 1 | " in out and "\n| 2 | " in out
