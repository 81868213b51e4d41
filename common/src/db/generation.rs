//! Caches that can never answer with stale data, also with several instances (or Java systems)
//! writing to the same database. Triggers on every table a cached answer is made of raise
//! `registry_generation` with every row any writer changes (foreign-key cascades start from a
//! delete on one of those tables, so they are counted too). A cached answer is tagged with the
//! generation — `SUM(generation)`, one primary-key range read — it was read at, and used only
//! while the generation is unchanged. If the triggers cannot be created (the database user lacks
//! the privilege), callers keep their caches off and read the tables every time.
//!
//! One counter serves every system: the Service Registry watches the registry tables, the
//! Orchestrator those plus the intra-cloud rules and its store. A write to a table a system does
//! not read only costs that system one reload, and one counter keeps the triggers simple.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// The tables a Service Registry query answer is made of.
pub const REGISTRY_TABLES: [&str; 5] = [
    "system_",
    "service_definition",
    "service_interface",
    "service_registry",
    "service_registry_interface_connection",
];
/// The intra-cloud rules the Orchestrator checks its answers against.
pub const AUTHORIZATION_TABLES: [&str; 2] = [
    "authorization_intra_cloud",
    "authorization_intra_cloud_interface_connection",
];
/// The Orchestrator's store.
pub const STORE_TABLES: [&str; 1] = ["orchestrator_store"];
/// The clouds (the own cloud names the consumers of tokens the Orchestrator asks for).
pub const CLOUD_TABLES: [&str; 1] = ["cloud"];

const OPERATIONS: [(&str, &str); 3] = [("INSERT", "ins"), ("UPDATE", "upd"), ("DELETE", "del")];

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

/// Creates the missing generation triggers of `tables`; returns whether all of them exist
/// afterwards. Safe when several instances start at once (a trigger created meanwhile counts as
/// created).
pub fn install_triggers(conn: &mut MysqlConnection, tables: &[&str]) -> Result<bool, String> {
    // Never create a trigger whose counter table is missing (a schema managed by the Java
    // scripts): it would make every write to the watched tables fail.
    let missing = super::missing_from(conn, &["registry_generation"]).map_err(|e| e.to_string())?;
    if !missing.is_empty() {
        return Err("table registry_generation is missing".into());
    }
    let existing = existing_triggers(conn).map_err(|e| e.to_string())?;
    let mut last_error = None;
    for table in tables {
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
    let complete = tables.iter().all(|t| {
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

super::quick_tx::fixed_statement!(
    /// The generation read, kept prepared: every registry query and orchestration makes it.
    GenerationSum,
    "SELECT CAST(COALESCE(SUM(generation), 0) AS SIGNED) FROM registry_generation",
    diesel::sql_types::BigInt
);

/// The current generation as a column of another query. Read in the same statement as the rows
/// it is selected with, so from the same snapshot: those rows can be cached under exactly this
/// generation, without a round trip of its own. Fixed text, so the statement stays prepared.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct CurrentGeneration;

impl diesel::Expression for CurrentGeneration {
    type SqlType = diesel::sql_types::BigInt;
}
impl<QS> diesel::AppearsOnTable<QS> for CurrentGeneration {}
impl<QS> diesel::SelectableExpression<QS> for CurrentGeneration {}
impl<GB> diesel::expression::ValidGrouping<GB> for CurrentGeneration {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
impl diesel::query_builder::QueryFragment<diesel::mysql::Mysql> for CurrentGeneration {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::mysql::Mysql>,
    ) -> QueryResult<()> {
        out.push_sql(
            "(SELECT CAST(COALESCE(SUM(generation), 0) AS SIGNED) FROM registry_generation)",
        );
        Ok(())
    }
}

/// The current generation.
pub fn generation(conn: &mut MysqlConnection) -> QueryResult<i64> {
    GenerationSum.get_result(conn)
}

/// Values valid for one generation. A value read at an older generation than the map holds is
/// not stored; a newer generation empties the map. Bounded by `max` entries (half evicted when full),
/// so memory follows what is asked, not the size of the tables.
pub struct GenerationMap<K, V> {
    max: usize,
    /// The weight of a value against `max` (1 for a bound on entries).
    weight: fn(&V) -> usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    generation: i64,
    map: HashMap<K, V>,
    weight: usize,
}

impl<K: Eq + Hash, V: Clone> GenerationMap<K, V> {
    pub fn new(max: usize) -> Self {
        Self::weighted(max, |_| 1)
    }

    /// Bounded by the summed `weight` of the values (e.g. registry entries, so memory follows
    /// the number of entries held, whatever the number of definitions they belong to).
    pub fn weighted(max: usize, weight: fn(&V) -> usize) -> Self {
        Self {
            max,
            weight,
            inner: Mutex::new(Inner {
                generation: i64::MIN,
                map: HashMap::new(),
                weight: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave the map inconsistent; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get<Q>(&self, generation: i64, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let inner = self.lock();
        (inner.generation == generation)
            .then(|| inner.map.get(key).cloned())
            .flatten()
    }

    /// Stores a value read *after* `generation` was read: it is at least as new as that
    /// generation, so any later write (a higher generation) invalidates it. When the bound is
    /// reached about half the values (an arbitrary half: the map's order) make room, so the
    /// other half keeps answering. Dropped values are freed after the lock is released: freeing
    /// a full map takes milliseconds, which every request would otherwise wait for.
    pub fn put(&self, generation: i64, key: K, value: V) {
        let mut freed: Vec<V> = Vec::new();
        {
            let mut inner = self.lock();
            if generation > inner.generation {
                inner.generation = generation;
                freed.extend(std::mem::take(&mut inner.map).into_values());
                inner.weight = 0;
            }
            if generation == inner.generation {
                let weight = (self.weight)(&value).max(1);
                if let Some(old) = inner.map.remove(&key) {
                    inner.weight = inner.weight.saturating_sub((self.weight)(&old).max(1));
                    freed.push(old);
                }
                while inner.weight + weight > self.max && !inner.map.is_empty() {
                    let mut take = false;
                    let evicted: Vec<V> = inner
                        .map
                        .extract_if(|_, _| {
                            take = !take;
                            take
                        })
                        .map(|(_, v)| v)
                        .collect();
                    let gone: usize = evicted.iter().map(|v| (self.weight)(v).max(1)).sum();
                    inner.weight = inner.weight.saturating_sub(gone);
                    freed.extend(evicted);
                }
                inner.map.insert(key, value);
                inner.weight += weight;
            }
        }
        drop(freed);
    }

    /// Whether a value for `key` is held, of whatever generation.
    pub fn holds<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().map.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the generation for many concurrent requests at once. A request may use a read that
/// *started after it arrived*: such a read reflects every write committed before the request, so
/// answers stay exactly as fresh as with a read of its own, while concurrent requests share one
/// database round trip and wait for it without occupying a blocking thread.
pub struct GenerationReader {
    pool: super::DbPool,
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
    last: Option<Result<i64, crate::ArrowheadError>>,
}

impl GenerationReader {
    pub fn new(pool: super::DbPool) -> Arc<Self> {
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
    pub async fn current(self: &Arc<Self>) -> Result<i64, crate::ArrowheadError> {
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
        let result = super::run(&self.pool, |c| Ok(generation(c)?)).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_generation_is_served() {
        let c = GenerationMap::<String, u8>::new(10);
        c.put(5, "a".into(), 1);
        assert_eq!(c.get(5, "a"), Some(1));
        assert!(c.get(6, "a").is_none(), "a newer generation misses");
        assert!(c.get(4, "a").is_none());
        // An answer read at an older generation is not stored over newer ones.
        c.put(4, "b".into(), 1);
        assert!(c.get(4, "b").is_none() && c.get(5, "b").is_none());
        // A newer generation drops everything older.
        c.put(6, "c".into(), 1);
        assert!(c.get(6, "a").is_none());
        assert_eq!(c.get(6, "c"), Some(1));
    }

    #[test]
    fn a_weighted_bound_counts_the_values() {
        let c = GenerationMap::<u32, Vec<u8>>::weighted(10, |v| v.len());
        c.put(1, 1, vec![0; 6]);
        c.put(1, 2, vec![0; 4]);
        assert_eq!(c.len(), 2);
        c.put(1, 2, vec![0; 4]); // replacing does not count twice
        assert_eq!(c.len(), 2);
        c.put(1, 3, vec![0; 1]);
        // Full (10 of 10): one of the two made room.
        assert_eq!((c.len(), c.get(1, &3).map(|v| v.len())), (2, Some(1)));
        assert!(c.get(1, &1).is_some() != c.get(1, &2).is_some());
    }

    #[test]
    fn the_bound_evicts_half_and_keeps_the_rest() {
        let c = GenerationMap::<u32, u32>::new(4);
        for k in 0..4 {
            c.put(1, k, k);
        }
        assert_eq!(c.len(), 4);
        c.put(1, 9, 9);
        // Two of the four made room; the other two still answer, with the new one.
        assert_eq!((c.len(), c.get(1, &9)), (3, Some(9)));
        let kept: Vec<u32> = (0..4).filter(|k| c.get(1, k) == Some(*k)).collect();
        assert_eq!(kept.len(), 2, "{kept:?}");
        // A value heavier than half the bound evicts until it fits.
        let w = GenerationMap::<u32, Vec<u8>>::weighted(10, |v| v.len());
        for k in 0..5 {
            w.put(1, k, vec![0; 2]);
        }
        w.put(1, 7, vec![0; 9]);
        assert_eq!((w.len(), w.get(1, &7).map(|v| v.len())), (1, Some(9)));
    }
}
