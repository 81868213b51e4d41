//! The Orchestrator Store in the shared database (Java `OrchestratorStoreDBService`): the
//! operator's rules "consumer C uses service S through interface I from provider P, with
//! priority N". Priorities are kept dense per (consumer, service, interface) — inserting at a
//! taken priority moves the others down, deleting closes the gap — so that priority 1 is always
//! the default provider. Every change is one transaction.

use chrono::NaiveDateTime;
use common::db::models::{self, Cloud, ServiceDefinition, ServiceInterface, System};
use common::db::schema::{cloud, foreign_system, orchestrator_store as store, system_};
use common::dto::{
    format_instant, CloudResponse, ListResponse, ServiceDefinitionResponse,
    ServiceInterfaceResponse, SystemResponse,
};
use common::names::{text_to_metadata, PageParams};
use common::ArrowheadError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = store)]
pub struct StoreRow {
    pub id: i64,
    pub consumer_system_id: i64,
    pub provider_system_id: i64,
    pub foreign: i32,
    pub service_id: i64,
    pub service_interface_id: i64,
    pub priority: i32,
    pub attribute: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = foreign_system)]
pub struct ForeignSystem {
    pub id: i64,
    pub provider_cloud_id: i64,
    pub system_name: String,
    pub address: String,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub metadata: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The provider of a store entry: a system of this cloud or of another one.
#[derive(Debug, Clone)]
pub enum Provider {
    Local(System),
    Foreign(ForeignSystem, Cloud),
}

/// A store entry with everything it refers to.
#[derive(Debug, Clone)]
pub struct Entry {
    pub row: StoreRow,
    pub consumer: System,
    pub definition: ServiceDefinition,
    pub interface: ServiceInterface,
    pub provider: Provider,
}

/// Java `OrchestratorStoreResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreEntryResponse {
    pub id: i64,
    pub service_definition: ServiceDefinitionResponse,
    pub consumer_system: SystemResponse,
    pub foreign: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_cloud: Option<CloudResponse>,
    pub provider_system: SystemResponse,
    pub service_interface: ServiceInterfaceResponse,
    pub priority: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<BTreeMap<String, String>>,
    pub created_at: String,
    pub updated_at: String,
}

fn foreign_response(s: &ForeignSystem) -> SystemResponse {
    SystemResponse {
        id: s.id,
        system_name: s.system_name.clone(),
        address: s.address.clone(),
        port: s.port,
        authentication_info: s.authentication_info.clone(),
        metadata: text_to_metadata(s.metadata.as_deref()),
        created_at: format_instant(&s.created_at),
        updated_at: format_instant(&s.updated_at),
    }
}

impl Entry {
    /// The response form; local providers are shown with this cloud (`own_cloud`), as in Java.
    pub fn response(&self, own_cloud: Option<&Cloud>) -> StoreEntryResponse {
        let (provider_system, provider_cloud) = match &self.provider {
            Provider::Local(s) => (SystemResponse::from(s), own_cloud.map(CloudResponse::from)),
            Provider::Foreign(s, c) => (foreign_response(s), Some(CloudResponse::from(c))),
        };
        StoreEntryResponse {
            id: self.row.id,
            service_definition: ServiceDefinitionResponse::from(&self.definition),
            consumer_system: SystemResponse::from(&self.consumer),
            foreign: self.row.foreign != 0,
            provider_cloud,
            provider_system,
            service_interface: ServiceInterfaceResponse::from(&self.interface),
            priority: self.row.priority,
            attribute: text_to_metadata(self.row.attribute.as_deref()),
            created_at: format_instant(&self.row.created_at),
            updated_at: format_instant(&self.row.updated_at),
        }
    }
}

fn by_id<T, F: Fn(&T) -> i64>(items: Vec<T>, key: F) -> HashMap<i64, T> {
    items.into_iter().map(|i| (key(&i), i)).collect()
}

/// Resolves rows with four batched lookups; rows whose references vanished meanwhile (a
/// concurrent delete) are skipped.
pub fn resolve(conn: &mut MysqlConnection, rows: Vec<StoreRow>) -> QueryResult<Vec<Entry>> {
    use common::db::schema::{service_definition as def, service_interface as intf};
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut system_ids: Vec<i64> = rows.iter().map(|r| r.consumer_system_id).collect();
    system_ids.extend(
        rows.iter()
            .filter(|r| r.foreign == 0)
            .map(|r| r.provider_system_id),
    );
    let systems = by_id(
        system_::table
            .filter(system_::id.eq_any(&system_ids))
            .select(System::as_select())
            .load(conn)?,
        |s| s.id,
    );
    let defs = by_id(
        def::table
            .filter(def::id.eq_any(rows.iter().map(|r| r.service_id)))
            .select(ServiceDefinition::as_select())
            .load(conn)?,
        |d| d.id,
    );
    let intfs = by_id(
        intf::table
            .filter(intf::id.eq_any(rows.iter().map(|r| r.service_interface_id)))
            .select(ServiceInterface::as_select())
            .load(conn)?,
        |i| i.id,
    );
    let foreign_ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.foreign != 0)
        .map(|r| r.provider_system_id)
        .collect();
    let foreign: HashMap<i64, (ForeignSystem, Cloud)> = if foreign_ids.is_empty() {
        HashMap::new()
    } else {
        foreign_system::table
            .inner_join(cloud::table)
            .filter(foreign_system::id.eq_any(&foreign_ids))
            .select((ForeignSystem::as_select(), Cloud::as_select()))
            .load::<(ForeignSystem, Cloud)>(conn)?
            .into_iter()
            .map(|(s, c)| (s.id, (s, c)))
            .collect()
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let provider = if row.foreign != 0 {
            foreign
                .get(&row.provider_system_id)
                .map(|(s, c)| Provider::Foreign(s.clone(), c.clone()))
        } else {
            systems
                .get(&row.provider_system_id)
                .map(|s| Provider::Local(s.clone()))
        };
        let (Some(consumer), Some(definition), Some(interface), Some(provider)) = (
            systems.get(&row.consumer_system_id),
            defs.get(&row.service_id),
            intfs.get(&row.service_interface_id),
            provider,
        ) else {
            continue;
        };
        out.push(Entry {
            consumer: consumer.clone(),
            definition: definition.clone(),
            interface: interface.clone(),
            provider,
            row,
        });
    }
    Ok(out)
}

fn page_of(
    conn: &mut MysqlConnection,
    rows: Vec<StoreRow>,
    count: i64,
) -> QueryResult<ListResponse<StoreEntryResponse>> {
    let own = models::own_cloud(conn, true)?;
    Ok(ListResponse {
        data: resolve(conn, rows)?
            .iter()
            .map(|e| e.response(own.as_ref()))
            .collect(),
        count,
    })
}

/// Every entry (paged, sorted).
pub fn list(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<StoreEntryResponse>> {
    let mut q = store::table.select(StoreRow::as_select()).into_boxed();
    q = common::sorted_page!(q, store, page);
    let rows = q.load(conn)?;
    let count = store::table.count().get_result(conn)?;
    page_of(conn, rows, count)
}

/// The priority-1 entries (paged, sorted).
pub fn top_priority(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<StoreEntryResponse>> {
    let mut q = store::table
        .filter(store::priority.eq(1))
        .select(StoreRow::as_select())
        .into_boxed();
    q = common::sorted_page!(q, store, page);
    let rows = q.load(conn)?;
    let count = store::table
        .filter(store::priority.eq(1))
        .count()
        .get_result(conn)?;
    page_of(conn, rows, count)
}

/// A consumer's entries for a service, optionally only one interface (paged, sorted).
pub fn by_consumer(
    conn: &mut MysqlConnection,
    page: &PageParams,
    consumer_id: i64,
    definition: &str,
    interface: Option<&str>,
) -> Result<ListResponse<StoreEntryResponse>, ArrowheadError> {
    if models::system_by_id(conn, consumer_id)?.is_none() {
        return Err(ArrowheadError::invalid_parameter(format!(
            "Consumer system with id {consumer_id} is not available in database"
        )));
    }
    let Some(def) = models::find_service_definition(conn, definition)? else {
        return Err(ArrowheadError::invalid_parameter(format!(
            "Service definition {definition} is not available in database"
        )));
    };
    let interface_id = match interface {
        None => None,
        Some(name) => Some(
            models::find_interface(conn, name)?
                .ok_or_else(|| {
                    ArrowheadError::invalid_parameter(format!(
                        "Service interface {name} is not available in database"
                    ))
                })?
                .id,
        ),
    };
    let filtered = || {
        let mut q = store::table
            .filter(store::consumer_system_id.eq(consumer_id))
            .filter(store::service_id.eq(def.id))
            .into_boxed();
        if let Some(i) = interface_id {
            q = q.filter(store::service_interface_id.eq(i));
        }
        q
    };
    let mut q = filtered().select(StoreRow::as_select());
    q = common::sorted_page!(q, store, page);
    let rows = q.load(conn)?;
    let count = filtered().count().get_result(conn)?;
    Ok(page_of(conn, rows, count)?)
}

fn not_found(id: i64) -> ArrowheadError {
    ArrowheadError::invalid_parameter(format!("OrchestratorStore with id {id} not found."))
}

pub fn get(conn: &mut MysqlConnection, id: i64) -> Result<StoreEntryResponse, ArrowheadError> {
    let rows = store::table
        .filter(store::id.eq(id))
        .select(StoreRow::as_select())
        .load(conn)?;
    page_of(conn, rows, 1)?
        .data
        .pop()
        .ok_or_else(|| not_found(id))
}

/// A validated `POST /mgmt/store` element.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub consumer_id: i64,
    pub definition: String,
    pub interface: String,
    pub provider_name: String,
    pub provider_address: String,
    pub provider_port: i32,
    /// `(operator, name)`; `None` or this cloud: a local provider.
    pub cloud: Option<(String, String)>,
    pub priority: i32,
    pub attribute: Option<String>,
}

/// Moves the priorities of a group: `UPDATE … ORDER BY` so the unique `priority_rule` index is
/// never violated half-way (MariaDB checks it row by row).
fn shift(
    conn: &mut MysqlConnection,
    row: (i64, i64, i64),
    from: i32,
    up: bool,
) -> QueryResult<usize> {
    let sql = if up {
        "UPDATE orchestrator_store SET priority = priority + 1 WHERE service_id = ? AND service_interface_id = ? AND consumer_system_id = ? AND priority >= ? ORDER BY priority DESC"
    } else {
        "UPDATE orchestrator_store SET priority = priority - 1 WHERE service_id = ? AND service_interface_id = ? AND consumer_system_id = ? AND priority > ? ORDER BY priority ASC"
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(row.0)
        .bind::<BigInt, _>(row.1)
        .bind::<BigInt, _>(row.2)
        .bind::<Integer, _>(from)
        .execute(conn)
}

/// The provider of a new entry: a registered system of this cloud, or a system of a known
/// other cloud (recorded in `foreign_system` on first use).
fn provider_of(
    conn: &mut MysqlConnection,
    e: &NewEntry,
    own: Option<&Cloud>,
) -> Result<(i64, bool), ArrowheadError> {
    let foreign_cloud = match &e.cloud {
        None => None,
        Some((operator, name))
            if own.is_some_and(|o| o.operator == *operator && o.name == *name) =>
        {
            None
        }
        Some((operator, name)) => Some(
            cloud::table
                .filter(cloud::operator.eq(operator))
                .filter(cloud::name.eq(name))
                .select(Cloud::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| {
                    ArrowheadError::invalid_parameter(format!(
                        "Cloud with operator {operator} and name {name} is not available in database"
                    ))
                })?,
        ),
    };
    match foreign_cloud {
        None => {
            let s = models::find_system(conn, &e.provider_name, &e.provider_address, e.provider_port)?
                .ok_or_else(|| {
                    ArrowheadError::invalid_parameter(format!(
                        "Provider system with name {}, address {} and port {} is not available in database",
                        e.provider_name, e.provider_address, e.provider_port
                    ))
                })?;
            Ok((s.id, false))
        }
        Some(c) => {
            // `locking` after the upsert (see `common::first_row`).
            let find = |conn: &mut MysqlConnection, locking: bool| {
                let query = foreign_system::table
                    .filter(foreign_system::system_name.eq(&e.provider_name))
                    .filter(foreign_system::address.eq(&e.provider_address))
                    .filter(foreign_system::port.eq(e.provider_port))
                    .select(ForeignSystem::as_select());
                common::first_row!(query, conn, locking)
            };
            let s = match find(conn, false)? {
                Some(s) => s,
                None => {
                    diesel::insert_into(foreign_system::table)
                        .values((
                            foreign_system::provider_cloud_id.eq(c.id),
                            foreign_system::system_name.eq(&e.provider_name),
                            foreign_system::address.eq(&e.provider_address),
                            foreign_system::port.eq(e.provider_port),
                        ))
                        // A duplicate is left alone (a concurrent request may create the same
                        // row); not INSERT IGNORE, which would also store text the column cannot
                        // hold changed (strict mode off).
                        .on_conflict(diesel::dsl::DuplicatedKeys)
                        .do_update()
                        .set(foreign_system::id.eq(foreign_system::id))
                        .execute(conn)?;
                    // Possibly a concurrent request's row, of whatever cloud it named.
                    find(conn, true)?
                        .ok_or_else(|| ArrowheadError::internal("Database operation exception"))?
                }
            };
            if s.provider_cloud_id != c.id {
                return Err(ArrowheadError::invalid_parameter(format!(
                    "Provider system {} is known in another cloud.",
                    e.provider_name
                )));
            }
            Ok((s.id, true))
        }
    }
}

/// Creates entries, all or none. A priority already taken in the group moves the entries from
/// there on down by one (Java `saveWithPriorityCheck`).
pub fn create(
    conn: &mut MysqlConnection,
    entries: &[NewEntry],
) -> Result<ListResponse<StoreEntryResponse>, ArrowheadError> {
    conn.transaction(|conn| {
        let own = models::own_cloud(conn, true)?;
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            if models::system_by_id(conn, e.consumer_id)?.is_none() {
                return Err(ArrowheadError::invalid_parameter(format!(
                    "Consumer system with id {} is not available in database",
                    e.consumer_id
                )));
            }
            let def = models::service_definition_for(conn, &e.definition)?;
            let intf = models::interface_for(conn, &e.interface)?;
            let (provider_id, foreign) = provider_of(conn, e, own.as_ref())?;
            let group = store::table
                .filter(store::service_id.eq(def.id))
                .filter(store::service_interface_id.eq(intf.id))
                .filter(store::consumer_system_id.eq(e.consumer_id));
            let duplicate: i64 = group
                .filter(store::provider_system_id.eq(provider_id))
                .filter(store::foreign.eq(i32::from(foreign)))
                .count()
                .get_result(conn)?;
            if duplicate > 0 {
                return Err(ArrowheadError::invalid_parameter(format!(
                    "OrchestratorStore entry for consumer {}, service {}, interface {} and provider {} already exists.",
                    e.consumer_id, e.definition, e.interface, e.provider_name
                )));
            }
            let highest: Option<i32> = group.select(diesel::dsl::max(store::priority)).first(conn)?;
            // Keep priorities dense: an entry beyond the end goes right after the last one.
            let priority = e.priority.min(highest.unwrap_or(0) + 1);
            shift(conn, (def.id, intf.id, e.consumer_id), priority, true)?;
            diesel::insert_into(store::table)
                .values((
                    store::consumer_system_id.eq(e.consumer_id),
                    store::provider_system_id.eq(provider_id),
                    store::foreign.eq(i32::from(foreign)),
                    store::service_id.eq(def.id),
                    store::service_interface_id.eq(intf.id),
                    store::priority.eq(priority),
                    store::attribute.eq(&e.attribute),
                ))
                .execute(conn)?;
            let id: i64 = store::table
                .filter(store::service_id.eq(def.id))
                .filter(store::service_interface_id.eq(intf.id))
                .filter(store::consumer_system_id.eq(e.consumer_id))
                .filter(store::priority.eq(priority))
                .select(store::id)
                .first(conn)?;
            ids.push(id);
        }
        let rows = store::table
            .filter(store::id.eq_any(&ids))
            .order(store::id.asc())
            .select(StoreRow::as_select())
            .load(conn)?;
        let count = rows.len() as i64;
        Ok(page_of(conn, rows, count)?)
    })
}

/// Deletes an entry and closes the gap in its group's priorities.
pub fn delete(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    conn.transaction(|conn| {
        let row: StoreRow = store::table
            .find(id)
            .select(StoreRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))?;
        diesel::delete(store::table.find(id)).execute(conn)?;
        shift(
            conn,
            (
                row.service_id,
                row.service_interface_id,
                row.consumer_system_id,
            ),
            row.priority,
            false,
        )?;
        Ok(())
    })
}

/// Sets new priorities for all entries of one (consumer, service, interface) group at once.
pub fn modify_priorities(
    conn: &mut MysqlConnection,
    priorities: &BTreeMap<i64, i32>,
) -> Result<(), ArrowheadError> {
    let mut wanted: Vec<i32> = priorities.values().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.len() != priorities.len() || wanted.first().is_some_and(|p| *p < 1) {
        return Err(ArrowheadError::invalid_parameter(
            "Priorities must be distinct and greater than 0.",
        ));
    }
    conn.transaction(|conn| {
        let rows: Vec<StoreRow> = store::table
            .filter(store::id.eq_any(priorities.keys()))
            .select(StoreRow::as_select())
            .load(conn)?;
        if let Some(missing) = priorities.keys().find(|id| !rows.iter().any(|r| r.id == **id)) {
            return Err(not_found(*missing));
        }
        let Some(first) = rows.first() else {
            return Err(ArrowheadError::invalid_parameter("PriorityMap is empty."));
        };
        let group = (
            first.service_id,
            first.service_interface_id,
            first.consumer_system_id,
        );
        if rows
            .iter()
            .any(|r| (r.service_id, r.service_interface_id, r.consumer_system_id) != group)
        {
            return Err(ArrowheadError::invalid_parameter(
                "The given PriorityMap contains entries of different consumer, service definition and interface combinations.",
            ));
        }
        let size: i64 = store::table
            .filter(store::service_id.eq(group.0))
            .filter(store::service_interface_id.eq(group.1))
            .filter(store::consumer_system_id.eq(group.2))
            .count()
            .get_result(conn)?;
        if size != priorities.len() as i64 {
            return Err(ArrowheadError::invalid_parameter(
                "The given PriorityMap has different size than the size of consumer-serviceDefinition-interface pairs in DB",
            ));
        }
        // Out of the way first (negative values are never used), then the final values.
        for (n, id) in priorities.keys().enumerate() {
            diesel::update(store::table.find(*id))
                .set(store::priority.eq(-1 - n as i32))
                .execute(conn)?;
        }
        for (id, p) in priorities {
            diesel::update(store::table.find(*id))
                .set(store::priority.eq(*p))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The providers of a consumer's rules for a service and interface, best first, as
/// `(provider id, foreign)` (store orchestration needs nothing else).
pub fn providers_for(
    conn: &mut MysqlConnection,
    consumer_id: i64,
    definition: &str,
    interface: &str,
) -> QueryResult<Vec<(i64, bool)>> {
    use common::db::schema::{service_definition as def, service_interface as intf};
    Ok(store::table
        .inner_join(def::table)
        .inner_join(intf::table)
        .filter(store::consumer_system_id.eq(consumer_id))
        .filter(def::definition.eq(definition))
        .filter(intf::interface_name.eq(interface))
        .order(store::priority.asc())
        .select((store::provider_system_id, store::foreign))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .map(|(id, foreign)| (id, foreign != 0))
        .collect())
}

/// A consumer's priority-1 entries of every service (store orchestration without a service).
pub fn top_entries_of(conn: &mut MysqlConnection, consumer_id: i64) -> QueryResult<Vec<Entry>> {
    let rows = store::table
        .filter(store::consumer_system_id.eq(consumer_id))
        .filter(store::priority.eq(1))
        .order(store::id.asc())
        .select(StoreRow::as_select())
        .load(conn)?;
    resolve(conn, rows)
}

/// A foreign store entry's provider and its cloud.
pub fn foreign_provider(
    conn: &mut MysqlConnection,
    id: i64,
) -> QueryResult<Option<(ForeignSystem, Cloud)>> {
    foreign_system::table
        .inner_join(cloud::table)
        .filter(foreign_system::id.eq(id))
        .select((ForeignSystem::as_select(), Cloud::as_select()))
        .first(conn)
        .optional()
}
