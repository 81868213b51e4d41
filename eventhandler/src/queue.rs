//! The delivery queue in the database (tables `event_delivery`, `event_delivery_lease`,
//! `event_delivery_loss`, created by our migrations). An accepted event becomes one row per
//! matching subscription in the transaction that accepts it; a row is deleted only once its
//! subscriber has taken the event (or it is given up), so a killed instance loses nothing.
//!
//! One instance at a time delivers to a subscriber, the holder of its lease, so the subscriber
//! sees its events in queue order. Leases are judged by the database's clock, so the instances'
//! clocks need not agree; a lease its holder stopped renewing may be taken over by anyone.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp, Varchar};
use diesel::MysqlConnection;
use std::collections::HashMap;

diesel::table! {
    event_delivery (id) {
        id -> BigInt,
        subscriber_id -> BigInt,
        subscription_id -> BigInt,
        body -> Blob,
        size -> Integer,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        created_at -> Timestamp,
    }
}

/// An event for one subscription, as accepted.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_delivery)]
pub struct NewDelivery {
    pub subscriber_id: i64,
    pub subscription_id: i64,
    pub body: Vec<u8>,
    pub size: i32,
    pub attempts: i32,
    pub next_attempt_at: chrono::NaiveDateTime,
    pub created_at: chrono::NaiveDateTime,
}

/// The per-subscriber bounds of the queue.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_events: usize,
    pub max_bytes: usize,
}

/// What [`enqueue`] did.
#[derive(Debug, Default)]
pub struct Enqueued {
    /// Subscribers that got at least one new row.
    pub subscribers: Vec<i64>,
    /// Rows refused because the subscriber's queue was full, per subscriber.
    pub dropped: HashMap<i64, u64>,
}

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    subscriber_id: i64,
    #[diesel(sql_type = BigInt)]
    events: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Stores the rows that fit their subscriber's bounds, counts the rest as dropped; one
/// transaction, so an answered publish has all its rows or, on error, none.
pub fn enqueue(
    conn: &mut MysqlConnection,
    rows: Vec<NewDelivery>,
    names: &HashMap<i64, String>,
    bounds: Bounds,
) -> QueryResult<Enqueued> {
    conn.transaction(|conn| {
        let mut ids: Vec<i64> = rows.iter().map(|r| r.subscriber_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let backlog: Vec<Backlog> = diesel::sql_query(format!(
            "SELECT subscriber_id, COUNT(*) AS events, CAST(COALESCE(SUM(size), 0) AS SIGNED) AS bytes \
             FROM event_delivery WHERE subscriber_id IN ({list}) GROUP BY subscriber_id"
        ))
        .load(conn)?;
        let mut waiting: HashMap<i64, (usize, usize)> = backlog
            .into_iter()
            .map(|b| {
                (
                    b.subscriber_id,
                    (
                        usize::try_from(b.events).unwrap_or(usize::MAX),
                        usize::try_from(b.bytes).unwrap_or(usize::MAX),
                    ),
                )
            })
            .collect();
        let mut done = Enqueued::default();
        let mut keep = Vec::with_capacity(rows.len());
        for row in rows {
            let (events, bytes) = waiting.entry(row.subscriber_id).or_default();
            let size = row.body.len();
            if *events + 1 > bounds.max_events || bytes.saturating_add(size) > bounds.max_bytes {
                *done.dropped.entry(row.subscriber_id).or_default() += 1;
                continue;
            }
            *events += 1;
            *bytes += size;
            if !done.subscribers.contains(&row.subscriber_id) {
                done.subscribers.push(row.subscriber_id);
            }
            keep.push(row);
        }
        if !keep.is_empty() {
            diesel::insert_into(event_delivery::table)
                .values(&keep)
                .execute(conn)?;
        }
        for (id, n) in &done.dropped {
            let name = names.get(id).map_or("", String::as_str);
            record_loss(conn, *id, name, *n, 0, "the subscriber's queue is full")?;
        }
        Ok(done)
    })
}

/// Adds to a subscriber's loss counters.
fn record_loss(
    conn: &mut MysqlConnection,
    subscriber_id: i64,
    name: &str,
    dropped: u64,
    failed: u64,
    reason: &str,
) -> QueryResult<()> {
    let reason: String = reason.chars().take(1000).collect();
    diesel::sql_query(
        "INSERT INTO event_delivery_loss (subscriber_id, system_name, dropped, failed, last_reason, updated_at) \
         VALUES (?, ?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE system_name = VALUES(system_name), \
         dropped = dropped + VALUES(dropped), failed = failed + VALUES(failed), \
         last_reason = VALUES(last_reason), updated_at = VALUES(updated_at)",
    )
    .bind::<BigInt, _>(subscriber_id)
    .bind::<Varchar, _>(name.chars().take(255).collect::<String>())
    .bind::<BigInt, _>(i64::try_from(dropped).unwrap_or(i64::MAX))
    .bind::<BigInt, _>(i64::try_from(failed).unwrap_or(i64::MAX))
    .bind::<Varchar, _>(reason)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct LeaseRow {
    #[diesel(sql_type = Varchar)]
    owner: String,
    #[diesel(sql_type = Bool)]
    expired: bool,
}

/// Takes or renews the lease on a subscriber's queue for `ttl_ms`; false when another live
/// instance holds it (or the subscriber is gone).
pub fn claim(
    conn: &mut MysqlConnection,
    subscriber_id: i64,
    owner: &str,
    ttl_ms: i64,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let held: Vec<LeaseRow> = diesel::sql_query(
            "SELECT owner, expires_at < NOW(3) AS expired FROM event_delivery_lease \
             WHERE subscriber_id = ? FOR UPDATE",
        )
        .bind::<BigInt, _>(subscriber_id)
        .load(conn)?;
        let micros = ttl_ms.saturating_mul(1000);
        match held.first() {
            None => {
                // IGNORE: a concurrent claim won the row, or the subscriber was deleted.
                let n = diesel::sql_query(
                    "INSERT IGNORE INTO event_delivery_lease (subscriber_id, owner, expires_at) \
                     VALUES (?, ?, NOW(3) + INTERVAL ? MICROSECOND)",
                )
                .bind::<BigInt, _>(subscriber_id)
                .bind::<Varchar, _>(owner)
                .bind::<BigInt, _>(micros)
                .execute(conn)?;
                Ok(n == 1)
            }
            Some(l) if l.owner == owner || l.expired => {
                diesel::sql_query(
                    "UPDATE event_delivery_lease SET owner = ?, expires_at = NOW(3) + INTERVAL ? MICROSECOND \
                     WHERE subscriber_id = ?",
                )
                .bind::<Varchar, _>(owner)
                .bind::<BigInt, _>(micros)
                .bind::<BigInt, _>(subscriber_id)
                .execute(conn)?;
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    })
}

/// Gives up the lease (only if still held by `owner`).
pub fn release(conn: &mut MysqlConnection, subscriber_id: i64, owner: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM event_delivery_lease WHERE subscriber_id = ? AND owner = ?")
        .bind::<BigInt, _>(subscriber_id)
        .bind::<Varchar, _>(owner)
        .execute(conn)?;
    Ok(())
}

/// The head of a subscriber's queue, with where to deliver it now.
#[derive(Debug, Clone, QueryableByName)]
pub struct Head {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub subscription_id: i64,
    #[diesel(sql_type = diesel::sql_types::Blob)]
    pub body: Vec<u8>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamp)]
    pub next_attempt_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub notify_uri: String,
    #[diesel(sql_type = Varchar)]
    pub system_name: String,
    #[diesel(sql_type = Varchar)]
    pub address: String,
    #[diesel(sql_type = Integer)]
    pub port: i32,
    #[diesel(sql_type = Nullable<Varchar>)]
    pub authentication_info: Option<String>,
}

/// The first `limit` events waiting for a subscriber, oldest first.
pub fn heads(conn: &mut MysqlConnection, subscriber_id: i64, limit: i64) -> QueryResult<Vec<Head>> {
    diesel::sql_query(
        "SELECT d.id, d.subscription_id, d.body, d.attempts, d.next_attempt_at, d.created_at, \
         s.notify_uri, y.system_name, y.address, y.port, y.authentication_info \
         FROM event_delivery d JOIN subscription s ON s.id = d.subscription_id \
         JOIN system_ y ON y.id = d.subscriber_id \
         WHERE d.subscriber_id = ? ORDER BY d.id LIMIT ?",
    )
    .bind::<BigInt, _>(subscriber_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// The subscriber took these events (one statement for a batch of deliveries).
pub fn delivered(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<()> {
    diesel::delete(event_delivery::table.filter(event_delivery::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

/// The attempt failed; the next one is due at `at`.
pub fn retry_at(
    conn: &mut MysqlConnection,
    id: i64,
    attempts: i32,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(event_delivery::table.find(id))
        .set((
            event_delivery::attempts.eq(attempts),
            event_delivery::next_attempt_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The event is given up: removed and counted, in one transaction.
pub fn give_up(
    conn: &mut MysqlConnection,
    head: &Head,
    subscriber_id: i64,
    reason: &str,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        let n = diesel::delete(event_delivery::table.find(head.id)).execute(conn)?;
        if n == 1 {
            record_loss(conn, subscriber_id, &head.system_name, 0, 1, reason)?;
        }
        Ok(())
    })
}

/// Subscribers with events waiting (for the sweep that adopts queues no instance works on).
pub fn waiting_subscribers(conn: &mut MysqlConnection) -> QueryResult<Vec<i64>> {
    event_delivery::table
        .select(event_delivery::subscriber_id)
        .distinct()
        .load(conn)
}

/// One subscriber's queue and losses, for management.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    QueryableByName,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SubscriberQueue {
    #[diesel(sql_type = BigInt)]
    pub subscriber_id: i64,
    #[diesel(sql_type = Varchar)]
    pub system_name: String,
    /// Events waiting now.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Events refused since the queue was full (all instances, ever).
    #[diesel(sql_type = BigInt)]
    pub dropped: i64,
    /// Events given up: refused by the subscriber, or older than the maximum age.
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = Varchar)]
    pub last_loss_reason: String,
    /// Which instance delivers to it now, if any.
    #[diesel(sql_type = Nullable<Varchar>)]
    pub delivered_by: Option<String>,
}

/// Every subscriber with events waiting or lost.
pub fn queues(conn: &mut MysqlConnection) -> QueryResult<Vec<SubscriberQueue>> {
    diesel::sql_query(
        "SELECT k.subscriber_id, COALESCE(y.system_name, l.system_name, '') AS system_name, \
         COALESCE(p.pending, 0) AS pending, COALESCE(l.dropped, 0) AS dropped, \
         COALESCE(l.failed, 0) AS failed, COALESCE(l.last_reason, '') AS last_loss_reason, \
         (SELECT owner FROM event_delivery_lease e WHERE e.subscriber_id = k.subscriber_id AND e.expires_at >= NOW(3)) AS delivered_by \
         FROM (SELECT subscriber_id FROM event_delivery UNION SELECT subscriber_id FROM event_delivery_loss) k \
         LEFT JOIN (SELECT subscriber_id, COUNT(*) AS pending FROM event_delivery GROUP BY subscriber_id) p \
           ON p.subscriber_id = k.subscriber_id \
         LEFT JOIN event_delivery_loss l ON l.subscriber_id = k.subscriber_id \
         LEFT JOIN system_ y ON y.id = k.subscriber_id \
         ORDER BY k.subscriber_id",
    )
    .load(conn)
}
