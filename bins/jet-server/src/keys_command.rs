//! `jet-server keys rotate`: re-seals every datasource's and webhook's secrets under the active
//! key.
//!
//! Run it after making a new key active (`JET_ENCRYPTION_KEY`) with the old one listed in
//! `JET_ENCRYPTION_PREVIOUS_KEYS`, with the same settings the servers use; servers may keep
//! running. It works in batches, each row rewritten only if unchanged since it was read, so it
//! can be stopped and run again at any time (it resumes with the rows still under another key).
//! Rows it cannot open are listed by id; when it reports none left, the old key can be dropped.

use datasources::rotation::{self, RotationReport};
use webhooks::hooks::ResealReport;

use crate::settings::Settings;

/// What a rotation did to datasources and to webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeysReport {
    /// Datasource secrets.
    pub datasources: RotationReport,
    /// Webhook secrets.
    pub webhooks: ResealReport,
}

impl KeysReport {
    /// Whether some secret could not be opened (the old key must stay configured).
    pub fn failed(&self) -> bool {
        !self.datasources.failed.is_empty() || !self.webhooks.failed.is_empty()
    }
}

/// Rows per batch.
pub const BATCH: u64 = 100;

/// Rotates every row; the report.
pub async fn rotate(settings: &Settings) -> Result<KeysReport, String> {
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| format!("{}: {e}", settings.data_dir.display()))?;
    let ring = crate::startup::settings_key_ring(settings).map_err(|e| e.to_string())?;
    let config = database::DatabaseConfig::new(&settings.database_url);
    database::migrate(&config)
        .await
        .map_err(|e| e.to_string())?;
    let db = database::connect(&config)
        .await
        .map_err(|e| e.to_string())?;
    let datasources = rotation::rotate(&db, &ring, BATCH, None)
        .await
        .map_err(|e| e.to_string())?;
    let webhooks = webhooks::hooks::reseal(&db, &ring)
        .await
        .map_err(|e| e.to_string())?;
    Ok(KeysReport {
        datasources,
        webhooks,
    })
}

/// The report as the command prints it.
pub fn describe(keys: &KeysReport) -> String {
    let report = &keys.datasources;
    let hooks = &keys.webhooks;
    let mut text = format!(
        "re-sealed {} datasource(s) under the active key; {} changed meanwhile and were left for the next run\n\
         re-sealed {} webhook secret(s); {} rotated meanwhile (already under the active key)",
        report.rotated, report.skipped, hooks.resealed, hooks.skipped
    );
    for (id, reason) in &report.failed {
        text.push_str(&format!("\ncannot open datasource {id}: {reason}"));
    }
    for (id, reason) in &hooks.failed {
        text.push_str(&format!("\ncannot open webhook {id}'s secret: {reason}"));
    }
    if !keys.failed() && report.skipped == 0 {
        text.push_str(
            "\nevery datasource and webhook secret is under the active key: previous keys can be dropped",
        );
    }
    text
}
