//! What the chaos run executes: a tenant, a data query that records each node attempt's
//! idempotency key as an effect, and a workflow of D nodes (JavaScript, delays, effects, a
//! diamond with a join), created through the API.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use identity::LocalSigningKey;
use serde_json::{Value, json};

/// The effect query: one `deliveries` row per execution, one `effects` row per idempotency key
/// (a redelivered attempt conflicts and changes nothing). PostgreSQL writes both in one
/// statement; SQLite, which has no data-modifying `WITH`, through a trigger.
pub fn effect_sql(postgres: bool) -> &'static str {
    if postgres {
        "WITH delivered AS (INSERT INTO deliveries (key) VALUES ({{inputs.idempotencyKey}})) \
         INSERT INTO effects (key) VALUES ({{inputs.idempotencyKey}}) ON CONFLICT (key) DO NOTHING"
    } else {
        "INSERT INTO deliveries (key) VALUES ({{inputs.idempotencyKey}})"
    }
}

/// The tables the effect query writes (made by the harness on the effects database).
pub fn effect_tables(postgres: bool) -> Vec<&'static str> {
    let mut statements = vec![
        "CREATE TABLE effects (key TEXT PRIMARY KEY)",
        "CREATE TABLE deliveries (key TEXT NOT NULL)",
    ];
    if !postgres {
        statements.push(
            "CREATE TRIGGER record_effect AFTER INSERT ON deliveries BEGIN \
             INSERT OR IGNORE INTO effects (key) VALUES (NEW.key); END",
        );
    }
    statements
}

/// A signed-in admin of a fresh tenant, talking to whichever server is up.
pub struct Session {
    pub client: reqwest::Client,
    pub token: String,
    pub tenant: String,
}

impl Session {
    /// Mints a token with the shared data directory's key and creates the tenant on `base`.
    pub async fn create(
        client: reqwest::Client,
        data_dir: &std::path::Path,
        base: &str,
    ) -> Result<Self> {
        let key = LocalSigningKey::load_or_create(data_dir)?;
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
        )?;
        let token = key.mint(
            "chaos@example.com",
            None,
            Duration::from_secs(6 * 3600),
            now,
        );
        let mut session = Session {
            client,
            token,
            tenant: String::new(),
        };
        let tenant = session
            .send(
                base,
                "POST",
                "/api/v1/tenants",
                Some(json!({"tenantTitle": "chaos"})),
            )
            .await?;
        session.tenant = tenant["data"]["tenantID"]
            .as_str()
            .context("no tenant id")?
            .to_string();
        Ok(session)
    }

    /// `method base+path` with the admin's token; the JSON answer of a 2xx, else an error.
    pub async fn send(
        &self,
        base: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self
            .client
            .request(method.parse()?, format!("{base}{path}"))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "{method} {path}: {status} {body}");
        Ok(body)
    }

    /// A tenant path.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/tenants/{}/{rest}", self.tenant)
    }
}

/// Creates the effect datasource and query and the workflow; the workflow's id and the ids of
/// its effect nodes.
pub async fn seed(
    session: &Session,
    base: &str,
    datasource: Value,
    postgres: bool,
    nodes: usize,
) -> Result<(String, Vec<String>)> {
    let source = session
        .send(base, "POST", &session.path("datasources"), Some(datasource))
        .await?;
    let query = session
        .send(
            base,
            "POST",
            &session.path("queries"),
            Some(json!({"dataQueryTitle": "record effect",
                "datasourceID": source["data"]["datasourceID"],
                "dataQueryOptions": {"query": effect_sql(postgres), "inputDefinitions": [
                    {"key": "idempotencyKey", "type": "string", "required": true}]}})),
        )
        .await?;
    let query = query["data"]["dataQueryID"]
        .as_str()
        .context("no query id")?;
    let (graph, effects) = graph(nodes, query);
    let workflow = session
        .send(base, "POST", &session.path("workflows"), Some(graph))
        .await?;
    let id = workflow["data"]["workflowID"]
        .as_str()
        .context("no workflow id")?;
    Ok((id.to_string(), effects))
}

/// `start`, then nodes cycling effect → JavaScript → delay, with a diamond in the middle (two
/// branches joined by a node with two incoming edges), then `end`: `nodes` in all (at least 8).
fn graph(nodes: usize, query: &str) -> (Value, Vec<String>) {
    let inner = nodes.max(8) - 2;
    let mut list = vec![json!({"id": "start", "type": "start"})];
    let mut effects = Vec::new();
    for i in 0..inner {
        let id = format!("n{i}");
        let node = match i % 3 {
            0 => {
                effects.push(id.clone());
                json!({"id": id, "type": "dataQuery", "errorHandling": "retry_then_fail",
                    "retry": {"limit": 3, "initialBackoffMs": 200},
                    "data": {"dataQueryID": query, "outputVariable": id}})
            }
            1 => json!({"id": id, "type": "javascript",
                "data": {"code": format!("return {{step: {i}, sum: (ctx.input.seed || 0) + {i}}};"),
                         "outputVariable": id}}),
            _ => json!({"id": id, "type": "delay",
                "data": {"delayType": "fixed", "delayMs": 700 + (i % 4) * 300}}),
        };
        list.push(node);
    }
    list.push(json!({"id": "end", "type": "end"}));
    // A chain, except that the middle node and the one after it both follow the node before
    // the middle and both lead to the node after them (the join).
    let ids: Vec<String> = list
        .iter()
        .map(|n| n["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let middle = ids.len() / 2;
    let mut edges = Vec::new();
    for (index, pair) in ids.windows(2).enumerate() {
        let (from, to) = (&pair[0], &pair[1]);
        if index == middle {
            // middle → middle+1 is replaced by the two branches' shared predecessor and join.
            continue;
        }
        edges.push(json!({"source": from, "target": to}));
    }
    edges.push(json!({"source": ids[middle - 1], "target": ids[middle + 1]}));
    edges.push(json!({"source": ids[middle], "target": ids[middle + 2]}));
    let workflow =
        json!({"workflowTitle": format!("chaos {nodes}"), "nodes": list, "edges": edges});
    (workflow, effects)
}
