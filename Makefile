PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= $(firstword $(wildcard ../shared/data) ./data)

DEMO   := demo-output

.PHONY: install browser postgres demo test lint clean

$(BIN)/grader: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,ray,serve]'
	touch $@

install: $(BIN)/grader

# Headless Chromium renders the html report in the tests, and chromedriver lets selenium drive
# it (tests/test_report_browser.py); Debian's packages, of one version; root installs them.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "WARNING: no chromium: the browser tests of the html report will be skipped"
	@command -v chromedriver >/dev/null || \
	  apt-get install -y -qq chromium-driver >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq chromium-driver >/dev/null) || \
	  echo "WARNING: no chromedriver: the selenium tests of the html report will be skipped"

# A throwaway PostgreSQL cluster serves the concurrent-writer tests (Debian's package; root
# installs it); the tests start and stop their own server.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  apt-get install -y -qq postgresql >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || \
	  echo "WARNING: no postgresql: the PostgreSQL gradebook tests will be skipped"

# One student explained, one notebook explained cell by cell, then the example class graded into
# a gradebook, reported and fed back.
demo: install
	$(BIN)/grader assignments
	$(BIN)/grader check examples/class/alice --assignment linreg --data-root $(DATA)
	$(BIN)/grader check examples/class/dana/softmax_regression.ipynb --assignment softmax --data-root $(DATA) --show-intake
	mkdir -p $(DEMO)
	$(BIN)/grader batch examples/class --assignment linreg --data-root $(DATA) --db sqlite:///$(DEMO)/grades.db
	$(BIN)/grader batch examples/class --assignment softmax --data-root $(DATA) --db sqlite:///$(DEMO)/grades.db
	$(BIN)/grader batch examples/class --assignment gradients --data-root $(DATA) --db sqlite:///$(DEMO)/grades.db
	$(BIN)/grader report --db sqlite:///$(DEMO)/grades.db --output $(DEMO)/report.xlsx
	$(BIN)/grader feedback --db sqlite:///$(DEMO)/grades.db --output $(DEMO)/feedback
	$(BIN)/grader report --db sqlite:///$(DEMO)/grades.db --output $(DEMO)/report.html
	$(BIN)/grader similarity --assignment softmax --db sqlite:///$(DEMO)/grades.db --output $(DEMO)/similarity.html
	@echo "gradebook: $(DEMO)/grades.db; open $(DEMO)/report.html in a browser"

test: install browser postgres
	$(BIN)/ruff check .
	GRADER_DATA=$(DATA) $(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info $(DEMO)
