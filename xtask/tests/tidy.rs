//! Architecture invariants, checked as ordinary tests so `cargo test` enforces them:
//! - no crate under `crates/` depends (normally) on an HTTP server crate, nor on `bins/`;
//! - `test-support` is only ever a dev-dependency;
//! - only `bins/`, `xtask/`, the migrations CLI and the dev-only `test-support` read environment
//!   variables;
//! - every Rust file opens with a `//!` header saying what it is for;
//! - no test is skipped with the ignore attribute;
//! - `workflow-engine` and `sandbox` depend on no workspace crate (the engine may use the
//!   sandbox only behind its optional feature);
//! - the server registers routes only from its route table, and handlers read bodies and
//!   queries only after the access check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

const HTTP_SERVER_CRATES: &[&str] = &[
    "actix-web",
    "actix-ws",
    "actix-http",
    "actix-server",
    "actix-rt",
    "actix-cors",
    "axum",
    "hyper",
    "warp",
    "rocket",
    "tide",
    "poem",
    "salvo",
    "tower-http",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// (package name, manifest path relative to the root, normal dependency names, dev dependency names)
fn packages() -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let root = workspace_root();
    metadata()["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
            let relative = manifest.strip_prefix(&root).unwrap().display().to_string();
            let deps = |kind: Option<&str>| -> Vec<String> {
                package["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["kind"].as_str() == kind)
                    .map(|d| d["name"].as_str().unwrap().to_string())
                    .collect()
            };
            (
                package["name"].as_str().unwrap().to_string(),
                relative,
                deps(None),
                deps(Some("dev")),
            )
        })
        .collect()
}

#[test]
fn domain_crates_know_nothing_about_http_servers_or_the_binary() {
    let packages = packages();
    let binaries: Vec<&String> = packages
        .iter()
        .filter(|(_, path, _, _)| path.starts_with("bins/"))
        .map(|(name, _, _, _)| name)
        .collect();
    let mut offences = Vec::new();
    for (name, path, normal, _) in &packages {
        if !path.starts_with("crates/") {
            continue;
        }
        for dep in normal {
            if HTTP_SERVER_CRATES.contains(&dep.as_str()) || binaries.contains(&dep) {
                offences.push(format!("{name} depends on {dep}"));
            }
        }
    }
    assert!(offences.is_empty(), "layering violated: {offences:#?}");
}

#[test]
fn test_support_is_only_a_dev_dependency() {
    let offences: Vec<String> = packages()
        .into_iter()
        .filter(|(_, _, normal, _)| normal.iter().any(|d| d == "test-support"))
        .map(|(name, _, _, _)| name)
        .collect();
    assert!(
        offences.is_empty(),
        "normal dependency on test-support: {offences:?}"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "bins", "migrations", "xtask"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "the walk found too few files: {files:?}");
    files
}

#[test]
fn only_binaries_and_tooling_read_environment_variables() {
    let root = workspace_root();
    let patterns = [
        "env::var(",
        "env::var_os(",
        "env::vars(",
        "env::vars_os(",
        "dotenv",
    ];
    let mut offences = Vec::new();
    for file in all_rust_files() {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        let allowed = relative.starts_with("bins/")
            || relative.starts_with("xtask/")
            || relative.starts_with("crates/test-support/")
            || relative == "migrations/src/main.rs";
        if allowed {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for pattern in patterns {
            if text.contains(pattern) {
                offences.push(format!("{relative}: {pattern}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "configuration must be read in bins/ only: {offences:#?}"
    );
}

#[test]
fn every_rust_file_opens_with_a_module_header() {
    let root = workspace_root();
    let missing: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|file| file.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! header: {missing:#?}"
    );
}

#[test]
fn no_test_is_ignored() {
    let root = workspace_root();
    let marker = ["#[", "ignore"].concat();
    let offences: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|file| std::fs::read_to_string(file).unwrap().contains(&marker))
        .map(|file| file.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(offences.is_empty(), "ignored tests: {offences:?}");
}

#[test]
fn the_engine_and_the_sandbox_depend_on_no_workspace_crate() {
    let packages = packages();
    let workspace: Vec<&String> = packages.iter().map(|(name, _, _, _)| name).collect();
    for crate_name in ["workflow-engine", "sandbox"] {
        let (_, _, normal, _) = packages
            .iter()
            .find(|(name, _, _, _)| name == crate_name)
            .unwrap();
        // The engine may wire JavaScript through the sandbox, and only behind its feature.
        let offences: Vec<&String> = normal
            .iter()
            .filter(|dep| workspace.contains(dep))
            .filter(|dep| !(crate_name == "workflow-engine" && dep.as_str() == "sandbox"))
            .collect();
        assert!(offences.is_empty(), "{crate_name} depends on {offences:?}");
    }
    let manifest =
        std::fs::read_to_string(workspace_root().join("crates/workflow-engine/Cargo.toml"))
            .unwrap();
    assert!(
        manifest.contains("sandbox = { workspace = true, optional = true }"),
        "the sandbox must stay an optional dependency of the engine"
    );
}

#[test]
fn routes_are_registered_only_from_the_route_table() {
    // Every route is a `Route` in a routes module's `routes()`, registered by
    // `http::configure` with its access policy: a hand-registered one would have none.
    let root = workspace_root();
    let server = root.join("bins/jet-server/src");
    let mut files = Vec::new();
    rust_files(&server, &mut files);
    let mut offences = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        if relative == "bins/jet-server/src/http/mod.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for pattern in ["web::resource(", "web::scope(", ".route(", ".service("] {
            if text.contains(pattern) {
                offences.push(format!("{relative}: {pattern}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "register routes through http::routes(): {offences:#?}"
    );
}

#[test]
fn handlers_read_bodies_and_queries_after_the_access_check() {
    // actix polls a handler's extractors together: a separate body or query extractor could
    // answer 400/415 before the caller is authenticated. Bodies come through `TenantBody` /
    // `CallerBody`, queries through `tenant_member::query`, both after the check.
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("bins/jet-server/src/http/routes"), &mut files);
    assert!(files.len() > 5);
    let mut offences = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for pattern in ["ValidJson<", "Json<", "Query<", "Form<"] {
            if text.contains(pattern) {
                offences.push(format!("{relative}: {pattern}"));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}
