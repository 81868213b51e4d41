//! Row types shared by several systems (systems, service definitions, interfaces, clouds) and the
//! find-or-create helpers the registry, authorization and orchestrator all need.

use super::schema::{cloud, service_definition, service_interface, system_};
use crate::error::ArrowheadError;
use crate::names::AddressType;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = system_)]
pub struct System {
    pub id: i64,
    pub system_name: String,
    pub address: String,
    pub address_type: Option<String>,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub metadata: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = system_, treat_none_as_null = true)]
pub struct SystemValues {
    pub system_name: String,
    pub address: String,
    pub address_type: Option<String>,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = service_definition)]
pub struct ServiceDefinition {
    pub id: i64,
    #[diesel(column_name = definition)]
    pub service_definition: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = service_interface)]
pub struct ServiceInterface {
    pub id: i64,
    pub interface_name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = cloud)]
pub struct Cloud {
    pub id: i64,
    pub operator: String,
    pub name: String,
    pub secure: i32,
    pub neighbor: i32,
    pub own_cloud: i32,
    pub authentication_info: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find_system(
    conn: &mut MysqlConnection,
    name: &str,
    address: &str,
    port: i32,
) -> QueryResult<Option<System>> {
    system_row(conn, name, address, port, false)
}

/// [`find_system`], with `locking` as in [`crate::first_row`].
fn system_row(
    conn: &mut MysqlConnection,
    name: &str,
    address: &str,
    port: i32,
    locking: bool,
) -> QueryResult<Option<System>> {
    let query = system_::table
        .filter(system_::system_name.eq(name))
        .filter(system_::address.eq(address))
        .filter(system_::port.eq(port))
        .select(System::as_select());
    crate::first_row!(query, conn, locking)
}

pub fn system_by_id(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<System>> {
    system_::table
        .find(id)
        .select(System::as_select())
        .first(conn)
        .optional()
}

pub fn insert_system(
    conn: &mut MysqlConnection,
    values: &SystemValues,
) -> Result<System, ArrowheadError> {
    // A concurrent request may create the same row at the same moment; either way the stored
    // row is read back (with the other request's details: callers that want theirs update).
    diesel::insert_into(system_::table)
        .values(values)
        // A duplicate is left alone (a concurrent request may create the same row); not INSERT
        // IGNORE, which would also store text the column cannot hold changed (strict mode off).
        .on_conflict(diesel::dsl::DuplicatedKeys)
        .do_update()
        .set(system_::id.eq(system_::id))
        .execute(conn)?;
    // Locking: the row may be one a concurrent transaction committed after this one's snapshot.
    system_row(
        conn,
        &values.system_name,
        &values.address,
        values.port,
        true,
    )?
    .ok_or_else(|| ArrowheadError::internal("Database operation exception"))
}

pub fn address_type_of(s: &System) -> Option<AddressType> {
    s.address_type.as_deref().and_then(AddressType::parse)
}

pub fn find_service_definition(
    conn: &mut MysqlConnection,
    def: &str,
) -> QueryResult<Option<ServiceDefinition>> {
    service_definition_row(conn, def, false)
}

/// [`find_service_definition`], with `locking` as in [`crate::first_row`].
fn service_definition_row(
    conn: &mut MysqlConnection,
    def: &str,
    locking: bool,
) -> QueryResult<Option<ServiceDefinition>> {
    let query = service_definition::table
        .filter(service_definition::definition.eq(def))
        .select(ServiceDefinition::as_select());
    crate::first_row!(query, conn, locking)
}

/// Finds or creates a (normalized) service definition.
pub fn service_definition_for(
    conn: &mut MysqlConnection,
    def: &str,
) -> Result<ServiceDefinition, ArrowheadError> {
    if let Some(found) = find_service_definition(conn, def)? {
        return Ok(found);
    }
    diesel::insert_into(service_definition::table)
        .values(service_definition::definition.eq(def))
        // A duplicate is left alone (a concurrent request may create the same row); not INSERT
        // IGNORE, which would also store text the column cannot hold changed (strict mode off).
        .on_conflict(diesel::dsl::DuplicatedKeys)
        .do_update()
        .set(service_definition::id.eq(service_definition::id))
        .execute(conn)?;
    service_definition_row(conn, def, true)?
        .ok_or_else(|| ArrowheadError::internal("Database operation exception"))
}

pub fn find_interface(
    conn: &mut MysqlConnection,
    name: &str,
) -> QueryResult<Option<ServiceInterface>> {
    interface_row(conn, name, false)
}

/// [`find_interface`], with `locking` as in [`crate::first_row`].
fn interface_row(
    conn: &mut MysqlConnection,
    name: &str,
    locking: bool,
) -> QueryResult<Option<ServiceInterface>> {
    let query = service_interface::table
        .filter(service_interface::interface_name.eq(name))
        .select(ServiceInterface::as_select());
    crate::first_row!(query, conn, locking)
}

/// Finds or creates a (normalized) interface.
pub fn interface_for(
    conn: &mut MysqlConnection,
    name: &str,
) -> Result<ServiceInterface, ArrowheadError> {
    if let Some(found) = find_interface(conn, name)? {
        return Ok(found);
    }
    diesel::insert_into(service_interface::table)
        .values(service_interface::interface_name.eq(name))
        // A duplicate is left alone (a concurrent request may create the same row); not INSERT
        // IGNORE, which would also store text the column cannot hold changed (strict mode off).
        .on_conflict(diesel::dsl::DuplicatedKeys)
        .do_update()
        .set(service_interface::id.eq(service_interface::id))
        .execute(conn)?;
    interface_row(conn, name, true)?
        .ok_or_else(|| ArrowheadError::internal("Database operation exception"))
}

/// The own-cloud row for the given security mode, if any.
pub fn own_cloud(conn: &mut MysqlConnection, secure: bool) -> QueryResult<Option<Cloud>> {
    cloud::table
        .filter(cloud::own_cloud.eq(1))
        .filter(cloud::secure.eq(i32::from(secure)))
        .select(Cloud::as_select())
        .first(conn)
        .optional()
}

/// Inserts the own-cloud row unless one exists for this security mode (the Java SR does this at
/// startup); `name`/`operator` come from the server certificate in secure mode.
pub fn ensure_own_cloud(
    conn: &mut MysqlConnection,
    operator: &str,
    name: &str,
    secure: bool,
) -> Result<Cloud, ArrowheadError> {
    conn.transaction(|conn| {
        if let Some(c) = own_cloud(conn, secure)? {
            return Ok(c);
        }
        let existing = cloud::table
            .filter(cloud::operator.eq(operator))
            .filter(cloud::name.eq(name))
            .select(Cloud::as_select())
            .first(conn)
            .optional()?;
        match existing {
            Some(c) => {
                diesel::update(cloud::table.find(c.id))
                    .set((
                        cloud::own_cloud.eq(1),
                        cloud::secure.eq(i32::from(secure)),
                        cloud::neighbor.eq(0),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(cloud::table)
                    .values((
                        cloud::operator.eq(operator),
                        cloud::name.eq(name),
                        cloud::secure.eq(i32::from(secure)),
                        cloud::neighbor.eq(0),
                        cloud::own_cloud.eq(1),
                    ))
                    .execute(conn)?;
            }
        }
        own_cloud(conn, secure)?
            .ok_or_else(|| ArrowheadError::internal("Database operation exception"))
    })
}
