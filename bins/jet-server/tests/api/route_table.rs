//! The route table's own rules, checked on `jet_server::http::routes()` without a server: every
//! tenant path is declared `Tenant`, object parameters exist, every route is documented once,
//! no route hides another, and reads are declared as reads.

use std::collections::HashSet;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use jet_server::http::access::{Access, Effect, ObjectOf};
use jet_server::http::error::ErrorCode;
use jet_server::http::route::Route;
use rbac::Action;

use crate::helpers::fill_path;

fn params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn every_path_with_a_tenant_id_is_a_tenant_route_and_only_those() {
    for route in jet_server::http::routes() {
        let names_tenant = params(route.path).contains(&"tenantID");
        let is_tenant = matches!(route.access, Access::Tenant(_));
        assert_eq!(
            names_tenant, is_tenant,
            "{route:?} is {:?}: a path with {{tenantID}} must be Access::Tenant, and a tenant \
             rule needs the {{tenantID}} it applies to",
            route.access
        );
    }
}

#[test]
fn declared_objects_are_path_parameters() {
    for route in jet_server::http::routes() {
        if let Access::Tenant(rule) = route.access {
            for object in rule.object.into_iter().chain(rule.source) {
                assert!(
                    params(route.path).contains(&object) && object != "tenantID",
                    "{route:?} declares object `{object}`, which is not one of its parameters"
                );
                assert!(
                    rule.permission().is_some(),
                    "{route:?}: an object rule needs a permission"
                );
                assert!(
                    rule.object.is_none() || rule.source.is_none(),
                    "{route:?} declares both an object and a source"
                );
            }
        }
    }
}

#[test]
fn tenant_paths_with_an_object_parameter_declare_it() {
    // A `…/{roleID}` route that forgot `.on_object("roleID")` would ignore asset grants and
    // carry no checked id: every parameter but the tenant is an object.
    for route in jet_server::http::routes() {
        if let Access::Tenant(rule) = route.access {
            let objects: Vec<&str> = params(route.path)
                .into_iter()
                .filter(|p| *p != "tenantID")
                .collect();
            // A run's request (`…/instances/{instanceID}/requests/{requestID}`) is reached
            // through the run, which the rule declares.
            let in_declared_run = rule.object_of == ObjectOf::RunOfWorkflow
                && rule.object.is_some_and(|run| objects.contains(&run));
            // A part (a workflow's webhook) is reached through its object, which comes first.
            let declared_part = rule
                .part
                .is_some_and(|part| objects.ends_with(&[rule.object.unwrap_or_default(), part]));
            if let Some(last) = objects.last() {
                assert!(
                    rule.object == Some(*last)
                        || rule.source == Some(*last)
                        || in_declared_run
                        || declared_part,
                    "{route:?} has an object parameter `{last}` its rule does not declare \
                     (.on_object or .from_source)"
                );
            }
        }
    }
}

#[test]
fn every_route_is_documented_once() {
    let routes = jet_server::http::routes();
    let mut operations = HashSet::new();
    let mut endpoints = HashSet::new();
    for route in &routes {
        let doc = route
            .doc
            .as_ref()
            .unwrap_or_else(|| panic!("{route:?} has no documentation: call .doc(…)"));
        assert!(
            !doc.operation_id.is_empty() && !doc.tag.is_empty() && !doc.summary.is_empty(),
            "{route:?}: .doc(operationId, tag, summary) must come first and be complete"
        );
        assert!(
            doc.operation_id
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
                && doc.operation_id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{route:?}: operation id `{}` is not camelCase",
            doc.operation_id
        );
        assert!(doc.reply.is_some(), "{route:?} documents no success answer");
        assert!(
            operations.insert(doc.operation_id),
            "operation id `{}` is used twice",
            doc.operation_id
        );
        assert!(
            endpoints.insert((route.method.clone(), route.path)),
            "{route:?} is declared twice"
        );
    }
}

#[test]
fn no_route_is_hidden_by_an_earlier_path() {
    // actix matches resources in registration order, whatever the method: a parameter path
    // registered before a literal one would swallow it (`/roles/{roleID}` vs `/roles/permissions`).
    let routes: Vec<Route> = jet_server::http::routes();
    let paths = jet_server::http::registration_order(&routes);
    for (i, later) in paths.iter().enumerate() {
        let sample = fill_path(later, &uuid::Uuid::now_v7().to_string());
        for earlier in &paths[..i] {
            assert!(
                !ResourceDef::new(*earlier).is_match(&sample),
                "`{later}` is unreachable: `{earlier}`, registered first, matches {sample}"
            );
        }
    }
}

#[test]
fn safe_methods_read_and_changes_do_not() {
    for route in jet_server::http::routes() {
        if let Access::Tenant(rule) = route.access {
            if route.method == Method::GET {
                assert_eq!(rule.effect, Effect::Reads, "{route:?} is a GET");
                assert!(!rule.changes_access, "{route:?} is a GET");
            }
            if [Method::PATCH, Method::PUT, Method::DELETE].contains(&route.method) {
                assert_ne!(rule.effect, Effect::Reads, "{route:?} changes something");
            }
        }
    }
}

#[test]
fn permissions_follow_the_method() {
    // A weakened declaration (a DELETE needing only `…:read`) fails here, and in the drift
    // test: the committed `docs/openapi.json` states every route's permission.
    for route in jet_server::http::routes() {
        let Access::Tenant(rule) = route.access else {
            continue;
        };
        let Some(permission) = rule.permission() else {
            continue;
        };
        let action = permission.action;
        let expected: &[Action] = match route.method {
            // An export reads too: its own action so it can be granted apart.
            Method::GET => &[Action::Read, Action::List, Action::Export],
            // Deleting a part of an object (a workflow's webhook) changes the object.
            Method::DELETE if rule.part.is_some() => &[Action::Update],
            Method::DELETE => &[Action::Delete],
            Method::PATCH | Method::PUT => &[Action::Update],
            _ => continue,
        };
        assert!(
            expected.contains(&action),
            "{route:?} needs `{permission}`; a {} needs one of {expected:?}",
            route.method
        );
    }
}

#[test]
fn docs_errors_md_lists_exactly_the_error_codes() {
    let text = include_str!("../../../../docs/errors.md");
    let documented: Vec<(String, u16)> = text
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let status = cells.get(2)?.parse().ok()?;
            Some((code.to_string(), status))
        })
        .collect();
    let actual: Vec<(String, u16)> = ErrorCode::ALL
        .iter()
        .map(|code| (code.as_str().to_string(), code.status().as_u16()))
        .collect();
    assert_eq!(
        documented, actual,
        "docs/errors.md's table must list every ErrorCode with its status, in ErrorCode::ALL's order"
    );
}

/// The `[^…]` class of whitespace the document's title patterns exclude, as `(first, last)`.
fn excluded_ranges(pattern: &str) -> Vec<(u32, u32)> {
    let class = pattern
        .strip_prefix("[^")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("`{pattern}` is not a negated class"));
    let code = |hex: &str| u32::from_str_radix(hex, 16).unwrap();
    class.split("\\u").filter(|part| !part.is_empty()).fold(
        Vec::new(),
        |mut ranges: Vec<(u32, u32)>, part| {
            match part.strip_suffix('-') {
                // `\uAAAA-` opens a range that the next part closes.
                Some(first) => ranges.push((code(first), u32::MAX)),
                None => match ranges.last_mut() {
                    Some(open) if open.1 == u32::MAX => open.1 = code(part),
                    _ => ranges.push((code(part), code(part))),
                },
            }
            ranges
        },
    )
}

#[test]
fn title_patterns_match_what_the_server_trims() {
    // A title must hold a character Rust's `trim` keeps; the document states that as a regex
    // that every client (and schemathesis) must read the same way, so it lists the code points
    // instead of `\S`, whose meaning differs between regex engines (U+0085, U+FEFF).
    let document = jet_server::http::openapi::document(&jet_server::http::routes());
    let mut patterns = Vec::new();
    fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner.as_str()) {
                        ("pattern", Some(pattern)) => out.push(pattern.to_string()),
                        _ => collect(inner, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    collect(&document, &mut patterns);
    assert!(patterns.len() >= 8, "{patterns:?}");
    for pattern in &patterns {
        let ranges = excluded_ranges(pattern);
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let excluded = ranges.iter().any(|(a, b)| (*a..=*b).contains(&(c as u32)));
            assert_eq!(
                excluded,
                c.is_whitespace(),
                "U+{:04X}: the pattern and Rust's trim disagree",
                c as u32
            );
        }
    }
}
