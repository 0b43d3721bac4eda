//! The in-process kv store: a map with expiry times read from the app clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{RateDecision, gcra};
use crate::clock::Clock;
use crate::config::RateSpec;

struct Entry {
    value: String,
    expires_at_ms: Option<i64>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    writes_since_sweep: usize,
    channels: HashMap<String, Vec<mpsc::Sender<String>>>,
}

/// Writes between sweeps of expired entries.
const SWEEP_EVERY: usize = 4096;
/// Messages buffered per subscriber before new ones are dropped for it.
const SUBSCRIBER_BUFFER: usize = 256;

pub struct MemoryKv {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl MemoryKv {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryKv {
            clock,
            state: Mutex::new(State::default()),
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expiry(&self, ttl: Option<Duration>) -> Option<i64> {
        ttl.map(|t| self.now_ms() + t.as_millis() as i64)
    }

    /// Live value of `key`, dropping it if it has expired.
    fn live<'a>(state: &'a mut State, key: &str, now: i64) -> Option<&'a mut Entry> {
        let expired = state
            .entries
            .get(key)
            .is_some_and(|e| e.expires_at_ms.is_some_and(|t| t <= now));
        if expired {
            state.entries.remove(key);
            return None;
        }
        state.entries.get_mut(key)
    }

    fn insert(&self, state: &mut State, key: &str, value: String, expires_at_ms: Option<i64>) {
        state.entries.insert(
            key.to_string(),
            Entry {
                value,
                expires_at_ms,
            },
        );
        state.writes_since_sweep += 1;
        if state.writes_since_sweep >= SWEEP_EVERY {
            let now = self.now_ms();
            state
                .entries
                .retain(|_, e| e.expires_at_ms.is_none_or(|t| t > now));
            state.writes_since_sweep = 0;
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let now = self.now_ms();
        let mut state = self.lock();
        Self::live(&mut state, key, now).map(|e| e.value.clone())
    }

    /// Values of several keys under one lock.
    pub fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        let now = self.now_ms();
        let mut state = self.lock();
        keys.iter()
            .map(|k| Self::live(&mut state, k, now).map(|e| e.value.clone()))
            .collect()
    }

    pub fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        let exp = self.expiry(ttl);
        let mut state = self.lock();
        self.insert(&mut state, key, value.to_string(), exp);
    }

    pub fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let now = self.now_ms();
        let exp = self.expiry(Some(ttl));
        let mut state = self.lock();
        if Self::live(&mut state, key, now).is_some() {
            return false;
        }
        self.insert(&mut state, key, value.to_string(), exp);
        true
    }

    pub fn del(&self, key: &str) {
        self.lock().entries.remove(key);
    }

    pub fn del_if(&self, key: &str, value: &str) -> bool {
        let now = self.now_ms();
        let mut state = self.lock();
        let matches = Self::live(&mut state, key, now).is_some_and(|e| e.value == value);
        if matches {
            state.entries.remove(key);
        }
        matches
    }

    pub fn incr(&self, key: &str, by: i64, ttl: Duration) -> i64 {
        let now = self.now_ms();
        let exp = self.expiry(Some(ttl));
        let mut state = self.lock();
        if let Some(e) = Self::live(&mut state, key, now) {
            let n = e.value.parse::<i64>().unwrap_or(0) + by;
            e.value = n.to_string();
            return n;
        }
        self.insert(&mut state, key, by.to_string(), exp);
        by
    }

    pub fn rate_limit(&self, key: &str, spec: RateSpec) -> RateDecision {
        let now = self.now_ms();
        let mut state = self.lock();
        let tat = Self::live(&mut state, key, now).and_then(|e| e.value.parse::<i64>().ok());
        let (decision, new_tat) = gcra(now, tat, spec);
        if let Some(t) = new_tat {
            self.insert(&mut state, key, t.to_string(), Some(t));
        }
        decision
    }

    pub fn publish(&self, channel: &str, message: &str) {
        let mut state = self.lock();
        if let Some(subs) = state.channels.get_mut(channel) {
            subs.retain(|tx| !tx.is_closed());
            for tx in subs.iter() {
                // A slow subscriber loses messages rather than blocking publishers.
                let _ = tx.try_send(message.to_string());
            }
        }
    }

    pub fn subscribe(&self, channel: &str) -> mpsc::Receiver<String> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        self.lock()
            .channels
            .entry(channel.to_string())
            .or_default()
            .push(tx);
        rx
    }
}
