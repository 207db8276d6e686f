//! The crate's one error type.

/// What can go wrong with cron jobs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cron expression does not parse, or never fires.
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    /// Not an IANA time zone name.
    #[error("unknown time zone `{0}` (an IANA name such as Europe/Berlin, or UTC)")]
    UnknownTimeZone(String),
}
