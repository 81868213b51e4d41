//! The Service Registry's data layer: registry entries, systems, service definitions and
//! interfaces in the shared database (Java `ServiceRegistryDBService`). Functions take a
//! connection and validated input; every multi-step write is one transaction. Query filtering is
//! a pure function over loaded entries so it can be tested without a database.

use crate::validate::{SecurityType, ValidEntry, ValidSystem};
use chrono::NaiveDateTime;
use common::db::models::{self, ServiceDefinition, ServiceInterface, System, SystemValues};
pub use common::db::registry_read::{
    count, filter, load, load_by_definition_name, load_by_definition_name_at, EntryRow, Scope,
};
use common::db::schema::{
    service_definition, service_interface, service_registry,
    service_registry_interface_connection as conn_tbl, system_,
};
use common::dto::{
    ListResponse, ServiceDefinitionResponse, ServiceInterfaceResponse, ServiceRegistryResponse,
    SystemResponse,
};
use common::names::{metadata_to_text, AddressType, PageParams};
use common::sorted_page;
use common::ArrowheadError;
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap};

pub fn entry_by_id(
    conn: &mut MysqlConnection,
    id: i64,
) -> Result<ServiceRegistryResponse, ArrowheadError> {
    load(conn, Scope::Id(id), None)?.pop().ok_or_else(|| {
        ArrowheadError::invalid_parameter(format!(
            "Service Registry entry with id '{id}' does not exist"
        ))
    })
}

fn system_values(s: &ValidSystem) -> SystemValues {
    SystemValues {
        system_name: s.name.clone(),
        address: s.address.clone(),
        address_type: Some(s.address_type.as_str().to_owned()),
        port: s.port,
        authentication_info: s.authentication_info.clone(),
        metadata: metadata_to_text(&s.metadata),
    }
}

/// Finds the provider by (name, address, port) and overwrites its authentication info and
/// metadata with the request's (as Java does), or creates it.
fn provider_for(conn: &mut MysqlConnection, s: &ValidSystem) -> Result<System, ArrowheadError> {
    let found = models::find_system(conn, &s.name, &s.address, s.port)?;
    provider_from(conn, s, found)
}

/// [`provider_for`] with the lookup already made.
fn provider_from(
    conn: &mut MysqlConnection,
    s: &ValidSystem,
    found: Option<System>,
) -> Result<System, ArrowheadError> {
    let values = system_values(s);
    match found {
        Some(existing) => {
            if existing.authentication_info != values.authentication_info
                || existing.metadata != values.metadata
                || existing.address_type != values.address_type
            {
                diesel::update(system_::table.find(existing.id))
                    .set((
                        system_::authentication_info.eq(&values.authentication_info),
                        system_::metadata.eq(&values.metadata),
                        system_::address_type.eq(&values.address_type),
                    ))
                    .execute(conn)?;
                return models::system_by_id(conn, existing.id)?
                    .ok_or_else(|| ArrowheadError::internal("Database operation exception"));
            }
            Ok(existing)
        }
        // The row may be a concurrent registration's, stored a moment ago with its details.
        None => {
            let stored = models::insert_system(conn, &values)?;
            provider_from(conn, s, Some(stored))
        }
    }
}

fn duplicate_message(s: &ValidSystem, def: &str, uri: &str) -> String {
    format!(
        "Service Registry entry with provider: ({}, {}:{}), service definition: {def} and service URI: {uri} already exists.",
        s.name, s.address, s.port
    )
}

fn entry_exists(
    conn: &mut MysqlConnection,
    service_id: i64,
    system_id: i64,
    uri: &str,
    except: Option<i64>,
) -> QueryResult<bool> {
    let mut q = service_registry::table
        .filter(service_registry::service_id.eq(service_id))
        .filter(service_registry::system_id.eq(system_id))
        .filter(service_registry::service_uri.eq(uri))
        .select(service_registry::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(service_registry::id.ne(id));
    }
    Ok(q.first::<i64>(conn).optional()?.is_some())
}

/// Attaches the interfaces to an entry and returns them in the order attached (the order
/// queries show them in).
fn attach_interfaces(
    conn: &mut MysqlConnection,
    entry_id: i64,
    interfaces: &[String],
) -> Result<Vec<ServiceInterface>, ArrowheadError> {
    let mut attached = Vec::with_capacity(interfaces.len());
    for name in interfaces {
        attached.push(models::interface_for(conn, name)?);
    }
    let links: Vec<(i64, i64)> = attached.iter().map(|i| (entry_id, i.id)).collect();
    if !links.is_empty() {
        multi_row::Links(&links).execute(conn)?;
    }
    Ok(attached)
}

/// The definition, the provider if stored, the first interface if stored.
type KnownParts = (ServiceDefinition, Option<System>, Option<ServiceInterface>);

/// What a registration refers to, found in one round trip: the definition, and (joined to it)
/// the provider and the first interface when they exist. `None` when the definition is new.
fn known_parts(conn: &mut MysqlConnection, e: &ValidEntry) -> QueryResult<Option<KnownParts>> {
    // Owned binds: diesel's join loading wants them to outlive the borrowed request.
    let first_interface = e.interfaces.first().cloned().unwrap_or_default();
    service_definition::table
        .left_join(
            system_::table.on(system_::system_name
                .eq(e.provider.name.clone())
                .and(system_::address.eq(e.provider.address.clone()))
                .and(system_::port.eq(e.provider.port))),
        )
        .left_join(
            service_interface::table.on(service_interface::interface_name.eq(first_interface)),
        )
        .filter(service_definition::definition.eq(e.definition.clone()))
        .select((
            ServiceDefinition::as_select(),
            Option::<System>::as_select(),
            Option::<ServiceInterface>::as_select(),
        ))
        .first(conn)
        .optional()
}

/// `/mgmt` POST (and `/register` when nothing else is being written): one transaction, no
/// upsert (a duplicate is a 400, as in Java).
///
/// Registration is the registry's busiest write, so its round trips are counted: with the
/// definition, provider and interfaces already known (every registration but a system's first)
/// it is BEGIN, one joined lookup, the insert, the new row's read-back, the interface links,
/// COMMIT: six round trips (twelve before: three lookups, and diesel's BEGIN and COMMIT at
/// three round trips each, see `common::db::quick_tx`).
pub fn register(
    conn: &mut MysqlConnection,
    e: &ValidEntry,
) -> Result<ServiceRegistryResponse, ArrowheadError> {
    // A deadlock's victim runs again: concurrent registrations creating the same new
    // definitions, providers and interfaces can lose one, and the next try finds them stored.
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    loop {
        // Nothing inside opens a transaction of its own (see quick_tx).
        match common::db::quick_tx::transaction(conn, |conn| {
            write_entries(conn, std::slice::from_ref(e))
        }) {
            Err(err) if err.retryable && attempt < ATTEMPTS => attempt += 1,
            written => {
                return written?
                    .pop()
                    .ok_or_else(|| ArrowheadError::internal("Database operation exception"))
            }
        }
    }
}

/// Registrations that arrived together (see `group_commit`): all in one transaction with the
/// same six round trips as one registration, the statements taking every entry at once. If
/// anything fails (a duplicate, a constraint, a lost certification on a Galera cluster), that
/// transaction is rolled back and each entry is registered alone, so each gets exactly the
/// answer it would have got by itself.
pub fn register_all(
    conn: &mut MysqlConnection,
    entries: &[ValidEntry],
) -> Vec<Result<ServiceRegistryResponse, ArrowheadError>> {
    if entries.len() > 1 {
        match common::db::quick_tx::transaction(conn, |conn| write_entries(conn, entries)) {
            Ok(written) => return written.into_iter().map(Ok).collect(),
            Err(e) => tracing::debug!(error = %e.message, entries = entries.len(),
                "a group of registrations is written one by one"),
        }
    }
    entries.iter().map(|e| register(conn, e)).collect()
}

/// What the registrations of one transaction refer to, as read or written in it (keyed by the
/// request's normalized names): the entries of a group mostly share them.
#[derive(Default)]
struct Known {
    definitions: HashMap<String, ServiceDefinition>,
    providers: HashMap<(String, String, i32), System>,
    interfaces: HashMap<String, ServiceInterface>,
}

/// The definition, the provider (its details updated to the request's) and the interfaces of
/// a registration, found or created.
fn parts(
    conn: &mut MysqlConnection,
    e: &ValidEntry,
    known: &mut Known,
) -> Result<(ServiceDefinition, System, Vec<ServiceInterface>), ArrowheadError> {
    let key = (
        e.provider.name.clone(),
        e.provider.address.clone(),
        e.provider.port,
    );
    let all_known = known.definitions.contains_key(&e.definition)
        && known.providers.contains_key(&key)
        && e.interfaces
            .first()
            .is_none_or(|i| known.interfaces.contains_key(i));
    // Whether the provider was looked for (and so is missing when not known).
    let mut provider_looked_up = known.providers.contains_key(&key);
    if !all_known {
        if let Some((def, system, interface)) = known_parts(conn, e)? {
            known.definitions.insert(e.definition.clone(), def);
            provider_looked_up = true;
            if let Some(s) = system {
                known.providers.insert(key.clone(), s);
            }
            if let (Some(i), Some(name)) = (interface, e.interfaces.first()) {
                known.interfaces.insert(name.clone(), i);
            }
        }
    }
    let def = match known.definitions.get(&e.definition) {
        Some(d) => d.clone(),
        None => {
            let d = models::service_definition_for(conn, &e.definition)?;
            known.definitions.insert(e.definition.clone(), d.clone());
            d
        }
    };
    let provider = if provider_looked_up {
        provider_from(conn, &e.provider, known.providers.get(&key).cloned())?
    } else {
        provider_for(conn, &e.provider)?
    };
    known.providers.insert(key, provider.clone());
    let mut interfaces = Vec::with_capacity(e.interfaces.len());
    for name in &e.interfaces {
        let i = match known.interfaces.get(name) {
            Some(i) => i.clone(),
            None => {
                let i = models::interface_for(conn, name)?;
                known.interfaces.insert(name.clone(), i.clone());
                i
            }
        };
        interfaces.push(i);
    }
    Ok((def, provider, interfaces))
}

/// Writes the entries inside the caller's transaction, with one statement for all entries,
/// one read-back of them, one for all interface links. A duplicate answers with the message
/// of the first entry (exact for one entry; a group is written one by one after any error).
fn write_entries(
    conn: &mut MysqlConnection,
    entries: &[ValidEntry],
) -> Result<Vec<ServiceRegistryResponse>, ArrowheadError> {
    let mut known = Known::default();
    let mut parts_of = Vec::with_capacity(entries.len());
    for e in entries {
        parts_of.push(parts(conn, e, &mut known)?);
    }
    let rows: Vec<multi_row::NewEntry<'_>> = entries
        .iter()
        .zip(&parts_of)
        .map(|(e, (def, provider, _))| multi_row::NewEntry {
            service_id: def.id,
            system_id: provider.id,
            service_uri: &e.service_uri,
            end_of_validity: e.end_of_validity,
            secure: e.secure.as_str(),
            metadata: metadata_to_text(&e.metadata),
            version: e.version,
        })
        .collect();
    // No existence pre-check: the unique key answers a duplicate in the same round trip, also
    // when the same registration arrives twice at once.
    match multi_row::Insert(&rows).execute(conn) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            let e = &entries[0];
            return Err(ArrowheadError::invalid_parameter(duplicate_message(
                &e.provider,
                &e.definition,
                &e.service_uri,
            )));
        }
        other => {
            other?;
        }
    }
    // The new rows (their ids and the database's timestamps), found by their unique key; the
    // answers are built from the rows at hand instead of reading the entries back through the
    // join. (MariaDB's `INSERT ... RETURNING` would save this round trip, but its prepared
    // form reports no result metadata to the client library, which diesel needs.)
    let stored = multi_row::load_by_keys(conn, &rows)?;
    let mut ordered = Vec::with_capacity(rows.len());
    for r in &rows {
        let row = stored
            .iter()
            .find(|s| {
                s.service_id == r.service_id
                    && s.system_id == r.system_id
                    && s.service_uri == r.service_uri
            })
            .cloned()
            .ok_or_else(|| ArrowheadError::internal("Database operation exception"))?;
        ordered.push(row);
    }
    let links: Vec<(i64, i64)> = ordered
        .iter()
        .zip(&parts_of)
        .flat_map(|(row, (_, _, interfaces))| interfaces.iter().map(|i| (row.id, i.id)))
        .collect();
    if !links.is_empty() {
        multi_row::Links(&links).execute(conn)?;
    }
    Ok(ordered
        .into_iter()
        .zip(parts_of)
        .map(|(row, (def, provider, interfaces))| {
            let interfaces = interfaces
                .iter()
                .map(ServiceInterfaceResponse::from)
                .collect();
            common::db::registry_read::to_response(row, &provider, &def, interfaces)
        })
        .collect())
}

/// Statements over several entries that diesel still keeps prepared: its own multi-row insert
/// and `IN` lists are prepared and closed again on every use (two round trips), while a
/// statement without a static id whose text is safe to cache is kept per text, that is per
/// number of entries.
mod multi_row {
    use super::EntryRow;
    use chrono::NaiveDateTime;
    use common::db::schema::service_registry;
    use diesel::mysql::{Mysql, MysqlConnection};
    use diesel::prelude::*;
    use diesel::query_builder::{AstPass, QueryFragment, QueryId};
    use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

    pub struct NewEntry<'a> {
        pub service_id: i64,
        pub system_id: i64,
        pub service_uri: &'a str,
        pub end_of_validity: Option<NaiveDateTime>,
        pub secure: &'a str,
        pub metadata: Option<String>,
        pub version: i32,
    }

    /// `INSERT INTO service_registry ... VALUES (...), (...)`.
    pub struct Insert<'a, 'e>(pub &'a [NewEntry<'e>]);

    impl QueryFragment<Mysql> for Insert<'_, '_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
            out.push_sql(
                "INSERT INTO `service_registry` (`service_id`, `system_id`, `service_uri`, \
                 `end_of_validity`, `secure`, `metadata`, `version`) VALUES ",
            );
            for (n, r) in self.0.iter().enumerate() {
                out.push_sql(if n == 0 { "(" } else { ", (" });
                out.push_bind_param::<BigInt, _>(&r.service_id)?;
                out.push_sql(", ");
                out.push_bind_param::<BigInt, _>(&r.system_id)?;
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(&r.service_uri)?;
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Timestamp>, _>(&r.end_of_validity)?;
                out.push_sql(", ");
                out.push_bind_param::<Text, _>(&r.secure)?;
                out.push_sql(", ");
                out.push_bind_param::<Nullable<Text>, _>(&r.metadata)?;
                out.push_sql(", ");
                out.push_bind_param::<Integer, _>(&r.version)?;
                out.push_sql(")");
            }
            Ok(())
        }
    }

    /// `INSERT INTO service_registry_interface_connection ... VALUES (entry, interface), ...`.
    pub struct Links<'a>(pub &'a [(i64, i64)]);

    impl QueryFragment<Mysql> for Links<'_> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
            out.push_sql(
                "INSERT INTO `service_registry_interface_connection` \
                 (`service_registry_id`, `interface_id`) VALUES ",
            );
            for (n, (entry, interface)) in self.0.iter().enumerate() {
                out.push_sql(if n == 0 { "(" } else { ", (" });
                out.push_bind_param::<BigInt, _>(entry)?;
                out.push_sql(", ");
                out.push_bind_param::<BigInt, _>(interface)?;
                out.push_sql(")");
            }
            Ok(())
        }
    }

    // No static id: diesel keeps these prepared by their text.
    impl QueryId for Insert<'_, '_> {
        type QueryId = ();
        const HAS_STATIC_QUERY_ID: bool = false;
    }
    impl RunQueryDsl<MysqlConnection> for Insert<'_, '_> {}
    impl QueryId for Links<'_> {
        type QueryId = ();
        const HAS_STATIC_QUERY_ID: bool = false;
    }
    impl RunQueryDsl<MysqlConnection> for Links<'_> {}

    type Condition = Box<
        dyn BoxableExpression<service_registry::table, Mysql, SqlType = diesel::sql_types::Bool>,
    >;

    /// The rows of `entries` by their unique key (definition, provider, URI), in any order.
    pub fn load_by_keys(
        conn: &mut MysqlConnection,
        entries: &[NewEntry<'_>],
    ) -> QueryResult<Vec<EntryRow>> {
        let key = |r: &NewEntry<'_>| -> Condition {
            Box::new(
                service_registry::service_id
                    .eq(r.service_id)
                    .and(service_registry::system_id.eq(r.system_id))
                    .and(service_registry::service_uri.eq(r.service_uri.to_owned())),
            )
        };
        let Some((first, rest)) = entries.split_first() else {
            return Ok(Vec::new());
        };
        let condition = rest
            .iter()
            .fold(key(first), |all, r| Box::new(all.or(key(r))));
        service_registry::table
            .select(EntryRow::as_select())
            .filter(condition)
            .load(conn)
    }
}
/// `/mgmt/{id}` PUT: replaces every field of the entry.
pub fn replace(
    conn: &mut MysqlConnection,
    id: i64,
    e: &ValidEntry,
) -> Result<ServiceRegistryResponse, ArrowheadError> {
    conn.transaction(|conn| {
        if !exists(conn, id)? {
            return Err(not_found_entry(id));
        }
        let def = models::service_definition_for(conn, &e.definition)?;
        let provider = provider_for(conn, &e.provider)?;
        if entry_exists(conn, def.id, provider.id, &e.service_uri, Some(id))? {
            return Err(ArrowheadError::invalid_parameter(duplicate_message(
                &e.provider,
                &e.definition,
                &e.service_uri,
            )));
        }
        diesel::update(service_registry::table.find(id))
            .set((
                service_registry::service_id.eq(def.id),
                service_registry::system_id.eq(provider.id),
                service_registry::service_uri.eq(&e.service_uri),
                service_registry::end_of_validity.eq(e.end_of_validity),
                service_registry::secure.eq(e.secure.as_str()),
                service_registry::metadata.eq(metadata_to_text(&e.metadata)),
                service_registry::version.eq(Some(e.version)),
            ))
            .execute(conn)?;
        diesel::delete(conn_tbl::table.filter(conn_tbl::service_registry_id.eq(id)))
            .execute(conn)?;
        attach_interfaces(conn, id, &e.interfaces)?;
        entry_by_id(conn, id)
    })
}

/// The fields of a PATCH, validated; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct EntryPatch {
    pub definition: Option<String>,
    pub provider_name: Option<String>,
    pub provider_address: Option<(String, AddressType)>,
    pub provider_port: Option<i32>,
    pub provider_auth: Option<String>,
    pub provider_metadata: Option<BTreeMap<String, String>>,
    pub service_uri: Option<String>,
    pub end_of_validity: Option<NaiveDateTime>,
    pub secure: Option<SecurityType>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub version: Option<i32>,
    pub interfaces: Option<Vec<String>>,
}

/// `/mgmt/{id}` PATCH: merges the given fields into the stored entry.
pub fn patch(
    conn: &mut MysqlConnection,
    id: i64,
    p: &EntryPatch,
    secure_mode: bool,
) -> Result<ServiceRegistryResponse, ArrowheadError> {
    conn.transaction(|conn| {
        let current = entry_by_id(conn, id)?;
        let definition = p
            .definition
            .clone()
            .unwrap_or_else(|| current.service_definition.service_definition.clone());
        let cur = &current.provider;
        let (address, address_type) = match &p.provider_address {
            Some((a, t)) => (a.clone(), *t),
            None => {
                let t = models::system_by_id(conn, cur.id)?
                    .as_ref()
                    .and_then(models::address_type_of)
                    .unwrap_or(AddressType::Hostname);
                (cur.address.clone(), t)
            }
        };
        let provider = ValidSystem {
            name: p
                .provider_name
                .clone()
                .unwrap_or_else(|| cur.system_name.clone()),
            address,
            address_type,
            port: p.provider_port.unwrap_or(cur.port),
            authentication_info: p
                .provider_auth
                .clone()
                .or_else(|| cur.authentication_info.clone()),
            metadata: p
                .provider_metadata
                .clone()
                .or_else(|| cur.metadata.clone())
                .unwrap_or_default(),
        };
        let secure = p.secure.unwrap_or_else(|| {
            SecurityType::parse(&current.secure).unwrap_or(SecurityType::NotSecure)
        });
        let policy = crate::validate::Policy {
            secure: secure_mode,
            ..Default::default()
        };
        crate::validate::check_security(secure, &provider, &policy, "").map_err(|mut e| {
            e.origin = None;
            e
        })?;
        let merged = ValidEntry {
            definition,
            provider,
            service_uri: p
                .service_uri
                .clone()
                .unwrap_or_else(|| current.service_uri.clone()),
            end_of_validity: p.end_of_validity.or_else(|| {
                current
                    .end_of_validity
                    .as_deref()
                    .and_then(common::dto::parse_instant)
            }),
            secure,
            metadata: p
                .metadata
                .clone()
                .or_else(|| current.metadata.clone())
                .unwrap_or_default(),
            version: p.version.unwrap_or(current.version),
            interfaces: p
                .interfaces
                .clone()
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| {
                    current
                        .interfaces
                        .iter()
                        .map(|i| i.interface_name.clone())
                        .collect()
                }),
        };
        replace(conn, id, &merged)
    })
}

fn exists(conn: &mut MysqlConnection, id: i64) -> QueryResult<bool> {
    Ok(service_registry::table
        .find(id)
        .select(service_registry::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

fn not_found_entry(id: i64) -> ArrowheadError {
    ArrowheadError::invalid_parameter(format!(
        "Service Registry entry with id '{id}' does not exist"
    ))
}

pub fn delete_entry(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    if diesel::delete(service_registry::table.find(id)).execute(conn)? == 0 {
        return Err(not_found_entry(id));
    }
    Ok(())
}

/// `/unregister`.
pub fn unregister(
    conn: &mut MysqlConnection,
    def: &str,
    name: &str,
    address: &str,
    port: i32,
    uri: Option<&str>,
) -> Result<(), ArrowheadError> {
    conn.transaction(|conn| {
        let d = models::find_service_definition(conn, def)?
            .ok_or_else(|| ArrowheadError::invalid_parameter(format!("No service exists with definition {def}")))?;
        let s = models::find_system(conn, name, address, port)?.ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!("No system with name: {name}, address: {address} and port: {port} exists."))
        })?;
        let entries = service_registry::table
            .filter(service_registry::service_id.eq(d.id))
            .filter(service_registry::system_id.eq(s.id));
        let n = match uri {
            Some(uri) => diesel::delete(entries.filter(service_registry::service_uri.eq(uri))).execute(conn)?,
            None => diesel::delete(entries).execute(conn)?,
        };
        if n == 0 {
            return Err(ArrowheadError::invalid_parameter(match uri {
                Some(uri) => format!(
                    "No Service Registry entry with provider: ({name}, {address}:{port}), service definition: {def} and service URI: {uri} exists."
                ),
                None => format!(
                    "No Service Registry entry with provider: ({name}, {address}:{port}) and service definition: {def} exists."
                ),
            }));
        }
        Ok(())
    })
}

// ---- systems ----

fn systems_page(conn: &mut MysqlConnection, page: &PageParams) -> QueryResult<Vec<System>> {
    let mut q = system_::table.select(System::as_select()).into_boxed();
    q = sorted_page!(q, system_, page, "systemName" => system_name);
    q.load(conn)
}

pub fn list_systems(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<SystemResponse>> {
    let data: Vec<SystemResponse> = systems_page(conn, page)?
        .iter()
        .map(SystemResponse::from)
        .collect();
    let count = system_::table.count().get_result(conn)?;
    Ok(ListResponse { data, count })
}

pub fn system_by_id(conn: &mut MysqlConnection, id: i64) -> Result<System, ArrowheadError> {
    models::system_by_id(conn, id)?
        .ok_or_else(|| ArrowheadError::invalid_parameter(format!("System with id {id} not found.")))
}

pub fn system_by_triple(
    conn: &mut MysqlConnection,
    s: &ValidSystem,
) -> Result<System, ArrowheadError> {
    models::find_system(conn, &s.name, &s.address, s.port)?.ok_or_else(|| {
        ArrowheadError::invalid_parameter(format!(
            "System with name: {}, address: {}, port: {} not exists.",
            s.name, s.address, s.port
        ))
    })
}

fn system_conflict(s: &ValidSystem) -> ArrowheadError {
    ArrowheadError::invalid_parameter(format!(
        "System with name: {}, address: {}, port: {} already exists.",
        s.name, s.address, s.port
    ))
}

pub fn create_system(
    conn: &mut MysqlConnection,
    s: &ValidSystem,
) -> Result<System, ArrowheadError> {
    conn.transaction(|conn| {
        if models::find_system(conn, &s.name, &s.address, s.port)?.is_some() {
            return Err(system_conflict(s));
        }
        models::insert_system(conn, &system_values(s))
    })
}

/// PUT and (merged) PATCH of a system.
pub fn update_system(
    conn: &mut MysqlConnection,
    id: i64,
    s: &ValidSystem,
) -> Result<System, ArrowheadError> {
    conn.transaction(|conn| {
        system_by_id(conn, id)?;
        if models::find_system(conn, &s.name, &s.address, s.port)?
            .is_some_and(|other| other.id != id)
        {
            return Err(system_conflict(s));
        }
        diesel::update(system_::table.find(id))
            .set(&system_values(s))
            .execute(conn)?;
        system_by_id(conn, id)
    })
}

pub fn delete_system(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    if diesel::delete(system_::table.find(id)).execute(conn)? == 0 {
        return Err(ArrowheadError::invalid_parameter(format!(
            "System with id {id} not found."
        )));
    }
    Ok(())
}

/// `/unregister-system`: removes the system and (by cascade) its services.
pub fn unregister_system(
    conn: &mut MysqlConnection,
    name: &str,
    address: &str,
    port: i32,
) -> Result<(), ArrowheadError> {
    let n = diesel::delete(
        system_::table
            .filter(system_::system_name.eq(name))
            .filter(system_::address.eq(address))
            .filter(system_::port.eq(port)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(ArrowheadError::invalid_parameter(format!(
            "System with name: {name}, address: {address}, port: {port} not exists."
        )));
    }
    Ok(())
}

// ---- service definitions ----

pub fn list_definitions(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<ServiceDefinitionResponse>> {
    let mut q = service_definition::table
        .select(ServiceDefinition::as_select())
        .into_boxed();
    q = sorted_page!(q, service_definition, page);
    let data = q
        .load::<ServiceDefinition>(conn)?
        .iter()
        .map(ServiceDefinitionResponse::from)
        .collect();
    Ok(ListResponse {
        data,
        count: service_definition::table.count().get_result(conn)?,
    })
}

pub fn definition_by_id(
    conn: &mut MysqlConnection,
    id: i64,
) -> Result<ServiceDefinition, ArrowheadError> {
    service_definition::table
        .find(id)
        .select(ServiceDefinition::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Service definition with id of '{id}' does not exist"
            ))
        })
}

pub fn create_definition(
    conn: &mut MysqlConnection,
    def: &str,
) -> Result<ServiceDefinition, ArrowheadError> {
    conn.transaction(|conn| {
        if models::find_service_definition(conn, def)?.is_some() {
            return Err(ArrowheadError::invalid_parameter(format!(
                "{def} definition already exists"
            )));
        }
        models::service_definition_for(conn, def)
    })
}

pub fn update_definition(
    conn: &mut MysqlConnection,
    id: i64,
    def: &str,
) -> Result<ServiceDefinition, ArrowheadError> {
    conn.transaction(|conn| {
        definition_by_id(conn, id)?;
        if models::find_service_definition(conn, def)?.is_some_and(|d| d.id != id) {
            return Err(ArrowheadError::invalid_parameter(format!(
                "{def} definition already exists"
            )));
        }
        diesel::update(service_definition::table.find(id))
            .set(service_definition::definition.eq(def))
            .execute(conn)?;
        definition_by_id(conn, id)
    })
}

pub fn delete_definition(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    if diesel::delete(service_definition::table.find(id)).execute(conn)? == 0 {
        return Err(ArrowheadError::invalid_parameter(format!(
            "Service definition with id of '{id}' does not exist"
        )));
    }
    Ok(())
}

pub fn definition_ids(conn: &mut MysqlConnection, defs: &[String]) -> QueryResult<Vec<i64>> {
    service_definition::table
        .filter(service_definition::definition.eq_any(defs))
        .select(service_definition::id)
        .load(conn)
}

// ---- interfaces ----

pub fn list_interfaces(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<ServiceInterfaceResponse>> {
    let mut q = service_interface::table
        .select(ServiceInterface::as_select())
        .into_boxed();
    q = sorted_page!(q, service_interface, page);
    let data = q
        .load::<ServiceInterface>(conn)?
        .iter()
        .map(ServiceInterfaceResponse::from)
        .collect();
    Ok(ListResponse {
        data,
        count: service_interface::table.count().get_result(conn)?,
    })
}

pub fn interface_by_id(
    conn: &mut MysqlConnection,
    id: i64,
) -> Result<ServiceInterface, ArrowheadError> {
    service_interface::table
        .find(id)
        .select(ServiceInterface::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Service interface with id of '{id}' does not exist"
            ))
        })
}

pub fn create_interface(
    conn: &mut MysqlConnection,
    name: &str,
) -> Result<ServiceInterface, ArrowheadError> {
    conn.transaction(|conn| {
        if models::find_interface(conn, name)?.is_some() {
            return Err(ArrowheadError::invalid_parameter(format!(
                "{name} interface already exists"
            )));
        }
        models::interface_for(conn, name)
    })
}

pub fn update_interface(
    conn: &mut MysqlConnection,
    id: i64,
    name: &str,
) -> Result<ServiceInterface, ArrowheadError> {
    conn.transaction(|conn| {
        interface_by_id(conn, id)?;
        if models::find_interface(conn, name)?.is_some_and(|i| i.id != id) {
            return Err(ArrowheadError::invalid_parameter(format!(
                "{name} interface already exists"
            )));
        }
        diesel::update(service_interface::table.find(id))
            .set(service_interface::interface_name.eq(name))
            .execute(conn)?;
        interface_by_id(conn, id)
    })
}

pub fn delete_interface(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    if diesel::delete(service_interface::table.find(id)).execute(conn)? == 0 {
        return Err(ArrowheadError::invalid_parameter(format!(
            "Service interface with id of '{id}' does not exist"
        )));
    }
    Ok(())
}

// ---- grouped view ----

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IdValue {
    pub id: i64,
    pub value: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoCompleteData {
    pub service_list: Vec<IdValue>,
    pub system_list: Vec<SystemResponse>,
    pub interface_list: Vec<IdValue>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicesGroupedBySystem {
    pub system_id: i64,
    pub system_name: String,
    pub address: String,
    pub port: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    pub services: Vec<ServiceRegistryResponse>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServicesGroupedByDefinition {
    pub service_definition_id: i64,
    pub service_definition: String,
    pub provider_services: Vec<ServiceRegistryResponse>,
}

/// Java `ServiceRegistryGroupedResponseDTO`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Grouped {
    pub services_grouped_by_systems: Vec<ServicesGroupedBySystem>,
    pub services_grouped_by_service_definition: Vec<ServicesGroupedByDefinition>,
    pub auto_complete_data: AutoCompleteData,
}

pub fn grouped(conn: &mut MysqlConnection) -> QueryResult<Grouped> {
    conn.transaction(|conn| {
        let entries = load(conn, Scope::All, None)?;
        let systems: Vec<System> = system_::table
            .select(System::as_select())
            .order(system_::id.asc())
            .load(conn)?;
        let defs: Vec<ServiceDefinition> = service_definition::table
            .select(ServiceDefinition::as_select())
            .order(service_definition::id.asc())
            .load(conn)?;
        let intfs: Vec<ServiceInterface> = service_interface::table
            .select(ServiceInterface::as_select())
            .order(service_interface::id.asc())
            .load(conn)?;
        let mut by_system: Vec<ServicesGroupedBySystem> = Vec::new();
        let mut by_def: Vec<ServicesGroupedByDefinition> = Vec::new();
        for e in &entries {
            match by_system.iter_mut().find(|g| g.system_id == e.provider.id) {
                Some(g) => g.services.push(e.clone()),
                None => by_system.push(ServicesGroupedBySystem {
                    system_id: e.provider.id,
                    system_name: e.provider.system_name.clone(),
                    address: e.provider.address.clone(),
                    port: e.provider.port,
                    metadata: e.provider.metadata.clone(),
                    services: vec![e.clone()],
                }),
            }
            match by_def
                .iter_mut()
                .find(|g| g.service_definition_id == e.service_definition.id)
            {
                Some(g) => g.provider_services.push(e.clone()),
                None => by_def.push(ServicesGroupedByDefinition {
                    service_definition_id: e.service_definition.id,
                    service_definition: e.service_definition.service_definition.clone(),
                    provider_services: vec![e.clone()],
                }),
            }
        }
        Ok(Grouped {
            services_grouped_by_systems: by_system,
            services_grouped_by_service_definition: by_def,
            auto_complete_data: AutoCompleteData {
                service_list: defs
                    .iter()
                    .map(|d| IdValue {
                        id: d.id,
                        value: d.service_definition.clone(),
                    })
                    .collect(),
                system_list: systems.iter().map(SystemResponse::from).collect(),
                interface_list: intfs
                    .iter()
                    .map(|i| IdValue {
                        id: i.id,
                        value: i.interface_name.clone(),
                    })
                    .collect(),
            },
        })
    })
}

// ---- housekeeping ----

/// Removes entries whose end of validity has passed (the optional TTL task).
pub fn delete_expired(conn: &mut MysqlConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(service_registry::table.filter(service_registry::end_of_validity.le(now)))
        .execute(conn)
}

/// Re-registers the Service Registry's own services, replacing those of earlier runs (Java
/// `ServiceRegistryApplicationInitListener`).
pub fn register_own_services(
    conn: &mut MysqlConnection,
    provider: &ValidSystem,
    secure: bool,
) -> Result<(), ArrowheadError> {
    conn.transaction(|conn| {
        diesel::delete(system_::table.filter(system_::system_name.eq(&provider.name)))
            .execute(conn)?;
        for svc in common::core_services::of(common::identity::CoreSystem::ServiceRegistry) {
            let entry = ValidEntry {
                definition: svc.definition.to_owned(),
                provider: provider.clone(),
                service_uri: svc.uri.to_owned(),
                end_of_validity: None,
                secure: if secure {
                    SecurityType::Certificate
                } else {
                    SecurityType::NotSecure
                },
                metadata: BTreeMap::new(),
                version: 1,
                interfaces: vec![if secure {
                    "HTTP-SECURE-JSON"
                } else {
                    "HTTP-INSECURE-JSON"
                }
                .to_owned()],
            };
            register(conn, &entry)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::ValidQuery;

    fn entry(
        id: i64,
        secure: &str,
        version: i32,
        intfs: &[&str],
        meta: &[(&str, &str)],
    ) -> ServiceRegistryResponse {
        let t = "2024-01-01T00:00:00Z".to_owned();
        ServiceRegistryResponse {
            id,
            service_definition: ServiceDefinitionResponse {
                id: 1,
                service_definition: "temp".into(),
                created_at: t.clone(),
                updated_at: t.clone(),
            },
            provider: SystemResponse {
                id,
                system_name: format!("p{id}"),
                address: "10.0.0.1".into(),
                port: 80,
                authentication_info: None,
                metadata: None,
                created_at: t.clone(),
                updated_at: t.clone(),
            },
            service_uri: "/".into(),
            end_of_validity: None,
            secure: secure.into(),
            metadata: (!meta.is_empty()).then(|| {
                meta.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            version,
            interfaces: intfs
                .iter()
                .enumerate()
                .map(|(i, n)| ServiceInterfaceResponse {
                    id: i as i64,
                    interface_name: n.to_string(),
                    created_at: t.clone(),
                    updated_at: t.clone(),
                })
                .collect(),
            created_at: t.clone(),
            updated_at: t,
        }
    }

    fn ids(v: &[ServiceRegistryResponse]) -> Vec<i64> {
        v.iter().map(|e| e.id).collect()
    }

    #[test]
    fn filters_follow_java_semantics() {
        let all = vec![
            entry(
                1,
                "NOT_SECURE",
                1,
                &["HTTP-SECURE-JSON", "HTTP-SECURE-XML"],
                &[("unit", "C")],
            ),
            entry(
                2,
                "CERTIFICATE",
                2,
                &["HTTP-SECURE-XML"],
                &[("unit", "C"), ("x", "y")],
            ),
            entry(3, "TOKEN", 3, &["COAP-SECURE-CBOR"], &[]),
        ];
        let none = |_: &SystemResponse| None;
        let q = |f: &dyn Fn(&mut ValidQuery)| {
            let mut q = ValidQuery {
                min_version: 1,
                max_version: i32::MAX,
                ..Default::default()
            };
            f(&mut q);
            q
        };
        assert_eq!(ids(&filter(all.clone(), &q(&|_| {}), &none)), vec![1, 2, 3]);
        let got = filter(
            all.clone(),
            &q(&|q| q.interfaces = vec!["HTTP-SECURE-JSON".into()]),
            &none,
        );
        assert_eq!(ids(&got), vec![1]);
        assert_eq!(
            got[0].interfaces.len(),
            1,
            "non-matching interfaces are removed"
        );
        assert_eq!(
            ids(&filter(
                all.clone(),
                &q(&|q| q.security = vec![SecurityType::Token, SecurityType::NotSecure]),
                &none
            )),
            vec![1, 3]
        );
        assert_eq!(
            ids(&filter(all.clone(), &q(&|q| q.version = Some(2)), &none)),
            vec![2]
        );
        assert_eq!(
            ids(&filter(all.clone(), &q(&|q| q.min_version = 2), &none)),
            vec![2, 3]
        );
        assert_eq!(
            ids(&filter(all.clone(), &q(&|q| q.max_version = 2), &none)),
            vec![1, 2]
        );
        let meta = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            ids(&filter(
                all.clone(),
                &q(&|q| q.metadata = meta(&[("unit", "C")])),
                &none
            )),
            vec![1, 2]
        );
        assert_eq!(
            ids(&filter(
                all.clone(),
                &q(&|q| q.metadata = meta(&[("unit", "c")])),
                &none
            )),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&filter(
                all.clone(),
                &q(&|q| q.metadata = meta(&[("unit", "C"), ("x", "y")])),
                &none
            )),
            vec![2]
        );
        let v4 = |s: &SystemResponse| (s.id != 2).then_some(AddressType::Ipv4);
        assert_eq!(
            ids(&filter(
                all,
                &q(&|q| q.address_types = vec![AddressType::Ipv4]),
                &v4
            )),
            vec![1, 3]
        );
    }
}
