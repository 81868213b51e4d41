//! The Device Registry's tables (`device`, `device_registry`, as in the Java schema). Every
//! answer comes from the database, so several instances stay consistent; every multi-step
//! write is one transaction.

use chrono::NaiveDateTime;
use common::db::schema::{device, device_registry};
use common::names::{Direction, PageParams};
use diesel::mysql::Mysql;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = device)]
pub struct DeviceRow {
    pub id: i64,
    pub device_name: String,
    pub address: String,
    pub mac_address: String,
    pub authentication_info: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

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

/// A device as validated and normalised (name, address and MAC trimmed and lowercased).
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub name: String,
    pub address: String,
    pub mac: String,
    pub authentication_info: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewEntry {
    pub device: NewDevice,
    pub end_of_validity: Option<NaiveDateTime>,
    pub metadata: Option<String>,
    pub version: i32,
}

/// The device with this name and MAC, created or brought up to date (address, key).
pub fn find_or_create_device(conn: &mut MysqlConnection, d: &NewDevice) -> QueryResult<DeviceRow> {
    let found: Option<DeviceRow> = device::table
        .filter(device::device_name.eq(&d.name))
        .filter(device::mac_address.eq(&d.mac))
        .select(DeviceRow::as_select())
        .for_update()
        .first(conn)
        .optional()?;
    match found {
        Some(row)
            if row.address == d.address && row.authentication_info == d.authentication_info =>
        {
            Ok(row)
        }
        Some(row) => {
            diesel::update(device::table.find(row.id))
                .set((
                    device::address.eq(&d.address),
                    device::authentication_info.eq(&d.authentication_info),
                ))
                .execute(conn)?;
            device::table
                .find(row.id)
                .select(DeviceRow::as_select())
                .first(conn)
        }
        None => {
            diesel::insert_into(device::table)
                .values((
                    device::device_name.eq(&d.name),
                    device::address.eq(&d.address),
                    device::mac_address.eq(&d.mac),
                    device::authentication_info.eq(&d.authentication_info),
                ))
                .execute(conn)?;
            device::table
                .filter(device::device_name.eq(&d.name))
                .filter(device::mac_address.eq(&d.mac))
                .select(DeviceRow::as_select())
                .first(conn)
        }
    }
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
#[derive(Debug, PartialEq, Eq)]
pub enum Unregistered {
    Done,
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
        let n =
            diesel::delete(device_registry::table.filter(device_registry::device_id.eq(dev.id)))
                .execute(c)?;
        Ok(if n == 0 {
            Unregistered::NoEntry
        } else {
            Unregistered::Done
        })
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

pub fn device_by_id(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<DeviceRow>> {
    device::table
        .find(id)
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()
}

pub fn device_by_name_and_mac(
    conn: &mut MysqlConnection,
    name: &str,
    mac: &str,
) -> QueryResult<Option<DeviceRow>> {
    device::table
        .filter(device::device_name.eq(name))
        .filter(device::mac_address.eq(mac))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()
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

/// Sort fields of the device list (Java checks them against the system fields by mistake).
pub const DEVICE_SORT_FIELDS: &[&str] = &["id", "deviceName", "createdAt", "updatedAt"];

pub fn list_devices(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<DeviceRow>, i64)> {
    use device::dsl as d;
    let mut q = d::device
        .select(DeviceRow::as_select())
        .into_boxed::<Mysql>();
    let asc = page.direction == Direction::Asc;
    q = match page.sort_field.as_str() {
        "deviceName" if asc => q.order((d::device_name.asc(), d::id.asc())),
        "deviceName" => q.order((d::device_name.desc(), d::id.desc())),
        "createdAt" if asc => q.order((d::created_at.asc(), d::id.asc())),
        "createdAt" => q.order((d::created_at.desc(), d::id.desc())),
        "updatedAt" if asc => q.order((d::updated_at.asc(), d::id.asc())),
        "updatedAt" => q.order((d::updated_at.desc(), d::id.desc())),
        _ if asc => q.order(d::id.asc()),
        _ => q.order(d::id.desc()),
    };
    if let Some((index, size)) = page.page {
        q = q.offset(index * size).limit(size);
    }
    let rows = q.load(conn)?;
    let count = d::device.count().get_result(conn)?;
    Ok((rows, count))
}

/// Creates a device; `None` when one with this name and MAC exists.
pub fn create_device(conn: &mut MysqlConnection, d: &NewDevice) -> QueryResult<Option<DeviceRow>> {
    conn.transaction(|c| {
        let inserted = diesel::insert_or_ignore_into(device::table)
            .values((
                device::device_name.eq(&d.name),
                device::address.eq(&d.address),
                device::mac_address.eq(&d.mac),
                device::authentication_info.eq(&d.authentication_info),
            ))
            .execute(c)?;
        if inserted == 0 {
            return Ok(None);
        }
        device_by_name_and_mac(c, &d.name, &d.mac)
    })
}

/// Deletes a device (and, by the foreign key, its registry entries); whether it existed.
pub fn delete_device(conn: &mut MysqlConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(device::table.find(id)).execute(conn)? > 0)
}
