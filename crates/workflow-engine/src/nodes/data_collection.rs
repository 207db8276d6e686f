//! `dataCollection` (human in the loop): suspends the run with a form request; the host's
//! submission resumes it with the data in `outputVariable` (`collectedData`). An expired
//! request leaves by `expired`, or fails the node when `onExpire` is `fail`.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::expiry;
use crate::model::NodeDefinition;
use crate::node::{
    Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome, Suspension,
};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct DataCollection;

#[async_trait]
impl NodeHandler for DataCollection {
    fn node_type(&self) -> &str {
        "dataCollection"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output", "expired", "error"])
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("collectedData")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        let config = &node.config;
        issues.templates(config, "title");
        issues.templates(config, "description");
        issues.number_in(config, "expiryMinutes", 0.0, 525_600.0);
        if config
            .get("formSchema")
            .is_some_and(|s| !s.is_object() && !s.is_null())
        {
            issues.field("formSchema", "must be a JSON Schema object");
        }
        if let Some(on_expire) = config.get("onExpire")
            && !matches!(on_expire.as_str(), Some("expired" | "fail"))
        {
            issues.field("onExpire", "must be `expired` or `fail`");
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config();
        let payload = json!({
            "collectionType": config.get("collectionType").and_then(Value::as_str).unwrap_or("form"),
            "title": match input.resolved("title")? { Value::Null => json!("Input required"), title => title },
            "description": input.resolved("description")?,
            "formSchema": config.get("formSchema").cloned().unwrap_or(Value::Null),
            "formUischema": config.get("formUischema").cloned().unwrap_or(Value::Null),
        });
        Ok(NodeOutcome::Suspend(Suspension {
            kind: "dataCollection".into(),
            payload,
            expires_at: expiry(config, 60.0, input.services.clock().now()),
        }))
    }

    fn resume(&self, node: &NodeDefinition, data: Value) -> Result<Completion, NodeError> {
        check_required(node.config.get("formSchema"), &data)?;
        Ok(Completion::on("output", data))
    }

    fn expire(&self, node: &NodeDefinition) -> Result<Completion, NodeError> {
        match node.config.get("onExpire").and_then(Value::as_str) {
            Some("fail") => Err(NodeError::fatal("the data-collection request expired")),
            _ => Ok(Completion::on("expired", json!({"expired": true}))),
        }
    }
}

/// Checks the submission against the top level of the form's JSON Schema: an object with every
/// `required` property present. (Deeper checks belong to the form renderer and the host.)
fn check_required(schema: Option<&Value>, data: &Value) -> Result<(), NodeError> {
    let Some(schema) = schema.filter(|s| s.is_object()) else {
        return Ok(());
    };
    let wants_object = schema.get("type").and_then(Value::as_str) == Some("object")
        || schema.get("properties").is_some();
    if wants_object && !data.is_object() {
        return Err(NodeError::fatal("the submission must be an object"));
    }
    let missing: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| data.get(name).is_none_or(Value::is_null))
                .collect()
        })
        .unwrap_or_default();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NodeError::fatal(format!(
            "required fields are missing: {}",
            missing.join(", ")
        )))
    }
}
