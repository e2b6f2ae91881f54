PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= $(firstword $(wildcard ../shared/data) ./data)

.PHONY: install demo test lint clean

$(BIN)/grader: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/grader

demo: install
	$(BIN)/grader assignments
	$(BIN)/grader check examples/alice --assignment linreg --data-root $(DATA)
	$(BIN)/grader check examples/bob --assignment softmax --data-root $(DATA)

test: install
	$(BIN)/ruff check .
	GRADER_DATA=$(DATA) $(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
