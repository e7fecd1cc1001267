//! The layer check: the map of `src/lib.rs` kept true.
//!
//! Every file of `src/` may refer only to files of its own top-level
//! module or of a layer below it (`LAYERS`; modules of one rank never
//! refer to each other), and no files may refer to each other in a circle
//! (a `mod.rs` and a child that use each other count). Only non-test code
//! counts: an item under `#[cfg(test)]` is skipped.
//!
//! A reference is a path that names a module of this crate: a `use` of
//! `crate::`, `super::`, `self::` or a child declared with `mod x;`
//! (grouped trees expanded), and the same paths written inline in code. It
//! goes to the file of the longest module prefix it names. Comments and
//! string literals are not code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first: `cli` > `http` > `sidecar` > `metrics` >
/// `ops` > {`links`, `state`} > `config` > `fs`. `failpoints` (tests only:
/// `$FAILPOINTS`, called by `main.rs` alone) is a leaf beside `fs`.
const LAYERS: [(&str, u8); 10] = [
    ("failpoints", 0),
    ("fs", 0),
    ("config", 1),
    ("links", 2),
    ("state", 2),
    ("ops", 3),
    ("metrics", 4),
    ("sidecar", 5),
    ("http", 6),
    ("cli", 7),
];

/// One token of Rust source, with comments, literals and white space gone.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An identifier or keyword (a raw identifier without its `r#`).
    Ident(String),
    /// `::`.
    Sep,
    /// Any other character of code (numbers are dropped).
    Punct(char),
}

/// The tokens of `text`.
fn lex(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        match c[i] {
            ch if ch.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => i = skip_block_comment(&c, i),
            '"' => i = skip_string(&c, i + 1),
            '\'' => i = skip_char_or_lifetime(&c, i),
            ':' if next == Some(':') => {
                out.push(Tok::Sep);
                i += 2;
            }
            ch if ch == '_' || ch.is_alphabetic() => i = word(&c, i, &mut out),
            ch if ch.is_ascii_digit() => {
                while i < c.len() && (c[i] == '_' || c[i].is_alphanumeric()) {
                    i += 1;
                }
            }
            ch => {
                out.push(Tok::Punct(ch));
                i += 1;
            }
        }
    }
    out
}

/// Lexes the word at `i` (or the raw string it starts); returns the index
/// after it.
fn word(c: &[char], mut i: usize, out: &mut Vec<Tok>) -> usize {
    let start = i;
    while i < c.len() && (c[i] == '_' || c[i].is_alphanumeric()) {
        i += 1;
    }
    let text: String = c[start..i].iter().collect();
    let hashes = c[i..].iter().take_while(|&&ch| ch == '#').count();
    if (text == "r" || text == "br") && c.get(i + hashes) == Some(&'"') {
        return skip_raw_string(c, i + hashes + 1, hashes);
    }
    if text == "r" && hashes == 1 && c.get(i + 1).is_some_and(|ch| ch.is_alphabetic()) {
        return word(c, i + 1, out);
    }
    out.push(Tok::Ident(text));
    i
}

/// The index after the (nested) block comment starting at `i`.
fn skip_block_comment(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The index after the string whose text starts at `i`.
fn skip_string(c: &[char], mut i: usize) -> usize {
    while i < c.len() && c[i] != '"' {
        i += if c[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// The index after the raw string whose text starts at `i`, closed by a
/// quote and `hashes` times `#`.
fn skip_raw_string(c: &[char], mut i: usize, hashes: usize) -> usize {
    while i < c.len() {
        if c[i] == '"'
            && c[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// The index after the character literal at `i`, or after the quote of a
/// lifetime (whose name is then lexed as a word).
fn skip_char_or_lifetime(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 3;
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        j + 1
    } else if c.get(i + 2) == Some(&'\'') {
        i + 3
    } else {
        i + 1
    }
}

/// The tokens without the items under `#[cfg(test)]`.
fn strip_tests(toks: Vec<Tok>) -> Vec<Tok> {
    let cfg_test = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        if toks[i..].starts_with(&cfg_test) {
            i = skip_item(&toks, i + cfg_test.len());
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

/// The index after the item starting at `i` (its attributes included):
/// after its `;`, or after the block it opens.
fn skip_item(toks: &[Tok], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < toks.len() {
        let tok = &toks[i];
        i += 1;
        match tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            Tok::Punct(';') if depth == 0 => return i,
            _ => {}
        }
    }
    i
}

/// The child modules declared with `mod x;` at the top of a file.
fn children(toks: &[Tok]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut depth = 0usize;
    for (i, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => depth = depth.saturating_sub(1),
            Tok::Ident(kw) if kw == "mod" && depth == 0 => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct(';'))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    found.insert(name.clone());
                }
            }
            _ => {}
        }
    }
    found
}

/// Reads one use tree at `*i`, appending the paths it names under `prefix`.
fn use_tree(toks: &[Tok], i: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        match toks.get(*i) {
            Some(Tok::Sep) => *i += 1,
            Some(Tok::Ident(name)) => {
                prefix.push(name.clone());
                *i += 1;
                match toks.get(*i) {
                    Some(Tok::Sep) => *i += 1,
                    Some(Tok::Ident(kw)) if kw == "as" => {
                        *i += 2;
                        out.push(prefix);
                        return;
                    }
                    _ => {
                        out.push(prefix);
                        return;
                    }
                }
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        None => return,
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        Some(_) => {
                            let before = *i;
                            use_tree(toks, i, prefix.clone(), out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push(prefix);
                return;
            }
            _ => return,
        }
    }
}

/// Where a reference is written: the module it is in and the children it
/// may name without a prefix.
struct Scope<'a> {
    /// The module (the file's, plus any inline `mod x { }` it is in).
    module: Vec<String>,
    /// The file's `mod x;` children (none inside an inline module).
    children: &'a BTreeSet<String>,
}

impl Scope<'_> {
    /// The crate-relative module path `path` names, if it is one of ours.
    fn resolve(&self, path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?.as_str();
        let (mut base, rest) = match first {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (self.module.clone(), &path[1..]),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let keep = self.module.len().saturating_sub(supers);
                (self.module[..keep].to_vec(), &path[supers..])
            }
            name if self.children.contains(name) => (self.module.clone(), path),
            _ => return None,
        };
        base.extend(rest.iter().filter(|s| *s != "self").cloned());
        Some(base)
    }
}

/// Every crate module path the non-test code of a file refers to; the
/// file is the module `module`.
fn references(module: &[String], text: &str) -> BTreeSet<Vec<String>> {
    let toks = strip_tests(lex(text));
    let children = children(&toks);
    let none = BTreeSet::new();
    let mut found = BTreeSet::new();
    // Inline modules: their name and the brace depth they close at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let scope = Scope {
            module: module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(m, _)| m.clone()))
                .collect(),
            children: if inline.is_empty() { &children } else { &none },
        };
        let prev = i.checked_sub(1).map(|p| &toks[p]);
        match &toks[i] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    i += 2;
                    continue;
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let mut paths = Vec::new();
                i += 1;
                use_tree(&toks, &mut i, Vec::new(), &mut paths);
                found.extend(paths.iter().filter_map(|p| scope.resolve(p)));
                continue;
            }
            Tok::Ident(name)
                if toks.get(i + 1) == Some(&Tok::Sep)
                    && !matches!(prev, Some(Tok::Sep | Tok::Punct('$'))) =>
            {
                let mut path = vec![name.clone()];
                while let (Some(Tok::Sep), Some(Tok::Ident(seg))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    path.push(seg.clone());
                    i += 2;
                }
                found.extend(scope.resolve(&path));
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The module a file of `src/` is (`a/b.rs` and `a/b/mod.rs`: `a::b`;
/// `lib.rs`: the crate root); `None` for `main.rs`, another crate.
fn module_of(rel: &str) -> Option<Vec<String>> {
    let stem = rel.strip_suffix(".rs")?;
    if stem == "main" {
        return None;
    }
    let mut module: Vec<String> = stem.split('/').map(String::from).collect();
    if module.last().is_some_and(|m| m == "mod" || m == "lib") {
        module.pop();
    }
    Some(module)
}

/// File → the files it refers to, for sources keyed by their path under
/// `src/`.
fn graph(sources: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeMap<Vec<String>, &String> = sources
        .keys()
        .filter_map(|f| module_of(f).map(|m| (m, f)))
        .collect();
    let mut edges = BTreeMap::new();
    for (file, text) in sources {
        let Some(module) = module_of(file) else {
            continue;
        };
        let mut to = BTreeSet::new();
        for path in references(&module, text) {
            let target = (0..=path.len()).rev().find_map(|k| modules.get(&path[..k]));
            if let Some(&target) = target.filter(|t| **t != file) {
                to.insert(target.clone());
            }
        }
        edges.insert(file.clone(), to);
    }
    edges
}

/// The layer of a file, by its top-level module; `None` for `lib.rs`.
fn layer(file: &str) -> Option<(String, Option<u8>)> {
    let top = module_of(file)?.into_iter().next()?;
    let rank = LAYERS.iter().find(|(m, _)| *m == top).map(|(_, r)| *r);
    Some((top, rank))
}

/// What is wrong with a tree: each line one offending `file -> file`, or a
/// file in no layer.
#[derive(Debug, Default)]
struct Findings {
    /// References to a higher layer or to another module of the same one.
    upward: Vec<String>,
    /// Each set of files that reach each other.
    cycles: Vec<Cycle>,
    /// Files whose top-level module is in no layer.
    unlayered: Vec<String>,
}

/// Files that reach each other through their references.
#[derive(Debug)]
struct Cycle {
    /// The shortest circle through the first of them, `file -> file` lines.
    circle: Vec<String>,
    /// All of them.
    files: Vec<String>,
}

/// Checks the layers and the cycles of a graph.
fn check(graph: &BTreeMap<String, BTreeSet<String>>) -> Findings {
    let mut found = Findings::default();
    for (from, targets) in graph {
        let Some((top, rank)) = layer(from) else {
            continue;
        };
        let Some(rank) = rank else {
            found
                .unlayered
                .push(format!("src/{from}: module `{top}` is in no layer"));
            continue;
        };
        for to in targets {
            let Some((to_top, Some(to_rank))) = layer(to) else {
                continue;
            };
            if to_top != top && to_rank >= rank {
                found.upward.push(format!("src/{from} -> src/{to}"));
            }
        }
    }
    for component in strongly_connected(graph) {
        found.cycles.push(Cycle {
            circle: shortest_circle(graph, &component),
            files: component.iter().map(|f| format!("src/{f}")).collect(),
        });
    }
    found
}

/// One circle through the first file of `component` with the fewest
/// references, as its `file -> file` lines.
fn shortest_circle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    component: &BTreeSet<String>,
) -> Vec<String> {
    let Some(start) = component.iter().next() else {
        return Vec::new();
    };
    // Breadth first inside the component, back to `start`.
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    while let Some(v) = queue.pop_front() {
        for t in graph[v].iter().filter(|t| component.contains(*t)) {
            if t == start {
                let mut path = vec![t.as_str(), v];
                while let Some(&p) = came_from.get(path[path.len() - 1]) {
                    path.push(p);
                }
                path.reverse();
                return path
                    .windows(2)
                    .map(|w| format!("src/{} -> src/{}", w[0], w[1]))
                    .collect();
            }
            if !came_from.contains_key(t.as_str()) {
                came_from.insert(t, v);
                queue.push_back(t);
            }
        }
    }
    Vec::new()
}

/// The sets of two or more files that all reach each other (Tarjan).
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    /// The walk's bookkeeping.
    #[derive(Default)]
    struct Walk<'g> {
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(graph: &'g BTreeMap<String, BTreeSet<String>>, v: &'g str, w: &mut Walk<'g>) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        w.on_stack.insert(v);
        for t in graph.get(v).into_iter().flatten() {
            let t = t.as_str();
            if !w.index.contains_key(t) {
                visit(graph, t, w);
                w.low.insert(v, w.low[v].min(w.low[t]));
            } else if w.on_stack.contains(t) {
                w.low.insert(v, w.low[v].min(w.index[t]));
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = BTreeSet::new();
            while let Some(t) = w.stack.pop() {
                w.on_stack.remove(t);
                component.insert(t.to_string());
                if t == v {
                    break;
                }
            }
            if component.len() > 1 {
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk::default();
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            visit(graph, v, &mut walk);
        }
    }
    walk.found
}

/// Every `.rs` file under `dir`, keyed by its path below `root`.
fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_file_of_src_imports_only_from_the_layers_below_and_no_files_form_a_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    read_tree(&root, &root, &mut sources);
    let graph = graph(&sources);
    let references: usize = graph.values().map(BTreeSet::len).sum();
    // A parser that found nothing would pass everything.
    assert!(
        references > sources.len(),
        "only {references} references in {} files",
        sources.len()
    );
    let found = check(&graph);
    println!(
        "layers: {} files, {references} references between them; {} upward or sideways, {} cycles, {} outside every layer",
        sources.len(),
        found.upward.len(),
        found.cycles.len(),
        found.unlayered.len()
    );
    let mut report = String::new();
    for line in &found.upward {
        report.push_str(&format!(
            "imports from a layer above or beside it: {line}\n"
        ));
    }
    for (n, cycle) in found.cycles.iter().enumerate() {
        for line in &cycle.circle {
            report.push_str(&format!("cycle {}: {line}\n", n + 1));
        }
        report.push_str(&format!(
            "cycle {}: {} files reach each other: {}\n",
            n + 1,
            cycle.files.len(),
            cycle.files.join(", ")
        ));
    }
    for line in &found.unlayered {
        report.push_str(&format!("{line}\n"));
    }
    assert!(
        report.is_empty(),
        "the layers of src/lib.rs do not hold:\n{report}"
    );
}

/// The module paths `text` refers to, written as `a::b`, for the file of
/// module `module`.
fn refs(module: &str, text: &str) -> Vec<String> {
    let module: Vec<String> = module
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    references(&module, text)
        .into_iter()
        .map(|p| p.join("::"))
        .collect()
}

/// The findings of a tree of `(path under src/, text)`.
fn check_sources(files: &[(&str, &str)]) -> Findings {
    let sources: BTreeMap<String, String> = files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    check(&graph(&sources))
}

#[test]
fn grouped_and_nested_uses_are_expanded() {
    let text = "use crate::{links::check, state::{audit::{self, Entry}, lock as l}, fs::*};\n\
                pub(crate) use super::sibling::Thing;";
    assert_eq!(
        refs("ops::swap", text),
        [
            "fs",
            "links::check",
            "ops::sibling::Thing",
            "state::audit",
            "state::audit::Entry",
            "state::lock"
        ]
    );
}

#[test]
fn inline_super_self_and_child_paths_are_references() {
    let text = "mod grid;\npub mod inline { pub fn f() { super::x(); } }\n\
                fn f() -> crate::fs::DirFd { super::body::parse(); self::grid::cell(); grid::row(); \
                std::fs::read(\"x\"); macro_rules! m { () => { $crate::cli::run() } } }";
    assert_eq!(
        refs("http::page", text),
        [
            "fs::DirFd",
            "http::body::parse",
            "http::page::grid::cell",
            "http::page::grid::row",
            "http::page::x"
        ]
    );
}

#[test]
fn tests_comments_strings_and_chars_are_not_references() {
    let text =
        "#[cfg(test)]\nmod tests { use crate::cli::a; fn g() -> [u8; 2] { crate::cli::b() } }\n\
                // use crate::cli::c;\n/* crate::cli::d /* nested */ crate::cli::e */\n\
                const S: &str = \"crate::cli::f \\\" crate::cli::g\";\n\
                const R: &str = r#\"use crate::cli::h; \" crate::cli::i\"#;\n\
                fn f<'a>(c: char) -> bool { c == '{' || c == '\\'' }\n\
                use crate::fs::after;";
    assert_eq!(refs("ops", text), ["fs::after"]);
}

#[test]
fn upward_and_sideways_imports_and_file_cycles_are_reported() {
    let found = check_sources(&[
        (
            "lib.rs",
            "pub mod ops; pub mod metrics; pub mod links; pub mod state;",
        ),
        (
            "ops/mod.rs",
            "mod swap; pub use swap::swap; use crate::metrics::Metrics;",
        ),
        ("ops/swap.rs", "use super::Context; pub fn swap() {}"),
        (
            "metrics/mod.rs",
            "use crate::ops::swap::swap; pub struct Metrics;",
        ),
        ("links/mod.rs", "use crate::state::Lock;"),
        ("state/mod.rs", "pub struct Lock;"),
    ]);
    assert_eq!(
        found.upward,
        [
            "src/links/mod.rs -> src/state/mod.rs",
            "src/ops/mod.rs -> src/metrics/mod.rs"
        ]
    );
    assert_eq!(found.cycles.len(), 1, "{:?}", found.cycles);
    assert_eq!(
        found.cycles[0].circle,
        [
            "src/metrics/mod.rs -> src/ops/swap.rs",
            "src/ops/swap.rs -> src/ops/mod.rs",
            "src/ops/mod.rs -> src/metrics/mod.rs"
        ]
    );
    assert_eq!(
        found.cycles[0].files,
        ["src/metrics/mod.rs", "src/ops/mod.rs", "src/ops/swap.rs"]
    );
    assert!(found.unlayered.is_empty());
}

#[test]
fn a_mod_rs_and_a_child_that_use_each_other_are_a_cycle() {
    let found = check_sources(&[
        (
            "ops/mod.rs",
            "mod swap; pub use swap::swap; pub struct Context;",
        ),
        ("ops/swap.rs", "use super::Context; pub fn swap() {}"),
        ("ops/init.rs", "use crate::ops::swap::swap;"),
    ]);
    assert!(found.upward.is_empty());
    assert_eq!(found.cycles.len(), 1, "{:?}", found.cycles);
    assert_eq!(
        found.cycles[0].circle,
        [
            "src/ops/mod.rs -> src/ops/swap.rs",
            "src/ops/swap.rs -> src/ops/mod.rs"
        ]
    );
}

#[test]
fn a_module_in_no_layer_is_reported() {
    let found = check_sources(&[("adopt/mod.rs", "use crate::fs::DirFd;"), ("fs/mod.rs", "")]);
    assert_eq!(
        found.unlayered,
        ["src/adopt/mod.rs: module `adopt` is in no layer"]
    );
}
