//! A real S3 server on loopback for tests: `s3s` (the S3 protocol, SigV4 checked) over
//! `s3s-fs` (objects are files in a temporary directory), served with hyper on
//! 127.0.0.1:0. The app reaches it the way it reaches any S3-compatible store.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "dangke-test-access";
pub const SECRET_KEY: &str = "dangke-test-secret-0123456789";

pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub bucket: String,
    root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    /// Starts a server with one empty bucket.
    pub async fn start(bucket: &str) -> S3Server {
        let root = tempfile::tempdir().expect("s3 root");
        std::fs::create_dir(root.path().join(bucket)).expect("bucket dir");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind s3");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server {
            endpoint,
            bucket: bucket.to_string(),
            root,
            task,
        }
    }

    /// `DANGKE_MEDIA_URL` and the keys for an app using this server under `prefix`.
    pub fn vars(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "DANGKE_MEDIA_URL",
                format!(
                    "s3://{}/{prefix}?endpoint={}&region=us-east-1",
                    self.bucket, self.endpoint
                ),
            ),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
        ]
    }

    /// The directory holding the bucket's objects.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(&self.bucket)
    }

    /// Every object file in the bucket (relative paths).
    pub fn objects(&self) -> Vec<String> {
        super::files_under(&self.bucket_dir())
            .into_iter()
            .filter(|p| {
                !Path::new(p)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
