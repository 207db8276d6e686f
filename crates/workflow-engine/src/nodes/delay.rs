//! `delay`: holds the next nodes back for a fixed time, a time read from the context, or until
//! a moment; at most 24 hours. Nothing waits: the next nodes are queued with a due time.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

/// The longest delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
pub(super) struct Delay;

#[async_trait]
impl NodeHandler for Delay {
    fn node_type(&self) -> &str {
        "delay"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output", "error"])
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        let config = &node.config;
        match config
            .get("delayType")
            .and_then(Value::as_str)
            .unwrap_or("fixed")
        {
            "fixed" => {
                // Any combination of the parts, as long as they sum to at most a day
                // (`{delayMs: 86400000}` is a day, as is `{delayMinutes: 1440}`).
                let max_ms = MAX_DELAY.as_millis() as f64;
                issues.number_in(config, "delayMinutes", 0.0, max_ms / 60_000.0);
                issues.number_in(config, "delaySeconds", 0.0, max_ms / 1_000.0);
                issues.number_in(config, "delayMs", 0.0, max_ms);
                if fixed_delay(config) > MAX_DELAY {
                    issues.node(format!(
                        "the delay adds up to {} ms; a delay may not exceed 24 hours ({} ms)",
                        fixed_delay(config).as_millis(),
                        MAX_DELAY.as_millis()
                    ));
                }
            }
            "dynamic" => {
                issues.required_str(config, "delayVariable");
                issues.templates(config, "delayVariable");
            }
            "until" => {
                issues.required_str(config, "untilTime");
                issues.templates(config, "untilTime");
            }
            _ => issues.field("delayType", "must be fixed, dynamic or until"),
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config();
        let delay_type = config
            .get("delayType")
            .and_then(Value::as_str)
            .unwrap_or("fixed");
        let delay = match delay_type {
            "dynamic" => {
                let value = input.resolved("delayVariable")?;
                let ms = match &value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .ok_or_else(|| {
                    NodeError::fatal(format!("delayVariable must give milliseconds, got {value}"))
                })?;
                Duration::from_secs_f64(ms / 1000.0)
            }
            "until" => {
                let value = input.resolved("untilTime")?;
                let text = value.as_str().unwrap_or_default();
                let until = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| {
                    NodeError::fatal(format!("untilTime must be an RFC 3339 time, got {value}"))
                })?;
                (until.with_timezone(&chrono::Utc) - input.clock().now())
                    .to_std()
                    .unwrap_or_default()
            }
            _ => fixed_delay(config),
        };
        if delay > MAX_DELAY {
            return Err(NodeError::fatal(format!(
                "the {delay_type} delay came to {} ms; a delay may not exceed 24 hours ({} ms)",
                delay.as_millis(),
                MAX_DELAY.as_millis()
            )));
        }
        let completion = Completion::on(
            "output",
            json!({"delayedMs": delay.as_millis() as u64, "delayType": delay_type}),
        );
        Ok(NodeOutcome::Complete(completion.delayed(delay)))
    }
}

fn fixed_delay(config: &Value) -> Duration {
    let part = |field: &str| {
        config
            .get(field)
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            .max(0.0)
    };
    let ms = part("delayMinutes") * 60_000.0 + part("delaySeconds") * 1_000.0 + part("delayMs");
    Duration::from_secs_f64(ms / 1000.0)
}
