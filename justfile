# A menu of the project's commands; each one is a `cargo xtask` call, so `just` is optional.

# Run the server on the embedded default (SQLite in ./data, local identity)
dev:
    cargo xtask dev

# Run every test (SQLite always; PostgreSQL when 127.0.0.1:5432 answers)
test:
    cargo xtask test

# Run every test with PostgreSQL mandatory, as CI does
test-postgres:
    cargo xtask test --postgres

# Print a local-identity token: just token alice@example.com Alice
token email name="":
    cargo xtask token --email {{email}} {{ if name != "" { "--name " + name } else { "" } }}

# Migrations against DATABASE_URL (default: the embedded database): up, down, status, fresh
db command:
    cargo xtask db {{command}}

# fmt check, clippy -D warnings, architecture tests
tidy:
    cargo xtask tidy

# The CI script, locally
ci:
    bash .ci/run
