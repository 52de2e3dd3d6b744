//! Tidy tests: the architecture rules of docs/ARCHITECTURE.md, checked on the source text so that
//! they cannot drift. They read the workspace's `.rs` files (not the compiled crates), so a rule
//! broken anywhere fails here with the file and the line to change.
//!
//! - the libraries never print or exit;
//! - the core crate's modules follow the layer table (each depends only on layers below it);
//! - no import cycle between files, in any crate;
//! - no file holds more than 800 lines of code (tests and comments aside);
//! - nothing under `cli/src/commands/` imports another command;
//! - ARCHITECTURE.md's code map names every file, the ledger's in layer order, and each `lib.rs`
//!   maps every module it declares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The core crate's layers, lowest first (docs/ARCHITECTURE.md, "Layers"). A module may use
/// modules of lower layers only; two modules of one layer do not know each other.
const LAYERS: &[&[&str]] = &[
    &["error", "encoding"],
    &["canonical", "time", "merkle", "fsio", "limits", "recent"],
    &["keys"],
    &["record", "note", "schema", "httpsig"],
    &["registry", "log", "proof", "replacement", "projection", "influence"],
    &["store", "verify"],
    &["query"],
    &["ledger"],
    &["archive", "disclosure", "group", "receipt", "witness", "tiles", "opinion"],
    &["witnessing", "monitor"],
];

/// Library crates: no printing, no exiting, no terminal.
const LIBRARY_CRATES: &[&str] = &["ledger", "bench", "workload", "server", "remote"];

/// What a library may not contain outside its tests.
const FORBIDDEN_IN_LIBRARIES: &[&str] =
    &["println!", "eprintln!", "print!(", "eprint!(", "dbg!", "process::exit", "io::stdout", "io::stderr"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the ledger crate sits in the workspace").to_path_buf()
}

/// The workspace's crates that exist (a directory with `Cargo.toml` and `src/`).
fn crates() -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(workspace()).unwrap() {
        let path = entry.unwrap().path();
        if path.join("Cargo.toml").is_file() && path.join("src").is_dir() && !path.ends_with("fuzz") {
            found.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    found.sort();
    found
}

/// One source file: its path relative to its crate's `src/` and its module path.
struct Source {
    relative: String,
    module: Vec<String>,
    /// The non-test code: everything before `#[cfg(test)]`, without comment lines.
    code: Vec<(usize, String)>,
}

fn sources(krate: &str) -> Vec<Source> {
    let src = workspace().join(krate).join("src");
    let mut files = Vec::new();
    collect_rs(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            let mut module: Vec<String> = relative.trim_end_matches(".rs").split('/').map(str::to_string).collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                module.clear();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut code = Vec::new();
            for (index, line) in text.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("#[cfg(test)]") {
                    break;
                }
                if trimmed.starts_with("//") {
                    continue;
                }
                code.push((index + 1, line.to_string()));
            }
            Source { relative, module, code }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module paths a line refers to through `crate::`, `super::` or `self::`, resolved against
/// the module the line is in (`from`), before being matched to files.
fn references(line: &str, from: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (anchor, base) in
        [("crate::", Vec::new()), ("super::", from[..from.len().saturating_sub(1)].to_vec()), ("self::", from.to_vec())]
    {
        let mut rest = line;
        while let Some(at) = rest.find(anchor) {
            let preceded_by_ident =
                rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            rest = &rest[at + anchor.len()..];
            if preceded_by_ident {
                continue;
            }
            for tail in expand_path(rest) {
                let mut path = base.clone();
                path.extend(tail);
                found.push(path);
            }
        }
    }
    found
}

/// The paths at the start of `text` (after an anchor): `a::b::C` → one path; `{a::B, c}` → one
/// per item of the group (nested groups contribute their prefix).
fn expand_path(text: &str) -> Vec<Vec<String>> {
    if let Some(group) = text.strip_prefix('{') {
        let mut items = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&group[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items.into_iter().flat_map(|item| expand_path(item.trim())).collect();
    }
    let mut path = Vec::new();
    let mut rest = text;
    loop {
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        path.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(next) if !next.starts_with('{') => rest = next,
            _ => break,
        }
    }
    vec![path]
}

/// The file a module path lands in: the longest prefix of `path` that is a file's module.
fn resolve<'a>(path: &[String], files: &'a BTreeMap<Vec<String>, String>) -> Option<&'a Vec<String>> {
    (1..=path.len()).rev().find_map(|n| files.get_key_value(&path[..n]).map(|(module, _)| module))
}

/// Edges between files of one crate: `(from module, to module, line)`, leaving out a module's use
/// of its own descendants (a parent declaring and re-exporting its children is structure, not a
/// dependency) and of itself.
fn file_edges(files: &[Source]) -> Vec<(Vec<String>, Vec<String>, usize)> {
    let modules: BTreeMap<Vec<String>, String> =
        files.iter().map(|file| (file.module.clone(), file.relative.clone())).collect();
    let mut edges = Vec::new();
    for file in files {
        for (line_number, line) in &file.code {
            for path in references(line, &file.module) {
                let Some(target) = resolve(&path, &modules) else { continue };
                if target.starts_with(&file.module) {
                    continue;
                }
                edges.push((file.module.clone(), target.clone(), *line_number));
            }
        }
    }
    edges
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn libraries_never_print_or_exit() {
    let mut found = Vec::new();
    for krate in crates().iter().filter(|k| LIBRARY_CRATES.contains(&k.as_str())) {
        for file in sources(krate) {
            for (line_number, line) in &file.code {
                for forbidden in FORBIDDEN_IN_LIBRARIES {
                    if line.contains(forbidden) {
                        found.push(format!("{krate}/src/{}:{line_number}: {forbidden}", file.relative));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "a library prints or exits (return a value; the CLI renders it):\n{}", found.join("\n"));
}

#[test]
fn ledger_modules_follow_the_layer_table() {
    let files = sources("ledger");
    let mut problems = Vec::new();
    for file in &files {
        if let Some(top) = file.module.first()
            && layer_of(top).is_none()
        {
            problems.push(format!(
                "ledger/src/{}: module `{top}` is not in the layer table (LAYERS in this file and \
                 the table in docs/ARCHITECTURE.md)",
                file.relative
            ));
        }
    }
    let names: BTreeMap<Vec<String>, String> = files.iter().map(|f| (f.module.clone(), f.relative.clone())).collect();
    for (from, to, line) in file_edges(&files) {
        let (Some(from_top), Some(to_top)) = (from.first(), to.first()) else { continue };
        if from_top == to_top {
            continue;
        }
        let (Some(from_layer), Some(to_layer)) = (layer_of(from_top), layer_of(to_top)) else { continue };
        if to_layer >= from_layer {
            problems.push(format!(
                "ledger/src/{}:{line}: `{from_top}` (layer {from_layer}) uses `{to_top}` (layer {to_layer}); \
                 a module may use only lower layers",
                names[&from]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_import_cycle_between_files() {
    let mut cycles = Vec::new();
    for krate in crates() {
        let files = sources(&krate);
        let names: BTreeMap<Vec<String>, String> =
            files.iter().map(|f| (f.module.clone(), f.relative.clone())).collect();
        let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (from, to, _) in file_edges(&files) {
            graph.entry(from).or_default().insert(to);
        }
        if let Some(cycle) = find_cycle(&graph) {
            let path: Vec<&str> = cycle.iter().map(|m| names[m].as_str()).collect();
            cycles.push(format!("{krate}/src: {}", path.join(" → ")));
        }
    }
    assert!(cycles.is_empty(), "import cycles between files:\n{}", cycles.join("\n"));
}

/// A cycle in `graph`, as the list of its nodes with the first repeated at the end.
fn find_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap();
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(node, graph, &mut marks, &mut stack) {
            return Some(cycle);
        }
    }
    None
}

/// A file over this many lines of code (not counting blank lines, comments and its tests) is a
/// room to split along its seams.
const MAX_CODE_LINES: usize = 800;

#[test]
fn no_file_is_too_large() {
    let mut large = Vec::new();
    for krate in crates() {
        for file in sources(&krate) {
            let lines = file.code.iter().filter(|(_, line)| !line.trim().is_empty()).count();
            if lines > MAX_CODE_LINES {
                large.push(format!("{krate}/src/{}: {lines} lines of code", file.relative));
            }
        }
    }
    assert!(large.is_empty(), "files over {MAX_CODE_LINES} lines of code (split them):\n{}", large.join("\n"));
}

#[test]
fn no_command_imports_another() {
    let files = sources("cli");
    let commands = files.iter().filter(|f| f.module.len() == 2 && f.module[0] == "commands").count();
    assert!(commands >= 10, "only {commands} command modules found in cli/src/commands/");
    let mut problems = Vec::new();
    for (from, to, line) in file_edges(&files) {
        // A command may use neither a sibling nor the dispatch above it.
        let in_commands = |module: &Vec<String>| module.first().is_some_and(|m| m == "commands");
        let same_family = from.len() >= 2 && to.len() >= 2 && from[1] == to[1];
        if in_commands(&from) && from.len() >= 2 && in_commands(&to) && !same_family {
            problems.push(format!("cli/src/{}.rs:{line} uses `{}`", from.join("/"), to.join("::")));
        }
    }
    assert!(
        problems.is_empty(),
        "a command handler uses another command (shared helpers belong in the CLI's I/O module):\n{}",
        problems.join("\n")
    );
}

/// The part of ARCHITECTURE.md under the heading that names `krate/`.
fn code_map_section(architecture: &str, krate: &str) -> Option<String> {
    let heading = format!("### `{krate}/`");
    let start = architecture.find(&heading)?;
    let rest = &architecture[start + heading.len()..];
    let end = rest.find("\n## ").into_iter().chain(rest.find("\n### ")).min().unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

#[test]
fn code_map_names_every_file_in_layer_order() {
    let architecture = std::fs::read_to_string(workspace().join("docs/ARCHITECTURE.md")).unwrap();
    let mut problems = Vec::new();
    for krate in crates() {
        let Some(section) = code_map_section(&architecture, &krate) else {
            problems.push(format!("docs/ARCHITECTURE.md has no code-map section \"### `{krate}/`\""));
            continue;
        };
        for file in sources(&krate) {
            if file.module.is_empty() {
                continue;
            }
            if !section.contains(&format!("`{}`", file.relative)) {
                problems.push(format!("docs/ARCHITECTURE.md, section `{krate}/`: no entry for `{}`", file.relative));
            }
        }
    }
    // The ledger's top-level modules are listed in reading order: layer by layer, lowest first.
    if let Some(section) = code_map_section(&architecture, "ledger") {
        let mut listed: Vec<(usize, &str, usize)> = Vec::new();
        for layer in LAYERS.iter() {
            for module in layer.iter() {
                if let Some(at) = section.find(&format!("\n- `{module}.rs`")) {
                    listed.push((at, module, layer_of(module).unwrap()));
                }
            }
        }
        listed.sort();
        for pair in listed.windows(2) {
            if pair[1].2 < pair[0].2 {
                problems.push(format!(
                    "docs/ARCHITECTURE.md lists `{}.rs` (layer {}) after `{}.rs` (layer {}): list modules \
                     lowest layer first",
                    pair[1].1, pair[1].2, pair[0].1, pair[0].2
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn lib_rs_maps_every_module() {
    let mut problems = Vec::new();
    for krate in crates() {
        let lib = workspace().join(&krate).join("src/lib.rs");
        let Ok(text) = std::fs::read_to_string(&lib) else { continue };
        let docs: String = text.lines().filter(|l| l.starts_with("//!")).collect::<Vec<_>>().join("\n");
        for line in text.lines() {
            let declared = line.trim_start().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            let Some(name) = declared.strip_prefix("mod ").and_then(|rest| rest.strip_suffix(';')) else {
                continue;
            };
            if !docs.contains(&format!("[`{name}`]")) && !docs.contains(&format!("`{name}`")) {
                problems.push(format!("{krate}/src/lib.rs: the crate docs do not map module `{name}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[cfg(test)]
mod parsing {
    use super::*;

    fn module(path: &str) -> Vec<String> {
        path.split("::").map(str::to_string).collect()
    }

    #[test]
    fn references_expand_groups_and_resolve_relative_paths() {
        let from = module("ledger::append");
        let found = references("use crate::{error::{Error, Result}, keys::SecretKey, fsio};", &from);
        assert_eq!(found, vec![module("error"), module("keys::SecretKey"), module("fsio")]);
        assert_eq!(references("use super::Ledger;", &from), vec![module("ledger::Ledger")]);
        assert_eq!(references("let x = self::inner::f();", &from), vec![module("ledger::append::inner::f")]);
        assert!(references("use my_crate::thing;", &from).is_empty());
    }

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        graph.entry(module("a")).or_default().insert(module("b"));
        graph.entry(module("b")).or_default().insert(module("c"));
        assert!(find_cycle(&graph).is_none());
        graph.entry(module("c")).or_default().insert(module("a"));
        assert_eq!(find_cycle(&graph).unwrap().len(), 4);
    }
}
