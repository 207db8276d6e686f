//! The workflow-engine crate's public surface, listed item by item and compared with the
//! committed `crates/workflow-engine/public-api.txt`, so every change to what embedders can
//! name is deliberate: a change fails this test until `cargo xtask public-api` rewrites the
//! file (and the diff is reviewed with the code).
//!
//! The list is read from the source with `syn` (`cargo public-api` needs a nightly rustdoc):
//! the crate root's `pub use` items, and for each one its public fields, variants, trait
//! methods, inherent `pub fn`s, trait impls and derives. It also checks the rule that gives
//! every type one path: the root declares no `pub mod`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::{Attribute, Fields, ImplItem, Item, TraitItem, UseTree, Visibility};

const CRATE_DIR: &str = "crates/workflow-engine";
const SNAPSHOT: &str = "crates/workflow-engine/public-api.txt";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Token text with the spacing `quote` leaves tightened, so lines read like Rust.
fn text(tokens: &impl ToTokens) -> String {
    let mut s = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" , ", ", "),
        (" ,", ","),
        (" : ", ": "),
        (" ;", ";"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        ("( ", "("),
        (" (", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        ("& ", "&"),
        ("# [", "#["),
        (" ?", "?"),
        ("- >", "->"),
        (",)", ")"),
        ("  ", " "),
    ] {
        // Each replacement shortens the text, so this ends.
        while s.contains(from) {
            s = s.replace(from, to);
        }
    }
    s.replace(")->", ") ->")
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && text(&a.meta).contains("test"))
}

/// `#[derive(…)]` (sorted), `#[non_exhaustive]` and `#[cfg(…)]` of an item.
fn markers(attrs: &[Attribute]) -> String {
    let mut derives: Vec<String> = Vec::new();
    let mut out = String::new();
    for attr in attrs {
        if attr.path().is_ident("derive") {
            let _ = attr.parse_nested_meta(|meta| {
                derives.push(text(&meta.path));
                Ok(())
            });
        } else if attr.path().is_ident("non_exhaustive") {
            out.push_str("#[non_exhaustive] ");
        } else if attr.path().is_ident("cfg") {
            write!(out, "#[{}] ", text(&attr.meta)).unwrap();
        }
    }
    derives.sort();
    if !derives.is_empty() {
        out.insert_str(0, &format!("#[derive({})] ", derives.join(", ")));
    }
    out
}

/// Every item of the crate, by module path (`""` for the root, `engine::snapshot`, …).
fn items_by_module(src: &Path) -> BTreeMap<String, Vec<Item>> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    fn add(module: String, items: Vec<Item>, into: &mut BTreeMap<String, Vec<Item>>) {
        for item in &items {
            if let Item::Mod(inner) = item
                && let Some((_, content)) = &inner.content
                && !is_cfg_test(&inner.attrs)
            {
                let path = if module.is_empty() {
                    inner.ident.to_string()
                } else {
                    format!("{module}::{}", inner.ident)
                };
                add(path, content.clone(), into);
            }
        }
        into.entry(module).or_default().extend(items);
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
            parts.pop();
        }
        let parsed = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
        add(parts.join("::"), parsed.items, &mut modules);
    }
    modules
}

/// The root's `pub use` names: (module path, name, cfg marker).
fn exports(root: &[Item]) -> Vec<(String, String, String)> {
    fn flatten(
        tree: &UseTree,
        prefix: &[String],
        cfg: &str,
        out: &mut Vec<(String, String, String)>,
    ) {
        match tree {
            UseTree::Path(path) => {
                let mut next = prefix.to_vec();
                next.push(path.ident.to_string());
                flatten(&path.tree, &next, cfg, out);
            }
            UseTree::Name(name) => {
                out.push((prefix.join("::"), name.ident.to_string(), cfg.to_string()))
            }
            UseTree::Group(group) => {
                for tree in &group.items {
                    flatten(tree, prefix, cfg, out);
                }
            }
            other => panic!(
                "the crate root re-exports with `{}`: name each item",
                text(other)
            ),
        }
    }
    let mut out = Vec::new();
    for item in root {
        if let Item::Use(used) = item
            && is_pub(&used.vis)
        {
            flatten(&used.tree, &[], &markers(&used.attrs), &mut out);
        }
    }
    out
}

fn render_fields(fields: &Fields, indent: &str, out: &mut String) {
    for field in fields.iter().filter(|f| is_pub(&f.vis)) {
        match &field.ident {
            Some(name) => writeln!(out, "{indent}pub {name}: {}", text(&field.ty)).unwrap(),
            None => writeln!(out, "{indent}pub {}", text(&field.ty)).unwrap(),
        }
    }
}

/// Inherent `pub fn`s and trait impls of the type `name`, from every module.
fn render_impls(name: &str, modules: &BTreeMap<String, Vec<Item>>, out: &mut String) {
    let mut lines = Vec::new();
    for item in modules.values().flatten() {
        let Item::Impl(block) = item else { continue };
        let self_name = match &*block.self_ty {
            syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        if self_name.as_deref() != Some(name) || is_cfg_test(&block.attrs) {
            continue;
        }
        match &block.trait_ {
            Some((_, trait_path, _)) => lines.push(format!(
                "  impl{} {} for {}",
                text(&block.generics),
                text(trait_path),
                text(&block.self_ty)
            )),
            None => {
                for member in &block.items {
                    if let ImplItem::Fn(function) = member
                        && is_pub(&function.vis)
                    {
                        lines.push(format!("  pub {}", text(&function.sig)));
                    }
                    if let ImplItem::Const(constant) = member
                        && is_pub(&constant.vis)
                    {
                        lines.push(format!(
                            "  pub const {}: {}",
                            constant.ident,
                            text(&constant.ty)
                        ));
                    }
                }
            }
        }
    }
    lines.sort();
    for line in lines {
        writeln!(out, "{line}").unwrap();
    }
}

/// Blanket impls of a trait (`impl<T: A + B> Store for T`).
fn render_blanket_impls(trait_name: &str, modules: &BTreeMap<String, Vec<Item>>, out: &mut String) {
    for item in modules.values().flatten() {
        if let Item::Impl(block) = item
            && let Some((_, path, _)) = &block.trait_
            && path.segments.last().is_some_and(|s| s.ident == trait_name)
            && !block.generics.params.is_empty()
        {
            writeln!(
                out,
                "  impl{} {} for {}",
                text(&block.generics),
                text(path),
                text(&block.self_ty)
            )
            .unwrap();
        }
    }
}

fn render_item(item: &Item, modules: &BTreeMap<String, Vec<Item>>, cfg: &str, out: &mut String) {
    match item {
        Item::Struct(s) => {
            let shape = match &s.fields {
                Fields::Unnamed(_) => {
                    let fields: Vec<String> = s
                        .fields
                        .iter()
                        .map(|f| {
                            if is_pub(&f.vis) {
                                format!("pub {}", text(&f.ty))
                            } else {
                                "_".into()
                            }
                        })
                        .collect();
                    format!("({})", fields.join(", "))
                }
                _ => String::new(),
            };
            writeln!(
                out,
                "{cfg}{}pub struct {}{}{shape}",
                markers(&s.attrs),
                s.ident,
                text(&s.generics)
            )
            .unwrap();
            if matches!(s.fields, Fields::Named(_)) {
                render_fields(&s.fields, "  ", out);
            }
            render_impls(&s.ident.to_string(), modules, out);
        }
        Item::Enum(e) => {
            writeln!(
                out,
                "{cfg}{}pub enum {}{}",
                markers(&e.attrs),
                e.ident,
                text(&e.generics)
            )
            .unwrap();
            for variant in &e.variants {
                match &variant.fields {
                    Fields::Unit => writeln!(out, "  {}", variant.ident).unwrap(),
                    Fields::Unnamed(fields) => {
                        let types: Vec<String> =
                            fields.unnamed.iter().map(|f| text(&f.ty)).collect();
                        writeln!(out, "  {}({})", variant.ident, types.join(", ")).unwrap()
                    }
                    Fields::Named(_) => {
                        writeln!(out, "  {} {{", variant.ident).unwrap();
                        for field in &variant.fields {
                            let name = field.ident.as_ref().unwrap();
                            writeln!(out, "    {name}: {}", text(&field.ty)).unwrap();
                        }
                        writeln!(out, "  }}").unwrap();
                    }
                }
            }
            render_impls(&e.ident.to_string(), modules, out);
        }
        Item::Trait(t) => {
            let supertraits = if t.supertraits.is_empty() {
                String::new()
            } else {
                format!(": {}", text(&t.supertraits))
            };
            writeln!(
                out,
                "{cfg}pub trait {}{}{supertraits}",
                t.ident,
                text(&t.generics)
            )
            .unwrap();
            for member in &t.items {
                if let TraitItem::Fn(function) = member {
                    let provided = if function.default.is_some() {
                        " (provided)"
                    } else {
                        ""
                    };
                    writeln!(out, "  {}{provided}", text(&function.sig)).unwrap();
                }
            }
            render_blanket_impls(&t.ident.to_string(), modules, out);
        }
        Item::Type(t) => writeln!(
            out,
            "{cfg}pub type {}{} = {}",
            t.ident,
            text(&t.generics),
            text(&t.ty)
        )
        .unwrap(),
        Item::Fn(f) => writeln!(out, "{cfg}pub {}", text(&f.sig)).unwrap(),
        Item::Const(c) => writeln!(out, "{cfg}pub const {}: {}", c.ident, text(&c.ty)).unwrap(),
        other => panic!("unexpected exported item {}", text(other)),
    }
}

/// The name an item is declared with.
fn item_name(item: &Item) -> String {
    match item {
        Item::Struct(s) => s.ident.to_string(),
        Item::Enum(e) => e.ident.to_string(),
        Item::Trait(t) => t.ident.to_string(),
        Item::Type(t) => t.ident.to_string(),
        Item::Fn(f) => f.sig.ident.to_string(),
        Item::Const(c) => c.ident.to_string(),
        _ => String::new(),
    }
}

fn item_named<'a>(items: &'a [Item], name: &str) -> Option<&'a Item> {
    items.iter().find(|item| item_name(item) == name)
}

/// `path` (as written in a `use` inside `module`) as a module path from the crate root.
fn join_module(module: &str, path: &str) -> String {
    let mut parts: Vec<&str> = if path.starts_with("crate") {
        Vec::new()
    } else {
        module.split("::").filter(|p| !p.is_empty()).collect()
    };
    for segment in path.split("::").filter(|p| !p.is_empty()) {
        match segment {
            "crate" | "self" => {}
            "super" => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("::")
}

/// The item `name` as seen from `module`: defined there, or re-exported by a `pub use`.
fn resolve<'a>(modules: &'a BTreeMap<String, Vec<Item>>, module: &str, name: &str) -> &'a Item {
    let items = modules
        .get(module)
        .unwrap_or_else(|| panic!("no module `{module}` for `{name}`"));
    if let Some(item) = item_named(items, name) {
        return item;
    }
    let (from, _, _) = exports(items)
        .into_iter()
        .find(|(_, exported, _)| exported == name)
        .unwrap_or_else(|| panic!("`{name}` is not defined in `{module}`"));
    resolve(modules, &join_module(module, &from), name)
}

/// The surface, one block per exported item, sorted by name.
fn public_api() -> String {
    let src = workspace_root().join(CRATE_DIR).join("src");
    let modules = items_by_module(&src);
    let root = &modules[""];
    // The one public module allowed is a feature-gated kit (the store conformance scenarios),
    // which embedders only name in their tests.
    let (kits, public_mods): (Vec<&syn::ItemMod>, Vec<&syn::ItemMod>) = root
        .iter()
        .filter_map(|item| match item {
            Item::Mod(m) if !matches!(m.vis, Visibility::Inherited) => Some(m),
            _ => None,
        })
        .partition(|m| markers(&m.attrs).contains("feature"));
    let names: Vec<String> = public_mods.iter().map(|m| m.ident.to_string()).collect();
    assert!(
        names.is_empty(),
        "every type has one path, at the root: make these modules private and re-export what \
         embedders need: {names:?}"
    );
    let mut exported = exports(root);
    exported.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = String::from(
        "# The public surface of workflow-engine: written by `cargo xtask public-api`, checked by\n\
         # xtask/tests/public_api.rs. Every item is at the crate root.\n",
    );
    for (module, name, cfg) in exported {
        let item = resolve(&modules, &join_module("", &module), &name);
        out.push('\n');
        render_item(item, &modules, &cfg, &mut out);
    }
    for kit in kits {
        let cfg = markers(&kit.attrs);
        writeln!(out, "\n{cfg}pub mod {}", kit.ident).unwrap();
        let mut items: Vec<&Item> = modules[&kit.ident.to_string()]
            .iter()
            .filter(|item| match item {
                Item::Struct(i) => is_pub(&i.vis),
                Item::Enum(i) => is_pub(&i.vis),
                Item::Fn(i) => is_pub(&i.vis),
                Item::Trait(i) => is_pub(&i.vis),
                Item::Type(i) => is_pub(&i.vis),
                Item::Const(i) => is_pub(&i.vis),
                _ => false,
            })
            .collect();
        items.sort_by_key(|item| item_name(item));
        for item in items {
            let mut block = String::new();
            render_item(item, &modules, "", &mut block);
            for line in block.lines() {
                writeln!(out, "  {line}").unwrap();
            }
        }
    }
    out
}

#[test]
fn the_workflow_engine_public_surface_matches_its_snapshot() {
    let rendered = public_api();
    let path = workspace_root().join(SNAPSHOT);
    if std::env::var_os("JET_BLESS_PUBLIC_API").is_some() {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rendered {
        let differing: Vec<String> = rendered
            .lines()
            .filter(|line| !committed.lines().any(|c| c == *line))
            .map(|line| format!("+ {line}"))
            .chain(
                committed
                    .lines()
                    .filter(|line| !rendered.lines().any(|r| r == *line))
                    .map(|line| format!("- {line}")),
            )
            .collect();
        panic!(
            "the public surface of workflow-engine changed; if that is deliberate, run \
             `cargo xtask public-api` and commit {SNAPSHOT}:\n{}",
            differing.join("\n")
        );
    }
}
