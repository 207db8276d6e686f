//! What a delivery changes in the database, shared by every server process: the hook's rate
//! window and the delivery ids it has accepted.
//!
//! The rate limit is a fixed one-minute window counted on the hook's own row: one UPDATE
//! either counts the delivery or refuses it, so two processes can never both admit the
//! limit's last delivery (a window's boundary may let up to twice the rate through in a
//! minute that straddles it: the price of one statement per delivery).
//!
//! A delivery id is remembered by inserting `(hook, id)`: the primary key makes the second
//! insert of an id fail whichever process receives it. Ids are kept for the signature window
//! (a replay outside it fails the timestamp check instead) and then pruned.

use chrono::{DateTime, Utc};
use db_entity::{webhook_deliveries, webhooks};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::Error;
use crate::auth::WINDOW_SECS;

/// The longest delivery id remembered, in characters.
pub const MAX_DELIVERY_ID: usize = 200;

/// Whether the rate window admitted a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted.
    Admitted,
    /// The hook has had `rate_per_minute` deliveries this minute; the next window opens in
    /// this many seconds.
    Refused {
        /// Seconds until the window turns.
        retry_after_secs: u64,
    },
}

/// Counts a delivery to hook `id` at `now` against `rate_per_minute`, or refuses it.
pub async fn admit(
    db: &impl ConnectionTrait,
    id: Uuid,
    rate_per_minute: u32,
    now: DateTime<Utc>,
) -> Result<Admission, Error> {
    let window = now.timestamp().div_euclid(60);
    // Every right-hand side reads the row as it was before the UPDATE (on both databases).
    let count = Expr::case(
        webhooks::Column::RateWindow.eq(window),
        Expr::col(webhooks::Column::RateCount).add(1),
    )
    .finally(1);
    let counted = webhooks::Entity::update_many()
        .col_expr(webhooks::Column::RateCount, count.into())
        .col_expr(webhooks::Column::RateWindow, Expr::value(window))
        .filter(webhooks::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(webhooks::Column::RateWindow.ne(window))
                .add(webhooks::Column::RateCount.lt(i64::from(rate_per_minute))),
        )
        .exec(db)
        .await?;
    Ok(match counted.rows_affected {
        1 => Admission::Admitted,
        _ => Admission::Refused {
            retry_after_secs: u64::try_from(60 - now.timestamp().rem_euclid(60)).unwrap_or(60),
        },
    })
}

/// The id of the run delivery `delivery_id` of hook `id` starts: the same for every attempt of
/// the delivery in every process, so the engine's `start_as` starts one run per delivery, and
/// a delivery whose id was remembered by a process that died before starting its run is
/// started by the sender's retry instead of being refused as a replay. A UUIDv8 whose bits are
/// a SHA-256 of the hook and the delivery id.
pub fn run_id(id: Uuid, delivery_id: &str) -> Uuid {
    let mut input = id.as_bytes().to_vec();
    input.extend_from_slice(delivery_id.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Remembers delivery `delivery_id` of hook `id`; `false` when it was seen before (a replay).
pub async fn remember(
    db: &impl ConnectionTrait,
    id: Uuid,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    if delivery_id.trim().is_empty() || delivery_id.chars().count() > MAX_DELIVERY_ID {
        return Err(Error::invalid(
            "deliveryId",
            &format!("a delivery id is 1 to {MAX_DELIVERY_ID} characters"),
        ));
    }
    let inserted = webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
        webhook_id: Set(id),
        delivery_id: Set(delivery_id.to_string()),
        received_at: Set(now.timestamp_micros()),
    })
    .on_conflict(
        OnConflict::columns([
            webhook_deliveries::Column::WebhookId,
            webhook_deliveries::Column::DeliveryId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}

/// Forgets a remembered delivery id: its run could not be started, so the sender's retry
/// with the same id must be let through.
pub async fn forget(db: &impl ConnectionTrait, id: Uuid, delivery_id: &str) -> Result<(), Error> {
    webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::WebhookId.eq(id))
        .filter(webhook_deliveries::Column::DeliveryId.eq(delivery_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Drops delivery ids older than the signature window (both ways) at `now`: a replay of one
/// would fail the timestamp check anyway. Returns how many were dropped.
pub async fn prune(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, Error> {
    // Twice the window: a delivery signed up to WINDOW_SECS in the future stays valid that
    // much longer after it was received.
    let cutoff = now.timestamp_micros() - 2 * WINDOW_SECS * 1_000_000;
    let dropped = webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::ReceivedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(dropped.rows_affected)
}
