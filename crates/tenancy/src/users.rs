//! Users, created or refreshed from a verified identity on first sight.
//!
//! Every authenticated request calls [`sync_signed_in_user`]. It reads one row by the indexed
//! provider subject and writes only when something changed or `last_seen_at` is more than
//! [`LAST_SEEN_RESOLUTION`] old, so a busy user costs one indexed read per request, not a write.
//! Two first requests racing for a new user both end with the same row: the insert ignores a
//! conflict on the unique subject and the row is read back. Creating the user, or a changed
//! profile, also takes up pending invitations to a verified address (see `members`).

use chrono::{DateTime, Duration, Utc};
use db_entity::users;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::Error;

/// `last_seen_at` is refreshed at most this often.
pub const LAST_SEEN_RESOLUTION: Duration = Duration::seconds(60);

/// What a verified identity says about its user.
#[derive(Debug, Clone)]
pub struct SignedInUser {
    /// The provider's subject (`sub`).
    pub subject: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the provider verified the address.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Profile picture URL.
    pub picture: Option<String>,
}

/// A platform user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Platform id.
    pub id: Uuid,
    /// The identity provider's subject.
    pub firebase_id: String,
    /// E-mail address, lower-cased.
    pub email: Option<String>,
    /// Whether the provider verified the address.
    pub email_verified: bool,
    /// Display name.
    pub display_name: Option<String>,
    /// Profile picture URL.
    pub photo_url: Option<String>,
    /// Last authenticated request, to the minute.
    pub last_seen_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<users::Model> for User {
    fn from(row: users::Model) -> Self {
        User {
            id: row.id,
            firebase_id: row.firebase_id,
            email: row.email,
            email_verified: row.email_verified,
            display_name: row.display_name,
            photo_url: row.photo_url,
            last_seen_at: row.last_seen_at,
            created_at: row.created_at,
        }
    }
}

/// Creates the user on first sight, refreshes profile and `last_seen_at` afterwards.
///
/// A disabled user yields [`Error::UserDisabled`].
pub async fn sync_signed_in_user(
    db: &impl ConnectionTrait,
    signed_in: &SignedInUser,
    now: DateTime<Utc>,
) -> Result<User, Error> {
    let email = signed_in.email.as_deref().map(|e| e.trim().to_lowercase());
    let existing = find_by_subject(db, &signed_in.subject).await?;
    let row = match existing {
        None => insert_or_read(db, signed_in, email, now).await?,
        Some(row) => refresh_if_stale(db, row, signed_in, email, now).await?,
    };
    if row.is_disabled {
        return Err(Error::UserDisabled);
    }
    Ok(row.into())
}

/// Takes up pending invitations to the user's verified address: on the user's first request, and
/// when the provider reports a profile change (e.g. the address became verified). Invitations to
/// an already verified user bind at invite time, so the once-a-minute `last_seen_at` refresh
/// needs no take-up.
async fn take_up_if_verified(
    db: &impl ConnectionTrait,
    row: &users::Model,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if let (true, Some(email)) = (row.email_verified, row.email.as_deref()) {
        crate::members::take_up_invitations(db, row.id, email, now).await?;
    }
    Ok(())
}

async fn find_by_subject(
    db: &impl ConnectionTrait,
    subject: &str,
) -> Result<Option<users::Model>, Error> {
    Ok(users::Entity::find()
        .filter(users::Column::FirebaseId.eq(subject))
        .one(db)
        .await?)
}

async fn insert_or_read(
    db: &impl ConnectionTrait,
    signed_in: &SignedInUser,
    email: Option<String>,
    now: DateTime<Utc>,
) -> Result<users::Model, Error> {
    let row = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        firebase_id: Set(signed_in.subject.clone()),
        email: Set(email),
        email_verified: Set(signed_in.email_verified),
        display_name: Set(signed_in.name.clone()),
        photo_url: Set(signed_in.picture.clone()),
        is_disabled: Set(false),
        last_seen_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    };
    users::Entity::insert(row)
        .on_conflict(
            OnConflict::column(users::Column::FirebaseId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    // Whether this call or a concurrent one inserted it, the row now exists.
    let row = find_by_subject(db, &signed_in.subject)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("user vanished after insert".into()))?;
    take_up_if_verified(db, &row, now).await?;
    Ok(row)
}

async fn refresh_if_stale(
    db: &impl ConnectionTrait,
    row: users::Model,
    signed_in: &SignedInUser,
    email: Option<String>,
    now: DateTime<Utc>,
) -> Result<users::Model, Error> {
    let profile_changed = row.email != email
        || row.email_verified != signed_in.email_verified
        || row.display_name != signed_in.name
        || row.photo_url != signed_in.picture;
    let seen_long_ago = now - row.last_seen_at >= LAST_SEEN_RESOLUTION;
    if !profile_changed && !seen_long_ago {
        return Ok(row);
    }
    let mut update: users::ActiveModel = row.into();
    update.email = Set(email);
    update.email_verified = Set(signed_in.email_verified);
    update.display_name = Set(signed_in.name.clone());
    update.photo_url = Set(signed_in.picture.clone());
    update.last_seen_at = Set(now);
    update.updated_at = Set(now);
    let row = users::Entity::update(update).exec(db).await?;
    if profile_changed {
        take_up_if_verified(db, &row, now).await?;
    }
    Ok(row)
}
