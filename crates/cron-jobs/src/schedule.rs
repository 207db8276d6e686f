//! A job's schedule: a cron expression read in an IANA time zone, and the instants it fires at.
//!
//! Five fields (`minute hour day-of-month month day-of-week`) or six with seconds first; the
//! usual extensions (`L`, `#`, `W`, names, `@daily`…) as croner parses them, no year field.
//! Fire times follow the wall clock of the zone and its daylight-saving changes, as the Open
//! Cron Pattern Specification says (croner implements it):
//! - a local time the spring-forward gap skips fires once, at the first instant after the gap
//!   (02:30 Europe/Berlin on the last Sunday of March fires at 03:00 CEST);
//! - a local time that the fall-back overlap repeats fires once, at its first occurrence, for a
//!   job at fixed times; a job on an interval (`*/15 * * * *`, every second) fires on each
//!   real instant, so it does not stall for the repeated hour.
//!
//! The instants are UTC: what is stored, compared and claimed is never a local time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::Error;

/// How far ahead [`Schedule::upcoming`] may list (a caller asks for a page of fire times).
pub const MAX_UPCOMING: usize = 100;

/// A parsed schedule. Cheap to clone.
#[derive(Clone)]
pub struct Schedule {
    expression: String,
    zone: Tz,
    cron: Cron,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("expression", &self.expression)
            .field("zone", &self.zone.name())
            .finish()
    }
}

impl Schedule {
    /// Parses `expression` to be read in `zone` (an IANA name such as `Europe/Berlin`, or `UTC`).
    pub fn parse(expression: &str, zone: &str) -> Result<Schedule, Error> {
        let zone = Tz::from_str(zone.trim()).map_err(|_| Error::UnknownTimeZone(zone.into()))?;
        let trimmed = expression.trim();
        // croner takes a seventh field as a year; ours are five or six fields.
        let fields = trimmed.split_whitespace().count();
        if !trimmed.starts_with('@') && !(5..=6).contains(&fields) {
            return Err(Error::InvalidSchedule(format!(
                "`{trimmed}` has {fields} fields: a schedule has five (minute hour \
                 day-of-month month day-of-week) or six (seconds first)"
            )));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(trimmed)
            .map_err(|error| Error::InvalidSchedule(format!("`{trimmed}`: {error}")))?;
        let schedule = Schedule {
            expression: trimmed.to_string(),
            zone,
            cron,
        };
        // A pattern that names no real date (`0 0 30 2 *`) is refused now, not at its first
        // tick: a job that can never fire is a mistake its author should hear about.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(Error::InvalidSchedule(format!("`{trimmed}` never fires")));
        }
        Ok(schedule)
    }

    /// The expression as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The zone's IANA name.
    pub fn zone(&self) -> &'static str {
        self.zone.name()
    }

    /// The first fire time strictly after `after`; `None` if there is none (within croner's
    /// search limit of years).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }

    /// The last fire time at or before `at`; `None` if there is none.
    pub fn last_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.zone);
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|last| last.with_timezone(&Utc))
    }

    /// Up to `count` fire times after `after` (at most [`MAX_UPCOMING`]).
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(count.min(MAX_UPCOMING));
        let mut cursor = after;
        while times.len() < count.min(MAX_UPCOMING) {
            match self.next_after(cursor) {
                Some(next) => {
                    times.push(next);
                    cursor = next;
                }
                None => break,
            }
        }
        times
    }

    /// `at` as a wall-clock time in the schedule's zone (what a user reads next to a fire time).
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        at.with_timezone(&self.zone)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn berlin(schedule: &Schedule, times: &[DateTime<Utc>]) -> Vec<String> {
        times
            .iter()
            .map(|t| {
                schedule
                    .local(*t)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn five_and_six_fields_are_read_seconds_first() {
        let minutely = Schedule::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(
            minutely.next_after(utc("2026-01-01T10:07:30Z")),
            Some(utc("2026-01-01T10:15:00Z"))
        );
        let secondly = Schedule::parse("*/10 * * * * *", "UTC").unwrap();
        assert_eq!(
            secondly.upcoming(utc("2026-01-01T10:00:05Z"), 3),
            [
                utc("2026-01-01T10:00:10Z"),
                utc("2026-01-01T10:00:20Z"),
                utc("2026-01-01T10:00:30Z")
            ]
        );
    }

    #[test]
    fn bad_schedules_and_zones_are_refused_with_the_reason() {
        for (expression, zone) in [
            ("", "UTC"),
            ("* * *", "UTC"),
            ("0 0 0 1 1 * 2030", "UTC"),
            ("61 * * * *", "UTC"),
            ("0 0 30 2 *", "UTC"),
            ("not a cron", "UTC"),
        ] {
            let error = Schedule::parse(expression, zone).unwrap_err();
            assert!(
                matches!(error, Error::InvalidSchedule(_)),
                "{expression}: {error}"
            );
        }
        assert!(matches!(
            Schedule::parse("* * * * *", "Mars/Olympus"),
            Err(Error::UnknownTimeZone(_))
        ));
    }

    #[test]
    fn a_local_time_skipped_in_spring_fires_once_after_the_gap() {
        // 2026-03-29: Berlin goes from 02:00 CET to 03:00 CEST; 02:30 does not exist.
        let daily = Schedule::parse("30 2 * * *", "Europe/Berlin").unwrap();
        let times = daily.upcoming(utc("2026-03-27T12:00:00Z"), 4);
        assert_eq!(
            berlin(&daily, &times),
            [
                "2026-03-28 02:30:00 CET",
                "2026-03-29 03:00:00 CEST",
                "2026-03-30 02:30:00 CEST",
                "2026-03-31 02:30:00 CEST"
            ]
        );
    }

    #[test]
    fn a_local_time_repeated_in_autumn_fires_once() {
        // 2026-10-25: Berlin goes from 03:00 CEST back to 02:00 CET; 02:30 happens twice.
        let daily = Schedule::parse("30 2 * * *", "Europe/Berlin").unwrap();
        let times = daily.upcoming(utc("2026-10-23T12:00:00Z"), 3);
        assert_eq!(
            berlin(&daily, &times),
            [
                "2026-10-24 02:30:00 CEST",
                "2026-10-25 02:30:00 CEST",
                "2026-10-26 02:30:00 CET"
            ]
        );
        // The day has 25 hours, and one fire.
        assert_eq!(times[2] - times[1], chrono::Duration::hours(25));
    }

    #[test]
    fn an_interval_job_keeps_its_pace_through_both_changes() {
        let quarterly = Schedule::parse("*/30 * * * *", "Europe/Berlin").unwrap();
        // Autumn: the repeated hour has its two fires in each of its occurrences.
        let autumn = quarterly.upcoming(utc("2026-10-24T23:45:00Z"), 6);
        assert!(
            autumn
                .windows(2)
                .all(|w| w[1] - w[0] == chrono::Duration::minutes(30))
        );
        // Spring: the skipped hour has none; the real gap between fires stays 30 minutes.
        let spring = quarterly.upcoming(utc("2026-03-29T00:15:00Z"), 4);
        assert!(
            spring
                .windows(2)
                .all(|w| w[1] - w[0] == chrono::Duration::minutes(30))
        );
    }

    #[test]
    fn fire_times_follow_the_zone_not_the_offset_of_the_day_they_were_made() {
        // What tokio-cron-scheduler gets wrong: a job made in winter keeps firing at 09:00 local
        // in summer (07:00 UTC, not 08:00).
        let nine = Schedule::parse("0 9 * * *", "Europe/Berlin").unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 10, 12, 0, 0).unwrap();
        assert_eq!(nine.next_after(winter), Some(utc("2026-01-11T08:00:00Z")));
        assert_eq!(nine.next_after(summer), Some(utc("2026-07-11T07:00:00Z")));
    }
}
