//! `GET /api/v1/auth`: the caller's user, created on first call.

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::envelope::ok;

/// The user as the API shows it (field names as in the original API).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[serde(rename = "userID")]
    user_id: Uuid,
    #[serde(rename = "firebaseID")]
    firebase_id: String,
    email: Option<String>,
    email_verified: bool,
    display_name: Option<String>,
    #[serde(rename = "photoURL")]
    photo_url: Option<String>,
    last_seen: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<tenancy::users::User> for UserView {
    fn from(user: tenancy::users::User) -> Self {
        UserView {
            user_id: user.id,
            firebase_id: user.firebase_id,
            email: user.email,
            email_verified: user.email_verified,
            display_name: user.display_name,
            photo_url: user.photo_url,
            last_seen: user.last_seen_at,
            created_at: user.created_at,
        }
    }
}

/// The handler.
pub async fn me(caller: Caller) -> HttpResponse {
    ok(UserView::from(caller.user))
}
