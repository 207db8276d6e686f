//! `condition`: ordered branches, each an AND/OR of `{leftValue, operator, rightValue}`; the
//! first branch that matches names the handle, else `defaultBranch` (`default`). The legacy
//! form `{expression}` evaluates one JavaScript expression and leaves by `true` or `false`.
//!
//! An expression that reads a path missing at any depth (`ctx.order.customer.tier` without an
//! `order`) is false, not a failure: the run takes the branch it would take for a false
//! condition, and the error is kept in the node's output (`expressionErrors`). Any other
//! script error (a syntax error, a call of something that is not a function, a timeout) still
//! fails the node.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::operators::{self, OPERATORS};
use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct Condition;

fn branches(config: &Value) -> &[Value] {
    config
        .get("branches")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn default_branch(config: &Value) -> &str {
    config
        .get("defaultBranch")
        .and_then(Value::as_str)
        .unwrap_or("default")
}

fn legacy_expression(config: &Value) -> Option<&str> {
    config
        .get("expression")
        .or_else(|| config.get("condition"))
        .and_then(Value::as_str)
}

#[async_trait]
impl NodeHandler for Condition {
    fn node_type(&self) -> &str {
        "condition"
    }

    fn handles(&self, node: &NodeDefinition) -> Handles {
        let mut handles: Vec<String> = branches(&node.config)
            .iter()
            .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        handles.extend(["default", "true", "false", "error"].map(String::from));
        handles.push(default_branch(&node.config).to_string());
        Handles::list(handles)
    }

    fn default_handle(&self) -> &str {
        "default"
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        let config = &node.config;
        if legacy_expression(config).is_some() {
            issues.needs_scripts("an `expression` condition");
            return;
        }
        let mut ids = std::collections::HashSet::new();
        for (b, branch) in branches(config).iter().enumerate() {
            let field = format!("branches[{b}]");
            match branch.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => {
                    if !ids.insert(id) {
                        issues.field(&field, format!("branch id `{id}` is used twice"));
                    }
                }
                _ => issues.field(&field, "needs an `id`"),
            }
            if let Some(logic) = branch.get("conditionLogic")
                && !matches!(logic.as_str(), Some("AND" | "OR" | "and" | "or"))
            {
                issues.field(&field, "conditionLogic must be AND or OR");
            }
            for (c, condition) in branch
                .get("conditions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let field = format!("branches[{b}].conditions[{c}]");
                match condition.get("operator").and_then(Value::as_str) {
                    Some("expression") => issues.needs_scripts("the `expression` operator"),
                    Some(op) if OPERATORS.contains(&op) => {}
                    _ => issues.field(
                        &field,
                        format!("operator must be one of {}", OPERATORS.join(", ")),
                    ),
                }
                for side in ["leftValue", "rightValue"] {
                    if let Some(value) = condition.get(side)
                        && let Err(error) = crate::template::check(value)
                    {
                        issues.field(&field, error.0);
                    }
                }
            }
        }
        if config.get("branches").is_some_and(|b| !b.is_array()) {
            issues.field("branches", "must be a list");
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config();
        let mut missing = Vec::new();
        if let Some(expression) = legacy_expression(config) {
            let matched = evaluate(&input, expression, &mut missing).await?;
            let handle = if matched { "true" } else { "false" };
            return Ok(NodeOutcome::Complete(Completion::on(
                handle,
                with_errors(json!({"matched": matched}), missing),
            )));
        }
        for branch in branches(config) {
            if branch_matches(&input, branch, &mut missing).await? {
                let id = branch
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                let label = branch.get("label").cloned().unwrap_or(Value::Null);
                return Ok(NodeOutcome::Complete(Completion::on(
                    id,
                    with_errors(json!({"matched": id, "label": label}), missing),
                )));
            }
        }
        let fallback = default_branch(config);
        Ok(NodeOutcome::Complete(Completion::on(
            fallback,
            with_errors(json!({"matched": fallback, "label": "else"}), missing),
        )))
    }
}

/// `output` with the missing-path errors met on the way, if any.
fn with_errors(mut output: Value, missing: Vec<Value>) -> Value {
    if !missing.is_empty() {
        output["expressionErrors"] = Value::Array(missing);
    }
    output
}

/// Whether a script error is a read through a missing path (`Cannot read property 'x' of
/// undefined` in QuickJS, `Cannot read properties of undefined` in V8).
fn reads_a_missing_path(error: &NodeError) -> bool {
    let message = error.message.to_ascii_lowercase();
    message.contains("typeerror") && message.contains("cannot read propert")
}

/// Evaluates `expression`; a read through a missing path is false, recorded in `missing`.
async fn evaluate(
    input: &NodeInput,
    expression: &str,
    missing: &mut Vec<Value>,
) -> Result<bool, NodeError> {
    let evaluated = input
        .services
        .scripts()?
        .condition(&input.namespace, expression, input.context.to_json())
        .await;
    match evaluated {
        Err(error) if reads_a_missing_path(&error) => {
            missing.push(json!({"expression": expression, "error": error.message}));
            Ok(false)
        }
        other => other,
    }
}

async fn branch_matches(
    input: &NodeInput,
    branch: &Value,
    missing: &mut Vec<Value>,
) -> Result<bool, NodeError> {
    let any = matches!(
        branch.get("conditionLogic").and_then(Value::as_str),
        Some("OR" | "or")
    );
    let conditions = branch
        .get("conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if conditions.is_empty() {
        return Ok(false);
    }
    for condition in conditions {
        let holds = condition_holds(input, condition, missing).await?;
        if any && holds {
            return Ok(true);
        }
        if !any && !holds {
            return Ok(false);
        }
    }
    Ok(!any)
}

async fn condition_holds(
    input: &NodeInput,
    condition: &Value,
    missing: &mut Vec<Value>,
) -> Result<bool, NodeError> {
    let operator = condition
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or("equals");
    if operator == "expression" {
        let expression = condition
            .get("expression")
            .or_else(|| condition.get("leftValue"))
            .and_then(Value::as_str)
            .ok_or_else(|| NodeError::fatal("the expression operator needs an expression"))?;
        return evaluate(input, expression, missing).await;
    }
    let left = input.resolve(condition.get("leftValue").unwrap_or(&Value::Null))?;
    let right = input.resolve(condition.get("rightValue").unwrap_or(&Value::Null))?;
    operators::compare(operator, &left, &right)
}
