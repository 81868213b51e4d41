//! Records issued certificates in `ca_certificate`, in batches. Under load many signing
//! requests finish at nearly the same moment; one writer thread inserts every row waiting with
//! one multi-row `INSERT` and reads their ids back by serial, instead of a pair of round trips
//! per certificate (which cost MariaDB about half as much CPU as the signatures cost the CA,
//! on the same cores). A request is answered only after its row is written, so nothing lives
//! in memory beyond that moment and every CA instance sees every certificate.
//!
//! A statement fails as a whole, so a serial already in the table (one chance in 2^62) makes
//! the batch's rows go in one by one; only the colliding request is told to draw again.

use crate::store::NewCert;
use chrono::NaiveDateTime;
use common::db::schema::ca_certificate;
use common::db::DbPool;
use common::ArrowheadError;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::collections::HashMap;
use std::sync::mpsc;

/// The most rows one statement writes.
const BATCH: usize = 64;

/// A certificate to record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub common_name: String,
    pub serial: i64,
    pub created_by: String,
    pub valid_after: NaiveDateTime,
    pub valid_before: NaiveDateTime,
}

/// What recording found.
#[derive(Debug)]
pub enum Recorded {
    /// The row's id.
    Id(i64),
    /// Another certificate has this serial: draw another.
    SerialTaken,
    Failed(ArrowheadError),
}

struct Job {
    entry: Entry,
    reply: tokio::sync::oneshot::Sender<Recorded>,
}

/// The handle requests record through; the writer thread ends when the last handle is gone.
#[derive(Clone)]
pub struct Ledger {
    jobs: mpsc::Sender<Job>,
}

impl Ledger {
    pub fn start(pool: DbPool) -> Result<Self, String> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("ca-ledger".into())
            .spawn(move || writer(pool, queue))
            .map_err(|e| format!("cannot start the certificate ledger: {e}"))?;
        Ok(Self { jobs })
    }

    /// Writes `entry`; returns once it is in the table (or why not).
    pub async fn record(&self, entry: Entry) -> Recorded {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self.jobs.send(Job { entry, reply }).is_err() {
            return Recorded::Failed(ArrowheadError::internal("The certificate ledger stopped."));
        }
        answer.await.unwrap_or_else(|_| {
            Recorded::Failed(ArrowheadError::internal("The certificate ledger stopped."))
        })
    }
}

fn writer(pool: DbPool, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match pool.get() {
            Ok(mut conn) => write(&mut conn, batch),
            Err(e) => {
                tracing::error!(error = %e, "no database connection for issued certificates");
                for job in batch {
                    let _ = job.reply.send(Recorded::Failed(ArrowheadError::unavailable(
                        "Database is not available.",
                    )));
                }
            }
        }
    }
}

fn write(conn: &mut MysqlConnection, batch: Vec<Job>) {
    let rows: Vec<NewCert> = batch
        .iter()
        .map(|j| NewCert {
            common_name: &j.entry.common_name,
            serial: j.entry.serial,
            created_by: &j.entry.created_by,
            valid_after: j.entry.valid_after,
            valid_before: j.entry.valid_before,
        })
        .collect();
    match diesel::insert_into(ca_certificate::table)
        .values(&rows)
        .execute(conn)
    {
        Ok(_) => {
            let serials: Vec<i64> = batch.iter().map(|j| j.entry.serial).collect();
            let ids = ca_certificate::table
                .filter(ca_certificate::serial.eq_any(&serials))
                .select((ca_certificate::serial, ca_certificate::id))
                .load::<(i64, i64)>(conn)
                .map(|found| found.into_iter().collect::<HashMap<i64, i64>>());
            for job in batch {
                let outcome = match &ids {
                    Ok(ids) => ids.get(&job.entry.serial).map_or_else(
                        || {
                            Recorded::Failed(ArrowheadError::internal(
                                "Database operation exception",
                            ))
                        },
                        |id| Recorded::Id(*id),
                    ),
                    Err(e) => Recorded::Failed(common::db::map_db_error(clone_error(e))),
                };
                let _ = job.reply.send(outcome);
            }
        }
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
            if batch.len() > 1 =>
        {
            drop(rows);
            for job in batch {
                write(conn, vec![job]);
            }
        }
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            drop(rows);
            for job in batch {
                let _ = job.reply.send(Recorded::SerialTaken);
            }
        }
        Err(e) => {
            drop(rows);
            let e = common::db::map_db_error(e);
            for job in batch {
                let _ = job.reply.send(Recorded::Failed(e.clone()));
            }
        }
    }
}

/// Diesel errors are not `Clone`; the mapping only needs the kind and the message.
fn clone_error(e: &DieselError) -> DieselError {
    match e {
        DieselError::NotFound => DieselError::NotFound,
        other => DieselError::QueryBuilderError(other.to_string().into()),
    }
}
