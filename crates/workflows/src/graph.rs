//! The graph as the API carries it (React Flow's shape, or the original product's field names)
//! and its conversion to the engine's [`WorkflowDefinition`].
//!
//! A node is `{id, type, data, timeoutSeconds?, retry?, errorHandling?, joinMode?, …}`: `data`
//! (or `config`, `nodeConfig`) is the type's configuration, the four settings go to the engine,
//! and every other field (`position`, `width`, `measured`, …) is editor data, stored and given
//! back unchanged but never seen by the engine. An edge is `{id?, source, target,
//! sourceHandle?, targetHandle?, …}`, its other fields (`type`, `label`, `style`, …) editor
//! data too. Shape problems are collected, not returned one at a time, so a client fixes a
//! graph in one round trip.

use serde_json::{Map, Value, json};
use workflow_engine::{NodeDefinition, ValidationIssue, WorkflowDefinition};

/// How big a graph may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphLimits {
    /// Nodes per workflow.
    pub max_nodes: usize,
    /// Edges per workflow.
    pub max_edges: usize,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits {
            max_nodes: 500,
            max_edges: 2_000,
        }
    }
}

/// The node fields the engine reads besides the configuration.
const SETTINGS: [&str; 4] = ["timeoutSeconds", "retry", "errorHandling", "joinMode"];

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// Unique in the graph.
    pub id: String,
    /// The node type.
    pub node_type: String,
    /// The type's configuration.
    pub config: Value,
    /// Engine settings present on the node (see the module documentation).
    pub settings: Map<String, Value>,
    /// Editor data.
    pub ui: Map<String, Value>,
}

/// One edge.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    /// The client's id, if any.
    pub id: Option<String>,
    /// The node it leaves.
    pub source: String,
    /// The node it enters.
    pub target: String,
    /// Which outcome of the source it follows.
    pub source_handle: Option<String>,
    /// The target's handle.
    pub target_handle: Option<String>,
    /// Editor data.
    pub ui: Map<String, Value>,
}

/// A workflow's graph and options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// The nodes, in the client's order.
    pub nodes: Vec<GraphNode>,
    /// The edges, in the client's order.
    pub edges: Vec<GraphEdge>,
    /// Workflow options (`inputDefinitions`, `nodeDefaults`).
    pub options: Value,
}

fn issue(
    node: Option<&str>,
    edge: Option<usize>,
    field: Option<&str>,
    message: &str,
) -> ValidationIssue {
    ValidationIssue {
        node_id: node.map(str::to_string),
        edge,
        field: field.map(str::to_string),
        message: message.to_string(),
    }
}

/// The first of `names` present in `object` as a non-empty string.
fn text_field(object: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| object.get(*name).and_then(Value::as_str))
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

fn optional_text(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .get(name)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

impl GraphNode {
    fn parse(index: usize, value: Value, issues: &mut Vec<ValidationIssue>) -> Option<Self> {
        let Value::Object(mut object) = value else {
            issues.push(issue(
                None,
                None,
                Some(&format!("nodes[{index}]")),
                "must be an object",
            ));
            return None;
        };
        let id = text_field(&object, &["id", "nodeID"]);
        let node_type = text_field(&object, &["type", "nodeType"]);
        let Some(id) = id else {
            issues.push(issue(
                None,
                None,
                Some(&format!("nodes[{index}].id")),
                "is required",
            ));
            return None;
        };
        if id.chars().count() > 200 {
            issues.push(issue(
                Some(&id),
                None,
                Some("id"),
                "must be at most 200 characters",
            ));
            return None;
        }
        let Some(node_type) = node_type else {
            issues.push(issue(Some(&id), None, Some("type"), "is required"));
            return None;
        };
        for key in ["id", "nodeID", "type", "nodeType"] {
            object.remove(key);
        }
        let config = ["data", "config", "nodeConfig"]
            .iter()
            .find_map(|key| object.remove(*key))
            .unwrap_or(Value::Object(Map::new()));
        for key in ["data", "config", "nodeConfig"] {
            object.remove(key);
        }
        if !(config.is_object()) {
            issues.push(issue(Some(&id), None, Some("data"), "must be an object"));
        }
        let mut settings = Map::new();
        for key in SETTINGS {
            if let Some(value) = object.remove(key).filter(|v| !v.is_null()) {
                settings.insert(key.to_string(), value);
            }
        }
        Some(GraphNode {
            id,
            node_type,
            config,
            settings,
            ui: object,
        })
    }

    /// The node as the API shows it.
    pub fn to_json(&self) -> Value {
        let mut object = self.ui.clone();
        object.insert("id".into(), json!(self.id));
        object.insert("type".into(), json!(self.node_type));
        object.insert("data".into(), self.config.clone());
        for (key, value) in &self.settings {
            object.insert(key.clone(), value.clone());
        }
        Value::Object(object)
    }

    fn definition(&self, issues: &mut Vec<ValidationIssue>) -> Option<NodeDefinition> {
        let mut object = self.settings.clone();
        object.insert("id".into(), json!(self.id));
        object.insert("type".into(), json!(self.node_type));
        object.insert("config".into(), self.config.clone());
        match serde_json::from_value(Value::Object(object)) {
            Ok(node) => Some(node),
            Err(error) => {
                issues.push(issue(Some(&self.id), None, None, &error.to_string()));
                None
            }
        }
    }
}

impl GraphEdge {
    fn parse(index: usize, value: Value, issues: &mut Vec<ValidationIssue>) -> Option<Self> {
        let Value::Object(mut object) = value else {
            issues.push(issue(None, Some(index), None, "must be an object"));
            return None;
        };
        let source = text_field(&object, &["source", "upstreamNodeID"]);
        let target = text_field(&object, &["target", "downstreamNodeID"]);
        let (Some(source), Some(target)) = (source, target) else {
            issues.push(issue(
                None,
                Some(index),
                Some("source"),
                "an edge needs a source and a target",
            ));
            return None;
        };
        let id = optional_text(&object, "id");
        let source_handle = optional_text(&object, "sourceHandle");
        let target_handle = optional_text(&object, "targetHandle");
        for key in [
            "id",
            "source",
            "upstreamNodeID",
            "target",
            "downstreamNodeID",
            "sourceHandle",
            "targetHandle",
        ] {
            object.remove(key);
        }
        let too_long = [
            Some(&source),
            Some(&target),
            id.as_ref(),
            source_handle.as_ref(),
            target_handle.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|text| text.chars().count() > 200);
        if too_long {
            issues.push(issue(
                None,
                Some(index),
                None,
                "ids and handles must be at most 200 characters",
            ));
            return None;
        }
        Some(GraphEdge {
            id,
            source,
            target,
            source_handle,
            target_handle,
            ui: object,
        })
    }

    /// The edge as the API shows it.
    pub fn to_json(&self) -> Value {
        let mut object = self.ui.clone();
        if let Some(id) = &self.id {
            object.insert("id".into(), json!(id));
        }
        object.insert("source".into(), json!(self.source));
        object.insert("target".into(), json!(self.target));
        if let Some(handle) = &self.source_handle {
            object.insert("sourceHandle".into(), json!(handle));
        }
        if let Some(handle) = &self.target_handle {
            object.insert("targetHandle".into(), json!(handle));
        }
        Value::Object(object)
    }
}

impl Graph {
    /// Reads a graph the client sent; every shape problem at once.
    pub fn parse(
        nodes: Vec<Value>,
        edges: Vec<Value>,
        options: Option<Value>,
        limits: GraphLimits,
    ) -> Result<Graph, Vec<ValidationIssue>> {
        let mut issues = Vec::new();
        if nodes.len() > limits.max_nodes {
            issues.push(issue(
                None,
                None,
                Some("nodes"),
                &format!(
                    "a workflow may have at most {} nodes; this one has {}",
                    limits.max_nodes,
                    nodes.len()
                ),
            ));
        }
        if edges.len() > limits.max_edges {
            issues.push(issue(
                None,
                None,
                Some("edges"),
                &format!(
                    "a workflow may have at most {} edges; this one has {}",
                    limits.max_edges,
                    edges.len()
                ),
            ));
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        let mut options = options
            .filter(|o| !o.is_null())
            .unwrap_or_else(|| json!({}));
        if !options.is_object() {
            issues.push(issue(
                None,
                None,
                Some("workflowOptions"),
                "must be an object",
            ));
            options = json!({});
        }
        let nodes: Vec<GraphNode> = nodes
            .into_iter()
            .enumerate()
            .filter_map(|(index, node)| GraphNode::parse(index, node, &mut issues))
            .collect();
        let edges: Vec<GraphEdge> = edges
            .into_iter()
            .enumerate()
            .filter_map(|(index, edge)| GraphEdge::parse(index, edge, &mut issues))
            .collect();
        let graph = Graph {
            nodes,
            edges,
            options,
        };
        // Settings of the wrong shape are reported here too.
        graph.definition_collecting(None, None, &mut issues);
        if issues.is_empty() {
            Ok(graph)
        } else {
            Err(issues)
        }
    }

    /// The engine's definition of this graph, as workflow `id` at `version` (none for an
    /// unsaved graph).
    pub fn definition(
        &self,
        id: Option<uuid::Uuid>,
        version: Option<u64>,
    ) -> Result<WorkflowDefinition, Vec<ValidationIssue>> {
        let mut issues = Vec::new();
        let definition = self.definition_collecting(id, version, &mut issues);
        match definition {
            Some(definition) if issues.is_empty() => Ok(definition),
            _ => Err(issues),
        }
    }

    fn definition_collecting(
        &self,
        id: Option<uuid::Uuid>,
        version: Option<u64>,
        issues: &mut Vec<ValidationIssue>,
    ) -> Option<WorkflowDefinition> {
        let nodes: Vec<NodeDefinition> = self
            .nodes
            .iter()
            .filter_map(|node| node.definition(issues))
            .collect();
        let options = match serde_json::from_value(self.options.clone()) {
            Ok(options) => options,
            Err(error) => {
                issues.push(issue(
                    None,
                    None,
                    Some("workflowOptions"),
                    &error.to_string(),
                ));
                return None;
            }
        };
        let edges = self
            .edges
            .iter()
            .map(|edge| {
                let mut definition =
                    workflow_engine::EdgeDefinition::new(&edge.source, &edge.target);
                definition.source_handle = edge.source_handle.clone();
                definition.target_handle = edge.target_handle.clone();
                definition
            })
            .collect();
        Some(WorkflowDefinition {
            id: id.map(|id| id.to_string()),
            version,
            nodes,
            edges,
            options,
        })
    }

    /// The data queries the graph's `dataQuery` nodes run (ids that are not UUIDs included as
    /// given: they name nothing, and the run fails them as not found).
    pub fn data_queries(&self) -> Vec<String> {
        self.referenced("dataQuery", &["dataQueryID"])
    }

    /// The workflows the graph's `subWorkflow` nodes start.
    pub fn sub_workflows(&self) -> Vec<String> {
        self.referenced("subWorkflow", &["childWorkflowID", "workflowID"])
    }

    fn referenced(&self, node_type: &str, fields: &[&str]) -> Vec<String> {
        let mut ids: Vec<String> = self
            .nodes
            .iter()
            .filter(|node| node.node_type == node_type)
            .filter_map(|node| {
                fields
                    .iter()
                    .find_map(|field| node.config.get(*field).and_then(Value::as_str))
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn react_flow_nodes_keep_their_editor_data_apart_from_the_engine_config() {
        let graph = Graph::parse(
            vec![
                json!({"id": "s", "type": "start", "position": {"x": 1, "y": 2}, "width": 80}),
                json!({"id": "js", "type": "javascript", "data": {"code": "return 1"},
                       "timeoutSeconds": 5, "measured": {"width": 3}}),
            ],
            vec![json!({"id": "e1", "source": "s", "target": "js", "type": "smoothstep", "animated": true})],
            None,
            GraphLimits::default(),
        )
        .unwrap();
        let js = &graph.nodes[1];
        assert_eq!(js.config, json!({"code": "return 1"}));
        assert_eq!(js.settings.get("timeoutSeconds"), Some(&json!(5)));
        assert_eq!(js.ui.get("measured"), Some(&json!({"width": 3})));
        assert_eq!(
            js.to_json(),
            json!({"id": "js", "type": "javascript", "data": {"code": "return 1"},
                   "timeoutSeconds": 5, "measured": {"width": 3}})
        );
        assert_eq!(
            graph.edges[0].to_json(),
            json!({"id": "e1", "source": "s", "target": "js", "type": "smoothstep", "animated": true})
        );
        let definition = graph.definition(None, Some(3)).unwrap();
        assert_eq!(definition.version, Some(3));
        assert_eq!(definition.nodes[1].timeout_seconds, Some(5.0));
        assert_eq!(definition.nodes[1].config, json!({"code": "return 1"}));
    }

    #[test]
    fn every_shape_problem_is_reported_at_once() {
        let issues = Graph::parse(
            vec![
                json!("x"),
                json!({"type": "start"}),
                json!({"id": "n"}),
                json!({"id": "r", "type": "javascript", "retry": "often"}),
            ],
            vec![json!({"source": "a"})],
            Some(json!([])),
            GraphLimits::default(),
        )
        .unwrap_err();
        assert_eq!(issues.len(), 6, "{issues:?}");
        assert_eq!(issues[0].field.as_deref(), Some("workflowOptions"));
        assert_eq!(issues[1].field.as_deref(), Some("nodes[0]"));
        assert_eq!(issues[2].field.as_deref(), Some("nodes[1].id"));
        assert_eq!(issues[3].node_id.as_deref(), Some("n"));
        assert_eq!(issues[4].edge, Some(0));
        assert!(
            issues.iter().any(|i| i.node_id.as_deref() == Some("r")),
            "{issues:?}"
        );
    }

    #[test]
    fn graphs_over_the_limits_are_refused() {
        let limits = GraphLimits {
            max_nodes: 2,
            max_edges: 1,
        };
        let node = |id: &str| json!({"id": id, "type": "start"});
        let issues = Graph::parse(
            vec![node("a"), node("b"), node("c")],
            vec![
                json!({"source": "a", "target": "b"}),
                json!({"source": "b", "target": "c"}),
            ],
            None,
            limits,
        )
        .unwrap_err();
        assert_eq!(issues.len(), 2);
        assert!(issues[0].message.contains("at most 2 nodes"));
    }

    #[test]
    fn references_are_listed_once() {
        let graph = Graph::parse(
            vec![
                json!({"id": "a", "type": "dataQuery", "data": {"dataQueryID": "q1"}}),
                json!({"id": "b", "type": "dataQuery", "data": {"dataQueryID": "q1"}}),
                json!({"id": "c", "type": "subWorkflow", "data": {"childWorkflowID": "w"}}),
            ],
            vec![],
            None,
            GraphLimits::default(),
        )
        .unwrap();
        assert_eq!(graph.data_queries(), vec!["q1"]);
        assert_eq!(graph.sub_workflows(), vec!["w"]);
    }
}
