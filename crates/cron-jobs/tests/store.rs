//! Cron jobs and their fires on a real platform database (SQLite and PostgreSQL): each save
//! checks its schedule, zone, target and the saver's right to run the target, and computes the
//! next fire time; another tenant's jobs and targets are not found; a fire time is claimed once
//! however many claim it at once, the next fire time moves once, and the history pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use cron_jobs::fires::{self, FireStatus, Trigger};
use cron_jobs::jobs::{self, JobSpec, Overlap, Target};
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
        fires::advance(&db, job.id, first, Some(second))
            .await
            .unwrap()
    );
    assert!(
        !fires::advance(&db, job.id, first, Some(second))
            .await
            .unwrap()
    );
    assert_eq!(
        jobs::get(&db, a, job.id).await.unwrap().next_fire_at,
        Some(second)
    );

    // Claimed and never started: found for completion; started: not any more.
    let later = now + chrono::Duration::seconds(30);
    assert_eq!(fires::unstarted(&db, later, 100).await.unwrap().len(), 20);
    let oldest = won.iter().min_by_key(|c| c.scheduled_for).unwrap();
    fires::started(&db, oldest.fire_id, Some(oldest.run_id), later)
        .await
        .unwrap();
    fires::finished(
        &db,
        oldest.fire_id,
        FireStatus::Failed,
        Some("the workflow failed".into()),
        None,
        later + chrono::Duration::milliseconds(1500),
    )
    .await
    .unwrap();
    assert_eq!(fires::unstarted(&db, later, 100).await.unwrap().len(), 19);

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
