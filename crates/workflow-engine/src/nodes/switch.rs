//! `switch`: compares `switchValue` with each case's `matchValue` (operator `equals` unless the
//! case names another) and leaves by the first matching case id, else `default`.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::operators::{self, OPERATORS};
use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct Switch;

fn cases(config: &Value) -> &[Value] {
    config
        .get("cases")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[async_trait]
impl NodeHandler for Switch {
    fn node_type(&self) -> &str {
        "switch"
    }

    fn handles(&self, node: &NodeDefinition) -> Handles {
        let mut handles: Vec<String> = cases(&node.config)
            .iter()
            .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        handles.extend(["default", "error"].map(String::from));
        Handles::list(handles)
    }

    fn default_handle(&self) -> &str {
        "default"
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        issues.templates(&node.config, "switchValue");
        let mut ids = std::collections::HashSet::new();
        for (i, case) in cases(&node.config).iter().enumerate() {
            let field = format!("cases[{i}]");
            match case.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() && id != "default" && id != "error" => {
                    if !ids.insert(id) {
                        issues.field(&field, format!("case id `{id}` is used twice"));
                    }
                }
                _ => issues.field(&field, "needs an `id` other than `default` and `error`"),
            }
            if let Some(op) = case.get("operator")
                && !op
                    .as_str()
                    .is_some_and(|op| OPERATORS.contains(&op) && op != "expression")
            {
                issues.field(&field, "unknown operator");
            }
            if let Some(value) = case.get("matchValue")
                && let Err(error) = crate::template::check(value)
            {
                issues.field(&field, error.0);
            }
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let value = input.resolved("switchValue")?;
        for case in cases(input.config()) {
            let operator = case
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or("equals");
            let expected = input.resolve(case.get("matchValue").unwrap_or(&Value::Null))?;
            if operators::compare(operator, &value, &expected)? {
                let id = case.get("id").and_then(Value::as_str).unwrap_or("default");
                return Ok(NodeOutcome::Complete(Completion::on(
                    id,
                    json!({"matched": id, "value": value}),
                )));
            }
        }
        Ok(NodeOutcome::Complete(Completion::on(
            "default",
            json!({"matched": "default", "value": value}),
        )))
    }
}
