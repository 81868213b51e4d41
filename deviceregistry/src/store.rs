//! The Device Registry's tables (`device`, `device_registry`, as in the Java schema). Every
//! answer comes from the database, so several instances stay consistent; every multi-step
//! write is one transaction.

use chrono::NaiveDateTime;
use common::db::device::{find_or_create_device, DeviceRow, NewDevice};
use common::db::schema::{device, device_registry};
use common::names::{Direction, PageParams};
use diesel::mysql::Mysql;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = device_registry)]
pub struct EntryRow {
    pub id: i64,
    pub device_id: i64,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewEntry {
    pub device: NewDevice,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: i32,
}

/// What a registration found.
#[derive(Debug)]
pub enum Registered {
    Done(EntryRow, DeviceRow),
    /// The device has an entry already.
    Duplicate(DeviceRow),
}

/// Registers a device: one transaction for the device and its entry.
pub fn register(conn: &mut MysqlConnection, e: &NewEntry) -> QueryResult<Registered> {
    conn.transaction(|c| {
        let dev = find_or_create_device(c, &e.device)?;
        let exists: i64 = device_registry::table
            .filter(device_registry::device_id.eq(dev.id))
            .count()
            .get_result(c)?;
        if exists > 0 {
            return Ok(Registered::Duplicate(dev));
        }
        diesel::insert_into(device_registry::table)
            .values((
                device_registry::device_id.eq(dev.id),
                device_registry::end_of_validity.eq(e.end_of_validity),
                device_registry::metadata.eq(&e.metadata),
                device_registry::version.eq(Some(e.version)),
            ))
            .execute(c)?;
        let entry = device_registry::table
            .filter(device_registry::device_id.eq(dev.id))
            .select(EntryRow::as_select())
            .first(c)?;
        Ok(Registered::Done(entry, dev))
    })
}

/// What an unregistration found.
#[derive(Debug)]
pub enum Unregistered {
    /// The removed entry.
    Done(Box<(EntryRow, DeviceRow)>),
    NoDevice,
    NoEntry,
}

/// Removes the registry entry of the device `name` with `mac` (the device record stays, as in
/// Java).
pub fn unregister(conn: &mut MysqlConnection, name: &str, mac: &str) -> QueryResult<Unregistered> {
    conn.transaction(|c| {
        let dev: Option<DeviceRow> = device::table
            .filter(device::device_name.eq(name))
            .filter(device::mac_address.eq(mac))
            .select(DeviceRow::as_select())
            .first(c)
            .optional()?;
        let Some(dev) = dev else {
            return Ok(Unregistered::NoDevice);
        };
        let entry: Option<EntryRow> = device_registry::table
            .filter(device_registry::device_id.eq(dev.id))
            .select(EntryRow::as_select())
            .for_update()
            .first(c)
            .optional()?;
        let Some(entry) = entry else {
            return Ok(Unregistered::NoEntry);
        };
        diesel::delete(device_registry::table.find(entry.id)).execute(c)?;
        Ok(Unregistered::Done(Box::new((entry, dev))))
    })
}

/// The entries of devices named `name` (and with `mac`, when given), with their devices.
pub fn entries_of(
    conn: &mut MysqlConnection,
    name: &str,
    mac: Option<&str>,
) -> QueryResult<Vec<(EntryRow, DeviceRow)>> {
    let mut q = device_registry::table
        .inner_join(device::table)
        .filter(device::device_name.eq(name))
        .into_boxed::<Mysql>();
    if let Some(m) = mac {
        q = q.filter(device::mac_address.eq(m));
    }
    q.select((EntryRow::as_select(), DeviceRow::as_select()))
        .order(device_registry::id.asc())
        .load(conn)
}

pub fn entry_by_id(
    conn: &mut MysqlConnection,
    id: i64,
) -> QueryResult<Option<(EntryRow, DeviceRow)>> {
    device_registry::table
        .inner_join(device::table)
        .filter(device_registry::id.eq(id))
        .select((EntryRow::as_select(), DeviceRow::as_select()))
        .first(conn)
        .optional()
}

pub fn delete_entry(
    conn: &mut MysqlConnection,
    id: i64,
) -> QueryResult<Option<(EntryRow, DeviceRow)>> {
    conn.transaction(|c| {
        let found = entry_by_id(c, id)?;
        if found.is_some() {
            diesel::delete(device_registry::table.find(id)).execute(c)?;
        }
        Ok(found)
    })
}

/// Sort fields of the entry list.
pub const ENTRY_SORT_FIELDS: &[&str] = &["id", "createdAt", "updatedAt"];

pub fn list_entries(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<(EntryRow, DeviceRow)>, i64)> {
    use device_registry::dsl as r;
    let mut q = r::device_registry
        .inner_join(device::table)
        .select((EntryRow::as_select(), DeviceRow::as_select()))
        .into_boxed::<Mysql>();
    let asc = page.direction == Direction::Asc;
    q = match page.sort_field.as_str() {
        "createdAt" if asc => q.order((r::created_at.asc(), r::id.asc())),
        "createdAt" => q.order((r::created_at.desc(), r::id.desc())),
        "updatedAt" if asc => q.order((r::updated_at.asc(), r::id.asc())),
        "updatedAt" => q.order((r::updated_at.desc(), r::id.desc())),
        _ if asc => q.order(r::id.asc()),
        _ => q.order(r::id.desc()),
    };
    if let Some((index, size)) = page.page {
        q = q.offset(index * size).limit(size);
    }
    let rows = q.load(conn)?;
    let count = r::device_registry.count().get_result(conn)?;
    Ok((rows, count))
}

/// What an update of a registry entry found.
#[derive(Debug)]
pub enum Updated {
    Done(EntryRow, DeviceRow),
    NoEntry,
    /// The device the entry would point at has an entry of its own, or (PATCH) another device
    /// has this name and MAC.
    Duplicate(NewDevice),
}

/// The fields of an entry as a PATCH leaves them.
pub struct Merged {
    pub device: NewDevice,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: i32,
}

fn set_entry(
    c: &mut MysqlConnection,
    id: i64,
    device_id: i64,
    end_of_validity: Option<NaiveDateTime>,
    metadata: &Option<String>,
    version: i32,
) -> QueryResult<(EntryRow, DeviceRow)> {
    diesel::update(device_registry::table.find(id))
        .set((
            device_registry::device_id.eq(device_id),
            device_registry::end_of_validity.eq(end_of_validity),
            device_registry::metadata.eq(metadata),
            device_registry::version.eq(Some(version)),
        ))
        .execute(c)?;
    entry_by_id(c, id)?.ok_or(diesel::result::Error::NotFound)
}

/// PUT: entry `id` now names the request's device (found or created by name and MAC) with the
/// request's fields, in one transaction.
pub fn update_entry(conn: &mut MysqlConnection, id: i64, e: &NewEntry) -> QueryResult<Updated> {
    conn.transaction(|c| {
        if entry_by_id(c, id)?.is_none() {
            return Ok(Updated::NoEntry);
        }
        let dev = find_or_create_device(c, &e.device)?;
        let taken: i64 = device_registry::table
            .filter(device_registry::device_id.eq(dev.id))
            .filter(device_registry::id.ne(id))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Ok(Updated::Duplicate(e.device.clone()));
        }
        let (entry, dev) = set_entry(c, id, dev.id, e.end_of_validity, &e.metadata, e.version)?;
        Ok(Updated::Done(entry, dev))
    })
}

/// PATCH: the entry and its device (changed in place) get what `merge` makes of them, in one
/// transaction. `merge` validates, so its errors come back as they are.
pub fn patch_entry(
    conn: &mut MysqlConnection,
    id: i64,
    merge: impl FnOnce(&EntryRow, &DeviceRow) -> Result<Merged, common::ArrowheadError>,
) -> Result<Updated, common::ArrowheadError> {
    conn.transaction(|c| {
        let Some((entry, dev)) = entry_by_id(c, id)? else {
            return Ok(Updated::NoEntry);
        };
        let m = merge(&entry, &dev)?;
        if common::db::device::taken_by_another(c, dev.id, &m.device)? {
            return Ok(Updated::Duplicate(m.device));
        }
        common::db::device::update_device(c, dev.id, &m.device)?;
        let (entry, dev) = set_entry(c, id, dev.id, m.end_of_validity, &m.metadata, m.version)?;
        Ok(Updated::Done(entry, dev))
    })
}
