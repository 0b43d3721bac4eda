//! The source of "now". Every timestamp the application writes comes from the [`Clock`] in
//! app state, so tests can set and advance time instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// Something that tells the current UTC time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Now as the naive UTC timestamp stored in the database (microsecond precision, which
    /// both SQLite text and PostgreSQL `timestamp` keep exactly).
    fn now_naive(&self) -> NaiveDateTime {
        let now = self.now().naive_utc();
        now.with_nanosecond_trunc()
    }
}

/// Truncation of sub-microsecond digits, so a value survives a database round trip unchanged.
trait TruncMicros {
    fn with_nanosecond_trunc(self) -> Self;
}

impl TruncMicros for NaiveDateTime {
    fn with_nanosecond_trunc(self) -> Self {
        use chrono::Timelike;
        let micros = self.nanosecond() / 1_000 * 1_000;
        self.with_nanosecond(micros).unwrap_or(self)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests control: it stands still until set or advanced.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `task` every `every` in the background (the first run one period after the start;
/// nothing when `every` is zero). A run that takes longer than the period delays the next.
pub fn run_every<F, Fut>(every: std::time::Duration, mut task: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            task().await;
        }
    });
}
