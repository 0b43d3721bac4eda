//! The key/value layer: cache entries, counters, rate limits, locks, token revocation and
//! publish/subscribe, with one interface over two implementations — in-process memory (the
//! embedded default) and Redis (`REDIS_URL`, shared by every instance).
//!
//! Time-based decisions (rate limits) take "now" from the app [`Clock`], so tests control
//! them on both implementations.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryKv;
pub use redis::RedisKv;

use crate::clock::Clock;
use crate::config::RateSpec;

/// A kv failure (Redis unreachable or answering strangely). The memory store never fails.
#[derive(Debug, thiserror::Error)]
#[error("kv store unavailable: {0}")]
pub struct KvError(pub String);

impl From<::redis::RedisError> for KvError {
    fn from(e: ::redis::RedisError) -> Self {
        KvError(e.to_string())
    }
}

/// The outcome of a rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Requests still allowed right now after this one.
    pub remaining: u32,
    /// When denied, how long until one more request is allowed.
    pub retry_after: Duration,
    /// How long until the full quota is available again.
    pub reset_after: Duration,
}

/// GCRA (generic cell rate algorithm) state step, shared by both implementations.
///
/// `tat` is the stored theoretical arrival time (ms) or `None`; returns the decision and
/// the new `tat` to store when allowed. Allows `limit` requests in a burst, refilling one
/// every `period / limit`.
pub fn gcra(now_ms: i64, tat: Option<i64>, spec: RateSpec) -> (RateDecision, Option<i64>) {
    let period = spec.period.as_millis() as i64;
    let interval = (period / i64::from(spec.limit)).max(1);
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let allow_at = tat + interval - period;
    if now_ms < allow_at {
        let decision = RateDecision {
            allowed: false,
            remaining: 0,
            retry_after: Duration::from_millis((allow_at - now_ms) as u64),
            reset_after: Duration::from_millis((tat - now_ms) as u64),
        };
        return (decision, None);
    }
    let new_tat = tat + interval;
    let remaining = ((now_ms + period - new_tat) / interval).max(0) as u32;
    let decision = RateDecision {
        allowed: true,
        remaining,
        retry_after: Duration::ZERO,
        reset_after: Duration::from_millis((new_tat - now_ms) as u64),
    };
    (decision, Some(new_tat))
}

/// The kv store in app state. Cheap to clone.
#[derive(Clone)]
pub enum Kv {
    Memory(Arc<MemoryKv>),
    Redis(Arc<RedisKv>),
}

impl Kv {
    /// The in-process store.
    pub fn memory(clock: Arc<dyn Clock>) -> Kv {
        Kv::Memory(Arc::new(MemoryKv::new(clock)))
    }

    /// A Redis store; connects lazily, so a Redis that is down at start does not stop the
    /// process (requests that need it degrade instead).
    pub fn redis(url: &str, clock: Arc<dyn Clock>, prefix: &str) -> Result<Kv, KvError> {
        Ok(Kv::Redis(Arc::new(RedisKv::new(url, clock, prefix)?)))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Kv::Memory(_) => "memory",
            Kv::Redis(_) => "redis",
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match self {
            Kv::Memory(m) => Ok(m.get(key)),
            Kv::Redis(r) => r.get(key).await,
        }
    }

    /// Values of several keys in one round trip, in order.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Kv::Memory(m) => Ok(m.get_many(keys)),
            Kv::Redis(r) => r.get_many(keys).await,
        }
    }

    /// Sets `key`, expiring after `ttl` when given.
    pub async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        match self {
            Kv::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
            Kv::Redis(r) => r.set(key, value, ttl).await,
        }
    }

    /// Sets several keys with one TTL each, in one round trip.
    pub async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), KvError> {
        if entries.is_empty() {
            return Ok(());
        }
        match self {
            Kv::Memory(m) => {
                for (k, v, ttl) in entries {
                    m.set(k, v, Some(*ttl));
                }
                Ok(())
            }
            Kv::Redis(r) => r.set_many(entries).await,
        }
    }

    /// Sets `key` only if absent (a lock or a once-marker); true when this call set it.
    pub async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        match self {
            Kv::Memory(m) => Ok(m.set_nx(key, value, ttl)),
            Kv::Redis(r) => r.set_nx(key, value, ttl).await,
        }
    }

    pub async fn del(&self, key: &str) -> Result<(), KvError> {
        match self {
            Kv::Memory(m) => {
                m.del(key);
                Ok(())
            }
            Kv::Redis(r) => r.del(key).await,
        }
    }

    /// Deletes `key` only while it still holds `value` (releasing a lock one owns).
    pub async fn del_if(&self, key: &str, value: &str) -> Result<bool, KvError> {
        match self {
            Kv::Memory(m) => Ok(m.del_if(key, value)),
            Kv::Redis(r) => r.del_if(key, value).await,
        }
    }

    /// Adds `by` to the counter at `key` (created at 0 with `ttl` when absent).
    pub async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, KvError> {
        match self {
            Kv::Memory(m) => Ok(m.incr(key, by, ttl)),
            Kv::Redis(r) => r.incr(key, by, ttl).await,
        }
    }

    /// Counts one request against `key` under `spec` (GCRA); atomic on both stores. While
    /// Redis is unreachable the request is counted on this instance only (see
    /// [`RedisKv::rate_limit`]).
    pub async fn rate_limit(&self, key: &str, spec: RateSpec) -> Result<RateDecision, KvError> {
        match self {
            Kv::Memory(m) => Ok(m.rate_limit(key, spec)),
            Kv::Redis(r) => Ok(r.rate_limit(key, spec).await),
        }
    }

    /// Publishes `message` on `channel` to every subscriber (of every instance, on Redis).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), KvError> {
        match self {
            Kv::Memory(m) => {
                m.publish(channel, message);
                Ok(())
            }
            Kv::Redis(r) => r.publish(channel, message).await,
        }
    }

    /// Subscribes to `channel`; messages arrive on the returned receiver until it is dropped.
    pub async fn subscribe(
        &self,
        channel: &str,
    ) -> Result<tokio::sync::mpsc::Receiver<String>, KvError> {
        match self {
            Kv::Memory(m) => Ok(m.subscribe(channel)),
            Kv::Redis(r) => r.subscribe(channel).await,
        }
    }

    /// Checks the store answers (always true for memory).
    pub async fn ping(&self) -> Result<(), KvError> {
        match self {
            Kv::Memory(_) => Ok(()),
            Kv::Redis(r) => r.ping().await,
        }
    }
}

impl From<KvError> for crate::error::ApiError {
    fn from(e: KvError) -> Self {
        crate::error::ApiError::new(crate::error::ErrorCode::ServiceUnavailable).with_cause(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_allows_a_burst_then_refills() {
        let spec = RateSpec {
            limit: 3,
            period: Duration::from_secs(60),
        };
        let mut tat = None;
        let mut now = 1_000_000;
        for expected_remaining in [2, 1, 0] {
            let (d, t) = gcra(now, tat, spec);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
            tat = t;
        }
        let (d, t) = gcra(now, tat, spec);
        assert!(!d.allowed);
        assert_eq!(t, None);
        assert_eq!(d.retry_after, Duration::from_secs(20));
        now += 20_000;
        let (d, _) = gcra(now, tat, spec);
        assert!(d.allowed);
    }
}
