//! The shared MariaDB/MySQL database: connection pool, embedded migrations run under a
//! database lock (several systems may start at once), the diesel schema, the row types every
//! system reads, and the mapping of database failures to Arrowhead errors. No system keeps
//! database state in memory, so several instances behind a load balancer stay consistent.

pub mod device;
pub mod generation;
pub mod models;
pub mod quick_tx;
pub mod registry_read;
pub mod schema;

use crate::config::DatabaseSettings;
use crate::error::ArrowheadError;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<Manager>;
pub type DbConn = PooledConnection<Manager>;

std::thread_local! {
    /// Set by [`run`] on its thread just before it hands back a connection that turned out to
    /// be dead, so the pool drops it instead of lending it out again.
    static DISCARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// diesel's connection manager, plus one rule: a connection [`run`] found dead is not reused.
/// diesel marks a MySQL connection broken only when a transaction could not be rolled back, so
/// after the database restarts (or fails over) the pool would otherwise keep lending out
/// connections that answer "Server has gone away" forever.
#[derive(Debug)]
pub struct Manager(ConnectionManager<MysqlConnection>);

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = MysqlConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<MysqlConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut MysqlConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut MysqlConnection) -> bool {
        DISCARD.with(|d| d.get()) || self.0.has_broken(conn)
    }
}

/// Session settings of every pooled connection. UTC, so `TIMESTAMP` columns read back as UTC
/// instants whatever the server's time zone is. READ COMMITTED, so that a find-or-create
/// (insert-unless-duplicate then `SELECT`) sees the row a concurrent transaction has just committed;
/// under REPEATABLE READ the re-read would use the transaction's older snapshot and miss it.
#[derive(Debug)]
struct SessionSettings;

impl CustomizeConnection<MysqlConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut MysqlConnection) -> Result<(), diesel::r2d2::Error> {
        // Strict mode: text a column cannot hold is refused (and answered 400), never stored
        // changed (a 4-byte character turned into '?' in a 3-byte `utf8` column).
        conn.batch_execute(
            "SET time_zone = '+00:00'; SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; \
             SET SESSION sql_mode = TRIM(BOTH ',' FROM CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("database {0} is not reachable: {1}")]
    Unreachable(String, String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database {0} refused the login: {1}")]
    Refused(String, String),
}

/// The startup wait of the binaries: a core system started before its database waits for it
/// (retrying with backoff and saying so in its log) and becomes ready when it is there.
pub const WAIT_FOREVER: Duration = Duration::MAX;

/// How long a request waits for a pooled connection. Short, so that with the database down a
/// request is answered 503 within a couple of seconds instead of hanging; a healthy pool hands
/// out a connection in microseconds, or within this time when all are busy.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// Waits for the database, retrying with backoff (0.5 s doubling to 10 s) and saying so in the
/// log, for at most `wait`. A refused login ends the wait at once: it does not get better.
fn wait_for_database(settings: &DatabaseSettings, wait: Duration) -> Result<(), DbSetupError> {
    let where_ = format!("{}:{}/{}", settings.host, settings.port, settings.database);
    let started = std::time::Instant::now();
    let mut backoff = Duration::from_millis(500);
    loop {
        let reason =
            match <MysqlConnection as diesel::Connection>::establish(&settings.diesel_url()) {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            };
        if reason.contains("Access denied") {
            return Err(DbSetupError::Refused(where_, reason));
        }
        let waited = started.elapsed();
        if waited >= wait {
            return Err(DbSetupError::Unreachable(where_, reason));
        }
        let pause = backoff.min(wait - waited);
        tracing::warn!(database = %where_, reason = %reason, retry_in_ms = pause.as_millis() as u64,
            "database not reachable; waiting for it");
        std::thread::sleep(pause);
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Connects (waiting up to `wait` for the database to come up, retrying with backoff) and
/// applies pending migrations. `required_tables` are the tables the calling system uses: when
/// migrations cannot run (the Java per-system accounts have no CREATE privilege), startup goes
/// on if they all exist.
pub fn connect(
    settings: &DatabaseSettings,
    pool_size: u32,
    wait: Duration,
    required_tables: &[&str],
) -> Result<DbPool, DbSetupError> {
    let where_ = format!("{}:{}/{}", settings.host, settings.port, settings.database);
    wait_for_database(settings, wait)?;
    let manager = Manager(ConnectionManager::<MysqlConnection>::new(
        settings.diesel_url(),
    ));
    let pool = Pool::builder()
        .max_size(pool_size.max(1))
        .min_idle(Some(1))
        // No `SELECT 1` round trip before every request; a connection found dead after a failed
        // request is dropped by [`run`], with every idle one that is dead too.
        .test_on_check_out(false)
        .connection_timeout(CHECKOUT_TIMEOUT)
        .connection_customizer(Box::new(SessionSettings))
        .build(manager)
        .map_err(|e| DbSetupError::Unreachable(where_.clone(), e.to_string()))?;
    let mut conn = pool
        .get()
        .map_err(|e| DbSetupError::Unreachable(where_, e.to_string()))?;
    if let Err(e) = migrate(&mut conn) {
        // A database created by the Java scripts, used with the Java per-system accounts
        // (table-level grants, no CREATE): the schema is managed there, which is fine as long as
        // it is complete.
        let missing = missing_from(&mut conn, required_tables)
            .map_err(|q| DbSetupError::Migration(format!("{e}; {q}")))?;
        if !missing.is_empty() {
            return Err(DbSetupError::Migration(format!(
                "{e}; tables missing: {}",
                missing.join(", ")
            )));
        }
        tracing::warn!(error = %e, "cannot run migrations; using the existing Arrowhead schema as it is");
    }
    Ok(pool)
}

#[derive(diesel::QueryableByName)]
struct TableName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Tables of `names` the connected database lacks.
pub fn missing_from(conn: &mut MysqlConnection, names: &[&str]) -> QueryResult<Vec<String>> {
    let present: Vec<TableName> = diesel::sql_query(
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .load(conn)?;
    let present: Vec<String> = present.into_iter().map(|t| t.name.to_lowercase()).collect();
    Ok(names
        .iter()
        .filter(|n| !present.iter().any(|p| p == *n))
        .map(|n| (*n).to_owned())
        .collect())
}

/// Applies pending migrations while holding a named database lock, so that systems starting
/// together never run DDL concurrently; the later ones find nothing left to do.
pub fn migrate(conn: &mut MysqlConnection) -> Result<(), DbSetupError> {
    let err = |e: &dyn std::fmt::Display| DbSetupError::Migration(e.to_string());
    let got: Option<i32> = diesel::select(diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Integer>,
    >("GET_LOCK('arrowhead_schema_migration', 120)"))
    .get_result(conn)
    .map_err(|e| err(&e))?;
    if got != Some(1) {
        return Err(DbSetupError::Migration(
            "could not obtain the migration lock within 120 s".into(),
        ));
    }
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|_| ())
        .map_err(|e| err(&e));
    let _ = conn.batch_execute("DO RELEASE_LOCK('arrowhead_schema_migration')");
    result
}

/// The first row of a diesel query, or none; with `locking` a locking read (`FOR UPDATE`).
///
/// Find-or-create reads its row back with `locking` after an upsert: when the upsert met a row
/// that a concurrent transaction committed after this transaction's snapshot was taken (two
/// requests creating the same provider, definition or interface at once), a plain read under
/// REPEATABLE READ does not see that row, a locking read does. The upsert already holds the
/// row's lock, so the locking read waits for nothing more. (A macro: the query types of the
/// two branches differ, and the bounds a generic function would need are diesel's to spell.)
#[macro_export]
macro_rules! first_row {
    ($query:expr, $conn:expr, $locking:expr) => {{
        use diesel::{OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
        let query = $query;
        if $locking {
            query.for_update().first($conn).optional()
        } else {
            query.first($conn).optional()
        }
    }};
}

/// The outcome of an insert that may meet a unique key: `Ok(false)` when the row was already
/// there (also when a concurrent request created it a moment ago). Unlike `INSERT IGNORE`,
/// which would also turn text the column cannot hold into '?', every other failure stays one.
pub fn inserted(result: QueryResult<usize>) -> QueryResult<bool> {
    match result {
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        other => other.map(|_| true),
    }
}

/// Maps diesel failures to Arrowhead errors where their meaning is known; the rest are logged
/// here and answered with the Java "Database operation exception" without internals.
pub fn map_db_error(e: DieselError) -> ArrowheadError {
    match e {
        DieselError::NotFound => {
            ArrowheadError::invalid_parameter("Requested entity does not exist.")
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            ArrowheadError::invalid_parameter(format!(
                "Entity already exists ({}).",
                info.message()
            ))
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
            ArrowheadError::invalid_parameter(format!(
                "Referenced entity does not exist ({}).",
                info.message()
            ))
        }
        DieselError::DatabaseError(_, info)
            if info.message().starts_with("Incorrect string value") =>
        {
            ArrowheadError::bad_payload(unstorable_text(info.message()))
        }
        DieselError::DatabaseError(_, info)
            if info.message().starts_with("Illegal mix of collations") =>
        {
            ArrowheadError::bad_payload(unstorable_text(""))
        }
        // A deadlock's victim (MySQL 1213): the server rolled the transaction back. A 500 as in
        // Java unless the caller runs the transaction again (see `retryable`).
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
            tracing::warn!(
                error = info.message(),
                "database transaction lost a deadlock"
            );
            ArrowheadError {
                retryable: true,
                ..ArrowheadError::internal("Database operation exception")
            }
        }
        other => {
            tracing::error!(error = %other, "database operation failed");
            ArrowheadError::internal("Database operation exception")
        }
    }
}

/// Drops `conn` from the pool instead of returning it.
fn discard(conn: DbConn) {
    DISCARD.with(|d| d.set(true));
    drop(conn);
    DISCARD.with(|d| d.set(false));
}

/// After a dead connection was found (the database restarted or failed over): every idle
/// connection is checked and the dead ones dropped too, so that the requests after this one get
/// fresh connections instead of failing one by one.
fn purge_idle(pool: &DbPool) {
    let mut live = Vec::new();
    let mut dropped = 0;
    while let Some(mut c) = pool.try_get() {
        if alive(&mut c) {
            live.push(c);
        } else {
            discard(c);
            dropped += 1;
        }
        if live.len() + dropped >= pool.max_size() as usize {
            break;
        }
    }
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "dead idle database connections dropped from the pool"
        );
    }
}

/// While the pool has no connection at all and its last checkout failed (the database is
/// down), checkouts wait this long only: a request that needs the database several times is
/// still answered within about [`CHECKOUT_TIMEOUT`].
const CHECKOUT_TIMEOUT_WHILE_DOWN: Duration = Duration::from_millis(200);

/// Set when a checkout found the database unreachable; cleared by the next successful one.
static DATABASE_DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn checkout(pool: &DbPool) -> Result<DbConn, ArrowheadError> {
    use std::sync::atomic::Ordering;
    let down = DATABASE_DOWN.load(Ordering::Relaxed) && pool.state().connections == 0;
    let wait = if down {
        CHECKOUT_TIMEOUT_WHILE_DOWN
    } else {
        CHECKOUT_TIMEOUT
    };
    match pool.get_timeout(wait) {
        Ok(c) => {
            DATABASE_DOWN.store(false, Ordering::Relaxed);
            Ok(c)
        }
        Err(e) => {
            // No connection left at all: the database, not a busy pool.
            if pool.state().connections == 0 {
                DATABASE_DOWN.store(true, Ordering::Relaxed);
            }
            if !down {
                tracing::error!(error = %e, "no database connection available");
            }
            Err(ArrowheadError::unavailable("Database is not available."))
        }
    }
}

/// The refusal of text the database's 3-byte `utf8` tables (the Java schema, where our
/// migrations could not convert them) cannot store, naming the field when MariaDB named the
/// column (`... for column `db`.`system_`.`authentication_info` at row 1`).
fn unstorable_text(message: &str) -> String {
    let column = message.split_once(" for column ").and_then(|(_, rest)| {
        let names = rest.split(" at row").next().unwrap_or(rest);
        names
            .split('`')
            .rfind(|p| !p.trim().is_empty() && *p != ".")
    });
    let what = match column {
        Some(c) => {
            let mut field = String::new();
            let mut upper = false;
            for ch in c.chars() {
                if ch == '_' {
                    upper = true;
                } else if upper {
                    field.extend(ch.to_uppercase());
                    upper = false;
                } else {
                    field.push(ch);
                }
            }
            format!("The value of {field} holds")
        }
        None => "A value holds".to_owned(),
    };
    format!(
        "{what} characters this database cannot store (4-byte UTF-8, such as emoji): its tables \
         use the 3-byte utf8 of the Java schema."
    )
}

/// Runs blocking database work on actix's blocking pool with a pooled connection, so the async
/// workers never wait for MariaDB. With the database unreachable the answer is 503 "Database is
/// not available." within [`CHECKOUT_TIMEOUT`]; once it is back, fresh connections serve again.
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, ArrowheadError>
where
    T: Send + 'static,
    F: FnOnce(&mut MysqlConnection) -> Result<T, ArrowheadError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || with_connection(&pool, f))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "blocking database task failed");
            ArrowheadError::internal("Database operation exception")
        })?
}

/// [`run`]'s work on the calling (blocking) thread.
pub fn with_connection<T, F>(pool: &DbPool, f: F) -> Result<T, ArrowheadError>
where
    F: FnOnce(&mut MysqlConnection) -> Result<T, ArrowheadError>,
{
    let mut conn = checkout(pool)?;
    let result = f(&mut conn);
    // Only after a failure (the fast path pays nothing): is the connection still alive? If
    // not, the failure was the database's, not the request's: 503, and nothing of it was
    // committed (a transaction the server did not see committed is rolled back).
    if result.is_err() && !alive(&mut conn) {
        tracing::warn!("a dead database connection is dropped from the pool");
        discard(conn);
        purge_idle(pool);
        return Err(ArrowheadError::unavailable("Database is not available."));
    }
    result
}

/// Whether the connection still answers (one round trip).
pub fn alive(conn: &mut MysqlConnection) -> bool {
    conn.batch_execute("SELECT 1").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstorable_text_names_the_field() {
        assert!(unstorable_text(
            "Incorrect string value: '\\xF0\\x9F\\x98\\x80' for column `ah`.`system_`.`authentication_info` at row 1"
        )
        .starts_with("The value of authenticationInfo holds characters"));
        assert!(unstorable_text("").starts_with("A value holds"));
    }
}
