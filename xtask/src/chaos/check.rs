//! The verdict: every run COMPLETED, none stuck, and every completed attempt of an effect node
//! recorded its effect exactly once (the idempotency key absorbs redeliveries after kills).

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;

/// What the run came to.
#[derive(Debug, Default)]
pub struct Verdict {
    pub completed: usize,
    pub failed: Vec<String>,
    pub stuck: usize,
    /// Completed attempts of effect nodes.
    pub attempts: usize,
    /// Of those, attempts without their effect row.
    pub missing_effects: Vec<String>,
    /// Effect rows no dispatched attempt accounts for.
    pub unexplained_effects: usize,
    /// Deliveries of an effect beyond its first (absorbed by the key).
    pub redeliveries: usize,
}

impl Verdict {
    pub fn passed(&self, runs: usize) -> bool {
        self.completed == runs
            && self.failed.is_empty()
            && self.stuck == 0
            && self.missing_effects.is_empty()
            && self.unexplained_effects == 0
    }
}

/// The attempt's idempotency key, as the engine makes it.
fn key(run: &str, node: &str, activation: u64, attempt: u64) -> String {
    if activation <= 1 {
        format!("{run}:{node}:{attempt}")
    } else {
        format!("{run}:{node}#{activation}:{attempt}")
    }
}

/// Checks `runs` (each `(id, read instance)`) against the effects recorded at `effects_url`.
pub async fn verify(
    runs: &[(String, Value)],
    effect_nodes: &[String],
    effects_url: &str,
) -> Result<Verdict> {
    let db = Database::connect(effects_url).await?;
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(backend, "SELECT key FROM effects"))
        .await?;
    let effects: HashSet<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "key"))
        .collect::<Result<_, _>>()?;
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT key, COUNT(*) AS n FROM deliveries GROUP BY key",
        ))
        .await?;
    let mut deliveries = HashMap::new();
    for row in &rows {
        deliveries.insert(
            row.try_get::<String>("", "key")?,
            row.try_get::<i64>("", "n")?,
        );
    }
    db.close().await?;

    let effect_nodes: HashSet<&str> = effect_nodes.iter().map(String::as_str).collect();
    let mut verdict = Verdict::default();
    let mut dispatched = HashSet::new();
    for (id, run) in runs {
        match run["status"].as_str() {
            Some("COMPLETED") => verdict.completed += 1,
            Some("FAILED" | "CANCELLED") => verdict.failed.push(format!("{id}: {}", run["error"])),
            _ => verdict.stuck += 1,
        }
        for event in run["events"].as_array().into_iter().flatten() {
            let Some(node) = event["node"].as_str().filter(|n| effect_nodes.contains(n)) else {
                continue;
            };
            let activation = event["activation"].as_u64().unwrap_or(1);
            let attempt = event["attempt"].as_u64().unwrap_or(1);
            match event["type"].as_str() {
                Some("nodeDispatched") | Some("nodeRetrying") => {
                    // A retry's next attempt is dispatched by the retrying event.
                    dispatched.insert(key(id, node, activation, attempt));
                    dispatched.insert(key(id, node, activation, attempt + 1));
                }
                Some("nodeCompleted") => {
                    verdict.attempts += 1;
                    let key = key(id, node, activation, attempt);
                    if !effects.contains(&key) {
                        verdict.missing_effects.push(key);
                    }
                }
                _ => {}
            }
        }
    }
    // Effects of runs started under a kill whose answer was lost (a new run replaced them) are
    // not this check's: only the listed runs' effects count.
    let listed: HashSet<&str> = runs.iter().map(|(id, _)| id.as_str()).collect();
    verdict.unexplained_effects = effects
        .iter()
        .filter(|k| k.split(':').next().is_some_and(|run| listed.contains(run)))
        .filter(|k| !dispatched.contains(*k))
        .count();
    verdict.redeliveries = deliveries
        .values()
        .map(|n| usize::try_from(*n).unwrap_or(0).saturating_sub(1))
        .sum();
    Ok(verdict)
}
