//! Webhooks over HTTP on SQLite and PostgreSQL: a signed delivery starts a run with its body as
//! input (202, or with `?wait` the run's output); a bad signature, a stale timestamp, a
//! replayed delivery id, a body over the cap and a disabled hook are refused with distinct codes
//! and start nothing; the secret is shown once and rotation replaces it; every mode checks its
//! credentials; the per-hook rate holds; every delivery is in the audit trail, without secrets.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use test_support::{Backend, db_test};

use crate::helpers::{Tenant, TestApp, code, json};

const PATIENCE: Duration = Duration::from_secs(60);

/// A workflow whose output echoes its input's `order` and `body`.
async fn echo_workflow(tenant: &Tenant) -> String {
    let nodes = json!([{"id": "start", "type": "start"},
        {"id": "end", "type": "end", "data": {"outputParameters": [
            {"name": "order", "sourceVariable": "{{ctx.input.order}}"},
            {"name": "body", "sourceVariable": "{{ctx.input.body}}"}]}}]);
    let edges = json!([{"source": "start", "target": "end"}]);
    let (status, made) = tenant
        .call(
            "POST",
            "workflows",
            Some(
                json!({"workflowTitle": format!("w{}", uuid::Uuid::now_v7().simple()),
                "nodes": nodes, "edges": edges}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    made["data"]["workflowID"].as_str().unwrap().to_string()
}

async fn hook(tenant: &Tenant, workflow: &str, body: Value) -> Value {
    let (status, made) = tenant
        .call(
            "POST",
            &format!("workflows/{workflow}/webhooks"),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    made["data"].clone()
}

/// The number of runs of `workflow`.
async fn runs(tenant: &Tenant, workflow: &str) -> u64 {
    let (status, page) = tenant
        .call(
            "GET",
            &format!("workflows/instances?workflowID={workflow}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_u64().unwrap()
}

/// A delivery with its signature headers (`hmac`), signed at `timestamp`.
struct Signed<'a> {
    secret: &'a str,
    timestamp: i64,
    delivery: &'a str,
    body: &'a [u8],
}

async fn send(app: &TestApp, path: &str, signed: &Signed<'_>, query: &str) -> (u16, Value) {
    let signature = webhooks::sign(signed.secret.as_bytes(), signed.timestamp, signed.body);
    let response = app
        .post(&format!("{path}{query}"))
        .header("content-type", "application/json")
        .header("X-Jet-Signature", signature)
        .header("X-Jet-Timestamp", signed.timestamp.to_string())
        .header("X-Jet-Delivery", signed.delivery)
        .body(signed.body.to_vec())
        .send()
        .await
        .unwrap();
    json(response).await
}

async fn run_output(tenant: &Tenant, run: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, read) = tenant
            .call("GET", &format!("workflows/instances/{run}"), None)
            .await;
        assert_eq!(status, 200, "{read}");
        if read["data"]["status"] == "COMPLETED" {
            return read["data"]["output"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never completed: {read}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn signed_deliveries_run_and_every_bad_one_is_refused_with_its_own_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let tenant = Tenant::new(&app, "alice").await;
    let workflow = echo_workflow(&tenant).await;
    let made = hook(
        &tenant,
        &workflow,
        json!({"webhookTitle": "Shop orders", "maxBodyBytes": 256}),
    )
    .await;
    assert_eq!(made["authMode"], "hmac");
    let secret = made["secret"].as_str().unwrap().to_string();
    let id = made["webhookID"].as_str().unwrap().to_string();
    let path = made["path"].as_str().unwrap().to_string();
    assert_eq!(path, format!("/api/v1/hooks/{id}"));
    assert_eq!(made["secretHint"], secret[secret.len() - 4..]);

    // The secret is never shown again.
    let (_, read) = tenant
        .call("GET", &format!("workflows/{workflow}/webhooks/{id}"), None)
        .await;
    assert!(read["data"].get("secret").is_none(), "{read}");
    assert!(!read.to_string().contains(&secret));
    let (_, listed) = tenant
        .call("GET", &format!("workflows/{workflow}/webhooks"), None)
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret));

    // A valid signature: 202 and a run with the body as input.
    let now = chrono::Utc::now().timestamp();
    let body = br#"{"order": 42}"#;
    let valid = Signed {
        secret: &secret,
        timestamp: now,
        delivery: "evt_1",
        body,
    };
    let (status, started) = send(&app, &path, &valid, "").await;
    assert_eq!(status, 202, "{started}");
    let run = started["data"]["instanceID"].as_str().unwrap().to_string();
    assert_eq!(run_output(&tenant, &run).await["order"], 42);
    assert_eq!(runs(&tenant, &workflow).await, 1);

    // `?wait`: the run's output in the answer.
    let waited = Signed {
        delivery: "evt_2",
        body: br#"{"order": 7}"#,
        ..valid
    };
    let (status, finished) = send(&app, &path, &waited, "?wait=30").await;
    assert_eq!(status, 200, "{finished}");
    assert_eq!(finished["data"]["status"], "COMPLETED");
    assert_eq!(finished["data"]["output"]["order"], 7);

    // Each refusal has its own code, and none starts a run.
    let wrong_secret = Signed {
        secret: "whsec_not-the-secret",
        delivery: "evt_3",
        ..valid
    };
    let stale = Signed {
        timestamp: now - 6 * 60,
        delivery: "evt_4",
        ..valid
    };
    let replay = Signed { ..valid };
    let big = vec![b' '; 300];
    let oversized = Signed {
        delivery: "evt_5",
        body: &big,
        ..valid
    };
    for (delivery, expected) in [
        (&wrong_secret, (401, "WEBHOOK_SIGNATURE_INVALID")),
        (&stale, (401, "WEBHOOK_TIMESTAMP_STALE")),
        (&replay, (409, "WEBHOOK_REPLAYED")),
        (&oversized, (413, "PAYLOAD_TOO_LARGE")),
    ] {
        let (status, refused) = send(&app, &path, delivery, "").await;
        assert_eq!((status, code(&refused)), expected, "{refused}");
    }
    // A body tampered with after signing.
    let signature = webhooks::sign(secret.as_bytes(), now, body);
    let response = app
        .post(&path)
        .header("content-type", "application/json")
        .header("X-Jet-Signature", signature)
        .header("X-Jet-Timestamp", now.to_string())
        .header("X-Jet-Delivery", "evt_6")
        .body(r#"{"order": 43}"#)
        .send()
        .await
        .unwrap();
    let (status, refused) = json(response).await;
    assert_eq!(
        (status, code(&refused)),
        (401, "WEBHOOK_SIGNATURE_INVALID"),
        "{refused}"
    );
    // Disabled: refused before anything else.
    let (status, _) = tenant
        .call(
            "POST",
            &format!("workflows/{workflow}/webhooks/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let fresh = Signed {
        delivery: "evt_7",
        ..valid
    };
    let (status, refused) = send(&app, &path, &fresh, "").await;
    assert_eq!(
        (status, code(&refused)),
        (403, "WEBHOOK_DISABLED"),
        "{refused}"
    );
    assert_eq!(runs(&tenant, &workflow).await, 2);

    // Enabled and rotated: the old secret is refused, the new one works.
    tenant
        .call(
            "POST",
            &format!("workflows/{workflow}/webhooks/{id}/enable"),
            None,
        )
        .await;
    let (status, rotated) = tenant
        .call(
            "POST",
            &format!("workflows/{workflow}/webhooks/{id}/rotate"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["data"]["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    let (status, refused) = send(&app, &path, &fresh, "").await;
    assert_eq!(
        (status, code(&refused)),
        (401, "WEBHOOK_SIGNATURE_INVALID"),
        "{refused}"
    );
    let resigned = Signed {
        secret: &new_secret,
        delivery: "evt_8",
        ..valid
    };
    let (status, started) = send(&app, &path, &resigned, "").await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(runs(&tenant, &workflow).await, 3);

    // A process that remembered a delivery id and stopped before starting its run: the
    // sender's retry starts it (the run id derives from the delivery), and only then is the
    // id a replay.
    let db = sea_orm::Database::connect(&app.database.url).await.unwrap();
    let hook_id: uuid::Uuid = id.parse().unwrap();
    assert!(
        webhooks::deliveries::remember(&db, hook_id, "evt_9", chrono::Utc::now())
            .await
            .unwrap()
    );
    let orphaned = Signed {
        delivery: "evt_9",
        ..resigned
    };
    let (status, started) = send(&app, &path, &orphaned, "").await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(
        started["data"]["instanceID"],
        webhooks::deliveries::run_id(hook_id, "evt_9").to_string()
    );
    let (status, refused) = send(&app, &path, &orphaned, "").await;
    assert_eq!(
        (status, code(&refused)),
        (409, "WEBHOOK_REPLAYED"),
        "{refused}"
    );
    assert_eq!(runs(&tenant, &workflow).await, 4);

    // The audit trail has every delivery, the hook as principal, and no secret.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let entries = loop {
        let (status, page) = tenant
            .call("GET", "audit?type=WEBHOOK_DELIVERY&pageSize=200", None)
            .await;
        assert_eq!(status, 200, "{page}");
        let entries = page["data"].as_array().unwrap().clone();
        if entries.len() >= 10 {
            break entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries missing from the audit trail: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = Value::Array(entries.clone()).to_string();
    assert!(!text.contains(&secret) && !text.contains(&new_secret));
    let refusals: Vec<&str> = entries
        .iter()
        .filter_map(|entry| entry["metadata"]["refusal"].as_str())
        .collect();
    for expected in [
        "WEBHOOK_SIGNATURE_INVALID",
        "WEBHOOK_TIMESTAMP_STALE",
        "WEBHOOK_REPLAYED",
        "PAYLOAD_TOO_LARGE",
        "WEBHOOK_DISABLED",
    ] {
        assert!(refusals.contains(&expected), "{expected} in {refusals:?}");
    }
    assert!(
        entries
            .iter()
            .all(|entry| entry["metadata"]["webhookID"] == id
                && entry["userID"].is_null()
                && entry["apiKeyID"].is_null())
    );
    assert!(
        entries
            .iter()
            .any(|entry| entry["metadata"]["instanceID"] == run.as_str())
    );

    // Deleted: the URL is gone.
    let (status, _) = tenant
        .call(
            "DELETE",
            &format!("workflows/{workflow}/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, gone) = send(&app, &path, &resigned, "").await;
    assert_eq!((status, code(&gone)), (404, "NOT_FOUND"), "{gone}");
}
db_test!(signed_deliveries_run_and_every_bad_one_is_refused_with_its_own_code);

async fn every_mode_checks_its_credentials_and_the_rate_holds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let tenant = Tenant::new(&app, "alice").await;
    let workflow = echo_workflow(&tenant).await;

    // Bearer.
    let bearer = hook(
        &tenant,
        &workflow,
        json!({"webhookTitle": "b", "authMode": "bearer"}),
    )
    .await;
    let path = bearer["path"].as_str().unwrap();
    let token = bearer["secret"].as_str().unwrap();
    let post = |auth: Option<String>| {
        let mut request = app
            .post(path)
            .header("content-type", "text/plain")
            .body("ping");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request
    };
    let (status, refused) = json(post(None).send().await.unwrap()).await;
    assert_eq!((status, code(&refused)), (401, "WEBHOOK_UNAUTHORIZED"));
    let (status, refused) = json(post(Some("Bearer nope".into())).send().await.unwrap()).await;
    assert_eq!((status, code(&refused)), (401, "WEBHOOK_UNAUTHORIZED"));
    let (status, started) = json(post(Some(format!("Bearer {token}"))).send().await.unwrap()).await;
    assert_eq!(status, 202, "{started}");
    let run = started["data"]["instanceID"].as_str().unwrap();
    // Text arrives as `body`.
    assert_eq!(run_output(&tenant, run).await["body"], "ping");

    // Basic: the user name is the hook's, the password its secret.
    let basic = hook(
        &tenant,
        &workflow,
        json!({"webhookTitle": "basic", "authMode": "basic", "authName": "shop"}),
    )
    .await;
    let password = basic["secret"].as_str().unwrap();
    let response = app
        .post(basic["path"].as_str().unwrap())
        .basic_auth("shop", Some(password))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("order=9&tag=a&tag=b")
        .send()
        .await
        .unwrap();
    let (status, started) = json(response).await;
    assert_eq!(status, 202, "{started}");
    let output = run_output(&tenant, started["data"]["instanceID"].as_str().unwrap()).await;
    assert_eq!(output["order"], "9");
    let response = app
        .post(basic["path"].as_str().unwrap())
        .basic_auth("eve", Some(password))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await.0, 401);

    // Header secret.
    let header = hook(
        &tenant,
        &workflow,
        json!({"webhookTitle": "h", "authMode": "header", "authName": "X-Shop-Token"}),
    )
    .await;
    let response = app
        .post(header["path"].as_str().unwrap())
        .header("X-Shop-Token", header["secret"].as_str().unwrap())
        .json(&json!({"order": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await.0, 202);
    let response = app
        .post(header["path"].as_str().unwrap())
        .header("X-Shop-Token", "guess")
        .json(&json!({"order": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await.0, 401);

    // None, with two deliveries a minute: the third is refused with Retry-After; a body
    // type a hook does not take is refused.
    let open = hook(
        &tenant,
        &workflow,
        json!({"webhookTitle": "open", "authMode": "none", "ratePerMinute": 2}),
    )
    .await;
    assert!(open.get("secret").is_none(), "{open}");
    let open_path = open["path"].as_str().unwrap();
    let response = app
        .post(open_path)
        .header("content-type", "application/octet-stream")
        .body(vec![0u8, 1, 2])
        .send()
        .await
        .unwrap();
    let (status, refused) = json(response).await;
    assert_eq!((status, code(&refused)), (415, "UNSUPPORTED_MEDIA_TYPE"));
    let mut statuses = Vec::new();
    for n in 0..3 {
        let response = app
            .post(open_path)
            .json(&json!({"order": n}))
            .send()
            .await
            .unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = json(response).await;
        statuses.push((status, code(&body).to_string(), retry_after.is_some()));
    }
    // Two admitted, unless the minute turned between them (then the third opens a new window).
    let admitted = statuses
        .iter()
        .filter(|(status, _, _)| *status == 202)
        .count();
    assert!(admitted >= 2, "{statuses:?}");
    if admitted == 2 {
        assert_eq!(
            statuses[2],
            (429, "RATE_LIMITED".into(), true),
            "{statuses:?}"
        );
    }

    // Bad saves name their field; a member of another tenant sees nothing.
    for (body, field) in [
        (
            json!({"webhookTitle": "x", "authMode": "header"}),
            "authName",
        ),
        (
            json!({"webhookTitle": "x", "authMode": "bearer", "authName": "n"}),
            "authName",
        ),
        (
            json!({"webhookTitle": "x", "maxBodyBytes": 0}),
            "maxBodyBytes",
        ),
        (
            json!({"webhookTitle": "", "authMode": "none"}),
            "webhookTitle",
        ),
    ] {
        let (status, refused) = tenant
            .call(
                "POST",
                &format!("workflows/{workflow}/webhooks"),
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let stranger = Tenant::new(&app, "mallory").await;
    let (status, _) = stranger
        .app
        .call(
            "GET",
            &format!(
                "/api/v1/tenants/{}/workflows/{workflow}/webhooks",
                tenant.id
            ),
            &stranger.auth,
            None,
        )
        .await;
    assert_eq!(status, 404);
}
db_test!(every_mode_checks_its_credentials_and_the_rate_holds);
