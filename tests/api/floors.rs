//! The dependency floors, checked from the source of `src/`:
//!
//! (a) only `src/stats/` (and the crate roots `src/lib.rs`, `src/main.rs`) may name the
//!     `stats` feature module: the other features tell it about changes without calling it;
//! (b) the foundation — `db`, `kv`, `http`, `changes` — names no feature module at all;
//! (c) the lowest floor — `clock`, `config`, `error` — names no other module of ours.
//!
//! "Names" means a path in code that reaches the module: `crate::stats`, `crate::stats::x`,
//! `super::super::stats` from a file two levels down, `$crate::stats` in a macro, or a `use`
//! tree such as `use crate::{db, stats::rollup};` (nested braces and line breaks included).
//! Comments and string/char literals are blanked out first, so docs and messages do not
//! count. A glob import of the crate root (`use crate::*`) counts as naming every feature.

use std::path::{Path, PathBuf};

/// Every feature module of the crate (the floors may not depend on any of them).
const FEATURES: &[&str] = &[
    "auth",
    "orgs",
    "courses",
    "media",
    "progress",
    "activities",
    "stats",
    "push",
    "console",
];

/// Top-level modules that form the foundation (rule b).
const FOUNDATION: &[&str] = &["db", "kv", "http", "changes"];

/// The lowest floor (rule c): these name no other module of the crate.
const LOWEST: &[&str] = &["clock", "config", "error"];

/// The crate's top-level modules, as `src/lib.rs` declares them.
fn crate_modules() -> Vec<&'static str> {
    let lib = include_str!("../../src/lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------------------

/// `src` with comments and string, byte-string, raw-string and char literals replaced by
/// spaces (newlines kept, so line numbers stay right). Lifetimes and labels are kept.
fn strip_comments_and_literals(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out: Vec<char> = c.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in out.iter_mut().take(to.min(c.len())).skip(from) {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let is_ident_start = |ch: char| ch == '_' || ch.is_alphabetic();
    let is_ident_char = |ch: char| ch == '_' || ch.is_alphanumeric();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');

    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        // Line comment (`//`, `///`, `//!`).
        if ch == '/' && at(i + 1) == '/' {
            let mut j = i;
            while j < c.len() && c[j] != '\n' {
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
            continue;
        }
        // Block comment (`/* */`, `/** */`, `/*! */`), nesting.
        if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0usize;
            let mut j = i;
            while j < c.len() {
                if c[j] == '/' && at(j + 1) == '*' {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && at(j + 1) == '/' {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
            continue;
        }
        // Identifiers, which may prefix a literal: r"..", r#".."#, b"..", br"..", c"..",
        // cr"..", b'.'; or be a raw identifier r#name.
        if is_ident_start(ch) {
            let mut j = i;
            while j < c.len() && is_ident_char(c[j]) {
                j += 1;
            }
            let word: String = c[i..j].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(j) == '"' || (at(j) == '#' && matches!(at(j + 1), '#' | '"'))) {
                let mut hashes = 0;
                let mut k = j;
                while at(k) == '#' {
                    hashes += 1;
                    k += 1;
                }
                if at(k) == '"' {
                    // Find `"` followed by the same number of `#`.
                    let mut e = k + 1;
                    loop {
                        if e >= c.len() {
                            break;
                        }
                        if c[e] == '"' && (1..=hashes).all(|h| at(e + h) == '#') {
                            e += 1 + hashes;
                            break;
                        }
                        e += 1;
                    }
                    blank(&mut out, i, e);
                    i = e;
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && at(j) == '"' {
                let e = end_of_quoted(&c, j, '"');
                blank(&mut out, i, e);
                i = e;
                continue;
            }
            if word == "b" && at(j) == '\'' {
                let e = end_of_quoted(&c, j, '\'');
                blank(&mut out, i, e);
                i = e;
                continue;
            }
            i = j;
            continue;
        }
        if ch == '"' {
            let e = end_of_quoted(&c, i, '"');
            blank(&mut out, i, e);
            i = e;
            continue;
        }
        if ch == '\'' {
            // A char literal ('a', '\n', '\'', '\u{1F600}') or a lifetime/label ('a, 'static).
            if at(i + 1) == '\\' {
                let e = end_of_quoted(&c, i, '\'');
                blank(&mut out, i, e);
                i = e;
                continue;
            }
            if at(i + 2) == '\'' && at(i + 1) != '\0' {
                blank(&mut out, i, i + 3);
                i += 3;
                continue;
            }
            i += 1;
            continue;
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// The index just past the literal that opens with `quote` at `start` (escapes honoured).
fn end_of_quoted(c: &[char], start: usize, quote: char) -> usize {
    let mut j = start + 1;
    while j < c.len() {
        if c[j] == '\\' {
            j += 2;
            continue;
        }
        if c[j] == quote {
            return j + 1;
        }
        j += 1;
    }
    c.len()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword (`$crate` included, raw identifiers without `r#`).
    Ident(String),
    /// `::`
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A number (ignored).
    Num,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Tokens of stripped source (see [`strip_comments_and_literals`]), with 1-based lines.
fn tokenize(stripped: &str) -> Vec<Token> {
    let c: Vec<char> = stripped.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let is_ident_start = |ch: char| ch == '_' || ch.is_alphabetic();
    let is_ident_char = |ch: char| ch == '_' || ch.is_alphanumeric();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == ':' && at(i + 1) == ':' {
            tokens.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else if ch == '$' && is_ident_start(at(i + 1)) {
            let mut j = i + 1;
            while j < c.len() && is_ident_char(c[j]) {
                j += 1;
            }
            let word: String = c[i..j].iter().collect();
            tokens.push(Token {
                tok: Tok::Ident(word),
                line,
            });
            i = j;
        } else if is_ident_start(ch) {
            let mut j = i;
            while j < c.len() && is_ident_char(c[j]) {
                j += 1;
            }
            let mut word: String = c[i..j].iter().collect();
            if word == "r" && at(j) == '#' && is_ident_start(at(j + 1)) {
                let mut k = j + 1;
                while k < c.len() && is_ident_char(c[k]) {
                    k += 1;
                }
                word = c[j + 1..k].iter().collect();
                j = k;
            }
            tokens.push(Token {
                tok: Tok::Ident(word),
                line,
            });
            i = j;
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < c.len() && is_ident_char(c[j]) {
                j += 1;
            }
            tokens.push(Token {
                tok: Tok::Num,
                line,
            });
            i = j;
        } else {
            tokens.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    tokens
}

/// One path segment as written, with its line.
type Seg = (String, usize);

/// A path found in code: written segments (a `use` tree expanded), and whether it was a glob.
#[derive(Debug, Clone)]
struct FoundPath {
    /// The module the path appears in (crate-relative, without `crate`).
    module: Vec<String>,
    segs: Vec<Seg>,
    glob: bool,
}

fn ident(t: Option<&Token>) -> Option<&str> {
    match t.map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    }
}

fn is_punct(t: Option<&Token>, p: char) -> bool {
    matches!(t.map(|t| &t.tok), Some(Tok::Punct(q)) if *q == p)
}

fn is_sep(t: Option<&Token>) -> bool {
    matches!(t.map(|t| &t.tok), Some(Tok::PathSep))
}

/// Parses one use tree at `*pos` under `prefix`, pushing every leaf path to `out`.
fn parse_use_tree(
    toks: &[Token],
    pos: &mut usize,
    prefix: Vec<Seg>,
    out: &mut Vec<(Vec<Seg>, bool)>,
) {
    if is_sep(toks.get(*pos)) && prefix.is_empty() {
        *pos += 1; // a leading `::` (extern-crate path)
    }
    if is_punct(toks.get(*pos), '{') {
        parse_use_group(toks, pos, prefix, out);
        return;
    }
    if is_punct(toks.get(*pos), '*') {
        *pos += 1;
        out.push((prefix, true));
        return;
    }
    let mut path = prefix;
    while let Some(word) = ident(toks.get(*pos)) {
        path.push((word.to_string(), toks[*pos].line));
        *pos += 1;
        if !is_sep(toks.get(*pos)) {
            break;
        }
        *pos += 1;
        if is_punct(toks.get(*pos), '{') {
            parse_use_group(toks, pos, path, out);
            return;
        }
        if is_punct(toks.get(*pos), '*') {
            *pos += 1;
            out.push((path, true));
            return;
        }
    }
    if ident(toks.get(*pos)) == Some("as") {
        *pos += 2; // `as name` / `as _`
    }
    out.push((path, false));
}

/// Parses `{ tree, tree, ... }` at `*pos` under `prefix`.
fn parse_use_group(
    toks: &[Token],
    pos: &mut usize,
    prefix: Vec<Seg>,
    out: &mut Vec<(Vec<Seg>, bool)>,
) {
    *pos += 1; // `{`
    while *pos < toks.len() {
        if is_punct(toks.get(*pos), '}') {
            *pos += 1;
            return;
        }
        if is_punct(toks.get(*pos), ',') {
            *pos += 1;
            continue;
        }
        if is_punct(toks.get(*pos), ';') {
            return; // malformed: let the caller stop at the `;`
        }
        let before = *pos;
        parse_use_tree(toks, pos, prefix.clone(), out);
        if *pos == before {
            *pos += 1;
        }
    }
}

/// Roots a path in code can start from to name a crate module.
fn is_path_root(word: &str) -> bool {
    matches!(word, "crate" | "$crate" | "super" | "self" | "dangke")
}

/// Every path in the file whose module is `module`: `use` trees (expanded) and paths in
/// code that start at `crate`, `$crate`, `super` or `self`. Inline `mod name { .. }` blocks
/// are followed, so `super` inside them resolves correctly.
fn find_paths(src: &str, module: &[String]) -> Vec<FoundPath> {
    let toks = tokenize(&strip_comments_and_literals(src));
    let mut found = Vec::new();
    let mut depth = 0usize;
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let current = |inline: &[(String, usize)]| -> Vec<String> {
        let mut m = module.to_vec();
        m.extend(inline.iter().map(|(n, _)| n.clone()));
        m
    };
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].tok {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => {
                if let Some(name) = ident(toks.get(i + 1))
                    && is_punct(toks.get(i + 2), '{')
                {
                    inline.push((name.to_string(), depth + 1));
                    i += 2; // the `{` is counted next
                } else {
                    i += 1;
                }
            }
            // `use` declarations (not `use<'a>` precise capturing).
            Tok::Ident(w) if w == "use" && !is_punct(toks.get(i + 1), '<') => {
                let mut pos = i + 1;
                let mut leaves = Vec::new();
                parse_use_tree(&toks, &mut pos, Vec::new(), &mut leaves);
                let m = current(&inline);
                for (segs, glob) in leaves {
                    found.push(FoundPath {
                        module: m.clone(),
                        segs,
                        glob,
                    });
                }
                while pos < toks.len() && !is_punct(toks.get(pos), ';') {
                    pos += 1;
                }
                i = pos.max(i + 1);
            }
            Tok::Ident(w)
                if is_path_root(w)
                    && is_sep(toks.get(i + 1))
                    && !(i > 0 && is_sep(toks.get(i - 1))) =>
            {
                let mut segs = vec![(w.clone(), toks[i].line)];
                let mut j = i + 1;
                while is_sep(toks.get(j)) {
                    match ident(toks.get(j + 1)) {
                        Some(word) => {
                            segs.push((word.to_string(), toks[j + 1].line));
                            j += 2;
                        }
                        None => break, // `::<T>` or `::{` (handled by `use`)
                    }
                }
                found.push(FoundPath {
                    module: current(&inline),
                    segs,
                    glob: false,
                });
                i = j;
            }
            _ => i += 1,
        }
    }
    found
}

/// The crate-absolute module path a found path reaches, each segment with the line it was
/// written on (`None` for segments that come from the file's own module), or `None` when it
/// does not start inside this crate.
fn resolve(p: &FoundPath) -> Option<Vec<(String, Option<usize>)>> {
    let mut cur: Vec<(String, Option<usize>)> = Vec::new();
    let (first, _) = p.segs.first()?;
    match first.as_str() {
        "crate" | "$crate" | "dangke" => {}
        "super" | "self" => cur = p.module.iter().map(|m| (m.clone(), None)).collect(),
        // A bare first segment names an extern crate or an item in scope; at the crate
        // root that includes the top-level modules.
        _ if p.module.is_empty() => {}
        _ => return None,
    }
    for (k, (seg, line)) in p.segs.iter().enumerate() {
        match seg.as_str() {
            "crate" | "$crate" | "dangke" if k == 0 => {}
            "self" => {}
            "super" => {
                cur.pop()?;
            }
            _ => cur.push((seg.clone(), Some(*line))),
        }
    }
    Some(cur)
}

/// One reference from a file to a feature module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    feature: String,
    /// The path as written (a `use` tree expanded), e.g. `crate::stats::rollup`.
    written: String,
}

/// Every reference to a feature module in `src`, the text of the file whose module is
/// `module` (crate-relative: `src/orgs/members.rs` is `["orgs", "members"]`).
fn feature_references(src: &str, module: &[String]) -> Vec<Reference> {
    references_to(src, module, FEATURES)
}

/// The references in `src` (the file of `module`) to any of the top-level modules `targets`.
fn references_to(src: &str, module: &[String], targets: &[&str]) -> Vec<Reference> {
    let mut refs = Vec::new();
    for p in find_paths(src, module) {
        let Some(resolved) = resolve(&p) else {
            continue;
        };
        let mut written: Vec<String> = p.segs.iter().map(|(s, _)| s.clone()).collect();
        if p.glob {
            written.push("*".into());
        }
        let written = written.join("::");
        match resolved.first() {
            // Reached from outside: the segment naming the top-level module was written.
            Some((top, Some(line))) if targets.contains(&top.as_str()) => refs.push(Reference {
                line: *line,
                feature: top.clone(),
                written,
            }),
            // `use crate::*`: every top-level module comes into scope.
            None if p.glob => {
                let line = p.segs.last().map_or(0, |(_, l)| *l);
                for f in targets {
                    refs.push(Reference {
                        line,
                        feature: (*f).to_string(),
                        written: written.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    refs.dedup();
    refs
}

/// The module of a file under `src/`, from its path relative to `src/`
/// (`orgs/mod.rs` → `["orgs"]`, `lib.rs` → `[]`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut()
        && let Some(stem) = last.strip_suffix(".rs")
    {
        *last = stem.to_string();
    }
    if parts.len() == 1 && matches!(parts[0].as_str(), "lib" | "main") {
        return Vec::new();
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// The floor violations of one file: `(rule, reference)`.
fn violations(rel: &Path, src: &str) -> Vec<(&'static str, Reference)> {
    let rel_str = rel.to_string_lossy().replace('\\', "/");
    if rel_str == "lib.rs" || rel_str == "main.rs" {
        return Vec::new();
    }
    let module = module_of(rel);
    let top = module.first().map(String::as_str).unwrap_or("");
    let mut out = Vec::new();
    if LOWEST.contains(&top) {
        let others: Vec<&str> = crate_modules()
            .into_iter()
            .filter(|m| !LOWEST.contains(m))
            .collect();
        for r in references_to(src, &module, &others) {
            out.push((
                "c: clock, config and error stand on nothing else of ours",
                r,
            ));
        }
        return out;
    }
    for r in feature_references(src, &module) {
        if FOUNDATION.contains(&top) {
            out.push(("b: the foundation names a feature", r));
        } else if r.feature == "stats" && top != "stats" {
            out.push(("a: only src/stats/ names stats", r));
        }
    }
    out
}

#[test]
fn the_dependency_floors_hold() {
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src_dir);
    assert!(
        files.len() > 20,
        "found only {} files under {}",
        files.len(),
        src_dir.display()
    );
    let mut report = Vec::new();
    for path in &files {
        let Ok(src) = std::fs::read_to_string(path) else {
            continue; // removed while we looked (the tree is being edited)
        };
        let rel = path.strip_prefix(&src_dir).unwrap_or(path);
        for (rule, r) in violations(rel, &src) {
            report.push(format!(
                "src/{}:{}: [{rule}] names `{}` via `{}`",
                rel.display(),
                r.line,
                r.feature,
                r.written
            ));
        }
    }
    assert!(
        report.is_empty(),
        "{} dependency-floor violation(s):\n{}\n",
        report.len(),
        report.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The scanner's own tests
// ---------------------------------------------------------------------------------------

fn m(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn refs(src: &str, module: &str) -> Vec<(usize, String)> {
    feature_references(src, &m(module))
        .into_iter()
        .map(|r| (r.line, r.feature))
        .collect()
}

fn one(line: usize, feature: &str) -> Vec<(usize, String)> {
    vec![(line, feature.to_string())]
}

#[test]
fn scanner_finds_a_plain_path_and_a_use() {
    assert_eq!(refs("use crate::stats::rollup;", "orgs"), one(1, "stats"));
    assert_eq!(refs("use crate::stats;", "orgs"), one(1, "stats"));
    assert_eq!(refs("pub use crate::stats as s;", "orgs"), one(1, "stats"));
    assert_eq!(
        refs(
            "fn f() {\n    crate::stats::rollup::touch();\n}",
            "orgs/members"
        ),
        one(2, "stats")
    );
    assert_eq!(
        refs("fn f() -> crate::auth::model::User { todo!() }", "db/sql"),
        one(1, "auth")
    );
}

#[test]
fn scanner_finds_grouped_imports() {
    assert_eq!(
        refs("use crate::{db, stats::rollup};", "orgs"),
        one(1, "stats")
    );
    assert_eq!(
        refs("use crate::{\n  db,\n  stats,\n};", "orgs/tree"),
        one(3, "stats")
    );
    assert_eq!(
        refs(
            "use crate::{db::{self, sql}, orgs::{model::{A, B}}, stats::{\n rollup::{x, y}}};",
            "db"
        ),
        vec![
            (1, "orgs".to_string()),
            (1, "orgs".to_string()),
            (1, "stats".to_string()),
            (1, "stats".to_string())
        ]
    );
    assert_eq!(
        refs("use {crate::stats::x, std::fmt};", "orgs"),
        one(1, "stats")
    );
    assert_eq!(refs("use crate::stats::*;", "orgs"), one(1, "stats"));
    assert_eq!(refs("use crate::{db, kv};", "orgs"), vec![]);
}

#[test]
fn scanner_resolves_super_and_self() {
    // src/orgs/members.rs: super::super is the crate root.
    assert_eq!(
        refs("use super::super::stats::rollup;", "orgs/members"),
        one(1, "stats")
    );
    assert_eq!(
        refs("fn f() { super::super::stats::x(); }", "orgs/members"),
        one(1, "stats")
    );
    assert_eq!(
        refs("use super::{super::stats};", "orgs/members"),
        one(1, "stats")
    );
    // src/orgs/mod.rs: one `super` is enough.
    assert_eq!(refs("use super::stats;", "orgs"), one(1, "stats"));
    // Only as far as a sibling module: not the feature.
    assert_eq!(refs("use super::stats;", "orgs/members"), vec![]);
    assert_eq!(refs("use self::stats::x;", "orgs"), vec![]);
    // Inside an inline module `super` is one level less far.
    let src = "mod tests {\n    use super::super::stats;\n}\nuse super::super::stats;\n";
    assert_eq!(refs(src, "orgs/members"), one(4, "stats"));
    // A file inside a feature naming itself is not a reference from outside.
    assert_eq!(refs("use super::cache;", "stats/rollup"), vec![]);
}

#[test]
fn scanner_finds_macro_paths() {
    assert_eq!(
        refs(
            "fn f() { tracing::info!(x = ?crate::stats::rollup::touch()); }",
            "orgs"
        ),
        one(1, "stats")
    );
    assert_eq!(
        refs("macro_rules! m { () => { $crate::stats::x() }; }", "db"),
        one(1, "stats")
    );
}

#[test]
fn scanner_ignores_comments() {
    let src = "// crate::stats::x\n/// see crate::stats::rollup\n//! uses crate::stats\n\
               /* crate::stats /* nested crate::auth */ still crate::stats */\n\
               /** crate::media::x */ fn f() {}\n";
    assert_eq!(refs(src, "db"), vec![]);
    // Code after a block comment on the same line still counts.
    assert_eq!(refs("/* x */ use crate::stats;", "orgs"), one(1, "stats"));
}

#[test]
fn scanner_ignores_strings_and_chars() {
    let src = r####"
fn f() {
    let a = "crate::stats::x";
    let b = "escaped \" crate::auth::x";
    let c = r#"raw " crate::stats "#;
    let d = b"crate::stats";
    let e = br##"crate::media"##;
    let q = '"';
    let s = "still a string: crate::progress";
    let t = '\'';
    let u = "crate::stats";
}
"####;
    assert_eq!(refs(src, "db"), vec![]);
    // A char literal holding a quote does not open a string that hides real code.
    assert_eq!(
        refs("fn f() { let q = '\"'; crate::stats::x(); }", "orgs"),
        one(1, "stats")
    );
    // Lifetimes are not char literals.
    assert_eq!(
        refs(
            "fn f<'a>(x: &'a str) -> &'a str { crate::stats::g(x) }",
            "orgs"
        ),
        one(1, "stats")
    );
}

#[test]
fn scanner_matches_whole_module_names() {
    assert_eq!(refs("use crate::statsx::y;", "orgs"), vec![]);
    assert_eq!(
        refs("fn f() { crate::statsx(); crate::stats_x::y(); }", "orgs"),
        vec![]
    );
    assert_eq!(refs("use crate::db::stats;", "orgs"), vec![]);
    assert_eq!(
        refs("fn f() { stats::rollup::x(); my::stats::y(); }", "orgs"),
        vec![]
    );
    assert_eq!(
        refs("pub(crate) fn f() {} pub(super) fn g() {}", "orgs"),
        vec![]
    );
    // `impl Trait + use<'a>` is not a use declaration.
    assert_eq!(
        refs(
            "fn f<'a>() -> impl Sized + use<'a> { crate::stats::x() }",
            "orgs"
        ),
        one(1, "stats")
    );
}

#[test]
fn scanner_counts_a_root_glob_as_every_feature() {
    let r = refs("use crate::*;", "db");
    assert_eq!(r.len(), FEATURES.len());
    // In src/error.rs, `super` is the crate root.
    assert_eq!(refs("use super::*;", "error").len(), FEATURES.len());
    assert_eq!(refs("mod tests { use super::*; }", "error"), vec![]);
}

#[test]
fn files_map_to_modules() {
    assert_eq!(module_of(Path::new("lib.rs")), Vec::<String>::new());
    assert_eq!(module_of(Path::new("config.rs")), m("config"));
    assert_eq!(module_of(Path::new("config/mod.rs")), m("config"));
    assert_eq!(module_of(Path::new("orgs/demo.rs")), m("orgs/demo"));
    assert_eq!(
        module_of(Path::new("orgs/demo/plan.rs")),
        m("orgs/demo/plan")
    );
}

#[test]
fn the_rules_apply_to_the_right_files() {
    let uses_stats = "use crate::stats::rollup;";
    let rules = |path: &str, src: &str| -> Vec<&'static str> {
        violations(Path::new(path), src)
            .into_iter()
            .map(|(rule, _)| rule)
            .collect()
    };
    assert_eq!(rules("orgs/members.rs", uses_stats).len(), 1);
    assert_eq!(rules("stats/rollup.rs", uses_stats), Vec::<&str>::new());
    assert_eq!(rules("lib.rs", uses_stats), Vec::<&str>::new());
    assert_eq!(rules("main.rs", uses_stats), Vec::<&str>::new());
    assert_eq!(
        rules("orgs/members.rs", "use crate::auth::x;"),
        Vec::<&str>::new()
    );
    for floor in [
        "db/sql.rs",
        "kv/mod.rs",
        "http/cors.rs",
        "changes/runner.rs",
        "config/mod.rs",
        "error/mod.rs",
        "clock.rs",
    ] {
        assert_eq!(
            rules(floor, "use crate::media::config;").len(),
            1,
            "{floor}"
        );
        assert_eq!(
            rules(floor, "use crate::{clock, config::Config, error};"),
            Vec::<&str>::new(),
            "{floor}"
        );
    }
    // The foundation may stand on the lowest floor and on each other; the lowest floor on
    // nothing else.
    assert_eq!(
        rules("changes/mod.rs", "use crate::{db, kv};"),
        Vec::<&str>::new()
    );
    for lowest in ["config/mod.rs", "error/mod.rs", "clock.rs"] {
        assert_eq!(rules(lowest, "use crate::db::Db;").len(), 1, "{lowest}");
        assert_eq!(rules(lowest, "use crate::http::lang;").len(), 1, "{lowest}");
    }
}
