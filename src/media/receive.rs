//! Receiving an upload: the bytes stream into a staged temporary file (never into memory)
//! while their SHA-256 and size are computed. The first bytes decide the type; from then on
//! the kind's size limit applies, and the upload stops with 413 the moment it is passed.
//!
//! The staged file lives in `<data dir>/uploads` (not in the media store) and is deleted
//! when the [`Received`] or the [`Receiver`] is dropped, whatever happened.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::{AsyncWriteExt, BufWriter};

use super::sniff::{SNIFF_LEN, Sniffed, accepted_list, sniff};
use crate::config::media::MediaLimits;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::json::too_large;

/// Write buffer of the staged file.
const WRITE_BUFFER: usize = 256 * 1024;

/// An upload in progress.
pub struct Receiver {
    limits: MediaLimits,
    file: BufWriter<tokio::fs::File>,
    path: TempPath,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    sniffed: Option<Sniffed>,
    /// A lower bound of the file's size known from `Content-Length`, if any.
    at_least: Option<u64>,
}

/// A completely received upload, staged on disk.
pub struct Received {
    /// The staged file (deleted on drop).
    pub path: TempPath,
    pub sha256: String,
    pub size: u64,
    pub sniffed: Sniffed,
}

/// The 415 for content that is not an accepted type.
pub fn unsupported() -> ApiError {
    let accepted = accepted_list();
    ApiError::new(ErrorCode::UnsupportedMediaType).with_detail(
        format!("文件内容不是支持的类型（按内容判断，与文件名无关）。支持：{accepted}"),
        format!("The file content is not a supported type (judged by content, not name). Supported: {accepted}"),
    )
}

impl Receiver {
    /// Starts staging an upload in `dir`. `at_least` is a lower bound of the file's size
    /// from the announced body length, if any: a file surely larger than its kind allows is
    /// refused as soon as that is known, before its bytes are read.
    pub async fn start(dir: &Path, limits: MediaLimits, at_least: Option<u64>) -> ApiResult<Self> {
        if at_least.is_some_and(|n| n > limits.largest()) {
            return Err(too_large(clamp(limits.largest())));
        }
        let dir: PathBuf = dir.to_path_buf();
        let staged = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            tempfile::Builder::new().prefix("upload-").tempfile_in(&dir)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("cannot stage an upload: {e}")))?;
        let (file, path) = staged.into_parts();
        Ok(Receiver {
            limits,
            file: BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file)),
            path,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(SNIFF_LEN),
            sniffed: None,
            at_least,
        })
    }

    /// The limit in force: the kind's once known, else the largest.
    fn limit(&self) -> u64 {
        match self.sniffed {
            Some(s) => s.kind.limit_in(&self.limits),
            None => self.limits.largest(),
        }
    }

    fn decide(&mut self) -> ApiResult<Sniffed> {
        let sniffed = sniff(&self.head).ok_or_else(unsupported)?;
        self.sniffed = Some(sniffed);
        if self.at_least.is_some_and(|n| n > self.limit()) {
            return Err(too_large(clamp(self.limit())));
        }
        Ok(sniffed)
    }

    /// Takes the next chunk of the file.
    pub async fn push(&mut self, chunk: &[u8]) -> ApiResult<()> {
        if self.sniffed.is_none() {
            let wanted = SNIFF_LEN - self.head.len();
            self.head
                .extend_from_slice(&chunk[..chunk.len().min(wanted)]);
            if self.head.len() >= SNIFF_LEN {
                self.decide()?;
            }
        }
        self.size += chunk.len() as u64;
        if self.size > self.limit() {
            return Err(too_large(clamp(self.limit())));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(stage_error)
    }

    /// Ends the upload: decides the type of a short file, flushes the staged file.
    pub async fn finish(mut self) -> ApiResult<Received> {
        let sniffed = match self.sniffed {
            Some(s) => s,
            None => self.decide()?,
        };
        if self.size > self.limit() {
            return Err(too_large(clamp(self.limit())));
        }
        self.file.flush().await.map_err(stage_error)?;
        self.file.get_mut().sync_all().await.map_err(stage_error)?;
        Ok(Received {
            path: self.path,
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            sniffed,
        })
    }
}

fn stage_error(e: std::io::Error) -> ApiError {
    ApiError::internal(anyhow::anyhow!("cannot write the staged upload: {e}"))
}

fn clamp(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Deletes staged files in `dir` older than `age` (left by a process that stopped
/// mid-upload). Errors are logged, never fatal.
pub fn remove_stale(dir: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|e| e > age);
        let ours = entry.file_name().to_string_lossy().starts_with("upload-");
        if old
            && ours
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            tracing::warn!(error = %e, path = %entry.path().display(), "cannot remove a stale upload");
        }
    }
}
