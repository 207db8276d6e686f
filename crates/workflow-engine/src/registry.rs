//! The node-type registry: built-in types and the host's, looked up by name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::node::NodeHandler;
use crate::nodes;

/// Node types by name. Registering a name again replaces the earlier handler.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn NodeHandler>>,
}

impl Registry {
    /// An empty registry (no built-ins).
    pub fn empty() -> Self {
        Registry::default()
    }

    /// The built-in types: start, end, javascript, condition, switch, loop, delay, dataQuery,
    /// dataCollection, fanout, join, approval and subWorkflow.
    pub fn with_builtins() -> Self {
        let mut registry = Registry::empty();
        for handler in nodes::builtins() {
            registry.register(handler);
        }
        registry
    }

    /// Adds (or replaces) a node type.
    pub fn register(&mut self, handler: Arc<dyn NodeHandler>) {
        self.handlers
            .insert(handler.node_type().to_string(), handler);
    }

    /// The handler of `node_type`.
    pub fn get(&self, node_type: &str) -> Option<&Arc<dyn NodeHandler>> {
        self.handlers.get(node_type)
    }

    /// Registered type names, sorted.
    pub fn types(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}
