.PHONY: run test lint bench

# Run the dashboard with demo data on embedded defaults (SQLite, private Redis, web + worker + beat).
run:
	@bash scripts/run.sh

# Run every test against PostgreSQL and Redis (defaults: the local servers; override DATABASE_URL, REDIS_URL).
test:
	@bash scripts/test.sh $(ARGS)

lint:
	@bash -c 'source scripts/uv.sh && $$UV run --frozen ruff check . && $$UV run --frozen ruff format --check .'
