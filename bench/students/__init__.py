"""The students' benchmark: candidates trained at an equal budget on the benchmark
data (`rtpe_jax.data.synthetic.benchmark`), scored on its benchmark split, timed
on this CPU, and the table and AP-against-latency plot in docs/student.md.

  python -m bench.students                  # trains the runs without a result, then the table
  python -m bench.students --list           # every run and whether its result exists
  python -m bench.students --only quickstart --seeds 0,1,2
  python -m bench.students --report         # table and plot from the committed files only
  python -m bench.students --rescore --only realtime   # score trained runs again, no training

Every candidate trains the quickstart's recipe (configs/quickstart.py: 1800 steps,
batch 16, 192-px crops, Adam on its cosine schedule, the moving average
evaluated) on the benchmark's train split, with its own student and seed; the
trainer evaluates it on the selection split (where designs are chosen), and the
exported model is scored on the benchmark split through the predictor (the
published protocol's exact input, the flip test and map stride the candidate
is read with). A finished run writes one small
result file, bench/students/results/CANDIDATE-sSEED.json (the figures, wall time,
command, date, commit, CPU model and flags), to be committed; the command trains
only the runs that lack one, and a killed run resumes from its checkpoints in
--workdir. `--rescore` scores the trained runs again when a candidate's protocol
settings change (its network may not: the command refuses), the training figures
kept. CI never trains: the tests run the harness at runlocal size.

Modules: `candidates` (the designs), `runs` (one run trained and scored),
`timing` (latency: network and whole path, interleaved), `report` (the table and
the plot), `__main__` (the command line).
"""
