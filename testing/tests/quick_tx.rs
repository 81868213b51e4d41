//! `common::db::quick_tx` against a real MariaDB: commits what succeeds, leaves nothing of what
//! fails (also after a statement inside failed), hides uncommitted rows from other connections,
//! nests as a savepoint inside a diesel transaction, and keeps BEGIN/COMMIT prepared (no new
//! prepare on the second transaction of a connection).

#![allow(clippy::unwrap_used)]

use common::db::quick_tx::transaction;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::Error;
use testing::TestDb;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn rows(conn: &mut MysqlConnection, id: i32) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM qt WHERE id = {id}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

fn insert(conn: &mut MysqlConnection, id: i32) -> Result<usize, Error> {
    diesel::sql_query(format!("INSERT INTO qt (id) VALUES ({id})")).execute(conn)
}

fn prepares(conn: &mut MysqlConnection) -> i64 {
    testing::session_counter(conn, "Com_stmt_prepare")
}

#[test]
fn commits_rolls_back_isolates_and_nests() {
    let db = TestDb::new();
    let mut conn = db.connect();
    let mut other = db.connect();
    conn.batch_execute("CREATE TABLE qt (id INT PRIMARY KEY) ENGINE=InnoDB")
        .unwrap();

    // Committed, and invisible to another connection until then.
    transaction(&mut conn, |c| {
        insert(c, 1)?;
        assert_eq!(
            rows(&mut other, 1),
            0,
            "uncommitted row seen by another connection"
        );
        Ok::<_, Error>(())
    })
    .unwrap();
    assert_eq!(rows(&mut other, 1), 1);

    // An error from the closure rolls everything back.
    let failed = transaction(&mut conn, |c| {
        insert(c, 2)?;
        Err::<(), _>(Error::RollbackTransaction)
    });
    assert!(failed.is_err());
    assert_eq!(rows(&mut other, 2), 0);

    // A failing statement inside (a duplicate key) fails the whole transaction.
    let failed = transaction(&mut conn, |c| {
        insert(c, 3)?;
        insert(c, 1)?;
        Ok::<_, Error>(())
    });
    assert!(failed.is_err());
    assert_eq!(rows(&mut other, 3), 0, "half a failed transaction was kept");

    // The connection is out of any transaction afterwards: autocommit writes are seen at once.
    insert(&mut conn, 4).unwrap();
    assert_eq!(rows(&mut other, 4), 1);

    // Inside a diesel transaction it is a savepoint: its failure leaves the outer work alone.
    conn.transaction(|c| {
        insert(c, 5)?;
        let inner = transaction(c, |c| {
            insert(c, 6)?;
            Err::<(), _>(Error::RollbackTransaction)
        });
        assert!(inner.is_err());
        Ok::<_, Error>(())
    })
    .unwrap();
    assert_eq!((rows(&mut other, 5), rows(&mut other, 6)), (1, 0));

    // BEGIN and COMMIT stay prepared: another transaction prepares nothing new.
    let before = prepares(&mut conn);
    transaction(&mut conn, |c| insert(c, 7)).unwrap();
    let after = prepares(&mut conn);
    // What is prepared again: the insert and this status read (sql_query is never kept).
    assert_eq!(
        after - before,
        1 + 1,
        "BEGIN/COMMIT or the insert prepared again"
    );
}
