//! Group commit: many small write transactions of the same kind, queued at one moment, run
//! as one transaction.
//!
//! A hot write path (progress sync) submits its work to a *lane*: a writer thread with its
//! own connection that takes the first queued job, drains every job queued behind it (up
//! to [`MAX_GROUP`]), runs them one after the other in one transaction, commits once and
//! only then answers each job with its own result. On SQLite the single writer stops being
//! a queue of tiny transactions; on PostgreSQL a burst costs one commit (one WAL flush)
//! instead of one per request.
//!
//! - **Nothing acknowledged is lost**: a job is answered after the commit that contains it;
//!   a process killed mid-group answers nobody, and the phones retry.
//! - **One failure does not fail the others**: when a job returns an error (or the commit
//!   fails — a deadlock, a serialization failure), the group is rolled back and each of
//!   its jobs runs again alone in its own transaction, so only the failing one fails. Jobs
//!   must therefore be re-runnable: they read what they write from the database, not from
//!   state they changed themselves (`FnMut` over immutable inputs).
//! - **Keys keep lanes apart**: a job's key picks its lane (`key % lanes`), so the jobs of
//!   one key (one account) always run in one lane, in arrival order, and two lanes never
//!   wait on each other's per-key locks. SQLite has one lane (one writer connection).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::{POOL_WAIT, Pool, write_transaction};
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult};

/// Jobs run in one transaction at most.
pub const MAX_GROUP: usize = 64;

/// Jobs queued per lane before submitters wait (back-pressure).
const QUEUE: usize = 1024;

type Output = Box<dyn Any + Send>;
type Work = Box<dyn FnMut(&mut DbConnection) -> ApiResult<Output> + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<ApiResult<Output>>,
}

/// Counters of the group writer (for `/metrics` and the benchmarks).
#[derive(Debug, Default)]
pub struct GroupStats {
    /// Transactions committed with more than one job.
    pub groups: AtomicU64,
    /// Jobs committed in those groups.
    pub grouped_jobs: AtomicU64,
    /// Groups rolled back and run again one job at a time.
    pub split: AtomicU64,
}

/// The lanes of one database. Dropping it ends the lane threads once their queues drain.
pub struct GroupWriter {
    lanes: Vec<mpsc::Sender<Job>>,
    pub stats: Arc<GroupStats>,
}

impl GroupWriter {
    /// Starts `lanes` writer threads over `pool`.
    pub fn start(pool: &Pool, lanes: usize) -> std::io::Result<GroupWriter> {
        let stats = Arc::new(GroupStats::default());
        let mut senders = Vec::with_capacity(lanes);
        for n in 0..lanes.max(1) {
            let (tx, rx) = mpsc::channel(QUEUE);
            let (pool, stats) = (pool.clone(), stats.clone());
            std::thread::Builder::new()
                .name(format!("db-lane-{n}"))
                .spawn(move || lane(&pool, rx, &stats))?;
            senders.push(tx);
        }
        Ok(GroupWriter {
            lanes: senders,
            stats,
        })
    }

    /// Runs `work` in the lane of `key`, in a transaction it may share with other jobs;
    /// answers after that transaction committed.
    pub async fn run<T, F>(&self, key: u64, mut work: F) -> ApiResult<T>
    where
        F: FnMut(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let lane = &self.lanes[(key % self.lanes.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work: Box::new(move |c| work(c).map(|t| Box::new(t) as Output)),
            reply,
        };
        lane.send(job)
            .await
            .map_err(|_| ApiError::internal(anyhow::anyhow!("the database writer stopped")))?;
        let out = answer.await.map_err(|_| {
            ApiError::internal(anyhow::anyhow!("the database writer dropped a job"))
        })??;
        out.downcast::<T>()
            .map(|t| *t)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("a group job answered another type")))
    }
}

/// One lane: wait for a job, take every job queued behind it, run them as one group.
fn lane(pool: &Pool, mut rx: mpsc::Receiver<Job>, stats: &GroupStats) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        run_group(pool, jobs, stats);
    }
}

fn run_group(pool: &Pool, mut jobs: Vec<Job>, stats: &GroupStats) {
    let mut conn = match pool.get_timeout(POOL_WAIT) {
        Ok(c) => c,
        Err(e) => {
            let cause = e.to_string();
            for job in jobs {
                let e = ApiError::new(crate::error::ErrorCode::ServiceUnavailable)
                    .with_cause(anyhow::anyhow!("{cause}"));
                let _ = job.reply.send(Err(e));
            }
            return;
        }
    };
    if jobs.len() > 1 {
        let grouped = write_transaction(&mut conn, |c| {
            jobs.iter_mut()
                .map(|job| (job.work)(c))
                .collect::<ApiResult<Vec<Output>>>()
        });
        match grouped {
            Ok(outputs) => {
                stats.groups.fetch_add(1, Ordering::Relaxed);
                stats
                    .grouped_jobs
                    .fetch_add(jobs.len() as u64, Ordering::Relaxed);
                for (job, out) in jobs.into_iter().zip(outputs) {
                    let _ = job.reply.send(Ok(out));
                }
                return;
            }
            Err(e) => {
                stats.split.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, jobs = jobs.len(), "group rolled back; each job alone");
            }
        }
    }
    for mut job in jobs {
        let out = write_transaction(&mut conn, |c| (job.work)(c));
        let _ = job.reply.send(out);
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use crate::db::{DatabaseUrl, Db};
    use crate::error::{ApiError, ErrorCode};

    fn count(db: &Db) -> i64 {
        db.write_blocking(|c| {
            Ok(
                diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM t")
                    .get_result(c)?,
            )
        })
        .unwrap()
    }

    /// Queues a write for each of `keys` behind a held writer (so they form groups); the
    /// write of `fail` errs after inserting. Returns each result.
    async fn queued(db: &Db, keys: std::ops::Range<i64>, fail: i64) -> Vec<Result<i64, ApiError>> {
        let hold = db.clone();
        let blocker = tokio::spawn(async move {
            hold.write_grouped(0, |_| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut jobs = Vec::new();
        for k in keys {
            let db = db.clone();
            jobs.push(tokio::spawn(async move {
                db.write_grouped(k as u64, move |c| {
                    diesel::sql_query("INSERT INTO t (k) VALUES (?)")
                        .bind::<diesel::sql_types::BigInt, _>(k)
                        .execute(c)?;
                    if k == fail {
                        return Err(ApiError::new(ErrorCode::Conflict));
                    }
                    Ok(k)
                })
                .await
            }));
        }
        blocker.await.unwrap().unwrap();
        let mut out = Vec::new();
        for job in jobs {
            out.push(job.await.unwrap());
        }
        out
    }

    /// Writes queued at once share one transaction; in a group where one fails, that one
    /// is rolled back alone and the others are committed and answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_share_a_commit_and_a_failing_one_fails_alone() {
        use std::sync::atomic::Ordering::Relaxed;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(
            &DatabaseUrl::Sqlite(dir.path().join("g.db")),
            2,
            1,
            &crate::db::DbOptions::default(),
        )
        .unwrap();
        db.raw_writer()
            .unwrap()
            .batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();

        let all = queued(&db, 0..40, -1).await;
        assert!(all.iter().all(Result::is_ok));
        assert_eq!(count(&db), 40);
        let stats = db.group_stats();
        assert!(stats.groups.load(Relaxed) >= 1, "no group formed");
        assert!(stats.grouped_jobs.load(Relaxed) >= 2);
        assert_eq!(stats.split.load(Relaxed), 0);

        let results = queued(&db, 100..140, 117).await;
        for (k, r) in (100..140).zip(&results) {
            match r {
                Ok(v) => assert_eq!(*v, k),
                Err(e) => {
                    assert_eq!(k, 117);
                    assert_eq!(e.code, ErrorCode::Conflict);
                }
            }
        }
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 39);
        assert_eq!(
            count(&db),
            79,
            "the failed write left nothing, the others are stored"
        );
        assert!(stats.split.load(Relaxed) >= 1);
    }
}
