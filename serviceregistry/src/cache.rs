//! A query cache that can never answer with stale data, also with several registry instances
//! (or Java systems) writing to the same database. Every cached answer is tagged with the
//! database's registry generation: `SUM(generation)` of `registry_generation`, which triggers on
//! the five registry tables raise with every row any writer changes (foreign-key cascades start
//! from a delete on one of those tables, so they are counted too). Each lookup reads the current
//! generation — one primary-key range read instead of the five-table join — and uses the cached
//! entries only when the generation is unchanged. If the triggers cannot be created (the
//! database user lacks the privilege), the cache stays off and every query reads the tables.

use crate::registry;
use common::dto::ServiceRegistryResponse;
use common::names::AddressType;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The tables whose rows make up a query answer.
const TABLES: [&str; 5] = [
    "system_",
    "service_definition",
    "service_interface",
    "service_registry",
    "service_registry_interface_connection",
];
const OPERATIONS: [(&str, &str); 3] = [("INSERT", "ins"), ("UPDATE", "upd"), ("DELETE", "del")];
/// Bound on cached definitions; the cache is emptied when it is reached.
const MAX_DEFINITIONS: usize = 50_000;

/// An entry with its provider's address type (needed by the address-type filter).
#[derive(Debug, Clone)]
pub struct CachedEntry {
    pub entry: ServiceRegistryResponse,
    pub address_type: Option<AddressType>,
}

pub type Entries = Arc<Vec<CachedEntry>>;

#[derive(Default)]
struct Inner {
    generation: i64,
    by_definition: HashMap<String, Entries>,
}

pub struct QueryCache {
    enabled: bool,
    inner: Mutex<Inner>,
}

#[derive(QueryableByName)]
struct TriggerName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn trigger_name(table: &str, op: &str) -> String {
    format!("ah_regen_{table}_{op}")
}

fn existing_triggers(conn: &mut MysqlConnection) -> QueryResult<Vec<String>> {
    let rows: Vec<TriggerName> = diesel::sql_query(
        "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Creates the missing generation triggers; returns whether all of them exist afterwards. Safe
/// when several instances start at once (a trigger created meanwhile counts as created).
pub fn install_triggers(conn: &mut MysqlConnection) -> Result<bool, String> {
    // Never create a trigger whose counter table is missing (a schema managed by the Java
    // scripts): it would make every write to the registry tables fail.
    let missing =
        common::db::missing_from(conn, &["registry_generation"]).map_err(|e| e.to_string())?;
    if !missing.is_empty() {
        return Err("table registry_generation is missing".into());
    }
    let existing = existing_triggers(conn).map_err(|e| e.to_string())?;
    let mut last_error = None;
    for table in TABLES {
        for (op, short) in OPERATIONS {
            let name = trigger_name(table, short);
            if existing.contains(&name) {
                continue;
            }
            let sql = format!(
                "CREATE TRIGGER `{name}` AFTER {op} ON `{table}` FOR EACH ROW \
                 UPDATE registry_generation SET generation = generation + 1 WHERE id = CONNECTION_ID() % 16"
            );
            if let Err(e) = conn.batch_execute(&sql) {
                last_error = Some(e.to_string());
            }
        }
    }
    let existing = existing_triggers(conn).map_err(|e| e.to_string())?;
    let complete = TABLES.iter().all(|t| {
        OPERATIONS
            .iter()
            .all(|(_, s)| existing.contains(&trigger_name(t, s)))
    });
    match (complete, last_error) {
        (true, _) => Ok(true),
        (false, Some(e)) => Err(e),
        (false, None) => Ok(false),
    }
}

/// The current registry generation.
pub fn generation(conn: &mut MysqlConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT CAST(COALESCE(SUM(generation), 0) AS SIGNED) FROM registry_generation)",
    ))
    .get_result(conn)
}

impl QueryCache {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The entries of a (normalized) service definition, from the cache when the database has
    /// not changed since they were read.
    pub fn entries(&self, conn: &mut MysqlConnection, definition: &str) -> QueryResult<Entries> {
        if !self.enabled {
            return Ok(Arc::new(registry::load_by_definition_name(
                conn, definition,
            )?));
        }
        let generation = generation(conn)?;
        if let Some(hit) = self.get(generation, definition) {
            return Ok(hit);
        }
        // Read after the generation: the data is at least as new as the generation it is
        // stored under, so a later write (a higher generation) always invalidates it.
        let loaded = Arc::new(registry::load_by_definition_name(conn, definition)?);
        self.put(generation, definition, loaded.clone());
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent; keep going.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, generation: i64, definition: &str) -> Option<Entries> {
        let inner = self.lock();
        (inner.generation == generation)
            .then(|| inner.by_definition.get(definition).cloned())
            .flatten()
    }

    pub fn put(&self, generation: i64, definition: &str, entries: Entries) {
        let mut inner = self.lock();
        if generation > inner.generation {
            inner.generation = generation;
            inner.by_definition.clear();
        }
        if generation == inner.generation {
            if inner.by_definition.len() >= MAX_DEFINITIONS {
                inner.by_definition.clear();
            }
            inner.by_definition.insert(definition.to_owned(), entries);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Entries {
        Arc::new(Vec::with_capacity(n))
    }

    #[test]
    fn only_the_current_generation_is_served() {
        let c = QueryCache::new(true);
        c.put(5, "a", entries(1));
        assert!(c.get(5, "a").is_some());
        assert!(c.get(6, "a").is_none(), "a newer generation misses");
        assert!(c.get(4, "a").is_none());
        // An answer read at an older generation is not stored over newer ones.
        c.put(4, "b", entries(1));
        assert!(c.get(4, "b").is_none() && c.get(5, "b").is_none());
        // A newer generation drops everything older.
        c.put(6, "c", entries(1));
        assert!(c.get(6, "a").is_none());
        assert!(c.get(6, "c").is_some());
    }
}

/// Reads the registry generation for many concurrent requests at once. A request may use a read
/// that *started after it arrived*: such a read reflects every write committed before the
/// request, so answers stay exactly as fresh as with a read of its own, while concurrent
/// requests share one database round trip and wait for it without occupying a blocking thread.
pub struct GenerationReader {
    pool: common::db::DbPool,
    state: Mutex<ReadState>,
    done: tokio::sync::Notify,
}

#[derive(Default)]
struct ReadState {
    /// Sequence number of the last read started / finished.
    started: u64,
    finished: u64,
    running: bool,
    /// The highest sequence number a waiting request needs.
    wanted: u64,
    last: Option<Result<i64, common::ArrowheadError>>,
}

impl GenerationReader {
    pub fn new(pool: common::db::DbPool) -> Arc<Self> {
        Arc::new(Self {
            pool,
            state: Mutex::new(ReadState::default()),
            done: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReadState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current generation, from a read that started after this call.
    pub async fn current(self: &Arc<Self>) -> Result<i64, common::ArrowheadError> {
        let need = {
            let mut s = self.lock();
            // A running read started before us; we need the next one.
            let need = s.started + 1;
            s.wanted = s.wanted.max(need);
            if !s.running {
                s.running = true;
                s.started += 1;
                actix_web::rt::spawn(self.clone().read(s.started));
            }
            need
        };
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let s = self.lock();
                if s.finished >= need {
                    if let Some(result) = &s.last {
                        return result.clone();
                    }
                }
            }
            notified.await;
        }
    }

    async fn read(self: Arc<Self>, seq: u64) {
        let result = common::db::run(&self.pool, |c| Ok(generation(c)?)).await;
        {
            let mut s = self.lock();
            s.finished = seq;
            s.last = Some(result);
            if s.wanted > seq {
                s.started += 1;
                actix_web::rt::spawn(self.clone().read(s.started));
            } else {
                s.running = false;
            }
        }
        self.done.notify_waiters();
    }
}
