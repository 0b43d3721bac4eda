//! The Redis kv store: a reconnecting, multiplexed connection per thread that uses it (each
//! HTTP worker has its own), atomic multi-step operations as Lua scripts, and keys under a
//! prefix.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::mpsc;

use super::{KvError, RateDecision};
use crate::clock::Clock;
use crate::config::RateSpec;

/// How long one Redis command may take before the request treats Redis as down.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// After a failed command, how long commands fail at once without trying Redis (so an
/// outage costs requests nothing; one command tries again after it).
const BACKOFF: Duration = Duration::from_millis(1000);

/// GCRA in one atomic step: ARGV = now_ms, period_ms, interval_ms. Returns
/// `{allowed, retry_after_ms, reset_after_ms}` exactly as [`gcra`] computes them.
const RATE_LIMIT_LUA: &str = r"
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + interval - period
if now < allow_at then
  return {0, allow_at - now, tat - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(new_tat - now, 1))
return {1, 0, new_tat - now}
";

const INCR_LUA: &str = r"
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
";

const DEL_IF_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

pub struct RedisKv {
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// A connection for a thread whose own could not be set up.
    conn: ConnectionManager,
    /// One connection per thread that uses this kv, created on first use from that thread,
    /// so its driver task runs on the thread's own runtime: an HTTP worker (a
    /// single-threaded runtime) then sends a command and reads the answer without waking
    /// another thread twice (measured with one shared connection, then with these:
    /// `GET /v1/me` on PostgreSQL + Redis 42–48 % → 58–62 % of `/healthz`).
    per_thread: RwLock<HashMap<ThreadId, ConnectionManager>>,
    /// Where rate limits are counted while Redis is unreachable (this instance only).
    local: super::memory::MemoryKv,
    clock: Arc<dyn Clock>,
    prefix: String,
    rate_limit: Script,
    incr: Script,
    del_if: Script,
    health: Health,
}

/// Whether Redis answered lately: after a failure, commands fail at once for [`BACKOFF`]
/// instead of each waiting for a timeout; the change both ways is logged once.
struct Health {
    started: Instant,
    /// Milliseconds since `started` before which commands are not sent; 0 when healthy.
    down_until_ms: AtomicU64,
    down: AtomicBool,
}

impl Health {
    fn new() -> Health {
        Health {
            started: Instant::now(),
            down_until_ms: AtomicU64::new(0),
            down: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Err while backing off after a failure.
    fn check(&self) -> Result<(), KvError> {
        let until = self.down_until_ms.load(Ordering::Relaxed);
        if until != 0 && self.now_ms() < until {
            return Err(KvError("Redis unreachable (backing off)".into()));
        }
        Ok(())
    }

    /// Records how a command went.
    fn seen<T>(&self, result: Result<T, redis::RedisError>) -> Result<T, KvError> {
        match result {
            Ok(v) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    self.down_until_ms.store(0, Ordering::Relaxed);
                    tracing::warn!(
                        "Redis answers again: shared rate limits, caches and fan-out resume"
                    );
                }
                Ok(v)
            }
            Err(e) => {
                let io = e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal();
                if io {
                    self.down_until_ms.store(
                        self.now_ms() + BACKOFF.as_millis() as u64,
                        Ordering::Relaxed,
                    );
                    if !self.down.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "Redis unreachable: rate limits counted per instance, caches bypassed, live boards poll the database");
                    }
                }
                Err(KvError::from(e))
            }
        }
    }

    fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }
}

impl RedisKv {
    pub fn new(url: &str, clock: Arc<dyn Clock>, prefix: &str) -> Result<Self, KvError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(RedisKv {
            client,
            config,
            conn,
            per_thread: RwLock::new(HashMap::new()),
            local: super::memory::MemoryKv::new(clock.clone()),
            clock,
            prefix: prefix.to_string(),
            rate_limit: Script::new(RATE_LIMIT_LUA),
            incr: Script::new(INCR_LUA),
            del_if: Script::new(DEL_IF_LUA),
            health: Health::new(),
        })
    }

    fn k(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// This thread's connection (see [`RedisKv::per_thread`]).
    fn conn(&self) -> ConnectionManager {
        let thread = std::thread::current().id();
        if let Some(conn) = self
            .per_thread
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&thread)
        {
            return conn.clone();
        }
        let mut map = self.per_thread.write().unwrap_or_else(|p| p.into_inner());
        map.entry(thread)
            .or_insert_with(|| {
                // The same configuration `new` accepted; should it fail anyway, the thread
                // shares the first connection.
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "could not set up this thread's Redis connection");
                        self.conn.clone()
                    })
            })
            .clone()
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.health.check()?;
        self.health.seen(self.conn().get(self.k(key)).await)
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, KvError> {
        self.health.check()?;
        let keys: Vec<String> = keys.iter().map(|k| self.k(k)).collect();
        self.health.seen(
            redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut self.conn())
                .await,
        )
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), KvError> {
        self.health.check()?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.k(key)).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        self.health
            .seen(cmd.query_async::<()>(&mut self.conn()).await)
    }

    pub async fn set_many(&self, entries: &[(String, String, Duration)]) -> Result<(), KvError> {
        self.health.check()?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (k, v, ttl) in entries {
            pipe.cmd("SET")
                .arg(self.k(k))
                .arg(v)
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .ignore();
        }
        self.health
            .seen(pipe.query_async::<()>(&mut self.conn()).await)
    }

    pub async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        self.health.check()?;
        let set: Option<String> = self.health.seen(
            redis::cmd("SET")
                .arg(self.k(key))
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .query_async(&mut self.conn())
                .await,
        )?;
        Ok(set.is_some())
    }

    pub async fn del(&self, key: &str) -> Result<(), KvError> {
        self.health.check()?;
        let _: i64 = self.health.seen(self.conn().del(self.k(key)).await)?;
        Ok(())
    }

    pub async fn del_if(&self, key: &str, value: &str) -> Result<bool, KvError> {
        self.health.check()?;
        let n: i64 = self.health.seen(
            self.del_if
                .key(self.k(key))
                .arg(value)
                .invoke_async(&mut self.conn())
                .await,
        )?;
        Ok(n > 0)
    }

    pub async fn incr(&self, key: &str, by: i64, ttl: Duration) -> Result<i64, KvError> {
        self.health.check()?;
        self.health.seen(
            self.incr
                .key(self.k(key))
                .arg(by)
                .arg(ttl.as_millis().max(1) as u64)
                .invoke_async(&mut self.conn())
                .await,
        )
    }

    /// Counts one request against `key` under `spec`, shared by every instance. While
    /// Redis is unreachable the request is counted in this instance's own store (logged
    /// when the outage starts): each instance then enforces the limit on its own, so a
    /// guesser meets at most one limit per instance instead of none, and members are not
    /// locked out by the outage.
    pub async fn rate_limit(&self, key: &str, spec: RateSpec) -> RateDecision {
        match self.shared_rate_limit(key, spec).await {
            Ok(decision) => decision,
            Err(e) => {
                tracing::debug!(error = %e, key, "rate limit counted on this instance only");
                self.local.rate_limit(key, spec)
            }
        }
    }

    async fn shared_rate_limit(&self, key: &str, spec: RateSpec) -> Result<RateDecision, KvError> {
        self.health.check()?;
        let now = self.clock.now().timestamp_millis();
        let period = spec.period.as_millis() as i64;
        let interval = (period / i64::from(spec.limit)).max(1);
        let (allowed, retry_ms, reset_ms): (i64, i64, i64) = self.health.seen(
            self.rate_limit
                .key(self.k(key))
                .arg(now)
                .arg(period)
                .arg(interval)
                .invoke_async(&mut self.conn())
                .await,
        )?;
        let remaining = if allowed == 1 {
            ((period - reset_ms) / interval).max(0) as u32
        } else {
            0
        };
        let decision = RateDecision {
            allowed: allowed == 1,
            remaining,
            retry_after: Duration::from_millis(retry_ms.max(0) as u64),
            reset_after: Duration::from_millis(reset_ms.max(0) as u64),
        };
        Ok(decision)
    }

    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), KvError> {
        self.health.check()?;
        let _: i64 = self
            .health
            .seen(self.conn().publish(self.k(channel), message).await)?;
        Ok(())
    }

    /// Subscribes on a connection of its own; the receiver ends when that connection does
    /// (Redis went away), so the subscriber knows to fall back and subscribe again.
    pub async fn subscribe(&self, channel: &str) -> Result<mpsc::Receiver<String>, KvError> {
        self.health.check()?;
        let mut pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| KvError("timed out connecting to Redis for subscribe".into()))??;
        pubsub.subscribe(self.k(channel)).await?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                if tx.send(payload).await.is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }

    /// Sends a `PING` even while backing off (readiness checks and recovery use it).
    pub async fn ping(&self) -> Result<(), KvError> {
        let _: String = self
            .health
            .seen(redis::cmd("PING").query_async(&mut self.conn()).await)?;
        Ok(())
    }

    /// Whether the last command found Redis unreachable.
    pub fn is_down(&self) -> bool {
        self.health.is_down()
    }
}
