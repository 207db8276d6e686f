//! The configuration of every built-in node type as a JSON Schema (draft 2020-12), for editors
//! (`GET …/workflows/schemas`). The engine's validation is the authority on what a save
//! accepts; these describe the same fields, with their defaults, for forms and autocompletion.
//! A test keeps the list equal to the engine's node types.

use serde_json::{Value, json};

fn template(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn output_variable(default: &str) -> Value {
    json!({"type": "string", "pattern": "^[A-Za-z_$][A-Za-z0-9_$]*$", "default": default,
           "description": "The context key the node's result is stored under."})
}

fn error_handling() -> Value {
    json!({"type": "string",
           "enum": ["continue", "fail_workflow", "retry_then_fail", "retry_then_continue"],
           "description": "What a failure does: take the `error` handle, fail the run, or retry first."})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
           "properties": properties, "required": required})
}

fn condition_operator() -> Value {
    json!({"type": "string", "enum": ["equals", "not_equals", "contains", "not_contains",
        "starts_with", "ends_with", "greater_than", "less_than", "greater_or_equal",
        "less_or_equal", "is_empty", "is_not_empty", "matches_regex", "expression"]})
}

/// `(node type, what it does, handles, config schema)` for every built-in type.
pub fn node_schemas() -> Vec<(&'static str, &'static str, Vec<&'static str>, Value)> {
    vec![
        (
            "start",
            "Where a run begins; its output is the run's input.",
            vec!["output"],
            object(json!({}), &[]),
        ),
        (
            "end",
            "Finishes the run with `status` and the named output parameters.",
            vec![],
            object(
                json!({
                    "status": {"type": "string", "enum": ["success", "error"], "default": "success"},
                    "outputParameters": {"type": "array", "items": {"type": "object",
                        "properties": {"name": {"type": "string"}, "sourceVariable": template("A `{{ctx.…}}` template.")},
                        "required": ["name", "sourceVariable"]}}
                }),
                &[],
            ),
        ),
        (
            "javascript",
            "Runs `code` as a function body in the sandbox, with `ctx` bound; `return` gives the result.",
            vec!["success", "error"],
            object(
                json!({
                    "code": {"type": "string", "minLength": 1},
                    "outputVariable": output_variable("jsResult"),
                    "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                    "errorHandling": error_handling()
                }),
                &["code"],
            ),
        ),
        (
            "condition",
            "Takes the handle of the first branch whose conditions hold, else `defaultBranch`.",
            vec!["<branch id>", "default", "error"],
            object(
                json!({
                    "branches": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "label": {"type": "string"},
                        "conditionLogic": {"type": "string", "enum": ["AND", "OR"], "default": "AND"},
                        "conditions": {"type": "array", "items": {"type": "object", "properties": {
                            "leftValue": template("A value or `{{ctx.…}}` template."),
                            "operator": condition_operator(),
                            "rightValue": {}
                        }, "required": ["operator"]}}
                    }, "required": ["id"]}},
                    "defaultBranch": {"type": "string", "default": "default"},
                    "errorHandling": error_handling()
                }),
                &["branches"],
            ),
        ),
        (
            "switch",
            "Takes the handle of the first case matching `switchValue`, else `default`.",
            vec!["<case id>", "default", "error"],
            object(
                json!({
                    "switchValue": template("The value to match."),
                    "cases": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "operator": condition_operator(), "matchValue": {}
                    }, "required": ["id"]}}
                }),
                &["switchValue", "cases"],
            ),
        ),
        (
            "loop",
            "Emits each item of `sourceVariable` on `loop` (the body edges back here), then the results on `completed`.",
            vec!["loop", "completed", "error"],
            object(
                json!({
                    "sourceVariable": template("A `{{ctx.…}}` template giving an array."),
                    "itemVariable": {"type": "string", "default": "item"},
                    "indexVariable": {"type": "string", "default": "index"},
                    "outputVariable": output_variable("loopResults"),
                    "maxIterations": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000},
                    "delayBetweenItems": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 0}
                }),
                &["sourceVariable"],
            ),
        ),
        (
            "delay",
            "Schedules the next nodes later (at most 24 hours); nothing blocks meanwhile.",
            vec!["output"],
            object(
                json!({
                    "delayType": {"type": "string", "enum": ["fixed", "dynamic", "until"], "default": "fixed"},
                    "delayMinutes": {"type": "integer", "minimum": 0, "maximum": 1440},
                    "delaySeconds": {"type": "integer", "minimum": 0},
                    "delayMs": {"type": "integer", "minimum": 0},
                    "delayVariable": template("Milliseconds, for `dynamic`."),
                    "untilTime": template("An RFC 3339 time, for `until`.")
                }),
                &[],
            ),
        ),
        (
            "dataQuery",
            "Runs a saved data query of the tenant with templated input values.",
            vec!["success", "error"],
            object(
                json!({
                    "dataQueryID": {"type": "string", "format": "uuid"},
                    "inputValues": {"type": "object", "additionalProperties": template("A value or template.")},
                    "outputVariable": output_variable("queryResult"),
                    "errorHandling": error_handling()
                }),
                &["dataQueryID"],
            ),
        ),
        (
            "dataCollection",
            "Suspends the run until someone submits the form; `expired` after `expiryMinutes`.",
            vec!["output", "expired", "error"],
            object(
                json!({
                    "collectionType": {"type": "string", "enum": ["form"], "default": "form"},
                    "title": template("Shown to the person asked."),
                    "description": template("Shown to the person asked."),
                    "formSchema": {"type": "object", "description": "A JSON Schema of the submission."},
                    "formUischema": {"type": "object"},
                    "outputVariable": output_variable("collectedData"),
                    "expiryMinutes": {"type": "number", "minimum": 0, "default": 60},
                    "onExpire": {"type": "string", "enum": ["expired", "fail"], "default": "expired"}
                }),
                &[],
            ),
        ),
        (
            "approval",
            "Suspends the run until someone approves or rejects it.",
            vec!["approved", "rejected", "expired", "error"],
            object(
                json!({
                    "title": template("Shown to the approver."),
                    "description": template("Shown to the approver."),
                    "expiryMinutes": {"type": "number", "minimum": 0, "default": 60},
                    "onTimeout": {"type": "string", "default": "expired"}
                }),
                &[],
            ),
        ),
        (
            "fanout",
            "Fires every branch handle.",
            vec!["<branch id>"],
            object(
                json!({"branches": {"type": "array", "items": {"type": "object",
                "properties": {"id": {"type": "string"}}, "required": ["id"]}}}),
                &["branches"],
            ),
        ),
        (
            "join",
            "Gathers context variables once its incoming edges are done (the barrier is `joinMode`).",
            vec!["output"],
            object(
                json!({
                    "sourceVariables": {"type": "array", "items": {"type": "string"}},
                    "outputVariable": output_variable("joined"),
                    "requireAll": {"type": "boolean", "default": true}
                }),
                &[],
            ),
        ),
        (
            "subWorkflow",
            "Runs another workflow of the tenant as a child run and waits for it.",
            vec!["success", "error"],
            object(
                json!({
                    "childWorkflowID": {"type": "string", "format": "uuid"},
                    "inputMapping": {"type": "object", "additionalProperties": template("A value or template.")},
                    "outputVariable": output_variable("subResult"),
                    "mergeOutputs": {"type": "boolean", "default": false},
                    "maxDepth": {"type": "integer", "minimum": 1, "maximum": 5, "default": 5}
                }),
                &["childWorkflowID"],
            ),
        ),
    ]
}

/// The settings every node may carry besides its type's configuration.
pub fn node_settings_schema() -> Value {
    object(
        json!({
            "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
            "retry": {"type": "object", "properties": {
                "limit": {"type": "integer", "minimum": 0, "maximum": 10},
                "initialBackoffMs": {"type": "integer", "minimum": 0},
                "multiplier": {"type": "number", "minimum": 1},
                "maxBackoffMs": {"type": "integer", "minimum": 0},
                "jitter": {"type": "number", "minimum": 0, "maximum": 1}}},
            "errorHandling": error_handling(),
            "joinMode": {"type": "string", "enum": ["all", "any"]}
        }),
        &[],
    )
}
