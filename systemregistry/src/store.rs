//! The System Registry's table (`system_registry`, as in the Java schema) and the rows it
//! shares: `system_` with the Service Registry, `device` with the Device Registry. Every answer
//! comes from the database, so several instances stay consistent; every multi-step write is one
//! transaction.

use chrono::NaiveDateTime;
use common::db::device::{
    find_or_create_device, taken_by_another, update_device, DeviceRow, NewDevice,
};
use common::db::models::{find_system, insert_system, system_by_id, System, SystemValues};
use common::db::schema::{device, system_, system_registry};
use common::names::PageParams;
use common::ArrowheadError;
use diesel::mysql::Mysql;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = system_registry)]
pub struct EntryRow {
    pub id: i64,
    pub system_id: i64,
    pub device_id: i64,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An entry with its system and the device it runs on.
pub type Entry = (EntryRow, System, DeviceRow);

/// A registration as validated and normalised.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub system: SystemValues,
    pub device: NewDevice,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: i32,
}

/// The system with this name, address and port, created or given the request's key and
/// metadata (Java overwrites both on every registration).
pub fn find_or_create_system(
    conn: &mut MysqlConnection,
    v: &SystemValues,
) -> Result<System, ArrowheadError> {
    // The inserted row may be a concurrent request's, stored a moment ago with its details.
    let s = match find_system(conn, &v.system_name, &v.address, v.port)? {
        Some(s) => s,
        None => insert_system(conn, v)?,
    };
    if s.authentication_info == v.authentication_info && s.metadata == v.metadata {
        return Ok(s);
    }
    diesel::update(system_::table.find(s.id))
        .set((
            system_::authentication_info.eq(&v.authentication_info),
            system_::metadata.eq(&v.metadata),
        ))
        .execute(conn)?;
    Ok(system_by_id(conn, s.id)?.ok_or(diesel::result::Error::NotFound)?)
}

/// The entries joined with their systems and devices (a macro: the joined query's type is
/// diesel's to spell).
macro_rules! entries {
    () => {
        system_registry::table
            .inner_join(system_::table)
            .inner_join(device::table)
            .select((
                EntryRow::as_select(),
                System::as_select(),
                DeviceRow::as_select(),
            ))
    };
}

pub fn entry_by_id(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<Entry>> {
    entries!()
        .filter(system_registry::id.eq(id))
        .first(conn)
        .optional()
}

fn entry_of_pair(
    c: &mut MysqlConnection,
    system_id: i64,
    device_id: i64,
) -> QueryResult<Option<Entry>> {
    entries!()
        .filter(system_registry::system_id.eq(system_id))
        .filter(system_registry::device_id.eq(device_id))
        .first(c)
        .optional()
}

/// What a registration found.
#[derive(Debug)]
pub enum Registered {
    Done(Box<Entry>),
    /// The system has an entry on this device already.
    Duplicate(String, String, String),
}

/// Registers a system on a device: one transaction for the system, the device and the entry.
pub fn register(conn: &mut MysqlConnection, e: &NewEntry) -> Result<Registered, ArrowheadError> {
    conn.transaction(|c| {
        let sys = find_or_create_system(c, &e.system)?;
        let dev = find_or_create_device(c, &e.device)?;
        if entry_of_pair(c, sys.id, dev.id)?.is_some() {
            return Ok(Registered::Duplicate(
                dev.device_name,
                dev.mac_address,
                sys.system_name,
            ));
        }
        diesel::insert_into(system_registry::table)
            .values((
                system_registry::system_id.eq(sys.id),
                system_registry::device_id.eq(dev.id),
                system_registry::end_of_validity.eq(e.end_of_validity),
                system_registry::metadata.eq(&e.metadata),
                system_registry::version.eq(Some(e.version)),
            ))
            .execute(c)?;
        let entry = entry_of_pair(c, sys.id, dev.id)?.ok_or(diesel::result::Error::NotFound)?;
        Ok(Registered::Done(Box::new(entry)))
    })
}

/// Whether the system of `e` already has an entry on the device of `e` (checked before an
/// onboarding signs anything).
pub fn is_registered(conn: &mut MysqlConnection, e: &NewEntry) -> QueryResult<bool> {
    let n: i64 = system_registry::table
        .inner_join(system_::table)
        .inner_join(device::table)
        .filter(system_::system_name.eq(&e.system.system_name))
        .filter(system_::address.eq(&e.system.address))
        .filter(system_::port.eq(e.system.port))
        .filter(device::device_name.eq(&e.device.name))
        .filter(device::mac_address.eq(&e.device.mac))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// What an unregistration found.
#[derive(Debug)]
pub enum Unregistered {
    /// The removed entries (every device the system was registered on).
    Done(Vec<Entry>),
    NoSystem,
    NoEntry,
}

/// Removes every entry of the system `name` at `address`:`port` (the system row stays).
pub fn unregister(
    conn: &mut MysqlConnection,
    name: &str,
    address: &str,
    port: i32,
) -> QueryResult<Unregistered> {
    conn.transaction(|c| {
        let Some(sys) = find_system(c, name, address, port)? else {
            return Ok(Unregistered::NoSystem);
        };
        let found: Vec<Entry> = entries!()
            .filter(system_registry::system_id.eq(sys.id))
            .order(system_registry::id.asc())
            .load(c)?;
        if found.is_empty() {
            return Ok(Unregistered::NoEntry);
        }
        diesel::delete(system_registry::table.filter(system_registry::system_id.eq(sys.id)))
            .execute(c)?;
        Ok(Unregistered::Done(found))
    })
}

/// The entries of the systems named `name`, by id.
pub fn entries_of(conn: &mut MysqlConnection, name: &str) -> QueryResult<Vec<Entry>> {
    entries!()
        .filter(system_::system_name.eq(name))
        .order(system_registry::id.asc())
        .load(conn)
}

pub fn delete_entry(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<Entry>> {
    conn.transaction(|c| {
        let found = entry_by_id(c, id)?;
        if found.is_some() {
            diesel::delete(system_registry::table.find(id)).execute(c)?;
        }
        Ok(found)
    })
}

/// Sort fields of the entry list.
pub const ENTRY_SORT_FIELDS: &[&str] = &["id", "createdAt", "updatedAt"];

pub fn list_entries(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<Entry>, i64)> {
    use system_registry as r;
    let q = entries!().into_boxed::<Mysql>();
    let rows = common::sorted_page!(q, r, page).load(conn)?;
    let count = r::table.count().get_result(conn)?;
    Ok((rows, count))
}

/// What a change of an entry found.
#[derive(Debug)]
pub enum Updated {
    Done(Box<Entry>),
    NoEntry,
    /// Another entry pairs this system and device already: (device, MAC, system).
    Duplicate(String, String, String),
    /// Another system has this name, address and port.
    SystemTaken(SystemValues),
    /// Another device has this name and MAC.
    DeviceTaken(NewDevice),
}

fn set_entry(
    c: &mut MysqlConnection,
    id: i64,
    system_id: i64,
    device_id: i64,
    fields: (Option<NaiveDateTime>, &Option<String>, i32),
) -> Result<Updated, ArrowheadError> {
    let taken: i64 = system_registry::table
        .filter(system_registry::system_id.eq(system_id))
        .filter(system_registry::device_id.eq(device_id))
        .filter(system_registry::id.ne(id))
        .count()
        .get_result(c)?;
    if taken > 0 {
        let (sys, dev) = (
            system_by_id(c, system_id)?.ok_or(diesel::result::Error::NotFound)?,
            common::db::device::device_by_id(c, device_id)?
                .ok_or(diesel::result::Error::NotFound)?,
        );
        return Ok(Updated::Duplicate(
            dev.device_name,
            dev.mac_address,
            sys.system_name,
        ));
    }
    let (end_of_validity, metadata, version) = fields;
    diesel::update(system_registry::table.find(id))
        .set((
            system_registry::system_id.eq(system_id),
            system_registry::device_id.eq(device_id),
            system_registry::end_of_validity.eq(end_of_validity),
            system_registry::metadata.eq(metadata),
            system_registry::version.eq(Some(version)),
        ))
        .execute(c)?;
    let entry = entry_by_id(c, id)?.ok_or(diesel::result::Error::NotFound)?;
    Ok(Updated::Done(Box::new(entry)))
}

/// A transaction's way out: a refusal rolls back what was written before it (a system or
/// device created for the change) and still reaches the caller as an answer.
enum Rollback {
    Refused(Box<Updated>),
    Failed(ArrowheadError),
}

impl From<diesel::result::Error> for Rollback {
    fn from(e: diesel::result::Error) -> Self {
        Rollback::Failed(e.into())
    }
}

/// PUT: entry `id` now pairs the request's system and device (found or created) with the
/// request's fields.
pub fn update_entry(
    conn: &mut MysqlConnection,
    id: i64,
    e: &NewEntry,
) -> Result<Updated, ArrowheadError> {
    let outcome = conn.transaction::<_, Rollback, _>(|c| {
        if entry_by_id(c, id)?.is_none() {
            return Ok(Updated::NoEntry);
        }
        let sys = find_or_create_system(c, &e.system).map_err(Rollback::Failed)?;
        let dev = find_or_create_device(c, &e.device)?;
        match set_entry(
            c,
            id,
            sys.id,
            dev.id,
            (e.end_of_validity, &e.metadata, e.version),
        )
        .map_err(Rollback::Failed)?
        {
            done @ Updated::Done(_) => Ok(done),
            refused => Err(Rollback::Refused(Box::new(refused))),
        }
    });
    match outcome {
        Ok(u) => Ok(u),
        Err(Rollback::Refused(u)) => Ok(*u),
        Err(Rollback::Failed(e)) => Err(e),
    }
}

/// What a PATCH makes of an entry: its system and device (changed in place) and fields.
pub struct Merged {
    pub system: SystemValues,
    pub device: NewDevice,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: i32,
}

/// PATCH: the entry, its system and its device get what `merge` makes of them, in one
/// transaction. `merge` validates, so its errors come back as they are.
pub fn patch_entry(
    conn: &mut MysqlConnection,
    id: i64,
    merge: impl FnOnce(&Entry) -> Result<Merged, ArrowheadError>,
) -> Result<Updated, ArrowheadError> {
    conn.transaction(|c| {
        let Some(entry) = entry_by_id(c, id)? else {
            return Ok(Updated::NoEntry);
        };
        let m = merge(&entry)?;
        let (_, sys, dev) = entry;
        if system_taken_by_another(c, sys.id, &m.system)? {
            return Ok(Updated::SystemTaken(m.system));
        }
        if taken_by_another(c, dev.id, &m.device)? {
            return Ok(Updated::DeviceTaken(m.device));
        }
        diesel::update(system_::table.find(sys.id))
            .set(&m.system)
            .execute(c)?;
        update_device(c, dev.id, &m.device)?;
        set_entry(
            c,
            id,
            sys.id,
            dev.id,
            (m.end_of_validity, &m.metadata, m.version),
        )
    })
}

// ---- systems ----

/// Whether a system other than `id` has the name, address and port of `v`.
pub fn system_taken_by_another(
    c: &mut MysqlConnection,
    id: i64,
    v: &SystemValues,
) -> QueryResult<bool> {
    Ok(find_system(c, &v.system_name, &v.address, v.port)?.is_some_and(|s| s.id != id))
}

/// Sort fields of the system list.
pub const SYSTEM_SORT_FIELDS: &[&str] = &["id", "systemName", "createdAt", "updatedAt"];

pub fn list_systems(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<System>, i64)> {
    use system_ as s;
    let q = s::table.select(System::as_select()).into_boxed::<Mysql>();
    let rows = common::sorted_page!(q, s, page, "systemName" => system_name).load(conn)?;
    let count = s::table.count().get_result(conn)?;
    Ok((rows, count))
}

/// Creates a system; `None` when one with this name, address and port exists.
pub fn create_system(
    conn: &mut MysqlConnection,
    v: &SystemValues,
) -> Result<Option<System>, ArrowheadError> {
    conn.transaction(|c| {
        if find_system(c, &v.system_name, &v.address, v.port)?.is_some() {
            return Ok(None);
        }
        Ok(Some(insert_system(c, v)?))
    })
}

/// What a change of a system found.
#[derive(Debug)]
pub enum SystemChanged {
    Done(System),
    NoSystem,
    Duplicate(SystemValues),
}

/// Changes system `id` to what `change` makes of it, in one transaction.
pub fn change_system(
    conn: &mut MysqlConnection,
    id: i64,
    change: impl FnOnce(&System) -> Result<SystemValues, ArrowheadError>,
) -> Result<SystemChanged, ArrowheadError> {
    conn.transaction(|c| {
        let Some(stored) = system_by_id(c, id)? else {
            return Ok(SystemChanged::NoSystem);
        };
        let v = change(&stored)?;
        if system_taken_by_another(c, id, &v)? {
            return Ok(SystemChanged::Duplicate(v));
        }
        diesel::update(system_::table.find(id)).set(&v).execute(c)?;
        Ok(match system_by_id(c, id)? {
            Some(s) => SystemChanged::Done(s),
            None => SystemChanged::NoSystem,
        })
    })
}

/// Deletes a system (its registry entries go with it, by the foreign keys, as in Java).
pub fn delete_system(conn: &mut MysqlConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(system_::table.find(id)).execute(conn)? > 0)
}
