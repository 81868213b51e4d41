//! The `device` table (Java schema), shared by the Device Registry and the System Registry
//! (a system's entry names the device it runs on). Names, addresses and MACs are stored
//! trimmed and lowercased, as Java does.

use crate::db::schema::device;
use crate::names::{Direction, PageParams};
use chrono::NaiveDateTime;
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

/// A device as validated and normalised (name, address and MAC trimmed and lowercased).
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub name: String,
    pub address: String,
    pub mac: String,
    pub authentication_info: Option<String>,
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
        let inserted = diesel::insert_into(device::table)
            .values((
                device::device_name.eq(&d.name),
                device::address.eq(&d.address),
                device::mac_address.eq(&d.mac),
                device::authentication_info.eq(&d.authentication_info),
            ))
            .execute(c);
        if !crate::db::inserted(inserted)? {
            return Ok(None);
        }
        device_by_name_and_mac(c, &d.name, &d.mac)
    })
}

/// Deletes a device (and, by the foreign key, its registry entries); whether it existed.
pub fn delete_device(conn: &mut MysqlConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(device::table.find(id)).execute(conn)? > 0)
}

/// Overwrites a device's fields; `None` when no device has this id. A name and MAC taken by
/// another device is a unique-key violation, which the caller maps to 400.
pub fn update_device(
    conn: &mut MysqlConnection,
    id: i64,
    d: &NewDevice,
) -> QueryResult<Option<DeviceRow>> {
    conn.transaction(|c| {
        let n = diesel::update(device::table.find(id))
            .set((
                device::device_name.eq(&d.name),
                device::address.eq(&d.address),
                device::mac_address.eq(&d.mac),
                device::authentication_info.eq(&d.authentication_info),
            ))
            .execute(c)?;
        if n == 0 {
            return Ok(None);
        }
        device_by_id(c, id)
    })
}

/// Whether a device other than `id` already has the name and MAC of `d` (the table's unique
/// key), so an update can answer 400 with the Java message instead of a key violation.
pub fn taken_by_another(conn: &mut MysqlConnection, id: i64, d: &NewDevice) -> QueryResult<bool> {
    let n: i64 = device::table
        .filter(device::device_name.eq(&d.name))
        .filter(device::mac_address.eq(&d.mac))
        .filter(device::id.ne(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// What a change of a device found.
#[derive(Debug)]
pub enum Changed {
    Done(DeviceRow),
    NoDevice,
    /// Another device has the new name and MAC.
    Duplicate(NewDevice),
}

/// Changes device `id` to what `change` makes of it (PUT: the request; PATCH: the request
/// merged into the stored device), in one transaction; `change` validates, so its errors
/// come back as they are.
pub fn change_device(
    conn: &mut MysqlConnection,
    id: i64,
    change: impl FnOnce(&DeviceRow) -> Result<NewDevice, crate::ArrowheadError>,
) -> Result<Changed, crate::ArrowheadError> {
    conn.transaction(|c| {
        let Some(stored) = device_by_id(c, id)? else {
            return Ok(Changed::NoDevice);
        };
        let new = change(&stored)?;
        if taken_by_another(c, id, &new)? {
            return Ok(Changed::Duplicate(new));
        }
        Ok(match update_device(c, id, &new)? {
            Some(d) => Changed::Done(d),
            None => Changed::NoDevice,
        })
    })
}
