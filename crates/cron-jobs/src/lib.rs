//! # cron-jobs
//!
//! Cron jobs without HTTP: [`schedule`] (a cron expression read in an IANA zone, DST-correct
//! fire times as UTC instants), [`due`](mod@due) (which fires a job owes at an instant, after downtime
//! too, by its misfire policy) and [`jobs`] (the saved jobs of a tenant, checked against what
//! the saver may run) and [`fires`] (the claim of a fire time, unique per job, the run id derived
//! from it, the outcome and the history) and [`ticker`] (the passes that claim and launch what
//! is due, in any number of processes, through a [`ticker::Launcher`] the server provides).
//! `docs/decisions.md` says why the ticker is ours and not tokio-cron-scheduler's.

pub mod due;
mod error;
pub mod fires;
pub mod jobs;
pub mod schedule;
pub mod ticker;

pub use due::{Due, Fire, Misfire, due};
pub use error::Error;
pub use schedule::Schedule;
