# `make test` and `make demo` create .venv, install requirements.txt and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-fast demo clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# The whole suite, slow end-to-end tests included (what CI runs).
test: $(STAMP)
	$(PY) -m pytest -n 2 -q tests

# Everything but the tests marked slow.
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "not slow" tests

# What runs end to end so far: a synthetic COCO-format dataset, the conversion
# of the bundled reference checkpoint, the published teachers' sizes, pictures
# of augmented training samples, and the (random-weight) tiny teacher's store
# for the validation split.
demo: $(STAMP)
	$(PY) -m rtpe_jax.data.synthetic --out data/synthetic
	$(PY) convert_hrnet_weights.py tests/data/hhrnet_tiny.pth models/hhrnet_tiny --overwrite
	$(PY) -m rtpe_jax.models.summary --no-xla-total
	$(PY) -m rtpe_jax.data.show --config configs/quickstart.py --out out/show --samples 4 --stand_in_teacher
	$(PY) infer_teacher.py --teacher models/hhrnet_tiny --coco data/synthetic --split val2017 \
	  --out out/teacher_val --input-size 256

clean:
	rm -rf $(VENV) .pytest_cache
