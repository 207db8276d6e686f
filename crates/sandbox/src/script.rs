//! What to run: source code, named JSON inputs, and host helpers the caller chooses to expose.

use std::sync::Arc;

/// A host function callable from the script: JSON arguments in, JSON result out. An `Err`
/// becomes a JavaScript `Error` with that message.
pub type HostFn =
    Arc<dyn Fn(&[serde_json::Value]) -> Result<serde_json::Value, String> + Send + Sync>;

/// A script and its environment.
#[derive(Clone)]
pub struct Script {
    /// JavaScript source. It runs as the body of an `async` function: `return` gives the result
    /// and `await` works at the top level.
    pub code: String,
    /// Globals bound before the code runs (e.g. `ctx` for workflow nodes, `event` for transforms).
    pub inputs: Vec<(String, serde_json::Value)>,
    /// Functions bound as globals (e.g. `formatDate`). Nothing else of the host is reachable.
    pub helpers: Vec<(String, HostFn)>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("code_len", &self.code.len())
            .field(
                "inputs",
                &self.inputs.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field(
                "helpers",
                &self.helpers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Script {
    /// A script with no inputs.
    pub fn new(code: impl Into<String>) -> Self {
        Script {
            code: code.into(),
            inputs: Vec::new(),
            helpers: Vec::new(),
        }
    }

    /// Binds `value` as the global `name`.
    pub fn input(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.inputs.push((name.into(), value));
        self
    }

    /// Exposes `function` as the global `name`.
    pub fn helper(
        mut self,
        name: impl Into<String>,
        function: impl Fn(&[serde_json::Value]) -> Result<serde_json::Value, String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.helpers.push((name.into(), Arc::new(function)));
        self
    }
}
