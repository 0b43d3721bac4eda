//! The media part of the process configuration: where media is stored
//! (`DANGKE_MEDIA_URL`), the size limit of each kind, and signed-URL settings. Parsed once
//! by [`Config::from_map`](super::Config::from_map) into its `media` field; every bad value
//! names its variable. Settings only: the media feature opens its store and signer from
//! them, and decides which limit applies to which kind of file.
//!
//! `DANGKE_MEDIA_URL` forms:
//!
//! | value | store |
//! |---|---|
//! | unset | the local directory `<DANGKE_DATA_DIR>/media` |
//! | `/srv/media`, `./media`, `file:///srv/media` | that local directory |
//! | `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&path_style=true\|false]` | an S3-compatible bucket; keys from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` |
//!
//! For S3, `endpoint` is the service URL (omit it for AWS itself); an `http://` endpoint is
//! allowed (for a store on a private network or loopback), otherwise HTTPS is required.
//! `path_style` defaults to `true` (`https://endpoint/BUCKET/key`), which every
//! S3-compatible server accepts; `false` asks for `https://BUCKET.endpoint/key`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::values::{ConfigError, Secret, parse_duration};

/// Where media objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLocation {
    /// A local directory (created at start if missing).
    Local(PathBuf),
    /// An S3-compatible bucket.
    S3(S3Location),
}

/// An S3-compatible bucket, optionally under a key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Keys are stored under this prefix (no leading or trailing `/`).
    pub prefix: Option<String>,
    /// Service URL; `None` means AWS S3 itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub path_style: bool,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
}

/// The largest upload accepted for each kind, in bytes (`DANGKE_MEDIA_MAX_*`). The media
/// feature maps a kind of file to its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    pub video: u64,
    pub audio: u64,
    pub image: u64,
    pub pdf: u64,
}

impl MediaLimits {
    /// The largest of the limits: what an upload may reach before its kind is known.
    pub fn largest(&self) -> u64 {
        self.video.max(self.audio).max(self.image).max(self.pdf)
    }
}

/// Media settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    pub location: MediaLocation,
    pub limits: MediaLimits,
    /// How long a signed playback URL stays valid (at least: expiries are rounded up).
    pub url_ttl: Duration,
    /// Base URL clients reach this API at (`https://api.example.org`), to make signed URLs
    /// absolute. `None`: signed URLs are paths starting with `/v1/`.
    pub public_url: Option<String>,
}

const MIB: u64 = 1024 * 1024;

impl MediaConfig {
    /// Parses the media variables. `get` reads a (trimmed, non-empty) variable.
    pub fn parse<'a>(
        get: &dyn Fn(&str) -> Option<&'a str>,
        data_dir: &Path,
    ) -> Result<MediaConfig, ConfigError> {
        let err = |var: &'static str, message: String| ConfigError { var, message };
        let location = match get("DANGKE_MEDIA_URL") {
            None => MediaLocation::Local(data_dir.join("media")),
            Some(url) => parse_location(url, get).map_err(|(var, m)| err(var, m))?,
        };
        let size = |var: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(var) {
                Some(v) => parse_size(v).map_err(|m| err(var, m)),
                None => Ok(default),
            }
        };
        let limits = MediaLimits {
            video: size("DANGKE_MEDIA_MAX_VIDEO", 500 * MIB)?,
            audio: size("DANGKE_MEDIA_MAX_AUDIO", 100 * MIB)?,
            image: size("DANGKE_MEDIA_MAX_IMAGE", 10 * MIB)?,
            pdf: size("DANGKE_MEDIA_MAX_PDF", 50 * MIB)?,
        };
        let url_ttl = match get("DANGKE_MEDIA_URL_TTL") {
            Some(v) => parse_duration(v).map_err(|m| err("DANGKE_MEDIA_URL_TTL", m))?,
            None => Duration::from_secs(2 * 3600),
        };
        let public_url = match get("DANGKE_MEDIA_PUBLIC_URL") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_string())
            }
            Some(u) => {
                return Err(err(
                    "DANGKE_MEDIA_PUBLIC_URL",
                    format!("expected an http(s) URL such as https://api.example.org, got {u:?}"),
                ));
            }
            None => None,
        };
        Ok(MediaConfig {
            location,
            limits,
            url_ttl,
            public_url,
        })
    }
}

type LocationError = (&'static str, String);

fn parse_location<'a>(
    value: &str,
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<MediaLocation, LocationError> {
    const VAR: &str = "DANGKE_MEDIA_URL";
    if let Some(path) = value.strip_prefix("file://") {
        if path.is_empty() {
            return Err((
                VAR,
                "file:// needs a directory, e.g. file:///srv/media".into(),
            ));
        }
        return Ok(MediaLocation::Local(PathBuf::from(path)));
    }
    if !value.contains("://") {
        return Ok(MediaLocation::Local(PathBuf::from(value)));
    }
    if !value.starts_with("s3://") {
        let scheme = value.split("://").next().unwrap_or("");
        return Err((
            VAR,
            format!("unsupported scheme {scheme:?}: use a directory, file://DIR or s3://BUCKET"),
        ));
    }
    let url = url::Url::parse(value).map_err(|e| (VAR, format!("not a valid URL: {e}")))?;
    let bucket = url
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or((
            VAR,
            "s3:// needs a bucket name: s3://BUCKET[/PREFIX]".to_string(),
        ))?
        .to_string();
    let prefix = Some(url.path().trim_matches('/').to_string()).filter(|p| !p.is_empty());
    let mut endpoint = None;
    let mut region = "us-east-1".to_string();
    let mut path_style = true;
    for (key, v) in url.query_pairs() {
        match key.as_ref() {
            "endpoint" if v.starts_with("http://") || v.starts_with("https://") => {
                endpoint = Some(v.trim_end_matches('/').to_string());
            }
            "endpoint" => {
                return Err((VAR, format!("endpoint must be an http(s) URL, got {v:?}")));
            }
            "region" if !v.is_empty() => region = v.into_owned(),
            "path_style" => {
                path_style = match v.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err((
                            VAR,
                            format!("path_style must be true or false, got {other:?}"),
                        ));
                    }
                }
            }
            other => {
                return Err((
                    VAR,
                    format!("unknown parameter {other:?} (known: endpoint, region, path_style)"),
                ));
            }
        }
    }
    let access_key_id = get("AWS_ACCESS_KEY_ID").map(Secret::new).ok_or((
        "AWS_ACCESS_KEY_ID",
        "is required when DANGKE_MEDIA_URL is an s3:// URL".to_string(),
    ))?;
    let secret_access_key = get("AWS_SECRET_ACCESS_KEY").map(Secret::new).ok_or((
        "AWS_SECRET_ACCESS_KEY",
        "is required when DANGKE_MEDIA_URL is an s3:// URL".to_string(),
    ))?;
    Ok(MediaLocation::S3(S3Location {
        bucket,
        prefix,
        endpoint,
        region,
        path_style,
        access_key_id,
        secret_access_key,
    }))
}

/// Parses a size: `1048576`, `512K`, `100M`, `100MB`, `100MiB`, `2G` (binary units).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("expected a size such as 500M, 100MiB, 2G or 1048576, got {s:?}");
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => MIB,
        "G" | "GB" | "GIB" => 1024 * MIB,
        _ => return Err(bad()),
    };
    match n.checked_mul(factor) {
        Some(0) => Err(format!("the size must be positive, got {s:?}")),
        Some(v) => Ok(v),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<MediaConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |k: &str| map.get(k).map(|v| v.as_str());
        MediaConfig::parse(&get, Path::new("/data"))
    }

    #[test]
    fn defaults_to_a_local_directory_under_the_data_dir() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.location, MediaLocation::Local("/data/media".into()));
        assert_eq!(c.limits.video, 500 * MIB);
        assert_eq!(c.url_ttl, Duration::from_secs(7200));
        assert_eq!(c.public_url, None);
        let c = parse(&[("DANGKE_MEDIA_URL", "file:///srv/m")]).unwrap();
        assert_eq!(c.location, MediaLocation::Local("/srv/m".into()));
    }

    #[test]
    fn parses_an_s3_url_with_keys_from_aws_variables() {
        let c = parse(&[
            (
                "DANGKE_MEDIA_URL",
                "s3://course-media/dangke/prod?endpoint=http://127.0.0.1:9000/&region=cn-north-1",
            ),
            ("AWS_ACCESS_KEY_ID", "AK"),
            ("AWS_SECRET_ACCESS_KEY", "SK"),
        ])
        .unwrap();
        let MediaLocation::S3(s3) = c.location else {
            panic!("not s3")
        };
        assert_eq!(s3.bucket, "course-media");
        assert_eq!(s3.prefix.as_deref(), Some("dangke/prod"));
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region, "cn-north-1");
        assert!(s3.path_style);
        assert_eq!(s3.secret_access_key.expose(), "SK");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("DANGKE_MEDIA_URL", "ftp://x")], "DANGKE_MEDIA_URL"),
            (
                &[("DANGKE_MEDIA_URL", "s3://b?colour=red")],
                "DANGKE_MEDIA_URL",
            ),
            (&[("DANGKE_MEDIA_URL", "s3://b")], "AWS_ACCESS_KEY_ID"),
            (
                &[("DANGKE_MEDIA_URL", "s3://b"), ("AWS_ACCESS_KEY_ID", "a")],
                "AWS_SECRET_ACCESS_KEY",
            ),
            (
                &[("DANGKE_MEDIA_MAX_VIDEO", "lots")],
                "DANGKE_MEDIA_MAX_VIDEO",
            ),
            (&[("DANGKE_MEDIA_MAX_PDF", "0")], "DANGKE_MEDIA_MAX_PDF"),
            (&[("DANGKE_MEDIA_URL_TTL", "soon")], "DANGKE_MEDIA_URL_TTL"),
            (
                &[("DANGKE_MEDIA_PUBLIC_URL", "example.org")],
                "DANGKE_MEDIA_PUBLIC_URL",
            ),
        ];
        for (pairs, var) in cases {
            assert_eq!(parse(pairs).unwrap_err().var, *var, "{pairs:?}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2048").unwrap(), 2048);
        assert_eq!(parse_size("512K").unwrap(), 512 * 1024);
        assert_eq!(parse_size("100MiB").unwrap(), 100 * MIB);
        assert_eq!(parse_size("2g").unwrap(), 2048 * MIB);
        assert!(parse_size("1T").is_err());
        assert!(parse_size("").is_err());
    }
}
