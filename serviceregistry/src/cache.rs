//! The registry's query cache: the entries of each queried definition, valid for one database
//! generation (`common::db::generation`), so it can never answer with stale data, also with
//! several registry instances (or Java systems) writing to the same database. Each lookup reads
//! the current generation — one primary-key range read instead of the five-table join — and uses
//! the cached entries only when it is unchanged. If the triggers cannot be created (the database
//! user lacks the privilege), the cache stays off and every query reads the tables.

use crate::registry;
pub use common::db::generation::{generation, GenerationReader};
use common::db::generation::{GenerationMap, REGISTRY_TABLES};
pub use common::db::registry_read::{CachedEntry, Entries};
use diesel::prelude::*;
use std::sync::Arc;

/// Bound on cached registry entries (about 1 KiB each), whatever the number of definitions they
/// belong to; the cache is emptied when it is reached. 20,000 hold a 10,000-entry registry whole
/// and keep a 100,000-entry one within twice the memory.
const MAX_ENTRIES: usize = 20_000;

/// Creates the missing generation triggers of the registry tables.
pub fn install_triggers(conn: &mut MysqlConnection) -> Result<bool, String> {
    common::db::generation::install_triggers(conn, &REGISTRY_TABLES)
}

pub struct QueryCache {
    enabled: bool,
    map: GenerationMap<String, Entries>,
}

impl QueryCache {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            map: GenerationMap::weighted(MAX_ENTRIES, |e| e.len()),
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

    /// Whether entries of the definition are held, of whatever generation.
    pub fn holds(&self, definition: &str) -> bool {
        self.enabled && self.map.holds(definition)
    }

    pub fn get(&self, generation: i64, definition: &str) -> Option<Entries> {
        self.map.get(generation, definition)
    }

    pub fn put(&self, generation: i64, definition: &str, entries: Entries) {
        self.map.put(generation, definition.to_owned(), entries);
    }
}
