//! The Service Registry's read path, shared by the registry and the Orchestrator's direct
//! reads so both give the same answer to the same query: query validation, loading the entries
//! of a definition with their providers and interfaces, and the Java query filters. Filtering is
//! a pure function over loaded entries so it can be tested without a database.

use crate::db::models::{self, ServiceDefinition, ServiceInterface, System};
use crate::db::schema::{
    service_definition, service_interface, service_registry,
    service_registry_interface_connection as conn_tbl, system_,
};
use crate::dto::{
    format_instant, ServiceDefinitionResponse, ServiceInterfaceResponse, ServiceQueryForm,
    ServiceRegistryResponse, SystemResponse,
};
use crate::names::{
    normalize_interface, normalize_metadata, normalize_name, text_to_metadata, AddressType,
    PageParams,
};
use crate::sorted_page;
use crate::ArrowheadError;
use chrono::NaiveDateTime;
use diesel::mysql::Mysql;
use diesel::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

fn bad(msg: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(msg).with_origin(origin)
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|v| v.trim().is_empty())
}

/// An entry with its provider's address type (needed by the address-type filter).
#[derive(Debug, Clone)]
pub struct CachedEntry {
    pub entry: ServiceRegistryResponse,
    pub address_type: Option<AddressType>,
}

pub type Entries = Arc<Vec<CachedEntry>>;

/// `service_registry.secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityType {
    NotSecure,
    Certificate,
    Token,
}

impl SecurityType {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityType::NotSecure => "NOT_SECURE",
            SecurityType::Certificate => "CERTIFICATE",
            SecurityType::Token => "TOKEN",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "NOT_SECURE" => Some(SecurityType::NotSecure),
            "CERTIFICATE" => Some(SecurityType::Certificate),
            "TOKEN" => Some(SecurityType::Token),
            _ => None,
        }
    }
}

/// A validated query form.
#[derive(Debug, Clone, Default)]
pub struct ValidQuery {
    pub definition: String,
    pub interfaces: Vec<String>,
    pub security: Vec<SecurityType>,
    pub metadata: BTreeMap<String, String>,
    pub version: Option<i32>,
    pub min_version: i32,
    pub max_version: i32,
    pub address_types: Vec<AddressType>,
    pub ping: bool,
}

impl ValidQuery {
    /// Java's query form checks; every failure is a 400 naming `origin`.
    pub fn from_form(form: &ServiceQueryForm, origin: &str) -> Result<Self, ArrowheadError> {
        if blank(&form.service_definition_requirement) {
            return Err(bad(
                "Service definition requirement is null or blank",
                origin,
            ));
        }
        let mut security = Vec::new();
        for s in form.security_requirements.iter().flatten() {
            security.push(
                SecurityType::parse(s).ok_or_else(|| {
                    bad(format!("Security type is not valid: {}", s.trim()), origin)
                })?,
            );
        }
        let mut address_types = Vec::new();
        for a in form.provider_address_type_requirements.iter().flatten() {
            address_types.push(
                AddressType::parse(a).ok_or_else(|| {
                    bad(format!("Address type is not valid: {}", a.trim()), origin)
                })?,
            );
        }
        let int = |v: Option<i64>| {
            v.map(|x| {
                i32::try_from(x).map_err(|_| bad("Version requirement is out of range.", origin))
            })
            .transpose()
        };
        Ok(ValidQuery {
            definition: normalize_name(
                form.service_definition_requirement
                    .as_deref()
                    .unwrap_or_default(),
            ),
            interfaces: form
                .interface_requirements
                .iter()
                .flatten()
                .map(|i| normalize_interface(i))
                .filter(|i| !i.is_empty())
                .collect(),
            security,
            metadata: normalize_metadata(form.metadata_requirements.as_ref())
                .map_err(|e| e.with_origin(origin))?,
            version: int(form.version_requirement)?,
            min_version: int(form.min_version_requirement)?.unwrap_or(1),
            max_version: int(form.max_version_requirement)?.unwrap_or(i32::MAX),
            address_types,
            ping: form.ping_providers,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_registry)]
pub struct EntryRow {
    pub id: i64,
    pub service_id: i64,
    pub system_id: i64,
    pub service_uri: String,
    pub end_of_validity: Option<NaiveDateTime>,
    pub secure: String,
    pub metadata: Option<String>,
    pub version: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Which entries to load.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Id(i64),
    Ids(&'a [i64]),
    Definition(i64),
    Definitions(&'a [i64]),
    Provider(i64),
    All,
}

type Boxed<'a> = service_registry::BoxedQuery<'a, Mysql>;

fn scoped<'a>(scope: Scope<'a>) -> Boxed<'a> {
    let q = service_registry::table.into_boxed();
    match scope {
        Scope::Id(id) => q.filter(service_registry::id.eq(id)),
        Scope::Ids(ids) => q.filter(service_registry::id.eq_any(ids)),
        Scope::Definition(id) => q.filter(service_registry::service_id.eq(id)),
        Scope::Definitions(ids) => q.filter(service_registry::service_id.eq_any(ids)),
        Scope::Provider(id) => q.filter(service_registry::system_id.eq(id)),
        Scope::All => q,
    }
}

/// Loads entries with their provider, definition and interfaces (three queries in all).
pub fn load(
    conn: &mut MysqlConnection,
    scope: Scope<'_>,
    page: Option<&PageParams>,
) -> QueryResult<Vec<ServiceRegistryResponse>> {
    if let Some(page) = page {
        // Sort and page on ids alone (cheap, no temporary table), then load those entries.
        let ids_q = scoped(scope).select(service_registry::id);
        let ids_q = sorted_page!(ids_q, service_registry, page);
        let ids: Vec<i64> = ids_q.load(conn)?;
        let mut rows = load_rows(conn, Scope::Ids(&ids))?;
        let pos: std::collections::HashMap<i64, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        rows.sort_by_key(|r| pos.get(&r.id).copied().unwrap_or(usize::MAX));
        return Ok(rows);
    }
    load_rows(conn, scope)
}

/// Entries joined with provider, definition and interfaces: one round trip, one row per
/// interface. A macro because the query's type is unnameable; unboxed, so diesel caches the
/// prepared statement. No ORDER BY: sorting a join over two tables with MEDIUMTEXT columns makes
/// MariaDB build an on-disk temporary table per query, so rows are ordered in Rust instead.
macro_rules! joined {
    ($($extra:expr),*) => {
        service_registry::table
            .inner_join(system_::table)
            .inner_join(service_definition::table)
            .left_join(conn_tbl::table.inner_join(service_interface::table))
            .select((
                EntryRow::as_select(),
                System::as_select(),
                ServiceDefinition::as_select(),
                conn_tbl::id.nullable(),
                Option::<ServiceInterface>::as_select(),
                $($extra,)*
            ))
    };
}

type JoinedRow = (
    EntryRow,
    System,
    ServiceDefinition,
    Option<i64>,
    Option<ServiceInterface>,
);

fn load_rows(
    conn: &mut MysqlConnection,
    scope: Scope<'_>,
) -> QueryResult<Vec<ServiceRegistryResponse>> {
    let rows: Vec<JoinedRow> = match scope {
        Scope::Id(id) => joined!().filter(service_registry::id.eq(id)).load(conn)?,
        Scope::Ids(ids) => joined!()
            .filter(service_registry::id.eq_any(ids))
            .load(conn)?,
        Scope::Definition(id) => joined!()
            .filter(service_registry::service_id.eq(id))
            .load(conn)?,
        Scope::Definitions(ids) => joined!()
            .filter(service_registry::service_id.eq_any(ids))
            .load(conn)?,
        Scope::Provider(id) => joined!()
            .filter(service_registry::system_id.eq(id))
            .load(conn)?,
        Scope::All => joined!().load(conn)?,
    };
    Ok(group_rows(rows).into_iter().map(|e| e.entry).collect())
}

/// Entries of one service definition, looked up by name in the same query, with their
/// providers' address types (for the query's address-type filter).
pub fn load_by_definition_name(
    conn: &mut MysqlConnection,
    definition: &str,
) -> QueryResult<Vec<CachedEntry>> {
    let rows: Vec<JoinedRow> = joined!()
        .filter(service_definition::definition.eq(definition))
        .load(conn)?;
    Ok(group_rows(rows))
}

/// A [`JoinedRow`] with the generation it was read at.
type JoinedRowAt = (
    EntryRow,
    System,
    ServiceDefinition,
    Option<i64>,
    Option<ServiceInterface>,
    i64,
);

/// [`load_by_definition_name`] with the registry generation read in the same statement (see
/// `generation::CurrentGeneration`): the entries belong to exactly that generation. `None`
/// when there are no entries (no row to carry it).
pub fn load_by_definition_name_at(
    conn: &mut MysqlConnection,
    definition: &str,
) -> QueryResult<(Option<i64>, Vec<CachedEntry>)> {
    let rows: Vec<JoinedRowAt> = joined!(super::generation::CurrentGeneration)
        .filter(service_definition::definition.eq(definition))
        .load(conn)?;
    let generation = rows.first().map(|r| r.5);
    let rows = rows
        .into_iter()
        .map(|(entry, system, def, link, interface, _)| (entry, system, def, link, interface))
        .collect();
    Ok((generation, group_rows(rows)))
}

/// Folds the one-row-per-interface join back into entries ordered by id, their interfaces in
/// the order they were attached.
fn group_rows(mut rows: Vec<JoinedRow>) -> Vec<CachedEntry> {
    rows.sort_unstable_by_key(|r| (r.0.id, r.3));
    let mut out: Vec<CachedEntry> = Vec::new();
    for (row, system, def, _, interface) in rows {
        if out.last().map(|e| e.entry.id) != Some(row.id) {
            let address_type = models::address_type_of(&system);
            out.push(CachedEntry {
                entry: to_response(row, &system, &def, Vec::new()),
                address_type,
            });
        }
        if let (Some(i), Some(last)) = (interface, out.last_mut()) {
            last.entry
                .interfaces
                .push(ServiceInterfaceResponse::from(&i));
        }
    }
    out
}

/// An entry row with its provider, definition and interfaces as the API shows it.
pub fn to_response(
    row: EntryRow,
    system: &System,
    def: &ServiceDefinition,
    interfaces: Vec<ServiceInterfaceResponse>,
) -> ServiceRegistryResponse {
    ServiceRegistryResponse {
        id: row.id,
        service_definition: ServiceDefinitionResponse::from(def),
        provider: SystemResponse::from(system),
        service_uri: row.service_uri,
        end_of_validity: row.end_of_validity.as_ref().map(format_instant),
        secure: row.secure,
        metadata: text_to_metadata(row.metadata.as_deref()),
        version: row.version.unwrap_or(1),
        interfaces,
        created_at: format_instant(&row.created_at),
        updated_at: format_instant(&row.updated_at),
    }
}

pub fn count(conn: &mut MysqlConnection, scope: Scope<'_>) -> QueryResult<i64> {
    scoped(scope).count().get_result(conn)
}
/// The Java query filters, in the Java order: address type, interfaces (non-matching interfaces
/// are removed from the returned entry), security, version, metadata (every requested pair,
/// exact and case-sensitive).
pub fn filter(
    entries: Vec<ServiceRegistryResponse>,
    q: &ValidQuery,
    address_types: &dyn Fn(&SystemResponse) -> Option<AddressType>,
) -> Vec<ServiceRegistryResponse> {
    entries
        .into_iter()
        .filter(|e| {
            q.address_types.is_empty()
                || address_types(&e.provider).is_some_and(|t| q.address_types.contains(&t))
        })
        .filter_map(|mut e| {
            if q.interfaces.is_empty() {
                return Some(e);
            }
            e.interfaces
                .retain(|i| q.interfaces.contains(&i.interface_name));
            (!e.interfaces.is_empty()).then_some(e)
        })
        .filter(|e| {
            q.security.is_empty()
                || SecurityType::parse(&e.secure).is_some_and(|s| q.security.contains(&s))
        })
        .filter(|e| match q.version {
            Some(v) => e.version == v,
            None => e.version >= q.min_version && e.version <= q.max_version,
        })
        .filter(|e| {
            q.metadata.is_empty()
                || e.metadata
                    .as_ref()
                    .is_some_and(|m| q.metadata.iter().all(|(k, v)| m.get(k) == Some(v)))
        })
        .collect()
}

/// The answer to a validated query from a definition's loaded entries (without the ping, which
/// only the registry does).
pub fn answer(entries: &[CachedEntry], q: &ValidQuery) -> Vec<ServiceRegistryResponse> {
    let types: std::collections::HashMap<i64, AddressType> = entries
        .iter()
        .filter_map(|e| e.address_type.map(|t| (e.entry.provider.id, t)))
        .collect();
    filter(entries.iter().map(|e| e.entry.clone()).collect(), q, &|s| {
        types.get(&s.id).copied()
    })
}
