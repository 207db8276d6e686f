//! Retry backoff: exponential, capped, with jitter. The jitter is derived from the attempt's
//! idempotency key, so it spreads retries of different runs apart yet replays identically.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use crate::model::RetryPolicy;

/// The wait before retrying after failed attempt `attempt` (1-based).
pub fn backoff(policy: &RetryPolicy, attempt: u32, key: &str) -> Duration {
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let base = (policy.initial_backoff_ms as f64) * policy.multiplier.max(1.0).powi(exponent);
    let capped = base.min(policy.max_backoff_ms as f64).max(0.0);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let unit = (hasher.finish() % 10_000) as f64 / 10_000.0;
    let jittered = capped * (1.0 - policy.jitter.clamp(0.0, 1.0) * unit);
    Duration::from_millis(jittered.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_exponentially_within_the_jitter_band_and_the_cap() {
        let policy = RetryPolicy {
            limit: 5,
            initial_backoff_ms: 1_000,
            multiplier: 2.0,
            max_backoff_ms: 5_000,
            jitter: 0.2,
        };
        let waits: Vec<u64> = (1..=5)
            .map(|a| backoff(&policy, a, &format!("run:node:{a}")).as_millis() as u64)
            .collect();
        for (attempt, (wait, ceiling)) in waits
            .iter()
            .zip([1_000, 2_000, 4_000, 5_000, 5_000])
            .enumerate()
        {
            assert!(
                *wait <= ceiling && *wait >= ceiling * 8 / 10,
                "attempt {}: {wait}",
                attempt + 1
            );
        }
        assert_eq!(
            backoff(&policy, 2, "k"),
            backoff(&policy, 2, "k"),
            "replays identically"
        );
    }

    #[test]
    fn different_runs_spread_apart() {
        let policy = RetryPolicy::retries(3);
        let distinct: std::collections::HashSet<u128> = (0..20)
            .map(|i| backoff(&policy, 1, &format!("run-{i}:n:1")).as_millis())
            .collect();
        assert!(distinct.len() > 10);
    }
}
