# Two commands on a fresh machine:  `make demo` (install + DVPO on the embedded IMDB world)
# and `make test` (install + the whole test suite). Everything installs into .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
CONSTRAINTS := -c requirements/constraints.txt
# The one OpenRLHF pin lives in repro/versions.py (the CPU layer and the DVPO hooks check it too).
OPENRLHF_VERSION := $(shell sed -n 's/^OPENRLHF_VERSION = "\(.*\)"/\1/p' repro/versions.py)

.PHONY: install demo test test-unit clean-results fastchat-env

install: $(VENV)/.installed

# torch first, as the local CPU build (a bare `torch` pulls GBs of CUDA wheels); then
# OpenRLHF's requirements minus flash-attn, OpenRLHF itself with --no-deps, then this package.
$(VENV)/.installed: pyproject.toml requirements/constraints.txt requirements/openrlhf.txt repro/versions.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) torch==2.13.0
	DS_BUILD_OPS=0 $(PIP) $(CONSTRAINTS) -r requirements/openrlhf.txt
	$(PIP) --no-deps openrlhf==$(OPENRLHF_VERSION)
	$(PIP) $(CONSTRAINTS) -e '.[train,dev,eval]'
	touch $@

# MT-Bench's own environment (eval.mt_bench.python = .venv-fastchat/bin/python): FastChat and openai<1 in
# a venv of their own; the harness's site-packages are appended after its own (torch, accelerate).
FASTCHAT_VENV ?= .venv-fastchat
fastchat-env: $(FASTCHAT_VENV)/.installed

$(FASTCHAT_VENV)/.installed: requirements/fastchat.txt $(VENV)/.installed
	rm -rf $(FASTCHAT_VENV) && python3 -m venv $(FASTCHAT_VENV)
	$(FASTCHAT_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements/fastchat.txt
	$(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > \
	  "$$($(FASTCHAT_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz_harness.pth"
	$(FASTCHAT_VENV)/bin/python -c 'import fastchat.llm_judge.common, openai; assert openai.__version__ < "1"'
	touch $@

demo: install
	$(VENV)/bin/repro run --method dvpo
	$(VENV)/bin/repro status

# Every tier (unit, integration on tiny models, the real local Slurm): what CI runs. -m "" lifts the
# fast-tier selection that pyproject's addopts give a plain `pytest`.
test: install
	$(PY) -m pytest -m "" --durations=30 tests

# The fast tier only (no Slurm, no training): a plain `pytest`, under 2 minutes.
test-unit: install
	$(PY) -m pytest
