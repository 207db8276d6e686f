//! [`ScriptRunner`] over the workspace's QuickJS sandbox (feature `sandbox`): `javascript`
//! nodes and `expression` conditions run there under its memory, time and stack limits.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::host::{ScriptCall, ScriptRunner};
use crate::node::NodeError;

/// Runs scripts in [`sandbox::Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxScripts {
    sandbox: sandbox::Sandbox,
    limits: sandbox::Limits,
}

impl SandboxScripts {
    /// A runner with `max_in_flight` scripts at once and the workflow limits.
    pub fn new(max_in_flight: usize) -> Self {
        SandboxScripts {
            sandbox: sandbox::Sandbox::new(max_in_flight),
            limits: sandbox::Limits::workflow(),
        }
    }
}

fn node_error(error: sandbox::Error) -> NodeError {
    let retryable = matches!(error, sandbox::Error::Engine(_));
    let details = match &error {
        sandbox::Error::Script {
            line,
            column,
            stack,
            ..
        } => Some(json!({"line": line, "column": column, "stack": stack})),
        _ => None,
    };
    NodeError {
        message: error.to_string(),
        retryable,
        details,
    }
}

#[async_trait]
impl ScriptRunner for SandboxScripts {
    async fn run(&self, call: ScriptCall) -> Result<Value, NodeError> {
        let script = sandbox::Script::new(call.code).input("ctx", call.ctx);
        let limits = self.limits.clone().with_time(call.timeout);
        self.sandbox
            .run(script, limits)
            .await
            .map(|outcome| outcome.value)
            .map_err(node_error)
    }

    async fn condition(
        &self,
        _namespace: &str,
        expression: &str,
        ctx: Value,
    ) -> Result<bool, NodeError> {
        let limits = self
            .limits
            .clone()
            .with_time(std::time::Duration::from_secs(5));
        self.sandbox
            .condition(expression, ctx, limits)
            .await
            .map_err(node_error)
    }
}
