//! `TestApp`: the real server on a free port with a fresh database, and request helpers.
//!
//! Test apps trust Firebase-style tokens signed by the committed test key, and carry two extra
//! routes that production does not have: `/__test/panic` (a handler that panics) and
//! `/__test/echo` (a JSON body round-trip through the real `ValidJson` extractor).

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::web::{self, ServiceConfig};
use identity::{KeySet, StaticKeySource};
use jet_server::http::json::ValidJson;
use jet_server::http::resource;
use jet_server::settings::{IdentitySettings, RateLimitSettings, Settings};
use jet_server::startup::{Application, Overrides};
use serde::{Deserialize, Serialize};
use test_support::tokens::{self, PROJECT_ID, TestKey};
use test_support::{Backend, TestDatabase};

/// Cloning gives another handle on the same server (another caller's view of it).
#[derive(Clone)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Shared by [`TestApp::peer`]s: several server processes on one database.
    pub database: Arc<TestDatabase>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct EchoBody {
    pub name: String,
    pub age: u32,
    pub profile: Profile,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Profile {
    pub nickname: String,
}

fn test_routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/__test/panic").route(web::get().to(|| async {
        if std::hint::black_box(true) {
            panic!("secret internal detail: db password is hunter2");
        }
        HttpResponse::Ok().finish()
    })))
    .service(resource("/__test/echo").route(
        web::post().to(|body: ValidJson<EchoBody>| async move { HttpResponse::Ok().json(body.0) }),
    ));
}

pub fn test_settings(database: &TestDatabase) -> Settings {
    let mut settings = Settings::load(&|_| None).unwrap();
    settings.port = 0;
    settings.data_dir = database.dir.path().join("data");
    settings.datasources.sqlite_dir = settings.data_dir.join("datasources");
    settings.database_url = database.url.clone();
    settings.identity = IdentitySettings::Firebase {
        project_id: PROJECT_ID.into(),
        jwks_url: "http://127.0.0.1:9/unused".into(),
    };
    settings.rate_limits = RateLimitSettings {
        per_ip_per_minute: 0,
        per_principal_per_minute: 0,
        trust_forwarded_for: false,
    };
    settings.shutdown_timeout = Duration::from_secs(1);
    // The audit trail is polled by tests: a short interval keeps them from waiting seconds.
    settings.audit_flush_interval = Duration::from_millis(50);
    settings
}

pub fn test_overrides() -> Overrides {
    let jwks = TestKey::primary().jwks().to_string();
    let keys = KeySet::from_jwks(jwks.as_bytes(), Duration::from_secs(3600)).unwrap();
    Overrides {
        key_source: Some(Arc::new(StaticKeySource(keys))),
        extra_routes: Some(Arc::new(test_routes)),
        handle_signals: false,
        http_workers: Some(1),
    }
}

impl TestApp {
    /// The app on `backend` with test settings, or `None` when that backend is not configured.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// As [`spawn`], with the settings adjusted first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<Self> {
        let database = TestDatabase::new(backend).await?;
        let mut settings = test_settings(&database);
        adjust(&mut settings);
        Some(Self::start(database, settings).await)
    }

    pub async fn start(database: TestDatabase, settings: Settings) -> Self {
        Self::start_on(Arc::new(database), settings).await
    }

    /// Another server on this one's database, as a second process would be (its own caches,
    /// its own change-bus listener), with the settings adjusted first.
    pub async fn peer(&self, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = test_settings(&self.database);
        adjust(&mut settings);
        Self::start_on(Arc::clone(&self.database), settings).await
    }

    async fn start_on(database: Arc<TestDatabase>, settings: Settings) -> Self {
        let app = Application::build(settings, test_overrides())
            .await
            .unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        // Dropping the test's runtime drops this task, which stops the server and its workers.
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: test_support::http::client(),
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// Creates a tenant as the holder of `token`; its id.
    pub async fn create_tenant(&self, token: &str, title: &str) -> String {
        let (status, body) = json(
            self.post("/api/v1/tenants")
                .bearer_auth(token)
                .json(&serde_json::json!({"tenantTitle": title}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["tenantID"].as_str().unwrap().to_string()
    }

    /// The id of the role titled `title` in `tenant`, as JSON.
    pub async fn role_id(&self, token: &str, tenant: &str, title: &str) -> serde_json::Value {
        let (_, roles) = json(
            self.get(&format!("/api/v1/tenants/{tenant}/roles"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        roles["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|role| role["roleTitle"] == title)
            .unwrap_or_else(|| panic!("no role {title}"))["roleID"]
            .clone()
    }

    /// Sends `method path` with the `Authorization` value `auth` (`Bearer …`, `api_key …`; none
    /// when empty) and an optional JSON body; the status and JSON answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method.parse().unwrap(), self.url(path));
        if !auth.is_empty() {
            request = request.header("authorization", auth);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        json(request.send().await.unwrap()).await
    }

    /// The membership id of `token`'s holder after joining `tenant` with no roles.
    pub async fn join_without_roles(&self, token: &str, tenant: uuid::Uuid) -> String {
        let (_, me) = self.call("GET", "/api/v1/auth", token, None).await;
        let user_id: uuid::Uuid = me["data"]["userID"].as_str().unwrap().parse().unwrap();
        let db = sea_orm::Database::connect(&self.database.url)
            .await
            .unwrap();
        let membership = tenancy::tenants::add_member(
            &db,
            tenant,
            user_id,
            tenancy::tenants::Relationship::Member,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        membership.member_id.to_string()
    }

    /// A valid token for a Firebase user.
    pub fn token_for(&self, subject: &str, email: &str) -> String {
        TestKey::primary().firebase_token(subject, email, tokens::now())
    }
}

/// The JSON body of a response, with its status. An event stream (which may never end) is
/// not read: its body is `{"eventStream": true}`.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let is_stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if is_stream {
        return (status, serde_json::json!({"eventStream": true}));
    }
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// The `Authorization` value for an ID token.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The `Authorization` value for an API key.
pub fn api_key(raw: &str) -> String {
    format!("api_key {raw}")
}

/// The `error.code` of an envelope.
pub fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// A route's path template with `{tenantID}` = `tenant` and every other parameter a fresh id.
pub fn fill_path(template: &str, tenant: &str) -> String {
    let mut path = template.replace("{tenantID}", tenant);
    while let Some(start) = path.find('{') {
        let end = path[start..].find('}').expect("an unclosed path parameter") + start;
        path.replace_range(start..=end, &uuid::Uuid::now_v7().to_string());
    }
    path
}

/// A tenant and its creator, who calls its routes (each test module adds what it needs).
pub struct Tenant {
    pub app: TestApp,
    pub auth: String,
    pub id: String,
}

impl Tenant {
    /// A new tenant created by `who`.
    pub async fn new(app: &TestApp, who: &str) -> Tenant {
        let token = app.token_for(who, &format!("{who}@example.com"));
        let id = app.create_tenant(&token, who).await;
        Tenant {
            app: app.clone(),
            auth: format!("Bearer {token}"),
            id,
        }
    }

    /// `method /api/v1/tenants/{id}/{rest}` as the creator.
    pub async fn call(
        &self,
        method: &str,
        rest: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let path = format!("/api/v1/tenants/{}/{rest}", self.id);
        self.app.call(method, &path, &self.auth, body).await
    }
}
