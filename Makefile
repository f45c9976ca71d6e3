.PHONY: run test test-fast lint bench

# Run the dashboard with demo data on embedded defaults (SQLite, private Redis, web + worker + beat).
run:
	@bash scripts/run.sh

# Run every test against PostgreSQL and Redis (defaults: the local servers; override DATABASE_URL, REDIS_URL).
test:
	@bash scripts/test.sh $(ARGS)

# The same without the tests that start workers or processes, the demo's and the browser's (markers in pyproject).
test-fast:
	@bash scripts/test.sh -m "not worker and not demo and not e2e" $(ARGS)

lint:
	@bash -c 'source scripts/uv.sh && $$UV run --frozen ruff check . && $$UV run --frozen ruff format --check . && $$UV run --frozen lint-imports --no-logo --no-cache'
