//! Webhook definitions: list, read, create, rotate the secret, enable or disable, delete.
//!
//! A hook belongs to one workflow, and managing it is managing the workflow: reading needs
//! `workflow:read` on it, every change `workflow:update`. A delivery starts a run of the
//! workflow as the hook (delegated execution), so creating a hook also needs the creator's
//! right to execute the workflow, checked then.
//!
//! The secret (the password of `basic`, the token of `bearer`, the value of `header`, the
//! signing key of `hmac`) is made by the server (32 random bytes, `whsec_` + base64url), shown
//! once in the answer to create or rotate, and stored sealed like a datasource's secret
//! options: an AES-256-GCM envelope bound to the tenant, the hook and the field.

use chrono::{DateTime, Utc};
use db_entity::webhooks;
use rbac::tenant_lock::lock_writable_tenant;
use rbac::{Action, Grants, Permit, Resource, Subject};
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use sealed_secrets::{Envelope, KeyRing, SecretSlot};
use uuid::Uuid;

use crate::Error;
use crate::auth::HookAuth;

/// The body cap when none is given.
pub const DEFAULT_MAX_BODY_BYTES: u32 = 256 * 1024;
/// The largest body cap a hook may have.
pub const MAX_BODY_BYTES: u32 = 5 * 1024 * 1024;
/// Deliveries per minute when no rate is given.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 60;
/// The highest rate a hook may have.
pub const MAX_RATE_PER_MINUTE: u32 = 6_000;
/// The prefix of every generated secret (so a leaked one is recognisable in a scan).
pub const SECRET_PREFIX: &str = "whsec_";

const SECRET_FIELD: &str = "secret";
const OWNER_KIND: &str = "webhook";
const MAX_AUTH_NAME: usize = 200;

/// How a hook checks deliveries (the secret is the server's to make).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No check: the URL is the credential.
    None,
    /// HTTP basic with `auth_name` as the user name.
    Basic,
    /// A bearer token.
    Bearer,
    /// The secret in the header `auth_name`.
    Header,
    /// An HMAC-SHA256 signature (see [`crate::auth`]).
    Hmac,
}

impl AuthMode {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Basic => "basic",
            AuthMode::Bearer => "bearer",
            AuthMode::Header => "header",
            AuthMode::Hmac => "hmac",
        }
    }

    /// The mode named `text`.
    pub fn parse(text: &str) -> Option<AuthMode> {
        Some(match text {
            "none" => AuthMode::None,
            "basic" => AuthMode::Basic,
            "bearer" => AuthMode::Bearer,
            "header" => AuthMode::Header,
            "hmac" => AuthMode::Hmac,
            _ => return None,
        })
    }

    fn has_secret(self) -> bool {
        self != AuthMode::None
    }
}

/// What create stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSpec {
    /// Title.
    pub title: String,
    /// How deliveries are checked.
    pub auth_mode: AuthMode,
    /// The user name (`basic`) or header name (`header`); none for the other modes.
    pub auth_name: Option<String>,
    /// The largest body accepted.
    pub max_body_bytes: u32,
    /// Deliveries accepted per minute (shared by every server process).
    pub rate_per_minute: u32,
    /// Whether it accepts deliveries.
    pub enabled: bool,
}

/// A stored hook, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Its id, the last segment of its URL.
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The workflow a delivery starts.
    pub workflow_id: Uuid,
    /// What it is.
    pub spec: HookSpec,
    /// The secret's last four characters.
    pub secret_hint: Option<String>,
    /// Who created it (the hook's runs use this creator's right to execute the workflow).
    pub creator: Option<Subject>,
    /// When the secret was last replaced.
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A secret as made by the server: shown once, never stored in the clear. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn generate() -> Result<Secret, Error> {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| sealed_secrets::SecretError::Random)?;
        Ok(Secret(format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    fn hint(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Hook {
    fn from_row(row: webhooks::Model) -> Result<Hook, Error> {
        let auth_mode = AuthMode::parse(&row.auth_mode).ok_or_else(|| {
            Error::Corrupt(format!(
                "webhook {} has auth mode {}",
                row.id, row.auth_mode
            ))
        })?;
        Ok(Hook {
            id: row.id,
            tenant_id: row.tenant_id,
            workflow_id: row.workflow_id,
            spec: HookSpec {
                title: row.title,
                auth_mode,
                auth_name: row.auth_name,
                max_body_bytes: u32::try_from(row.max_body_bytes).unwrap_or_default(),
                rate_per_minute: u32::try_from(row.rate_per_minute).unwrap_or_default(),
                enabled: row.is_enabled,
            },
            secret_hint: row.secret_hint,
            creator: Subject::from_creator_columns(row.creator_user_id, row.created_by_api_key_id),
            secret_rotated_at: row.secret_rotated_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A hook as a delivery needs it: the hook and its opened check.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The hook.
    pub hook: Hook,
    /// What a delivery must present.
    pub auth: HookAuth,
    /// The hook's tenant is disabled: its hooks start nothing.
    pub tenant_disabled: bool,
}

/// Hook `id` of whichever tenant, with its secret opened: what `POST /api/v1/hooks/{id}`
/// checks a delivery against.
pub async fn endpoint(
    db: &impl ConnectionTrait,
    ring: &KeyRing,
    id: Uuid,
) -> Result<Endpoint, Error> {
    let row = webhooks::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound)?;
    let secret = match &row.secret {
        Some(sealed) => {
            let envelope: Envelope = serde_json::from_str(sealed).map_err(|error| {
                sealed_secrets::SecretError::Malformed(format!("webhook secret: {error}"))
            })?;
            let opened = ring.open(slot(row.tenant_id, row.id), &envelope)?;
            String::from_utf8(opened)
                .map_err(|_| Error::Corrupt(format!("webhook {} secret is not text", row.id)))?
        }
        None => String::new(),
    };
    let tenant_disabled = db_entity::tenants::Entity::find_by_id(row.tenant_id)
        .one(db)
        .await?
        .is_none_or(|tenant| tenant.is_disabled);
    let hook = Hook::from_row(row)?;
    let name = hook.spec.auth_name.clone().unwrap_or_default();
    let auth = match hook.spec.auth_mode {
        AuthMode::None => HookAuth::None,
        AuthMode::Basic => HookAuth::Basic {
            username: name,
            password: secret,
        },
        AuthMode::Bearer => HookAuth::Bearer { token: secret },
        AuthMode::Header => HookAuth::Header { name, secret },
        AuthMode::Hmac => HookAuth::Hmac {
            secret: secret.into_bytes(),
        },
    };
    Ok(Endpoint {
        hook,
        auth,
        tenant_disabled,
    })
}

/// The workflow's hooks, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<Vec<Hook>, Error> {
    workflows::definitions::summary(db, tenant_id, workflow_id).await?;
    webhooks::Entity::find()
        .filter(webhooks::Column::TenantId.eq(tenant_id))
        .filter(webhooks::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(webhooks::Column::CreatedAt)
        .order_by_asc(webhooks::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Hook::from_row)
        .collect()
}

/// One hook of the workflow.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    workflow_id: Uuid,
    id: Uuid,
) -> Result<Hook, Error> {
    webhooks::Entity::find_by_id(id)
        .filter(webhooks::Column::TenantId.eq(tenant_id))
        .filter(webhooks::Column::WorkflowId.eq(workflow_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound)
        .and_then(Hook::from_row)
}

/// Creates a hook on `workflow_id` (`workflow:update` on it, and `workflow:execute`, which
/// its deliveries use). The answer carries the secret, the only time it is shown.
pub async fn create(
    db: &DatabaseConnection,
    ring: &KeyRing,
    permit: &Permit,
    grants: &Grants,
    workflow_id: Uuid,
    spec: HookSpec,
    now: DateTime<Utc>,
) -> Result<(Hook, Option<Secret>), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Workflow, Action::Update, workflow_id)?;
    let spec = checked(spec)?;
    let (workflow, _) = workflows::definitions::summary(db, tenant_id, workflow_id).await?;
    rbac::authorize_execution(
        tenant_id,
        permit.subject(),
        grants,
        &workflow.target(),
        None,
    )?;
    // Random, not time-ordered: for mode `none` the id is the whole credential.
    let id = Uuid::new_v4();
    let secret = match spec.auth_mode.has_secret() {
        true => Some(Secret::generate()?),
        false => None,
    };
    let sealed = secret
        .as_ref()
        .map(|secret| seal(ring, tenant_id, id, secret))
        .transpose()?;
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    workflows::definitions::summary(&txn, tenant_id, workflow_id).await?;
    webhooks::Entity::insert(webhooks::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        workflow_id: Set(workflow_id),
        title: Set(spec.title.clone()),
        auth_mode: Set(spec.auth_mode.as_str().into()),
        auth_name: Set(spec.auth_name.clone()),
        secret: Set(sealed),
        secret_hint: Set(secret.as_ref().map(Secret::hint)),
        is_enabled: Set(spec.enabled),
        max_body_bytes: Set(i32::try_from(spec.max_body_bytes).unwrap_or(i32::MAX)),
        rate_per_minute: Set(i32::try_from(spec.rate_per_minute).unwrap_or(i32::MAX)),
        rate_window: Set(0),
        rate_count: Set(0),
        creator_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        secret_rotated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let hook = get(&txn, tenant_id, workflow_id, id).await?;
    txn.commit().await?;
    Ok((hook, secret))
}

/// Replaces hook `id`'s secret (`workflow:update` on its workflow): the old one stops working
/// at once, in every process. The answer carries the new secret, the only time it is shown.
pub async fn rotate(
    db: &DatabaseConnection,
    ring: &KeyRing,
    permit: &Permit,
    workflow_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(Hook, Secret), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Workflow, Action::Update, workflow_id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let hook = get(&txn, tenant_id, workflow_id, id).await?;
    if !hook.spec.auth_mode.has_secret() {
        return Err(Error::invalid(
            "authMode",
            "a hook with auth mode `none` has no secret to rotate",
        ));
    }
    let secret = Secret::generate()?;
    webhooks::Entity::update(webhooks::ActiveModel {
        id: Set(id),
        secret: Set(Some(seal(ring, tenant_id, id, &secret)?)),
        secret_hint: Set(Some(secret.hint())),
        secret_rotated_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let hook = get(&txn, tenant_id, workflow_id, id).await?;
    txn.commit().await?;
    Ok((hook, secret))
}

/// Enables or disables hook `id` (`workflow:update` on its workflow). A disabled hook refuses
/// deliveries.
pub async fn set_enabled(
    db: &DatabaseConnection,
    permit: &Permit,
    workflow_id: Uuid,
    id: Uuid,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<Hook, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Workflow, Action::Update, workflow_id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    get(&txn, tenant_id, workflow_id, id).await?;
    webhooks::Entity::update(webhooks::ActiveModel {
        id: Set(id),
        is_enabled: Set(enabled),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let hook = get(&txn, tenant_id, workflow_id, id).await?;
    txn.commit().await?;
    Ok(hook)
}

/// Deletes hook `id` (`workflow:update` on its workflow) and the delivery ids it remembers.
pub async fn delete(
    db: &DatabaseConnection,
    permit: &Permit,
    workflow_id: Uuid,
    id: Uuid,
) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Workflow, Action::Update, workflow_id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    get(&txn, tenant_id, workflow_id, id).await?;
    db_entity::webhook_deliveries::Entity::delete_many()
        .filter(db_entity::webhook_deliveries::Column::WebhookId.eq(id))
        .exec(&txn)
        .await?;
    webhooks::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// What [`reseal`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Hooks whose secret was sealed again under the active key.
    pub resealed: u64,
    /// Hooks changed by someone else between read and write (rotated meanwhile: already under
    /// the active key).
    pub skipped: u64,
    /// Hooks whose secret could not be opened: the hook and why.
    pub failed: Vec<(Uuid, String)>,
}

/// Seals every hook's secret that is under another key than the ring's active one again under
/// the active key (`jet-server keys rotate`, after a new key was made active). A row is
/// rewritten only if its envelope is still the one read, so a concurrent rotation of the
/// hook's secret is never overwritten; running it again is harmless.
///
/// Across every tenant: an operator's maintenance, never reachable from a tenant's request.
pub async fn reseal(db: &impl ConnectionTrait, ring: &KeyRing) -> Result<ResealReport, Error> {
    let active = ring.active().id().0.clone();
    let mut report = ResealReport::default();
    let rows = webhooks::Entity::find()
        .filter(webhooks::Column::Secret.is_not_null())
        .order_by_asc(webhooks::Column::Id)
        .all(db)
        .await?;
    for row in rows {
        let Some(sealed) = row.secret else { continue };
        let resealed = serde_json::from_str::<Envelope>(&sealed)
            .map_err(|error| format!("not an envelope: {error}"))
            .and_then(|envelope| {
                if envelope.kid == active {
                    return Ok(None);
                }
                let slot = slot(row.tenant_id, row.id);
                let plain = ring.open(slot, &envelope).map_err(|e| e.to_string())?;
                let again = ring.seal(slot, &plain).map_err(|e| e.to_string())?;
                serde_json::to_string(&again)
                    .map(Some)
                    .map_err(|e| e.to_string())
            });
        match resealed {
            Ok(None) => {}
            Ok(Some(again)) => {
                let written = webhooks::Entity::update_many()
                    .col_expr(
                        webhooks::Column::Secret,
                        sea_orm::sea_query::Expr::value(Some(again)),
                    )
                    .filter(webhooks::Column::Id.eq(row.id))
                    .filter(webhooks::Column::Secret.eq(sealed))
                    .exec(db)
                    .await?;
                match written.rows_affected {
                    1 => report.resealed += 1,
                    _ => report.skipped += 1,
                }
            }
            Err(why) => report.failed.push((row.id, why)),
        }
    }
    Ok(report)
}

fn slot(tenant_id: Uuid, id: Uuid) -> SecretSlot<'static> {
    SecretSlot {
        owner_kind: OWNER_KIND,
        tenant_id,
        owner_id: id,
        field: SECRET_FIELD,
    }
}

fn seal(ring: &KeyRing, tenant_id: Uuid, id: Uuid, secret: &Secret) -> Result<String, Error> {
    let envelope = ring.seal(slot(tenant_id, id), secret.expose().as_bytes())?;
    serde_json::to_string(&envelope)
        .map_err(|error| Error::Corrupt(format!("a sealed envelope did not serialize: {error}")))
}

fn checked(mut spec: HookSpec) -> Result<HookSpec, Error> {
    spec.title = db_entity::title::valid_title("webhookTitle", &spec.title)?;
    spec.auth_name = spec
        .auth_name
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    match (spec.auth_mode, &spec.auth_name) {
        (AuthMode::Basic, None) => {
            return Err(Error::invalid(
                "authName",
                "mode `basic` needs the user name the sender presents",
            ));
        }
        (AuthMode::Header, None) => {
            return Err(Error::invalid(
                "authName",
                "mode `header` needs the name of the header that carries the secret",
            ));
        }
        (AuthMode::Header, Some(name)) => {
            if !name.bytes().all(is_header_name_byte) {
                return Err(Error::invalid(
                    "authName",
                    "a header name is letters, digits and !#$%&'*+-.^_`|~",
                ));
            }
            if ["authorization", "content-type", "content-length", "host"]
                .iter()
                .any(|reserved| name.eq_ignore_ascii_case(reserved))
            {
                return Err(Error::invalid(
                    "authName",
                    "this header is HTTP's own: name another one",
                ));
            }
        }
        (AuthMode::Basic, Some(name)) => {
            if name.contains(':') {
                return Err(Error::invalid(
                    "authName",
                    "a basic user name cannot contain `:`",
                ));
            }
        }
        (_, Some(_)) => {
            return Err(Error::invalid(
                "authName",
                "only modes `basic` and `header` take a name",
            ));
        }
        (_, None) => {}
    }
    if spec
        .auth_name
        .as_ref()
        .is_some_and(|name| name.chars().count() > MAX_AUTH_NAME)
    {
        return Err(Error::invalid(
            "authName",
            &format!("at most {MAX_AUTH_NAME} characters"),
        ));
    }
    if !(1..=MAX_BODY_BYTES).contains(&spec.max_body_bytes) {
        return Err(Error::invalid(
            "maxBodyBytes",
            &format!("must be between 1 and {MAX_BODY_BYTES}"),
        ));
    }
    if !(1..=MAX_RATE_PER_MINUTE).contains(&spec.rate_per_minute) {
        return Err(Error::invalid(
            "ratePerMinute",
            &format!("must be between 1 and {MAX_RATE_PER_MINUTE}"),
        ));
    }
    Ok(spec)
}

fn is_header_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(mode: AuthMode, name: Option<&str>) -> HookSpec {
        HookSpec {
            title: "Orders".into(),
            auth_mode: mode,
            auth_name: name.map(str::to_string),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
            enabled: true,
        }
    }

    fn refused_field(spec: HookSpec) -> String {
        match checked(spec) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn modes_take_the_names_they_need_and_no_others() {
        assert!(checked(spec(AuthMode::Hmac, None)).is_ok());
        assert!(checked(spec(AuthMode::Header, Some("X-Token"))).is_ok());
        assert!(checked(spec(AuthMode::Basic, Some("shop"))).is_ok());
        assert_eq!(refused_field(spec(AuthMode::Basic, None)), "authName");
        assert_eq!(refused_field(spec(AuthMode::Header, Some(" "))), "authName");
        assert_eq!(
            refused_field(spec(AuthMode::Header, Some("X Token"))),
            "authName"
        );
        assert_eq!(
            refused_field(spec(AuthMode::Header, Some("Authorization"))),
            "authName"
        );
        assert_eq!(
            refused_field(spec(AuthMode::Basic, Some("a:b"))),
            "authName"
        );
        assert_eq!(refused_field(spec(AuthMode::Bearer, Some("x"))), "authName");
    }

    #[test]
    fn limits_are_bounded() {
        let mut too_big = spec(AuthMode::None, None);
        too_big.max_body_bytes = MAX_BODY_BYTES + 1;
        assert_eq!(refused_field(too_big), "maxBodyBytes");
        let mut no_rate = spec(AuthMode::None, None);
        no_rate.rate_per_minute = 0;
        assert_eq!(refused_field(no_rate), "ratePerMinute");
    }

    #[test]
    fn secrets_are_long_random_and_hidden_from_debug() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(SECRET_PREFIX));
        assert_eq!(a.expose().len(), SECRET_PREFIX.len() + 43);
        assert_eq!(format!("{a:?}"), "Secret(…)");
        assert_eq!(a.hint().len(), 4);
        assert!(a.expose().ends_with(&a.hint()));
    }
}
