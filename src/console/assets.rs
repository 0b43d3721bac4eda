//! The console's files: embedded at build time (or read from `DANGKE_CONSOLE_DIR` in
//! development), named by a hash of their content.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

static WEB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/console/web");

/// What `index.html` says where the hashed assets directory goes.
const ASSETS_MARK: &str = "%ASSETS%";

/// The console's files and the name of this build's assets directory.
#[derive(Debug, Clone)]
pub struct Assets {
    /// The first 16 hex digits of the SHA-256 over every file's path and content.
    hash: String,
    /// `index.html` with its asset references pointing at `assets/<hash>/`.
    index: String,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Embedded,
    /// Development: read from this directory on every request.
    Disk(PathBuf),
}

/// One file to answer with.
pub struct File {
    pub body: Cow<'static, [u8]>,
    pub content_type: &'static str,
}

impl Assets {
    /// The files compiled into this binary.
    pub fn embedded() -> Assets {
        let mut files = Vec::new();
        collect(&WEB, &mut files);
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        for (path, body) in &files {
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path.as_bytes());
            hasher.update((body.len() as u64).to_le_bytes());
            hasher.update(body);
        }
        let hash = hex::encode(hasher.finalize())[..16].to_string();
        let index = WEB
            .get_file("index.html")
            .and_then(|f| f.contents_utf8())
            .unwrap_or("<!doctype html><title>dangke</title><p>console missing</p>");
        Assets {
            index: index.replace(ASSETS_MARK, &format!("assets/{hash}")),
            hash,
            source: Source::Embedded,
        }
    }

    /// Files read from `dir` on every request (`DANGKE_CONSOLE_DIR`, for development).
    pub fn from_dir(dir: PathBuf) -> Assets {
        Assets {
            hash: "dev".to_string(),
            index: String::new(),
            source: Source::Disk(dir),
        }
    }

    /// This build's assets directory name.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Whether files may be cached for good (embedded) or must be revalidated (disk).
    pub fn immutable(&self) -> bool {
        matches!(self.source, Source::Embedded)
    }

    /// The page, with asset references pointing at this build's directory.
    pub fn index(&self) -> Option<String> {
        match &self.source {
            Source::Embedded => Some(self.index.clone()),
            Source::Disk(dir) => std::fs::read_to_string(dir.join("index.html"))
                .ok()
                .map(|s| s.replace(ASSETS_MARK, &format!("assets/{}", self.hash))),
        }
    }

    /// The file at `path` (relative, `/`-separated) under the assets directory `hash`.
    /// `None` for another build's hash, a missing file, or a path leaving the directory.
    pub fn file(&self, hash: &str, path: &str) -> Option<File> {
        if hash != self.hash || path == "index.html" {
            return None;
        }
        let relative = Path::new(path);
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let content_type = content_type(path)?;
        let body = match &self.source {
            Source::Embedded => Cow::Borrowed(WEB.get_file(relative)?.contents()),
            Source::Disk(dir) => Cow::Owned(std::fs::read(dir.join(relative)).ok()?),
        };
        Some(File { body, content_type })
    }
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static [u8])>) {
    for file in dir.files() {
        out.push((
            file.path().to_string_lossy().replace('\\', "/"),
            file.contents(),
        ));
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

/// The type of a file the console serves, by its extension; other files are not served.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "md" | "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_points_at_this_builds_hashed_directory() {
        let assets = Assets::embedded();
        assert_eq!(assets.hash().len(), 16);
        let index = assets.index().unwrap_or_default();
        assert!(index.contains(&format!("assets/{}/app.js", assets.hash())));
        assert!(!index.contains(ASSETS_MARK));
    }

    #[test]
    fn files_are_served_only_under_the_current_hash_and_inside_the_directory() {
        let assets = Assets::embedded();
        let hash = assets.hash().to_string();
        assert!(assets.file(&hash, "app.js").is_some());
        assert!(assets.file("0000000000000000", "app.js").is_none());
        assert!(assets.file(&hash, "../mod.rs").is_none());
        assert!(assets.file(&hash, "/etc/passwd").is_none());
        assert!(assets.file(&hash, "vendor/../app.js").is_none());
        assert!(assets.file(&hash, "index.html").is_none());
        assert!(assets.file(&hash, "nothing.js").is_none());
    }
}
