# Two entry points, both from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test docs install browser java redis bench clean

# The demo installs neardup alone; the tests add their extras (Spark, Playwright, ...).
$(BIN)/neardup: pyproject.toml setup.py src/neardup/_sketch.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-extras: $(BIN)/neardup
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/neardup

demo: install
	$(BIN)/neardup dedup examples/seeds examples/news.jsonl -o out/demo
	@echo
	$(BIN)/neardup explain examples/seeds/000_b4a537f1d5559298.txt examples/seeds/004_c9d478177cad84c5.txt
	@echo
	@echo "pairs:";    cat out/demo/pairs.jsonl
	@echo "clusters:"; cat out/demo/clusters.jsonl
	@echo
	@echo "copies of one story (abridged, re-headlined, OCR noise), --match story:"
	$(BIN)/neardup pairs examples/stories.jsonl --match story
	@echo
	$(BIN)/neardup clean examples/seeds -o out/clean
	@echo "canonical text of the seed story (first 300 characters):"
	@$(BIN)/python -c "import json; print(json.loads(open('out/clean/cleaned.jsonl').readline())['text'][:300])"
	@echo
	$(BIN)/neardup reuse examples/seeds examples/reuse.jsonl -o out/reuse --series-field site
	@$(BIN)/python -c "import json; g = json.loads(open('out/reuse/groups.jsonl').readline()); \
	  print('largest passage group:', g['size'], 'copies; origin', g['origin'], '; credits', g['credits'])"
	$(BIN)/neardup find examples/items.jsonl --in examples/news.jsonl -o out/items --remove \
	  --query-text-field question --query-text-field answer
	@echo "queries found in the corpus:"; cat out/items/queries.jsonl
	$(BIN)/neardup report out/demo
	$(BIN)/neardup report out/reuse
	$(BIN)/neardup report out/items

# The documentation site, strict (a broken link or a missing page fails), offline, into
# out/site/. `make test` builds it too (tests/test_docs.py), and runs the pages' examples.
$(VENV)/.docs-extras: $(BIN)/neardup
	$(BIN)/pip install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.docs-extras
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
	@echo "the site: out/site/index.html"

# The report's browser test drives Debian's Chromium; install it where we may (root + apt).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: no Chromium here; the report's browser test is skipped (under CI it fails)"

# The Spark engine's tests run Spark on a Java 17 runtime; install one where we may.
java:
	@command -v java >/dev/null 2>&1 || [ -n "$$JAVA_HOME" ] || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } || \
	  echo "note: no Java here; the Spark engine's tests are skipped (under CI they fail)"

# The index benchmark runs datasketch on Debian's Redis beside neardup; install it where we may.
redis:
	@command -v redis-server >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } || \
	  echo "note: no redis-server here; bench/index.py runs with --no-peer"

# Two test processes: most of a Spark test's time is the JVM waiting on itself, and the
# standalone cluster's module stays in one process (its xdist_group).
test: $(VENV)/.test-extras browser java
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: install redis
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/clean_speed.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/scale.py --clean
	$(BIN)/python bench/workers.py
	$(BIN)/python bench/reuse.py
	$(BIN)/python bench/index.py

clean:
	rm -rf $(VENV) out build src/*.egg-info src/neardup/*.so
