//! # cron-jobs
//!
//! Cron jobs without HTTP. This slice holds the time arithmetic every other part stands on:
//! [`schedule`] (a cron expression read in an IANA zone, DST-correct fire times as UTC
//! instants) and [`due`] (which fires a job owes at an instant, after downtime too, by its
//! misfire policy). The jobs' table, the exactly-once claim of a fire and the ticker come next
//! (issue 14); `docs/decisions.md` says why the ticker is ours and not tokio-cron-scheduler's.

pub mod due;
mod error;
pub mod schedule;

pub use due::{Due, Fire, Misfire, due};
pub use error::Error;
pub use schedule::Schedule;
