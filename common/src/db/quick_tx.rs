//! A transaction whose BEGIN, COMMIT and ROLLBACK are prepared statements kept by diesel's
//! statement cache: one round trip each. diesel's own transactions send them through
//! `batch_execute`, which on MySQL switches the server's multi-statement option on and off
//! around every statement, so each costs three round trips; on the Service Registry's
//! registration that was four of ten.
//!
//! Only for short write paths that open no transaction of their own inside: diesel does not
//! know about this one, so a nested `conn.transaction` would send a plain BEGIN, which commits
//! this transaction early. Servers that refuse to prepare these statements get diesel's
//! transaction instead.

use diesel::mysql::MysqlConnection;
use diesel::result::Error as DieselError;
use diesel::{Connection, RunQueryDsl};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the server refused to prepare BEGIN: from then on diesel's transactions.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// A statement of fixed text that diesel keeps prepared (its query id is static), where
/// `diesel::sql` and `sql_query` are prepared and closed again on every use: two round trips
/// instead of one. With a result type it can be loaded.
macro_rules! fixed_statement {
    ($(#[$doc:meta])* $name:ident, $sql:expr $(, $st:ty)?) => {
        $(#[$doc])*
        pub struct $name;
        impl diesel::query_builder::QueryId for $name {
            type QueryId = $name;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
        impl diesel::query_builder::QueryFragment<diesel::mysql::Mysql> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::mysql::Mysql>,
            ) -> diesel::QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
        impl diesel::RunQueryDsl<diesel::mysql::MysqlConnection> for $name {}
        $(impl diesel::query_builder::Query for $name {
            type SqlType = $st;
        })?
    };
}
pub(crate) use fixed_statement;

fixed_statement!(Begin, "BEGIN");
fixed_statement!(Commit, "COMMIT");
fixed_statement!(Rollback, "ROLLBACK");

/// Runs `f` in one transaction, committed when it returns `Ok`, rolled back otherwise (see the
/// module doc for what `f` must not do).
pub fn transaction<T, E, F>(conn: &mut MysqlConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut MysqlConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    let nested = {
        use diesel::connection::TransactionManager;
        let status =
            <MysqlConnection as Connection>::TransactionManager::transaction_manager_status_mut(
                conn,
            );
        !matches!(status.transaction_depth(), Ok(None))
    };
    if nested || UNSUPPORTED.load(Ordering::Relaxed) {
        return conn.transaction(f);
    }
    if let Err(e) = Begin.execute(conn) {
        // A refusal to prepare (MySQL error 1295, "not supported in the prepared statement
        // protocol yet"): remember it and use diesel's way. Anything else is the database's.
        if e.to_string().contains("prepared statement protocol") {
            UNSUPPORTED.store(true, Ordering::Relaxed);
            return conn.transaction(f);
        }
        return Err(e.into());
    }
    match f(conn) {
        Ok(value) => match Commit.execute(conn) {
            Ok(_) => Ok(value),
            Err(e) => {
                rollback(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

/// Rolls back; a connection that cannot is marked broken so the pool drops it instead of
/// handing out an open transaction.
fn rollback(conn: &mut MysqlConnection) {
    if Rollback.execute(conn).is_err() {
        use diesel::connection::TransactionManager;
        <MysqlConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .set_in_error();
    }
}
