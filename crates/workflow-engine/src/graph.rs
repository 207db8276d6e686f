//! A validated workflow compiled for execution: node indexes, each node's handler and resolved
//! settings, outgoing edges by handle, and which incoming edges close a loop (back edges).
//! [`compile`] applies every graph rule; a workflow with any issue is refused as a whole.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::host::HostServices;
use crate::model::{ErrorHandling, JoinMode, NodeDefinition, RetryPolicy, WorkflowDefinition};
use crate::node::{Handles, NodeHandler};
use crate::registry::Registry;
use crate::validate::{IssueSink, ValidationIssue};

/// The longest per-attempt timeout a node may set (one day).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The most retries a node may set.
pub const MAX_RETRIES: u32 = 10;

/// Engine-wide defaults for nodes that set nothing.
#[derive(Debug, Clone, Copy)]
pub struct NodeSettingsDefaults {
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl Default for NodeSettingsDefaults {
    fn default() -> Self {
        NodeSettingsDefaults {
            timeout: Duration::from_secs(60),
        }
    }
}

/// A node's effective settings (node > workflow defaults > engine defaults).
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Error handling.
    pub error_handling: ErrorHandling,
    /// Join mode for several incoming edges.
    pub join: JoinMode,
    /// Where the output goes in the context, if anywhere.
    pub output_variable: Option<String>,
}

/// One edge, resolved.
#[derive(Debug, Clone)]
pub struct CompiledEdge {
    /// Source node index.
    pub source: usize,
    /// Target node index.
    pub target: usize,
    /// The handle it follows (the source type's default when the definition gave none).
    pub handle: String,
    /// Whether it closes a loop (enters a loop node from its own body).
    pub back: bool,
    /// Whether the handle carries loop iterations.
    pub iteration: bool,
}

/// A workflow ready to run.
#[derive(Debug)]
pub struct CompiledWorkflow {
    definition: WorkflowDefinition,
    index: HashMap<String, usize>,
    handlers: Vec<Arc<dyn NodeHandler>>,
    /// Each node's handles, as its type declared them for its config.
    handles: Vec<Handles>,
    settings: Vec<NodeSettings>,
    edges: Vec<CompiledEdge>,
    outgoing: Vec<Vec<usize>>,
    entry_in: Vec<Vec<usize>>,
    back_in: Vec<Vec<usize>>,
    start: usize,
}

impl CompiledWorkflow {
    /// The definition it was compiled from.
    pub fn definition(&self) -> &WorkflowDefinition {
        &self.definition
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.definition.nodes.len()
    }

    /// The node at `index`.
    pub fn node(&self, index: usize) -> &NodeDefinition {
        &self.definition.nodes[index]
    }

    /// The index of the node `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The handler of the node at `index`.
    pub fn handler(&self, index: usize) -> &Arc<dyn NodeHandler> {
        &self.handlers[index]
    }

    /// Whether `handle` of the node at `index` carries loop iterations.
    pub fn is_iteration_handle(&self, index: usize, handle: &str) -> bool {
        self.handles[index].is_iteration(handle)
    }

    /// The settings of the node at `index`.
    pub fn settings(&self, index: usize) -> &NodeSettings {
        &self.settings[index]
    }

    /// The start node's index.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Every edge.
    pub fn edges(&self) -> &[CompiledEdge] {
        &self.edges
    }

    /// Edge indexes leaving the node.
    pub fn outgoing(&self, node: usize) -> &[usize] {
        &self.outgoing[node]
    }

    /// Edge indexes entering the node, not counting back edges.
    pub fn entry_edges(&self, node: usize) -> &[usize] {
        &self.entry_in[node]
    }

    /// Back edges entering the node (loop nodes only).
    pub fn back_edges(&self, node: usize) -> &[usize] {
        &self.back_in[node]
    }

    /// Whether some edge leaves `node` by `handle`.
    pub fn has_edge_on(&self, node: usize, handle: &str) -> bool {
        self.outgoing[node]
            .iter()
            .any(|&e| self.edges[e].handle == handle)
    }
}

/// Validates `definition` against `registry` and compiles it.
pub fn compile(
    definition: WorkflowDefinition,
    registry: &Registry,
    defaults: NodeSettingsDefaults,
    services: &HostServices,
) -> Result<CompiledWorkflow, Error> {
    let mut issues = Vec::new();
    let workflow_id = definition.id.as_deref();

    let mut index = HashMap::new();
    let mut handlers = Vec::new();
    for node in &definition.nodes {
        if node.id.trim().is_empty() {
            issues.push(general("every node needs a non-empty id"));
        } else if index.insert(node.id.clone(), handlers.len()).is_some() {
            issues.push(at_node(
                &node.id,
                format!("node id `{}` is used twice", node.id),
            ));
        }
        match registry.get(&node.node_type) {
            Some(handler) => {
                handler.validate(
                    node,
                    &mut IssueSink::new(&node.id, workflow_id, *services, &mut issues),
                );
                handlers.push(Arc::clone(handler));
            }
            None => {
                issues.push(at_node(
                    &node.id,
                    format!("unknown node type `{}`", node.node_type),
                ));
                handlers.push(Arc::new(UnknownNode) as Arc<dyn NodeHandler>);
            }
        }
        check_node_settings(node, &mut issues);
    }
    if definition.nodes.is_empty() {
        issues.push(general("the workflow has no nodes"));
    }

    let starts: Vec<usize> = definition
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.node_type == "start")
        .map(|(i, _)| i)
        .collect();
    if starts.len() != 1 {
        issues.push(general(format!(
            "a workflow needs exactly one `start` node, found {}",
            starts.len()
        )));
    }

    let mut edges = Vec::new();
    let mut seen = HashSet::new();
    for (position, edge) in definition.edges.iter().enumerate() {
        let (Some(&source), Some(&target)) = (index.get(&edge.source), index.get(&edge.target))
        else {
            issues.push(at_edge(
                position,
                format!(
                    "edge {} → {} names a node that does not exist",
                    edge.source, edge.target
                ),
            ));
            continue;
        };
        let handler = &handlers[source];
        let handle = match edge.source_handle.as_deref().map(str::trim) {
            None | Some("") => handler.default_handle().to_string(),
            Some("done") if handler.node_type() == "loop" => "completed".to_string(),
            Some(handle) => handle.to_string(),
        };
        if !handler.handles(&definition.nodes[source]).contains(&handle) {
            issues.push(at_edge(
                position,
                format!(
                    "`{}` ({}) has no handle `{handle}`",
                    edge.source,
                    handler.node_type()
                ),
            ));
        }
        if let Some(target_handle) = edge.target_handle.as_deref()
            && !matches!(target_handle, "" | "input" | "target")
        {
            issues.push(at_edge(
                position,
                format!("unknown target handle `{target_handle}`"),
            ));
        }
        if source == target {
            issues.push(at_edge(
                position,
                format!("`{}` has an edge to itself", edge.source),
            ));
        }
        if !seen.insert((source, handle.clone(), target)) {
            issues.push(at_edge(position, "the same edge appears twice"));
        }
        let iteration = handler
            .handles(&definition.nodes[source])
            .is_iteration(&handle);
        edges.push(CompiledEdge {
            source,
            target,
            handle,
            back: false,
            iteration,
        });
    }

    let count = definition.nodes.len();
    let mut outgoing = vec![Vec::new(); count];
    for (e, edge) in edges.iter().enumerate() {
        outgoing[edge.source].push(e);
    }
    for (i, node) in definition.nodes.iter().enumerate() {
        if node.node_type == "start" && edges.iter().any(|e| e.target == i) {
            issues.push(at_node(
                &node.id,
                "the start node cannot have incoming edges",
            ));
        }
        if node.node_type == "end" && !outgoing[i].is_empty() {
            issues.push(at_node(&node.id, "an end node cannot have outgoing edges"));
        }
    }

    mark_back_edges(&mut edges, &outgoing, count);
    for (i, node) in definition.nodes.iter().enumerate() {
        let iterates = outgoing[i].iter().any(|&e| edges[e].iteration);
        let returns = edges.iter().any(|e| e.target == i && e.back);
        if iterates && !returns {
            issues.push(at_node(
                &node.id,
                "the loop body never returns to the loop node",
            ));
        }
    }
    if let Some(cycle_node) = find_cycle(&edges, count) {
        issues.push(at_node(
            &definition.nodes[cycle_node].id,
            "is on a cycle that does not go through a loop node's `loop` handle",
        ));
    }
    if let [start] = starts.as_slice() {
        let reachable = reachable_from(*start, &edges, &outgoing, count);
        for (i, node) in definition.nodes.iter().enumerate() {
            if !reachable[i] {
                issues.push(at_node(&node.id, "is not reachable from the start node"));
            }
        }
    }

    if !issues.is_empty() {
        return Err(Error::InvalidDefinition(issues));
    }

    let mut entry_in = vec![Vec::new(); count];
    let mut back_in = vec![Vec::new(); count];
    for (e, edge) in edges.iter().enumerate() {
        if edge.back {
            back_in[edge.target].push(e);
        } else {
            entry_in[edge.target].push(e);
        }
    }
    let handles = definition
        .nodes
        .iter()
        .zip(&handlers)
        .map(|(node, handler)| handler.handles(node))
        .collect();
    let settings = definition
        .nodes
        .iter()
        .zip(&handlers)
        .map(|(node, handler)| settings_of(node, handler.as_ref(), &definition, defaults))
        .collect();
    Ok(CompiledWorkflow {
        start: starts[0],
        definition,
        index,
        handlers,
        handles,
        settings,
        edges,
        outgoing,
        entry_in,
        back_in,
    })
}

fn settings_of(
    node: &NodeDefinition,
    handler: &dyn NodeHandler,
    definition: &WorkflowDefinition,
    defaults: NodeSettingsDefaults,
) -> NodeSettings {
    let workflow = &definition.options.node_defaults;
    let timeout = node
        .timeout_seconds
        .or_else(|| node.config.get("timeoutSeconds").and_then(|v| v.as_f64()))
        .or(workflow.timeout_seconds)
        .map(|s| Duration::from_secs_f64(s.clamp(0.001, MAX_TIMEOUT.as_secs_f64())))
        .unwrap_or(defaults.timeout);
    let retry = node
        .retry
        .or(workflow.retry)
        .or_else(|| {
            node.config
                .get("retryLimit")
                .and_then(|v| v.as_u64())
                .map(|limit| RetryPolicy::retries(limit.min(u64::from(MAX_RETRIES)) as u32))
        })
        .unwrap_or_else(RetryPolicy::none);
    let configured_mode = node.error_handling.or_else(|| {
        node.config
            .get("errorHandling")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    });
    let error_handling =
        configured_mode
            .or(workflow.error_handling)
            .unwrap_or(if retry.limit > 0 {
                ErrorHandling::RetryThenContinue
            } else {
                ErrorHandling::Continue
            });
    let join = node.join_mode.unwrap_or_else(|| {
        match node.config.get("joinMode").and_then(|v| v.as_str()) {
            Some("any") => JoinMode::Any,
            Some("all") => JoinMode::All,
            _ if node.config.get("requireAll").and_then(|v| v.as_bool()) == Some(false) => {
                JoinMode::Any
            }
            _ if node.node_type == "loop" => JoinMode::Any,
            _ => JoinMode::All,
        }
    });
    let output_variable = match node.config.get("outputVariable").and_then(|v| v.as_str()) {
        Some(name) if !name.trim().is_empty() => Some(name.trim().to_string()),
        _ => handler.default_output_variable().map(str::to_string),
    };
    NodeSettings {
        timeout,
        retry,
        error_handling,
        join,
        output_variable,
    }
}

fn check_node_settings(node: &NodeDefinition, issues: &mut Vec<ValidationIssue>) {
    if let Some(seconds) = node.timeout_seconds
        && !(seconds > 0.0 && seconds <= MAX_TIMEOUT.as_secs_f64())
    {
        issues.push(at_node(
            &node.id,
            "timeoutSeconds must be above 0 and at most 86400",
        ));
    }
    if let Some(retry) = node.retry {
        if retry.limit > MAX_RETRIES {
            issues.push(at_node(
                &node.id,
                format!("retry limit must be at most {MAX_RETRIES}"),
            ));
        }
        if !((1.0..=10.0).contains(&retry.multiplier) && (0.0..=1.0).contains(&retry.jitter)) {
            issues.push(at_node(
                &node.id,
                "retry multiplier must be 1..10 and jitter 0..1",
            ));
        }
    }
    if let Some(mode) = node.config.get("errorHandling")
        && serde_json::from_value::<ErrorHandling>(mode.clone()).is_err()
    {
        issues.push(ValidationIssue {
            node_id: Some(node.id.clone()),
            edge: None,
            field: Some("errorHandling".into()),
            message: "must be continue, fail_workflow, retry_then_fail or retry_then_continue"
                .into(),
        });
    }
}

/// An edge u → L is a back edge when L is left by an iteration handle and u is reachable from
/// that handle without passing through L again: it is the end of L's loop body.
fn mark_back_edges(edges: &mut [CompiledEdge], outgoing: &[Vec<usize>], count: usize) {
    let loops: HashSet<usize> = edges
        .iter()
        .filter(|e| e.iteration)
        .map(|e| e.source)
        .collect();
    for &looper in &loops {
        let mut body = vec![false; count];
        let mut queue: VecDeque<usize> = edges
            .iter()
            .filter(|e| e.source == looper && e.iteration)
            .map(|e| e.target)
            .collect();
        while let Some(n) = queue.pop_front() {
            if n == looper || body[n] {
                continue;
            }
            body[n] = true;
            for &e in &outgoing[n] {
                queue.push_back(edges[e].target);
            }
        }
        for edge in edges.iter_mut() {
            if edge.target == looper && body[edge.source] {
                edge.back = true;
            }
        }
    }
}

/// Some node on a cycle left after removing back edges, if any (Kahn's algorithm).
fn find_cycle(edges: &[CompiledEdge], count: usize) -> Option<usize> {
    let mut indegree = vec![0usize; count];
    let mut out = vec![Vec::new(); count];
    for edge in edges.iter().filter(|e| !e.back) {
        indegree[edge.target] += 1;
        out[edge.source].push(edge.target);
    }
    let mut queue: VecDeque<usize> = (0..count).filter(|&n| indegree[n] == 0).collect();
    let mut visited = 0;
    while let Some(n) = queue.pop_front() {
        visited += 1;
        for &t in &out[n] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                queue.push_back(t);
            }
        }
    }
    (visited < count)
        .then(|| (0..count).find(|&n| indegree[n] > 0))
        .flatten()
}

fn reachable_from(
    start: usize,
    edges: &[CompiledEdge],
    outgoing: &[Vec<usize>],
    count: usize,
) -> Vec<bool> {
    let mut seen = vec![false; count];
    let mut stack = vec![start];
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        stack.extend(outgoing[n].iter().map(|&e| edges[e].target));
    }
    seen
}

fn general(message: impl Into<String>) -> ValidationIssue {
    ValidationIssue {
        node_id: None,
        edge: None,
        field: None,
        message: message.into(),
    }
}

fn at_node(id: &str, message: impl Into<String>) -> ValidationIssue {
    ValidationIssue {
        node_id: Some(id.to_string()),
        edge: None,
        field: None,
        message: message.into(),
    }
}

fn at_edge(position: usize, message: impl Into<String>) -> ValidationIssue {
    ValidationIssue {
        node_id: None,
        edge: Some(position),
        field: None,
        message: message.into(),
    }
}

/// Stands in for an unknown type while the remaining checks run; never executed because the
/// workflow is refused.
#[derive(Debug)]
struct UnknownNode;

#[async_trait::async_trait]
impl NodeHandler for UnknownNode {
    fn node_type(&self) -> &str {
        ""
    }
    fn handles(&self, _node: &NodeDefinition) -> crate::node::Handles {
        crate::node::Handles::any()
    }
    async fn execute(
        &self,
        _input: crate::node::NodeInput,
    ) -> Result<crate::node::NodeOutcome, crate::node::NodeError> {
        Err(crate::node::NodeError::fatal("unknown node type"))
    }
}
