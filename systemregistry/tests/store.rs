//! The System Registry's find-or-create of a system on a real MariaDB, when a concurrent
//! request creates the same system at the same moment.

#![allow(clippy::unwrap_used)]

use common::db::models::SystemValues;
use diesel::connection::SimpleConnection;
use systemregistry::store::find_or_create_system;
use testing::TestDb;

/// A registration that finds its system created a moment ago by another transaction
/// (committed after this transaction's snapshot, so invisible to a plain read) uses that row
/// and gives it its own key and metadata, as Java does on every registration, instead of
/// answering 500.
#[test]
fn a_system_created_concurrently_gets_the_registrations_details() {
    let db = TestDb::new();
    let mut late = db.connect();
    common::db::migrate(&mut late).unwrap();
    let mut other = db.connect();
    late.batch_execute("BEGIN; SELECT COUNT(*) FROM system_")
        .unwrap();
    other
        .batch_execute(
            "INSERT INTO system_ (system_name, address, address_type, port, authentication_info) \
             VALUES ('racer', '127.0.0.1', 'IPV4', 9300, 'other-key')",
        )
        .unwrap();
    let mine = SystemValues {
        system_name: "racer".into(),
        address: "127.0.0.1".into(),
        address_type: Some("IPV4".into()),
        port: 9300,
        authentication_info: Some("my-key".into()),
        metadata: Some(r#"{"k":"v"}"#.into()),
    };
    let system = find_or_create_system(&mut late, &mine).unwrap();
    late.batch_execute("COMMIT").unwrap();
    assert_eq!(
        (
            system.system_name.as_str(),
            system.port,
            system.authentication_info.as_deref(),
            system.metadata.as_deref()
        ),
        ("racer", 9300, Some("my-key"), Some(r#"{"k":"v"}"#))
    );
    // One row, the other transaction's, now with this registration's details.
    let mut check = db.connect();
    let stored = common::db::models::find_system(&mut check, "racer", "127.0.0.1", 9300)
        .unwrap()
        .unwrap();
    assert_eq!(stored, system);
    assert_eq!(db.count("system_"), 1);
}
