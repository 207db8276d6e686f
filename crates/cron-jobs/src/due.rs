//! Which fires a job owes at a given instant: the ones on time (or late by less than the
//! grace), and, for fire times the job missed (the server was down, or every process was
//! busy for longer than the grace), what its misfire policy says.
//!
//! Pure: the ticker asks with the first fire time it has not handled yet and the time now,
//! and claims what comes back (`crate::claim`); tests ask with any instant they like.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;

/// What to do about fire times missed by more than the grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Misfire {
    /// Missed fires are not made up (the default: a report that ran at 3 a.m. yesterday
    /// is not wanted at noon).
    #[default]
    Skip,
    /// One fire makes up for every missed one (for jobs whose run covers what came before,
    /// such as a sync).
    RunOnce,
}

/// One fire to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// The fire time it stands for (the claim's key with the job).
    pub scheduled_for: DateTime<Utc>,
    /// Made up for missed fire times (`RunOnce`), not on time.
    pub makes_up: bool,
}

/// What a job owes at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Fires to make now, oldest first.
    pub fires: Vec<Fire>,
    /// Missed fire times (older than the grace) left out or made up by one fire.
    pub missed: bool,
    /// The first fire time after `now` (`None`: the schedule has no more).
    pub next: Option<DateTime<Utc>>,
}

/// The fires `schedule` owes at `now`, when `pending` is the first fire time not handled yet.
/// A fire time up to `grace` old is on time; older ones follow `misfire`. At most `limit`
/// on-time fires are returned (the oldest); `next` then points after the last of them.
pub fn due(
    schedule: &Schedule,
    pending: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: Duration,
    misfire: Misfire,
    limit: usize,
) -> Due {
    let mut fires = Vec::new();
    let horizon = now - grace;
    // The missed fire times are [pending, horizon): only whether there is one, and the last,
    // matter, so a job down for a year costs one search, not one step per missed second.
    let last_missed = if pending < horizon {
        schedule
            .last_at_or_before(horizon - Duration::microseconds(1))
            .filter(|last| *last >= pending)
    } else {
        None
    };
    if let (Some(last), Misfire::RunOnce) = (last_missed, misfire) {
        fires.push(Fire {
            scheduled_for: last,
            makes_up: true,
        });
    }
    let mut cursor = pending.max(horizon);
    let mut next = if schedule_fires_at(schedule, cursor) {
        Some(cursor)
    } else {
        schedule.next_after(cursor)
    };
    while let Some(at) = next {
        if at > now || fires.len() >= limit {
            break;
        }
        fires.push(Fire {
            scheduled_for: at,
            makes_up: false,
        });
        cursor = at;
        next = schedule.next_after(cursor);
    }
    Due {
        fires,
        missed: last_missed.is_some(),
        next,
    }
}

/// Whether `at` is itself one of the schedule's fire times.
fn schedule_fires_at(schedule: &Schedule, at: DateTime<Utc>) -> bool {
    schedule.last_at_or_before(at) == Some(at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// What a job on every second owes, with a minute's grace.
    fn every_second(pending: &str, now: &str, limit: usize) -> Due {
        let schedule = Schedule::parse("* * * * * *", "UTC").unwrap();
        let grace = Duration::seconds(60);
        due(
            &schedule,
            utc(pending),
            utc(now),
            grace,
            Misfire::Skip,
            limit,
        )
    }

    fn times(due: &Due) -> Vec<DateTime<Utc>> {
        due.fires.iter().map(|f| f.scheduled_for).collect()
    }

    #[test]
    fn on_time_fires_are_owed_once_each_and_next_moves_past_them() {
        let pending = utc("2026-05-01T10:00:00Z");
        let owed = every_second("2026-05-01T10:00:00Z", "2026-05-01T10:00:02.300Z", 100);
        assert_eq!(
            times(&owed),
            [
                pending,
                utc("2026-05-01T10:00:01Z"),
                utc("2026-05-01T10:00:02Z")
            ]
        );
        assert!(!owed.missed);
        assert_eq!(owed.next, Some(utc("2026-05-01T10:00:03Z")));
        // Asking again from `next` owes nothing until it comes.
        let again = every_second("2026-05-01T10:00:03Z", "2026-05-01T10:00:02.300Z", 100);
        assert!(again.fires.is_empty());
        assert_eq!(again.next, owed.next);
    }

    #[test]
    fn after_downtime_skip_makes_nothing_up_and_run_once_makes_one_fire() {
        let minutely = Schedule::parse("* * * * *", "UTC").unwrap();
        let pending = utc("2026-05-01T10:00:00Z");
        let now = utc("2026-05-01T12:30:20Z");
        let grace = Duration::seconds(60);
        let skipped = due(&minutely, pending, now, grace, Misfire::Skip, 100);
        // 12:30 is 20 s old: on time; everything from 10:00 to 12:29 was missed.
        assert_eq!(times(&skipped), [utc("2026-05-01T12:30:00Z")]);
        assert!(skipped.missed);
        let made_up = due(&minutely, pending, now, grace, Misfire::RunOnce, 100);
        assert_eq!(
            made_up.fires,
            [
                Fire {
                    scheduled_for: utc("2026-05-01T12:29:00Z"),
                    makes_up: true
                },
                Fire {
                    scheduled_for: utc("2026-05-01T12:30:00Z"),
                    makes_up: false
                },
            ]
        );
        assert_eq!(made_up.next, Some(utc("2026-05-01T12:31:00Z")));
    }

    #[test]
    fn a_year_of_missed_seconds_costs_one_search() {
        let every_second = Schedule::parse("* * * * * *", "UTC").unwrap();
        let owed = due(
            &every_second,
            utc("2025-05-01T00:00:00Z"),
            utc("2026-05-01T00:00:00.500Z"),
            Duration::seconds(1),
            Misfire::RunOnce,
            100,
        );
        assert_eq!(owed.fires.len(), 2);
        assert!(owed.fires[0].makes_up);
        assert_eq!(owed.fires[0].scheduled_for, utc("2026-04-30T23:59:59Z"));
        assert_eq!(owed.fires[1].scheduled_for, utc("2026-05-01T00:00:00Z"));
    }

    #[test]
    fn the_limit_bounds_one_answer_and_next_resumes_after_it() {
        let owed = every_second("2026-05-01T10:00:00Z", "2026-05-01T10:00:30Z", 10);
        assert_eq!(owed.fires.len(), 10);
        assert_eq!(owed.next, Some(utc("2026-05-01T10:00:10Z")));
    }
}
