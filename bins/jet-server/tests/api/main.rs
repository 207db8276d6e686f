//! The API tests: one binary that spawns the real application on port 0 and talks real HTTP to
//! it, on SQLite and on PostgreSQL (see `test_support::db_test!`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod isolation;

mod apikeys;
mod audit;
mod auth;
mod cors;
mod cron_jobs;
mod datasources;
mod envelope;
mod health;
mod management;
mod processes;
mod rate_limit;
mod realtime;
mod reference;
mod route_table;
mod startup;
mod tenants;
mod walkthrough;
mod webhooks;
mod websocket;
mod workflows;
