//! The statements, written once with `$n` parameters and numbered `?n` for SQLite (a numbered
//! parameter keeps its position wherever it appears, as PostgreSQL's do).

use sea_orm::{DbBackend, Statement, Value};

/// `sql` (with `$1`, `$2`, …) for `backend`, with its values.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, text, values)
}

/// `($1, $2, …), ($n+1, …)`: placeholders for `rows` rows of `columns` values, numbered from
/// `first`.
pub(crate) fn value_rows(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|column| format!("${}", first + row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, $first+1, …` for a list of `count` values.
pub(crate) fn value_list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) const RUN_COLUMNS: &str = "id, namespace, workflow, parent_run, parent_node, \
     parent_activation, depth, status, version, created_at, updated_at";

pub(crate) const TASK_COLUMNS: &str =
    "id, run_id, namespace, due, kind, lease_owner, claimable_at, deliveries";

/// Re-enqueueing a task id replaces it as a fresh, unleased task (as the memory store does).
pub(crate) const TASK_UPSERT: &str = " ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, \
     namespace = excluded.namespace, due = excluded.due, kind = excluded.kind, \
     lease_owner = NULL, claimable_at = excluded.claimable_at, deliveries = 0";

/// The fair ranking of claimable tasks: each namespace's first, then each one's second, …
/// (`$1` = now, `$2` = how many).
const RANKED: &str = "SELECT id FROM (SELECT id, claimable_at, row_number() OVER \
     (PARTITION BY namespace ORDER BY claimable_at, id) AS turn FROM engine_tasks \
     WHERE claimable_at <= $1) ranked ORDER BY turn, claimable_at, id LIMIT $2";

/// Leases the ranked tasks to `$3` until `$4`. PostgreSQL locks what it takes and skips what
/// another claimer holds, and re-checks that each row is still claimable once locked.
pub(crate) fn claim(backend: DbBackend) -> String {
    match backend {
        DbBackend::Sqlite => format!(
            "UPDATE engine_tasks SET lease_owner = $3, claimable_at = $4, \
             deliveries = deliveries + 1 WHERE id IN ({RANKED}) \
             RETURNING id, run_id, namespace, due, kind, deliveries"
        ),
        _ => format!(
            "WITH locked AS (SELECT t.id FROM engine_tasks t WHERE t.id IN ({RANKED}) \
             AND t.claimable_at <= $1 FOR UPDATE OF t SKIP LOCKED) \
             UPDATE engine_tasks t SET lease_owner = $3, claimable_at = $4, \
             deliveries = t.deliveries + 1 FROM locked WHERE t.id = locked.id \
             RETURNING t.id, t.run_id, t.namespace, t.due, t.kind, t.deliveries"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_rows_and_lists() {
        assert_eq!(value_rows(2, 2, 3), "($3, $4), ($5, $6)");
        assert_eq!(value_list(3, 2), "$2, $3, $4");
    }

    #[test]
    fn sqlite_gets_numbered_question_marks() {
        let s = statement(DbBackend::Sqlite, "SELECT $2, $1, $2", vec![]);
        assert_eq!(s.sql, "SELECT ?2, ?1, ?2");
        let p = statement(DbBackend::Postgres, "SELECT $2, $1", vec![]);
        assert_eq!(p.sql, "SELECT $2, $1");
    }
}
