//! The batched certificate ledger on a real MariaDB: concurrent recordings all land with their
//! own ids, and a serial already in the table sends only its own request back to draw again
//! while the rest of its batch is written.

#![allow(clippy::unwrap_used)]

use certificate_authority::ledger::{Entry, Ledger, Recorded};
use std::time::Duration;
use testing::TestDb;

fn entry(serial: i64) -> Entry {
    let now = chrono::Utc::now().naive_utc();
    Entry {
        common_name: format!("device{serial}.testcloud.aitia.arrowhead.eu"),
        serial,
        created_by: "sysop.testcloud.aitia.arrowhead.eu".into(),
        valid_after: now,
        valid_before: now + chrono::Duration::days(1),
    }
}

#[test]
fn concurrent_records_and_a_taken_serial() {
    let db = TestDb::new();
    let mut conn = db.connect();
    common::db::migrate(&mut conn).unwrap();
    let pool = common::db::connect(
        &db.settings,
        2,
        Duration::from_secs(10),
        &["ca_certificate"],
    )
    .unwrap();
    let ledger = Ledger::start(pool).unwrap();
    let rt = actix_web::rt::System::new();
    // 200 at once: batched by the writer, each answered with its own row.
    let outcomes = rt.block_on(futures_util::future::join_all(
        (1..=200).map(|serial| ledger.record(entry(serial))),
    ));
    let mut ids: Vec<i64> = outcomes
        .iter()
        .map(|o| match o {
            Recorded::Id(id) => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    assert_eq!(db.count("ca_certificate"), 200);
    // Serial 7 is taken: only its request is refused; the others of its batch are written.
    let outcomes = rt.block_on(futures_util::future::join_all(
        [201, 7, 202, 203].map(|serial| ledger.record(entry(serial))),
    ));
    let taken: Vec<bool> = outcomes
        .iter()
        .map(|o| matches!(o, Recorded::SerialTaken))
        .collect();
    assert_eq!(taken, [false, true, false, false], "{outcomes:?}");
    assert_eq!(db.count("ca_certificate"), 203);
}
