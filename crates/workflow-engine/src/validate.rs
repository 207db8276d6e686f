//! Validation issues and the sink node handlers report their config problems to. The graph
//! rules themselves run in [`crate::graph::compile`], which refuses a workflow with any issue.

use serde::Serialize;
use serde_json::Value;

use crate::host::HostServices;
use crate::template;

/// One problem in a workflow definition, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationIssue {
    /// The node concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The edge concerned (its index in the definition), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<usize>,
    /// The config field concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(node) = &self.node_id {
            write!(f, "node `{node}`")?;
            if let Some(field) = &self.field {
                write!(f, " field `{field}`")?;
            }
            write!(f, ": ")?;
        } else if let Some(edge) = self.edge {
            write!(f, "edge #{edge}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Collects the issues of one node.
#[derive(Debug)]
pub struct IssueSink<'a> {
    node_id: &'a str,
    workflow_id: Option<&'a str>,
    services: HostServices,
    issues: &'a mut Vec<ValidationIssue>,
}

impl<'a> IssueSink<'a> {
    pub(crate) fn new(
        node_id: &'a str,
        workflow_id: Option<&'a str>,
        services: HostServices,
        issues: &'a mut Vec<ValidationIssue>,
    ) -> Self {
        IssueSink {
            node_id,
            workflow_id,
            services,
            issues,
        }
    }

    /// The node runs JavaScript (`why` names what does): an issue when the engine has no
    /// [`ScriptRunner`](crate::ScriptRunner).
    pub fn needs_scripts(&mut self, why: &str) {
        if !self.services.scripts {
            self.node(format!(
                "{why} needs a JavaScript runner, and this engine has none"
            ));
        }
    }

    /// The node runs data queries: an issue when the engine has no
    /// [`DataQueryRunner`](crate::DataQueryRunner).
    pub fn needs_data_queries(&mut self) {
        if !self.services.data_queries {
            self.node("this node runs a data query, and this engine has no data-query runner");
        }
    }

    /// The node starts child workflows: an issue when the engine has no
    /// [`WorkflowSource`](crate::WorkflowSource).
    pub fn needs_workflows(&mut self) {
        if !self.services.workflows {
            self.node("this node starts a sub-workflow, and this engine has no workflow source");
        }
    }

    /// The id of the workflow being validated, when it has one (to refuse self-reference).
    pub fn workflow_id(&self) -> Option<&str> {
        self.workflow_id
    }

    /// A problem with the node as a whole.
    pub fn node(&mut self, message: impl Into<String>) {
        self.issues.push(ValidationIssue {
            node_id: Some(self.node_id.to_string()),
            edge: None,
            field: None,
            message: message.into(),
        });
    }

    /// A problem with one config field.
    pub fn field(&mut self, field: &str, message: impl Into<String>) {
        self.issues.push(ValidationIssue {
            node_id: Some(self.node_id.to_string()),
            edge: None,
            field: Some(field.to_string()),
            message: message.into(),
        });
    }

    /// Checks that every template in `config[field]` is well formed.
    pub fn templates(&mut self, config: &Value, field: &str) {
        if let Some(value) = config.get(field)
            && let Err(error) = template::check(value)
        {
            self.field(field, error.0);
        }
    }

    /// Checks that `config[field]`, when present, is a string.
    pub fn optional_str(&mut self, config: &Value, field: &str) {
        if let Some(value) = config.get(field)
            && !value.is_string()
            && !value.is_null()
        {
            self.field(field, "must be a string");
        }
    }

    /// Checks that `config[field]` is a non-empty string.
    pub fn required_str(&mut self, config: &Value, field: &str) {
        match config.get(field).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => {}
            _ => self.field(field, "is required"),
        }
    }

    /// Checks that `config[field]`, when present, is a number within `min..=max`.
    pub fn number_in(&mut self, config: &Value, field: &str, min: f64, max: f64) {
        match config.get(field) {
            None | Some(Value::Null) => {}
            Some(value) => match value.as_f64() {
                Some(n) if n >= min && n <= max => {}
                _ => self.field(field, format!("must be a number from {min} to {max}")),
            },
        }
    }

    /// Checks that `config[field]`, when present, is a JavaScript identifier.
    pub fn identifier(&mut self, config: &Value, field: &str) {
        if let Some(name) = config.get(field).and_then(Value::as_str)
            && !is_identifier(name)
        {
            self.field(field, "must be a JavaScript identifier");
        }
    }
}

/// Whether `name` is a plain JavaScript identifier.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}
