"""The fuzz suite: every API operation, page form, admin form and socket gets the catalogue of
bad inputs (catalogue.py) as every role (world.ROLES), and must answer below 500 without
changing a row when it refuses.

Surfaces are discovered, so a new endpoint is covered without editing the suite: API
operations from the OpenAPI schema (api_surface.py), pages from the URL resolver and their
forms from the HTML each role is shown (page_surface.py), sockets from civic.routing.

Each request runs in a savepoint rolled back afterwards (harness.py), so every input meets the
same seeded world. Long lists (every field times every bad value) are shared out among the
roles that reach the code reading them, so each is sent at least once; the two inputs of the
review's findings (a body over 2.5 MB, a multipart body with a bogus boundary) go out as every
role. Counts per role and surface: printed at the end of the run and written to
var/test-artifacts/fuzz-summary.json.

    .venv/bin/pytest tests/fuzz/                                # SQLite
    DATABASE_URL=postgres://... .venv/bin/pytest tests/fuzz/    # NUL bytes matter there
    FUZZ_EVERY_ROLE=1 .venv/bin/pytest tests/fuzz/              # nothing shared out: ~7x longer
"""
