//! The Orchestrator's reads of the registry, the intra-cloud rules and its store, straight from
//! the shared database rather than over HTTPS through the Service Registry and the
//! Authorization system. The answers are the same — the registry's own query validation and
//! filters (`common::db::registry_read`) and the Authorization system's rule check — without two
//! TLS exchanges and two more processes per orchestration, which were most of its cost.
//!
//! Everything read is cached per database generation (`common::db::generation`): one coalesced
//! read of the generation per orchestration, and a write by any instance of any system is seen
//! by the next orchestration of every instance. Used only when the database account may read
//! those tables; the Java per-system accounts may not, and then the Orchestrator asks over HTTPS
//! as Java does. The own cloud is read here too, so that a token request names its consumer's
//! cloud and the Authorization system need not read it. Without the generation triggers (no
//! privilege to create them) the tables are read on every orchestration.

use common::db::generation::{
    self, GenerationMap, GenerationReader, AUTHORIZATION_TABLES, CLOUD_TABLES, REGISTRY_TABLES,
    STORE_TABLES,
};
use common::db::models::System;
use common::db::registry_read::{self, Entries, ValidQuery};
use common::db::{self, DbPool};
use common::dto::{ServiceQueryForm, ServiceRegistryResponse};
use common::ArrowheadError;
use diesel::prelude::*;
use diesel::MysqlConnection;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

/// A system as (name, address, port), normalized as the registry stores it.
pub type SystemKey = (String, String, i32);

/// Where the registry query errors say they come from (as when the registry answers them).
const QUERY_ORIGIN: &str = "/serviceregistry/query";
/// Bounds of the caches, emptied when reached: registry entries (about 1 KiB each), and keys.
const MAX_ENTRIES: usize = 20_000;
const MAX_KEYS: usize = 100_000;

pub struct Reads {
    pool: DbPool,
    /// `None`: no triggers, so nothing is cached.
    reader: Option<Arc<GenerationReader>>,
    entries: GenerationMap<String, Entries>,
    consumers: GenerationMap<SystemKey, Option<Arc<System>>>,
    /// (consumer id, service definition id) → allowed (provider id, interface id) pairs.
    rules: GenerationMap<(i64, i64), RulePairs>,
    /// (consumer id, definition, interface) → store rules' (provider id, foreign), best first.
    store: GenerationMap<StoreKey, StoreProviders>,
    /// The own (secure) cloud's (name, operator), if the database has it.
    own_cloud: GenerationMap<(), Option<(String, String)>>,
}

type RulePairs = Arc<Vec<(i64, i64)>>;
type StoreKey = (i64, String, String);
/// A consumer's store rules for a service and interface: (provider id, foreign), best first.
pub type StoreProviders = Arc<Vec<(i64, bool)>>;

/// Every table the direct reads use (and whose triggers keep their caches valid).
fn tables() -> impl Iterator<Item = &'static str> {
    REGISTRY_TABLES
        .into_iter()
        .chain(AUTHORIZATION_TABLES)
        .chain(STORE_TABLES)
        .chain(CLOUD_TABLES)
}

/// Whether the account may read every table the direct reads use.
fn readable(conn: &mut MysqlConnection) -> bool {
    tables().all(|t| {
        diesel::sql_query(format!("SELECT 1 FROM `{t}` LIMIT 0"))
            .execute(conn)
            .is_ok()
    })
}

impl Reads {
    /// Direct reads when the account can read the tables (`None` otherwise), cached when the
    /// generation triggers of all of them exist or can be made.
    pub async fn probe(pool: &DbPool) -> Result<Option<Self>, ArrowheadError> {
        let state = db::run(pool, |c| {
            if !readable(c) {
                return Ok(None);
            }
            let tables: Vec<&str> = tables().collect();
            Ok(Some(generation::install_triggers(c, &tables).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "orchestration cache disabled: cannot create the generation triggers");
                false
            })))
        })
        .await?;
        Ok(state.map(|cached| Self::new(pool.clone(), cached)))
    }

    pub fn new(pool: DbPool, cached: bool) -> Self {
        Self {
            reader: cached.then(|| GenerationReader::new(pool.clone())),
            pool,
            entries: GenerationMap::weighted(MAX_ENTRIES, |e| e.len()),
            consumers: GenerationMap::new(MAX_KEYS),
            rules: GenerationMap::new(MAX_KEYS),
            store: GenerationMap::new(MAX_KEYS),
            own_cloud: GenerationMap::new(1),
        }
    }

    pub fn cached(&self) -> bool {
        self.reader.is_some()
    }

    /// A view of the database as of now: every read through it is at least as new as the
    /// moment it was taken.
    pub async fn snapshot(&self) -> Result<Snapshot<'_>, ArrowheadError> {
        let generation = match &self.reader {
            Some(r) => Some(r.current().await?),
            None => None,
        };
        Ok(Snapshot {
            reads: self,
            generation,
        })
    }
}

pub struct Snapshot<'a> {
    reads: &'a Reads,
    generation: Option<i64>,
}

impl Snapshot<'_> {
    async fn through<K, V, F>(
        &self,
        map: &GenerationMap<K, V>,
        key: K,
        load: F,
    ) -> Result<V, ArrowheadError>
    where
        K: Eq + Hash,
        V: Clone + Send + 'static,
        F: FnOnce(&mut MysqlConnection) -> Result<V, ArrowheadError> + Send + 'static,
    {
        if let Some(hit) = self.generation.and_then(|g| map.get(g, &key)) {
            return Ok(hit);
        }
        let value = db::run(&self.reads.pool, load).await?;
        if let Some(g) = self.generation {
            map.put(g, key, value.clone());
        }
        Ok(value)
    }

    /// The registry's answer to a query form (without `pingProviders`, which only the registry
    /// does).
    pub async fn query(
        &self,
        form: &ServiceQueryForm,
    ) -> Result<Vec<ServiceRegistryResponse>, ArrowheadError> {
        let q = ValidQuery::from_form(form, QUERY_ORIGIN)?;
        let def = q.definition.clone();
        let entries = self
            .through(&self.reads.entries, q.definition.clone(), move |c| {
                Ok(Arc::new(registry_read::load_by_definition_name(c, &def)?))
            })
            .await?;
        Ok(registry_read::answer(&entries, &q))
    }

    /// The registered system with this name, address and port.
    pub async fn system(&self, key: &SystemKey) -> Result<Option<Arc<System>>, ArrowheadError> {
        let (name, address, port) = key.clone();
        self.through(&self.reads.consumers, key.clone(), move |c| {
            Ok(common::db::models::find_system(c, &name, &address, port)?.map(Arc::new))
        })
        .await
    }

    /// What the Authorization system's intra-cloud check answers: provider id → the interfaces
    /// the consumer may use for the service. Its error for an unregistered consumer is kept.
    pub async fn allowed(
        &self,
        consumer: &SystemKey,
        service_id: i64,
    ) -> Result<BTreeMap<i64, Vec<i64>>, ArrowheadError> {
        let Some(system) = self.system(consumer).await? else {
            let (name, address, port) = consumer;
            return Err(ArrowheadError::invalid_parameter(format!(
                "Consumer with name: {name}, address: {address}, port: {port} is not exist in the database."
            )));
        };
        let consumer_id = system.id;
        let pairs = self
            .through(&self.reads.rules, (consumer_id, service_id), move |c| {
                Ok(Arc::new(rule_pairs(c, consumer_id, service_id)?))
            })
            .await?;
        let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (provider, interface) in pairs.iter() {
            out.entry(*provider).or_default().push(*interface);
        }
        Ok(out)
    }

    /// The own cloud's (name, operator): the cloud of a local consumer's tokens, which the
    /// Authorization system would otherwise read for every token request.
    pub async fn own_cloud(&self) -> Result<Option<(String, String)>, ArrowheadError> {
        self.through(&self.reads.own_cloud, (), |c| {
            Ok(common::db::models::own_cloud(c, true)?.map(|own| (own.name, own.operator)))
        })
        .await
    }

    /// The consumer's store rules for a service and interface: (provider id, foreign), best
    /// first.
    pub async fn store_providers(
        &self,
        consumer_id: i64,
        definition: &str,
        interface: &str,
    ) -> Result<StoreProviders, ArrowheadError> {
        let (def, intf) = (definition.to_owned(), interface.to_owned());
        self.through(
            &self.reads.store,
            (consumer_id, def.clone(), intf.clone()),
            move |c| {
                Ok(Arc::new(crate::store::providers_for(
                    c,
                    consumer_id,
                    &def,
                    &intf,
                )?))
            },
        )
        .await
    }
}

/// Every (provider, interface) pair of the consumer's intra-cloud rules for the service.
fn rule_pairs(
    conn: &mut MysqlConnection,
    consumer_id: i64,
    service_id: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    use common::db::schema::authorization_intra_cloud as rule;
    use common::db::schema::authorization_intra_cloud_interface_connection as rule_intf;
    rule::table
        .inner_join(rule_intf::table)
        .filter(rule::consumer_system_id.eq(consumer_id))
        .filter(rule::service_id.eq(service_id))
        .select((rule::provider_system_id, rule_intf::interface_id))
        .load(conn)
}
