//! What the benchmark reads: a tenant, created through the API by a local-identity user, and an
//! Editor API key in it.

use std::time::Duration;

use anyhow::{Context, Result};
use identity::LocalSigningKey;
use serde_json::{Value, json};

use super::server::Server;

/// The seeded tenant and the two credentials that read it.
pub struct Seeded {
    /// The tenant's id.
    pub tenant_id: String,
    /// The tenant admin's ID token.
    pub user_token: String,
    /// An Editor key of the tenant.
    pub api_key: String,
}

impl Seeded {
    /// Creates them on `server`.
    pub async fn create(server: &Server) -> Result<Self> {
        let key = LocalSigningKey::load_or_create(server.data_dir.path())?;
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
        )?;
        let user_token = key.mint("bench@example.com", None, Duration::from_secs(3600), now);
        let base = &server.base;
        let send = |request: reqwest::RequestBuilder| async {
            let response = request.bearer_auth(&user_token).send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            anyhow::ensure!(status.is_success(), "seeding failed: {status} {body}");
            anyhow::Ok(body)
        };
        let tenant = send(
            server
                .client
                .post(format!("{base}/api/v1/tenants"))
                .json(&json!({"tenantTitle": "bench"})),
        )
        .await?;
        let tenant_id = tenant["data"]["tenantID"]
            .as_str()
            .context("no tenant id")?
            .to_string();
        let roles = send(
            server
                .client
                .get(format!("{base}/api/v1/tenants/{tenant_id}/roles")),
        )
        .await?;
        let editor = roles["data"]
            .as_array()
            .context("no roles")?
            .iter()
            .find(|r| r["roleTitle"] == "Editor")
            .context("no Editor role")?["roleID"]
            .clone();
        let issued = send(
            server
                .client
                .post(format!("{base}/api/v1/tenants/{tenant_id}/apikeys"))
                .json(&json!({"apiKeyTitle": "bench", "roleIDs": [editor]})),
        )
        .await?;
        let api_key = issued["data"]["apiKey"]
            .as_str()
            .context("no key")?
            .to_string();
        Ok(Seeded {
            tenant_id,
            user_token,
            api_key,
        })
    }
}
