//! The registry's query cache: the entries of each queried definition, valid for one database
//! generation (`common::db::generation`), so it can never answer with stale data, also with
//! several registry instances (or Java systems) writing to the same database. A lookup of a held
//! definition reads the current generation — one primary-key range read instead of the
//! five-table join — and uses the cached entries only when it is unchanged; a definition not
//! held is loaded with its generation in one statement. If the triggers cannot be created (the
//! database user lacks the privilege), the cache stays off and every query reads the tables.

pub use crate::answer::Entries;
use crate::answer::Shared;
pub use common::db::generation::{generation, GenerationReader};
use common::db::generation::{GenerationMap, REGISTRY_TABLES};
use common::db::registry_read::CachedEntry;
use diesel::prelude::*;

/// Bound on cached registry entries, whatever the number of definitions they belong to; about
/// half is evicted when it is reached. Compact entries (`crate::answer`) take about 250 bytes
/// each, so 200,000 are about 50 MiB: a registry of 100,000 entries is held whole, within twice
/// the memory of a 10,000-entry one, and answers every query without a join.
const MAX_ENTRIES: usize = 200_000;

/// Creates the missing generation triggers of the registry tables.
pub fn install_triggers(conn: &mut MysqlConnection) -> Result<bool, String> {
    common::db::generation::install_triggers(conn, &REGISTRY_TABLES)
}

/// Definitions' entries, valid for one generation. Used only when the triggers exist
/// (`AppState::generation` is set); without them every query reads the tables.
pub struct QueryCache {
    map: GenerationMap<String, Entries>,
    shared: Shared,
}

impl Default for QueryCache {
    fn default() -> Self {
        Self {
            map: GenerationMap::weighted(MAX_ENTRIES, |e| e.len()),
            shared: Shared::new(MAX_ENTRIES),
        }
    }
}

impl QueryCache {
    /// Whether entries of the definition are held, of whatever generation.
    pub fn holds(&self, definition: &str) -> bool {
        self.map.holds(definition)
    }

    pub fn get(&self, generation: i64, definition: &str) -> Option<Entries> {
        self.map.get(generation, definition)
    }

    pub fn put(&self, generation: i64, definition: &str, entries: Entries) {
        self.map.put(generation, definition.to_owned(), entries);
    }

    /// Compact entries of loaded ones, sharing providers and interfaces with those held.
    pub fn compact(&self, loaded: Vec<CachedEntry>) -> Entries {
        self.shared.compact(loaded)
    }
}
