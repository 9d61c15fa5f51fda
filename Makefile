# `make test` and `make demo` create .venv, install requirements.txt and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# glibc's malloc asks for transparent huge pages for its large blocks: XLA's
# buffers on a CPU then take fewer TLB misses (the quickstart's train step 25 %
# faster on a 2-core dev VM whose huge pages are madvise-only, a whole run about
# 9 %: docs/journal.md); ignored where the C library does not know it.
export GLIBC_TUNABLES ?= glibc.malloc.hugetlb=1

.PHONY: install test test-fast lint format demo distill clean

install: $(STAMP)

# --no-compile: Python compiles what is imported when it is first imported, not all
# of tensorflow and torch at install time.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-compile -r requirements.txt
	$(PY) -m pip install -q --no-compile --no-deps -e .
	touch $@

# The whole suite, slow end-to-end tests included (what CI runs).
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -q --durations=15 tests

# ruff's linter and formatter check (pyproject.toml [tool.ruff]); the suite runs both
# (tests/test_lint.py).
lint: $(STAMP)
	$(PY) -m ruff check --no-cache .
	$(PY) -m ruff format --no-cache --check .

# Formats the code in place (ruff format, the settings in pyproject.toml).
format: $(STAMP)
	$(PY) -m ruff format --no-cache .

# Everything but the tests marked slow.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -q --durations=10 -m "not slow" tests

# The main job: the synthetic dataset, the quickstart student trained on it
# (CPU: 13 min 25 s with the install from a fresh clone on a 2-core AVX-512 VM,
# AP 0.413, seed 0: README, docs/learning.md), its AP table, TensorBoard logs,
# checkpoints and overlays.
demo: $(STAMP)
	$(PY) -m rtpe_jax.data.synthetic --out data/synthetic
	$(PY) train.py --config configs/quickstart.py --workdir out/quickstart

# Distillation end to end on the synthetic data: the unlabelled pool, the teacher
# (configs/teacher_synthetic.py) trained from ground truth, its predictions stored
# for the train split and the pool, and the table of the teacher, (a) the student
# from ground truth and (c) the student distilled with the pool, 3 seeds each
# (bench/distill_gain.py). 1 h 53 min from a fresh clone on a 2-core AVX-512 VM,
# the teacher 60 of them (docs/training.md).
distill: $(STAMP)
	$(PY) -m rtpe_jax.data.synthetic --out data/synthetic --unlabelled 4096
	$(PY) train.py --config configs/teacher_synthetic.py --workdir out/teacher_synthetic
	$(PY) infer_teacher.py --teacher out/teacher_synthetic/export --coco data/synthetic \
	  --split train2017 --out out/teacher_synthetic/predictions --input-size 256 --eval
	$(PY) infer_teacher.py --teacher out/teacher_synthetic/export --input-size 256 --people \
	  --images data/synthetic/images/unlabelled2017 --out out/teacher_synthetic/unlabelled
	$(PY) -m bench.distill_gain --variants gt unlabelled --seeds 0 1 2

clean:
	rm -rf $(VENV) .pytest_cache
