//! Group commit of `/register`: registrations that arrive while others are being written wait
//! in a queue and are then written together, in one transaction whose statements take all of
//! them at once (`registry::register_all`). A registration's cost is mostly its database round
//! trips (six, each a wake-up of both processes), so under load a group of N costs about what
//! one did; a registration arriving alone is written at once, as before.
//!
//! Nothing is kept between groups: every group reads the database afresh, so several registry
//! instances behave exactly as with one registration per transaction. The queue is the only
//! state, and an answer is sent only after its group is committed (or failed).

use crate::registry;
use crate::validate::ValidEntry;
use common::db::{self, DbPool};
use common::dto::ServiceRegistryResponse;
use common::ArrowheadError;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Groups written at the same time. Two keep the database busy while the other group's answer
/// travels back; more would mean smaller groups and more round trips for the same work.
const WRITERS: usize = 2;
/// The most registrations in one transaction: bounds the time its locks are held.
const MAX_GROUP: usize = 32;

type Answer = Result<ServiceRegistryResponse, ArrowheadError>;

struct Pending {
    entry: ValidEntry,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    /// Writers running (each on a blocking thread, taking groups until the queue is empty).
    writers: usize,
}

pub struct Registrar {
    pool: DbPool,
    queue: Mutex<Queue>,
}

impl Registrar {
    pub fn new(pool: DbPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            queue: Mutex::new(Queue::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue stays consistent whatever panicked while it was held.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the entry, in a group with whatever else is waiting.
    pub async fn register(self: &Arc<Self>, entry: ValidEntry) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start_writer = {
            let mut q = self.lock();
            q.waiting.push(Pending { entry, reply });
            let start = q.writers < WRITERS;
            if start {
                q.writers += 1;
            }
            start
        };
        if start_writer {
            let me = self.clone();
            actix_web::rt::task::spawn_blocking(move || me.write_waiting());
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ArrowheadError::internal("Database operation exception")))
    }

    /// Writes groups until nothing waits.
    fn write_waiting(&self) {
        loop {
            let group: Vec<Pending> = {
                let mut q = self.lock();
                if q.waiting.is_empty() {
                    q.writers -= 1;
                    return;
                }
                let n = q.waiting.len().min(MAX_GROUP);
                q.waiting.drain(..n).collect()
            };
            let (entries, replies): (Vec<ValidEntry>, Vec<_>) =
                group.into_iter().map(|p| (p.entry, p.reply)).unzip();
            // A panic must not stop the writer (the queue would wait forever): it becomes a 500
            // for this group, and its connection is dropped by the pool (see `db::discard`).
            let answers =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.write(&entries)))
                    .unwrap_or_else(|_| {
                        tracing::error!("writing a group of registrations panicked");
                        vec![
                            Err(ArrowheadError::internal("Database operation exception"));
                            entries.len()
                        ]
                    });
            for (reply, answer) in replies.into_iter().zip(answers) {
                // The client may have gone; its registration stands, as with any request.
                let _ = reply.send(answer);
            }
        }
    }

    fn write(&self, entries: &[ValidEntry]) -> Vec<Answer> {
        let written = db::with_connection(&self.pool, |c| {
            let answers = registry::register_all(c, entries);
            // A failure on a dead connection is the database's: every answer becomes the
            // 503 of `with_connection`.
            match answers.iter().find_map(|a| a.as_ref().err()) {
                Some(e) if !db::alive(c) => Err(e.clone()),
                _ => Ok(answers),
            }
        });
        match written {
            Ok(answers) => answers,
            Err(e) => vec![Err(e); entries.len()],
        }
    }
}
