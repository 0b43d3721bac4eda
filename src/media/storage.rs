//! The media store: a local directory or an S3-compatible bucket, both through the
//! `object_store` crate. Objects are content-addressed (`ab/abcdef….mp3` from the SHA-256),
//! so writing the same content twice writes the same object, and nothing is ever
//! overwritten with different bytes.
//!
//! Uploads stream from the staged file in parts; reads stream ranges. Neither holds a whole
//! file in memory. Outbound calls to S3 have connect and read timeouts (no overall timeout:
//! a slow phone may take minutes to fetch a video, and a stalled transfer is caught by the
//! read timeout instead).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    Attribute, Attributes, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt,
    RetryConfig,
};
use tokio::io::AsyncWriteExt;

use crate::config::media::{MediaLocation, S3Location};
use crate::error::{ApiError, ErrorCode};

/// Connect timeout of calls to object storage.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the next bytes of a call to object storage.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Part size of streamed uploads to object storage.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// The media store.
#[derive(Clone, Debug)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    /// Whether objects can carry a `Content-Type` (S3 can, a local directory cannot).
    typed: bool,
    /// For logs: where media lives (no secrets).
    pub describe: String,
}

/// A streamed read of part of an object.
pub struct ObjectRead {
    /// The bytes actually returned (may be shorter than asked at the end of the object).
    pub range: Range<u64>,
    pub stream: BoxStream<'static, object_store::Result<Bytes>>,
}

impl MediaStore {
    /// Opens the store (creating a local directory if missing).
    pub fn open(location: &MediaLocation) -> anyhow::Result<MediaStore> {
        match location {
            MediaLocation::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("cannot create the media directory {}: {e}", dir.display())
                })?;
                let fs = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
                Ok(MediaStore {
                    inner: Arc::new(fs),
                    typed: false,
                    describe: format!("directory {}", dir.display()),
                })
            }
            MediaLocation::S3(s3) => open_s3(s3),
        }
    }

    /// The content-addressed key of a content.
    pub fn key_for(sha256: &str, extension: &str) -> String {
        let fan = sha256.get(..2).unwrap_or("00");
        format!("{fan}/{sha256}.{extension}")
    }

    /// Streams the file at `path` into the object `key`, in parts.
    pub async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> anyhow::Result<()> {
        let location = ObjectPath::parse(key)?;
        let mut writer = BufWriter::with_capacity(self.inner.clone(), location, PART_SIZE)
            .with_max_concurrency(2);
        if self.typed {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_string().into());
            writer = writer.with_attributes(attributes);
        }
        let mut file = tokio::fs::File::open(path).await?;
        match tokio::io::copy(&mut file, &mut writer).await {
            Ok(_) => {
                writer.shutdown().await?;
                Ok(())
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key, "could not abort a failed media upload");
                }
                Err(e.into())
            }
        }
    }

    /// Streams bytes `range` of `key` (the whole object when `None`).
    pub async fn read(&self, key: &str, range: Option<Range<u64>>) -> anyhow::Result<ObjectRead> {
        let location = ObjectPath::parse(key)?;
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self.inner.get_opts(&location, options).await?;
        Ok(ObjectRead {
            range: got.range.clone(),
            stream: got.into_stream(),
        })
    }

    /// Removes an object (gone already is fine).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.inner.delete(&ObjectPath::parse(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.inner.head(&ObjectPath::parse(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// The error for a store that failed: 503, the cause kept for the log.
pub fn unavailable(cause: anyhow::Error) -> ApiError {
    ApiError::new(ErrorCode::ServiceUnavailable).with_cause(cause)
}

fn open_s3(s3: &S3Location) -> anyhow::Result<MediaStore> {
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region)
        .with_access_key_id(s3.access_key_id.expose())
        .with_secret_access_key(s3.secret_access_key.expose())
        .with_virtual_hosted_style_request(!s3.path_style)
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(CONNECT_TIMEOUT)
                .with_read_timeout(READ_TIMEOUT)
                .with_timeout_disabled()
                .with_allow_http(
                    s3.endpoint
                        .as_deref()
                        .is_some_and(|e| e.starts_with("http://")),
                ),
        )
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        });
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let store = builder
        .build()
        .map_err(|e| anyhow::anyhow!("DANGKE_MEDIA_URL: cannot use the S3 bucket: {e}"))?;
    let describe = format!(
        "s3 bucket {} at {}",
        s3.bucket,
        s3.endpoint.as_deref().unwrap_or("AWS")
    );
    let inner: Arc<dyn ObjectStore> = match &s3.prefix {
        Some(prefix) => Arc::new(PrefixStore::new(store, prefix.as_str())),
        None => Arc::new(store),
    };
    Ok(MediaStore {
        inner,
        typed: true,
        describe,
    })
}
