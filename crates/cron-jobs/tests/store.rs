//! Cron jobs and their fires on a real platform database (SQLite and PostgreSQL): each save
//! checks its schedule, zone, target and the saver's right to run the target, and computes the
//! next fire time; another tenant's jobs and targets are not found; a fire time is claimed once
//! however many claim it at once, the next fire time moves once, and the history pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cron_jobs::fires::{self, FireStatus, RetryPolicy, Trigger};
use cron_jobs::jobs::{self, CronJob, JobSpec, Overlap, Target};
use cron_jobs::ticker::{Ended, Launch, Launcher, Ticker, TickerConfig};
use cron_jobs::{Error, Misfire};
use db_entity::workflows;
use rbac::{Action, Grants, Permission, Resource, Subject};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde_json::json;
use tenancy::tenants::{self, NewTenant};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use test_support::{Backend, db_test};
use uuid::Uuid;

async fn tenant(db: &DatabaseConnection, subject: &str) -> Uuid {
    let user = sync_signed_in_user(
        db,
        &SignedInUser {
            subject: subject.into(),
            email: Some(format!("{subject}@example.com")),
            email_verified: true,
            name: None,
            picture: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let new = NewTenant {
        title: "T".into(),
        logo_url: None,
    };
    tenants::create(db, user.id, new, Utc::now())
        .await
        .unwrap()
        .tenant
        .id
}

/// A workflow row of `tenant_id` (the graph does not matter here).
async fn workflow(db: &DatabaseConnection, tenant_id: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    workflows::Entity::insert(workflows::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        folder_id: Set(None),
        title: Set("nightly".into()),
        description: Set(None),
        options: Set(json!({})),
        is_disabled: Set(false),
        version: Set(1),
        creator_user_id: Set(None),
        created_by_api_key_id: Set(None),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    id
}

fn permit(tenant_id: Uuid, subject: Subject, grants: &Grants, action: Action) -> rbac::Permit {
    let permission = Permission {
        resource: Resource::CronJob,
        action,
    };
    rbac::authorize(tenant_id, subject, grants, permission, None).unwrap()
}

fn spec(target: Target) -> JobSpec {
    JobSpec {
        title: "Nightly report".into(),
        description: None,
        folder_id: None,
        schedule: "30 2 * * *".into(),
        time_zone: "Europe/Berlin".into(),
        target,
        input_values: json!({"day": "yesterday"}),
        enabled: true,
        timeout_secs: Some(600),
        retries: 2,
        retry_delay_secs: 30,
        overlap: Overlap::Skip,
        misfire: Misfire::RunOnce,
    }
}

/// One way to spoil a valid spec.
type Change = Box<dyn Fn(&mut JobSpec)>;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn a_job_is_saved_with_its_next_fire_time_and_found_only_in_its_tenant(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let b = tenant(&db, "bob").await;
    let target = Target::Workflow(workflow(&db, a).await);
    let grants = Grants::new();
    let system = |action| permit(a, Subject::System, &grants, action);

    // Saved on the spring-forward day: 02:30 does not exist, the fire is at 03:00 CEST.
    let now = at("2026-03-28T12:00:00Z");
    let job = jobs::create(&db, &system(Action::Create), &grants, spec(target), now)
        .await
        .unwrap();
    assert_eq!(job.next_fire_at, Some(at("2026-03-29T01:00:00Z")));
    assert_eq!(job.spec, spec(target));
    assert_eq!(jobs::get(&db, a, job.id).await.unwrap(), job);
    assert_eq!(
        jobs::list(&db, a, None).await.unwrap(),
        std::slice::from_ref(&job)
    );
    // Another tenant sees nothing of it.
    assert!(matches!(
        jobs::get(&db, b, job.id).await,
        Err(Error::NotFound)
    ));
    assert!(jobs::list(&db, b, None).await.unwrap().is_empty());

    // A new schedule, a new next fire time.
    let mut every_minute = spec(target);
    every_minute.schedule = "* * * * *".into();
    every_minute.time_zone = "UTC".into();
    let later = at("2026-04-01T10:00:30Z");
    let updated = jobs::update(
        &db,
        &system(Action::Update),
        &grants,
        job.id,
        every_minute,
        later,
    )
    .await
    .unwrap();
    assert_eq!(updated.next_fire_at, Some(at("2026-04-01T10:01:00Z")));

    // Disabled: no next fire; enabled again: from the time it is enabled, not from before.
    let off = jobs::set_enabled(&db, &system(Action::Update), job.id, false, later)
        .await
        .unwrap();
    assert_eq!(off.next_fire_at, None);
    let back = at("2026-04-02T08:00:10Z");
    let on = jobs::set_enabled(&db, &system(Action::Update), job.id, true, back)
        .await
        .unwrap();
    assert_eq!(on.next_fire_at, Some(at("2026-04-02T08:01:00Z")));

    jobs::delete(&db, &system(Action::Delete), job.id)
        .await
        .unwrap();
    assert!(matches!(
        jobs::get(&db, a, job.id).await,
        Err(Error::NotFound)
    ));
}
db_test!(a_job_is_saved_with_its_next_fire_time_and_found_only_in_its_tenant);

async fn saves_refuse_bad_fields_foreign_targets_and_savers_who_cannot_run_the_target(
    backend: Backend,
) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let b = tenant(&db, "bob").await;
    let mine = Target::Workflow(workflow(&db, a).await);
    let theirs = Target::Workflow(workflow(&db, b).await);
    let grants = Grants::new();
    let create = permit(a, Subject::System, &grants, Action::Create);
    let now = Utc::now();

    let field_of = |error: Error| match error {
        Error::Invalid { field, .. } | Error::UnknownReference { field, .. } => field,
        other => panic!("not a field error: {other}"),
    };
    let cases: Vec<(&str, Change)> = vec![
        ("schedule", Box::new(|s| s.schedule = "61 * * * *".into())),
        ("schedule", Box::new(|s| s.schedule = "* * *".into())),
        (
            "timeZone",
            Box::new(|s| s.time_zone = "Europe/Atlantis".into()),
        ),
        ("cronJobTitle", Box::new(|s| s.title = "  ".into())),
        ("inputValues", Box::new(|s| s.input_values = json!([1, 2]))),
        ("timeoutSecs", Box::new(|s| s.timeout_secs = Some(0))),
        ("retries", Box::new(|s| s.retries = 11)),
        ("workflowID", Box::new(move |s| s.target = theirs)),
        (
            "dataQueryID",
            Box::new(|s| s.target = Target::DataQuery(Uuid::now_v7())),
        ),
        ("folderID", Box::new(|s| s.folder_id = Some(Uuid::now_v7()))),
    ];
    for (field, change) in cases {
        let mut bad = spec(mine);
        change(&mut bad);
        let error = jobs::create(&db, &create, &grants, bad, now)
            .await
            .unwrap_err();
        assert_eq!(field_of(error), field);
    }
    assert!(jobs::list(&db, a, None).await.unwrap().is_empty());

    // A user who may create cron jobs but not run the workflow may not schedule it.
    let user = Subject::User(Uuid::now_v7());
    let mut may_create = Grants::new();
    may_create.grant(Permission {
        resource: Resource::CronJob,
        action: Action::Create,
    });
    let error = jobs::create(
        &db,
        &permit(a, user, &may_create, Action::Create),
        &may_create,
        spec(mine),
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::Denied(_)), "{error}");
    // With `execute` on that workflow (an asset grant), they may.
    may_create.grant_asset(Resource::Workflow, mine.id(), Action::Execute);
    jobs::create(
        &db,
        &permit(a, user, &may_create, Action::Create),
        &may_create,
        spec(mine),
        now,
    )
    .await
    .unwrap();
}
db_test!(saves_refuse_bad_fields_foreign_targets_and_savers_who_cannot_run_the_target);

async fn a_fire_time_is_claimed_once_and_the_next_fire_time_moves_once(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let b = tenant(&db, "bob").await;
    let grants = Grants::new();
    let create = permit(a, Subject::System, &grants, Action::Create);
    let mut every_second = spec(Target::Workflow(workflow(&db, a).await));
    every_second.schedule = "* * * * * *".into();
    let now = at("2026-05-01T10:00:00.200Z");
    let job = jobs::create(&db, &create, &grants, every_second, now)
        .await
        .unwrap();
    let first = job.next_fire_at.unwrap();
    assert_eq!(first, at("2026-05-01T10:00:01Z"));

    // Twenty fire times, each claimed by eight racers at once: one wins each.
    let times: Vec<DateTime<Utc>> = (0..20)
        .map(|i| first + chrono::Duration::seconds(i))
        .collect();
    let racers = times.iter().flat_map(|t| {
        let (db, job) = (&db, &job);
        (0..8).map(move |_| fires::claim(db, job, *t, Trigger::Scheduled, now))
    });
    let claims = futures_util::future::join_all(racers).await;
    let won: Vec<_> = claims.into_iter().filter_map(|c| c.unwrap()).collect();
    assert_eq!(won.len(), times.len());
    let mut claimed_times: Vec<_> = won.iter().map(|c| c.scheduled_for).collect();
    claimed_times.sort();
    assert_eq!(claimed_times, times);
    assert!(
        fires::claim(&db, &job, first, Trigger::Manual, now)
            .await
            .unwrap()
            .is_none()
    );

    // The next fire time moves from where it was, once.
    let second = first + chrono::Duration::seconds(1);
    assert!(
        fires::advance_many(&db, &[job.id], first, Some(second))
            .await
            .unwrap()
            == 1
    );
    assert!(
        fires::advance_many(&db, &[job.id], first, Some(second))
            .await
            .unwrap()
            == 0
    );
    assert_eq!(
        jobs::get(&db, a, job.id).await.unwrap().next_fire_at,
        Some(second)
    );

    // Claimed and never started: found for completion; started: not any more.
    let later = now + chrono::Duration::seconds(30);
    assert_eq!(fires::unstarted(&db, later, 100).await.unwrap().len(), 20);
    let oldest = won.iter().min_by_key(|c| c.scheduled_for).unwrap();
    fires::started_many(&db, &[(oldest.fire_id, Some(oldest.run_id))], later)
        .await
        .unwrap();
    fires::finished(
        &db,
        oldest.fire_id,
        FireStatus::Failed,
        Some("the workflow failed".into()),
        None,
        later + chrono::Duration::milliseconds(1500),
        RetryPolicy::NONE,
    )
    .await
    .unwrap();
    assert_eq!(fires::unstarted(&db, later, 100).await.unwrap().len(), 19);
    // A run that ended before its launcher answered: the end is recorded first, and the
    // start recorded after it does not undo it, nor come after it.
    let quick = won.iter().max_by_key(|c| c.scheduled_for).unwrap();
    fires::finished(
        &db,
        quick.fire_id,
        FireStatus::Completed,
        None,
        None,
        now,
        RetryPolicy::NONE,
    )
    .await
    .unwrap();
    fires::started_many(&db, &[(quick.fire_id, Some(quick.run_id))], later)
        .await
        .unwrap();
    let (newest, _) = fires::history(&db, a, job.id, 0, 1).await.unwrap();
    assert_eq!(newest[0].status, FireStatus::Completed);
    assert_eq!(newest[0].started_at, Some(now));
    assert_eq!(newest[0].instance_id, Some(quick.run_id));
    assert_eq!(newest[0].duration(), Some(chrono::Duration::zero()));

    // The history: newest first, paged, with the outcome; nothing for another tenant.
    let (page, total) = fires::history(&db, a, job.id, 15, 10).await.unwrap();
    assert_eq!(total, 20);
    assert_eq!(page.len(), 5);
    let last = page.last().unwrap();
    assert_eq!(last.scheduled_for, first);
    assert_eq!(last.status, FireStatus::Failed);
    assert_eq!(last.error.as_deref(), Some("the workflow failed"));
    assert_eq!(last.instance_id, Some(oldest.run_id));
    assert_eq!(last.duration(), Some(chrono::Duration::milliseconds(1500)));
    assert!(
        page.windows(2)
            .all(|w| w[0].scheduled_for > w[1].scheduled_for)
    );
    assert_eq!(fires::history(&db, b, job.id, 0, 10).await.unwrap().1, 0);
}
db_test!(a_fire_time_is_claimed_once_and_the_next_fire_time_moves_once);

/// Records what it is asked to launch, and answers the claim's run id (as the server's
/// launcher does for a workflow).
#[derive(Default)]
struct Recorder {
    launched: Mutex<Vec<(DateTime<Utc>, Uuid)>>,
}

#[async_trait::async_trait]
impl Launcher for Recorder {
    async fn launch(&self, fires: &[Launch<'_>]) -> Vec<Result<Option<Uuid>, String>> {
        let mut launched = self.launched.lock().unwrap();
        fires
            .iter()
            .map(|fire| {
                launched.push((fire.claimed.scheduled_for, fire.claimed.run_id));
                Ok(Some(fire.claimed.run_id))
            })
            .collect()
    }
}

impl Recorder {
    fn times(&self) -> Vec<DateTime<Utc>> {
        let mut times: Vec<_> = self.launched.lock().unwrap().iter().map(|l| l.0).collect();
        times.sort();
        times
    }
}

async fn a_saved_job(
    db: &DatabaseConnection,
    schedule: &str,
    zone: &str,
    misfire: Misfire,
    now: DateTime<Utc>,
) -> CronJob {
    rbac::store::sync_catalog(db).await.unwrap();
    let a = tenant(db, "alice").await;
    let grants = Grants::new();
    let mut job = spec(Target::Workflow(workflow(db, a).await));
    job.schedule = schedule.into();
    job.time_zone = zone.into();
    job.misfire = misfire;
    job.overlap = Overlap::Allow;
    jobs::create(
        db,
        &permit(a, Subject::System, &grants, Action::Create),
        &grants,
        job,
        now,
    )
    .await
    .unwrap()
}

async fn two_tickers_fire_each_second_once(backend: Backend) {
    let Some((guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let start = at("2026-05-01T10:00:00.300Z");
    let job = a_saved_job(&db, "* * * * * *", "UTC", Misfire::Skip, start).await;
    let other_process = sea_orm::Database::connect(&guard.url).await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let tickers = [db.clone(), other_process]
        .map(|db| Ticker::new(db, recorder.clone(), TickerConfig::default()));
    // Ten seconds of passes every 100 ms, both tickers at the same instants.
    for step in 1..=100 {
        let now = start + chrono::Duration::milliseconds(100 * step);
        let passes = futures_util::future::join_all(tickers.iter().map(|t| t.tick(now))).await;
        for pass in passes {
            pass.unwrap();
        }
    }
    let expected: Vec<_> = (1..=10)
        .map(|s| at("2026-05-01T10:00:00Z") + chrono::Duration::seconds(s))
        .collect();
    assert_eq!(recorder.times(), expected);
    let (history, total) = fires::history(&db, job.tenant_id, job.id, 0, 100)
        .await
        .unwrap();
    assert_eq!(total, 10);
    assert!(
        history
            .iter()
            .all(|f| f.status == FireStatus::Running && f.instance_id.is_some())
    );
}
db_test!(two_tickers_fire_each_second_once);

async fn after_downtime_skip_fires_nothing_missed_and_run_once_fires_once(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let saved = at("2026-05-01T10:00:30Z");
    let skip = a_saved_job(&db, "* * * * *", "UTC", Misfire::Skip, saved).await;
    let mut make_up = skip.spec.clone();
    make_up.misfire = Misfire::RunOnce;
    let grants = Grants::new();
    let run_once = jobs::create(
        &db,
        &permit(skip.tenant_id, Subject::System, &grants, Action::Create),
        &grants,
        make_up,
        saved,
    )
    .await
    .unwrap();
    let recorder = Arc::new(Recorder::default());
    let ticker = Ticker::new(db.clone(), recorder.clone(), TickerConfig::default());
    // The server was down from 10:00:30 to 12:30:20: 10:01 … 12:29 were missed.
    ticker.tick(at("2026-05-01T12:30:20Z")).await.unwrap();
    let fired = |job: &CronJob| {
        let db = db.clone();
        let (tenant, id) = (job.tenant_id, job.id);
        async move {
            let (history, _) = fires::history(&db, tenant, id, 0, 100).await.unwrap();
            history
                .iter()
                .map(|f| (f.scheduled_for, f.trigger.clone()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        fired(&skip).await,
        [(at("2026-05-01T12:30:00Z"), "scheduled".to_string())]
    );
    assert_eq!(
        fired(&run_once).await,
        [
            (at("2026-05-01T12:30:00Z"), "scheduled".to_string()),
            (at("2026-05-01T12:29:00Z"), "makeUp".to_string()),
        ]
    );
    assert_eq!(
        jobs::get(&db, skip.tenant_id, skip.id)
            .await
            .unwrap()
            .next_fire_at,
        Some(at("2026-05-01T12:31:00Z"))
    );
}
db_test!(after_downtime_skip_fires_nothing_missed_and_run_once_fires_once);

async fn a_job_at_0230_berlin_fires_once_on_both_dst_change_days(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let job = a_saved_job(
        &db,
        "30 2 * * *",
        "Europe/Berlin",
        Misfire::Skip,
        at("2026-03-27T12:00:00Z"),
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    let ticker = Ticker::new(db.clone(), recorder.clone(), TickerConfig::default());
    // The injected clock: a pass 50 ms after each next fire time, over both change days.
    let mut fires_seen = 0;
    loop {
        let next = jobs::get(&db, job.tenant_id, job.id)
            .await
            .unwrap()
            .next_fire_at
            .unwrap();
        if next > at("2026-10-27T00:00:00Z") {
            break;
        }
        ticker
            .tick(next + chrono::Duration::milliseconds(50))
            .await
            .unwrap();
        fires_seen += 1;
        assert!(fires_seen < 400, "the job never moved on");
    }
    let times = recorder.times();
    let on = |day: &str| {
        times
            .iter()
            .filter(|t| t.format("%Y-%m-%d").to_string() == day)
            .count()
    };
    // Spring forward (02:30 does not exist: 03:00 CEST = 01:00 UTC) and fall back (02:30
    // happens twice: once, at 02:30 CEST = 00:30 UTC).
    assert_eq!(on("2026-03-29"), 1);
    assert!(times.contains(&at("2026-03-29T01:00:00Z")));
    assert_eq!(on("2026-10-25"), 1);
    assert!(times.contains(&at("2026-10-25T00:30:00Z")));
    // One fire a day, every day between.
    assert_eq!(times.len(), 213);
}
db_test!(a_job_at_0230_berlin_fires_once_on_both_dst_change_days);

async fn a_claim_whose_process_died_is_launched_once_and_overlap_skip_skips(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let start = at("2026-05-01T10:00:00.300Z");
    let job = a_saved_job(&db, "* * * * * *", "UTC", Misfire::Skip, start).await;
    let recorder = Arc::new(Recorder::default());
    let ticker = Ticker::new(db.clone(), recorder.clone(), TickerConfig::default());
    // A process claimed 10:00:01 and died before launching it.
    let orphan = at("2026-05-01T10:00:01Z");
    fires::claim(&db, &job, orphan, Trigger::Scheduled, orphan)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ticker
            .recover(orphan + chrono::Duration::seconds(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        ticker
            .recover(orphan + chrono::Duration::seconds(31))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ticker
            .recover(orphan + chrono::Duration::seconds(32))
            .await
            .unwrap(),
        0
    );
    assert_eq!(recorder.times(), [orphan]);

    // Overlap `skip`: while the 10:00:01 fire runs, the next ones are recorded as skipped.
    let mut no_overlap = job.spec.clone();
    no_overlap.overlap = Overlap::Skip;
    let grants = Grants::new();
    jobs::update(
        &db,
        &permit(job.tenant_id, Subject::System, &grants, Action::Update),
        &grants,
        job.id,
        no_overlap,
        orphan,
    )
    .await
    .unwrap();
    ticker.tick(at("2026-05-01T10:00:03.100Z")).await.unwrap();
    let (history, _) = fires::history(&db, job.tenant_id, job.id, 0, 10)
        .await
        .unwrap();
    let statuses: Vec<_> = history
        .iter()
        .map(|f| (f.scheduled_for, f.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (at("2026-05-01T10:00:03Z"), FireStatus::Skipped),
            (at("2026-05-01T10:00:02Z"), FireStatus::Skipped),
            (orphan, FireStatus::Running),
        ]
    );
    assert_eq!(recorder.times(), [orphan]);
}
db_test!(a_claim_whose_process_died_is_launched_once_and_overlap_skip_skips);

/// A launcher whose runs have all ended elsewhere (completed).
struct EndedElsewhere;

#[async_trait::async_trait]
impl Launcher for EndedElsewhere {
    async fn launch(&self, fires: &[Launch<'_>]) -> Vec<Result<Option<Uuid>, String>> {
        fires
            .iter()
            .map(|fire| Ok(Some(fire.claimed.run_id)))
            .collect()
    }

    async fn ended(&self, _job: &CronJob, _fire: &fires::Fire) -> Option<Ended> {
        Some(Ended {
            status: FireStatus::Completed,
            error: None,
            result: Some(json!({"answer": 42})),
        })
    }
}

async fn a_fire_left_running_by_a_stopped_process_gets_its_end_once(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let start = at("2026-05-01T10:00:00.300Z");
    let job = a_saved_job(&db, "* * * * * *", "UTC", Misfire::Skip, start).await;
    let ticker = Ticker::new(
        db.clone(),
        Arc::new(EndedElsewhere),
        TickerConfig::default(),
    );
    // A process claimed and started 10:00:01, then stopped following its run.
    let fire_time = at("2026-05-01T10:00:01Z");
    let claimed = fires::claim(&db, &job, fire_time, Trigger::Scheduled, fire_time)
        .await
        .unwrap()
        .unwrap();
    fires::started_many(&db, &[(claimed.fire_id, Some(claimed.run_id))], fire_time)
        .await
        .unwrap();
    let settle = |after: i64| ticker.settle(fire_time + chrono::Duration::seconds(after));
    // Not for a while: its follower may still be alive.
    assert_eq!(settle(5).await.unwrap(), 0);
    assert_eq!(settle(31).await.unwrap(), 1);
    assert_eq!(settle(45).await.unwrap(), 0);
    let fire = fires::get(&db, job.tenant_id, claimed.fire_id)
        .await
        .unwrap();
    assert_eq!(fire.status, FireStatus::Completed);
    assert_eq!(fire.result, Some(json!({"answer": 42})));
    // A late follower's end does not replace the first one recorded.
    fires::finished(
        &db,
        claimed.fire_id,
        FireStatus::Failed,
        Some("late".into()),
        None,
        fire_time,
        RetryPolicy::NONE,
    )
    .await
    .unwrap();
    let fire = fires::get(&db, job.tenant_id, claimed.fire_id)
        .await
        .unwrap();
    assert_eq!(fire.status, FireStatus::Completed);
    assert_eq!(fire.error, None);
}
db_test!(a_fire_left_running_by_a_stopped_process_gets_its_end_once);

/// A launcher whose every launch fails, recording each attempt and its run id.
#[derive(Default)]
struct Failing {
    attempts: Mutex<Vec<(u32, Uuid)>>,
}

#[async_trait::async_trait]
impl Launcher for Failing {
    async fn launch(&self, fires: &[Launch<'_>]) -> Vec<Result<Option<Uuid>, String>> {
        let mut attempts = self.attempts.lock().unwrap();
        fires
            .iter()
            .map(|fire| {
                attempts.push((fire.claimed.attempt, fire.claimed.run_id));
                Err(format!("attempt {} failed", fire.claimed.attempt))
            })
            .collect()
    }
}

async fn a_failed_fire_is_retried_after_its_delay_once_per_attempt_until_retries_run_out(
    backend: Backend,
) {
    let Some((guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let start = at("2026-05-01T09:59:59Z");
    // Hourly, at minute 0 second 0: one fire in this test, at 10:00:00.
    let mut job = a_saved_job(&db, "0 0 * * * *", "UTC", Misfire::Skip, start).await;
    let mut retrying = job.spec.clone();
    retrying.retries = 2;
    retrying.retry_delay_secs = 10;
    let grants = Grants::new();
    job = jobs::update(
        &db,
        &permit(job.tenant_id, Subject::System, &grants, Action::Update),
        &grants,
        job.id,
        retrying,
        start,
    )
    .await
    .unwrap();
    let other_process = sea_orm::Database::connect(&guard.url).await.unwrap();
    let failing = Arc::new(Failing::default());
    let tickers = [db.clone(), other_process]
        .map(|db| Ticker::new(db, failing.clone(), TickerConfig::default()));
    let fire_time = at("2026-05-01T10:00:00Z");
    let pass = |offset_ms: i64| {
        let now = fire_time + chrono::Duration::milliseconds(offset_ms);
        let tickers = &tickers;
        async move {
            let passes = futures_util::future::join_all(tickers.iter().map(|t| t.tick(now))).await;
            passes
                .into_iter()
                .map(|pass| pass.unwrap())
                .fold((0, 0), |(launched, retried), pass| {
                    (launched + pass.launched, retried + pass.retried)
                })
        }
    };
    let fire = || async {
        let (history, total) = fires::history(&db, job.tenant_id, job.id, 0, 10)
            .await
            .unwrap();
        assert_eq!(total, 1, "one fire, retried in place");
        history[0].clone()
    };

    assert_eq!(pass(100).await, (1, 0));
    let first = fire().await;
    assert_eq!((first.status, first.attempt), (FireStatus::Failed, 1));
    assert_eq!(first.error.as_deref(), Some("attempt 1 failed"));
    assert_eq!(first.retry_at, Some(at("2026-05-01T10:00:10.100Z")));
    // Not due yet; then due: both processes try, one retries.
    assert_eq!(pass(5_000).await, (0, 0));
    assert_eq!(pass(10_200).await, (0, 1));
    let second = fire().await;
    assert_eq!((second.status, second.attempt), (FireStatus::Failed, 2));
    assert_eq!(second.retry_at, Some(at("2026-05-01T10:00:20.200Z")));
    assert_eq!(pass(20_300).await, (0, 1));
    // Two retries were allowed: the third attempt's failure is final.
    let last = fire().await;
    assert_eq!(
        (last.status, last.attempt, last.retry_at),
        (FireStatus::Failed, 3, None)
    );
    assert_eq!(pass(40_000).await, (0, 0));
    let attempts = failing.attempts.lock().unwrap().clone();
    assert_eq!(
        attempts,
        [1, 2, 3]
            .map(|n| (n, fires::run_id_for_attempt(job.id, fire_time, n)))
            .to_vec()
    );
    assert_eq!(attempts[0].1, fires::run_id_for(job.id, fire_time));
    assert_ne!(attempts[0].1, attempts[1].1);
}
db_test!(a_failed_fire_is_retried_after_its_delay_once_per_attempt_until_retries_run_out);
