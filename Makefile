# bsi_pipeline: everything a fresh machine needs, from Python 3.11 and the package registries.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STATE := .state
STAMP := $(VENV)/.installed
DAGSTER_HOME_DIR := $(CURDIR)/$(STATE)/dagster_home
BSI_CONFIG ?= $(CURDIR)/bsi.yaml
HOST ?= 127.0.0.1
PORT ?= 3000
MLFLOW_PORT ?= 5000

.PHONY: install run test test-fast ui mlflow-ui bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11); set PYTHON=..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(DAGSTER_HOME_DIR)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME_DIR)
	cp dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml

# Materialize every asset on the embedded data (bsi.yaml), then print where the results are.
run: install $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/bsi materialize --config $(BSI_CONFIG)

# The whole suite, slow real-data tests included (they skip when ../shared/data is absent).
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile -q --durations=10

# Only the fast tests.
test-fast: install
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

# Dagster UI (webserver and daemon) on $(HOST):$(PORT), instance state under .state/.
ui: install $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) BSI_CONFIG=$(BSI_CONFIG) $(BIN)/dagster dev -h $(HOST) -p $(PORT) -w workspace.yaml

# MLflow UI over the registry the pipeline writes (the URI of $(BSI_CONFIG): env BSI_MLFLOW_URI, its
# mlflow_uri, else sqlite under the workspace) on $(HOST):$(MLFLOW_PORT).
mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri "$$($(BIN)/bsi mlflow-uri --config $(BSI_CONFIG))" --host $(HOST) --port $(MLFLOW_PORT)

bench: install
	$(BIN)/python bench/bench_pbp_parse.py

clean:
	rm -rf $(STATE)
