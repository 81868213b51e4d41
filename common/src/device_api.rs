//! The device management endpoints the Device Registry and the System Registry both serve
//! (the System Registry's entries name the device a system runs on): list, create, get,
//! replace, patch and delete rows of the shared `device` table, with the Java messages. Each
//! system's handlers check access and pass their own origin.

use crate::db::device::{self as devices, Changed};
use crate::db::{self, DbPool};
use crate::dto::device::{device_of, is_empty_patch, patched, DeviceRequest, DeviceResponse};
use crate::dto::ListResponse;
use crate::names::PageQuery;
use crate::ArrowheadError;
use actix_web::{web, HttpResponse};

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

/// An id of a path: a positive integer, else the Java 400.
pub fn positive_id(raw: &str, origin: &str) -> Result<i64, ArrowheadError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("Id must be greater than 0.", origin))
}

/// Devices, paged and sorted by `id`, `deviceName`, `createdAt` or `updatedAt`.
pub async fn list(
    pool: &DbPool,
    q: &PageQuery,
    origin: &str,
) -> Result<web::Json<ListResponse<DeviceResponse>>, ArrowheadError> {
    let page = q.validate(devices::DEVICE_SORT_FIELDS, origin)?;
    let (rows, count) = db::run(pool, move |c| Ok(devices::list_devices(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(DeviceResponse::from).collect(),
        count,
    }))
}

/// Creates a device (201); a name and MAC taken already is 400.
pub async fn create(
    pool: &DbPool,
    body: &DeviceRequest,
    origin: &str,
) -> Result<HttpResponse, ArrowheadError> {
    let new = device_of(Some(body), origin)?;
    let (name, mac) = (new.name.clone(), new.mac.clone());
    match db::run(pool, move |c| Ok(devices::create_device(c, &new)?)).await? {
        Some(d) => Ok(HttpResponse::Created().json(DeviceResponse::from(&d))),
        None => Err(bad(
            format!("Device with name '{name}' and MAC address '{mac}' already exists."),
            origin,
        )),
    }
}

/// One device by the id of the path.
pub async fn get(
    pool: &DbPool,
    raw_id: &str,
    origin: &str,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    let id = positive_id(raw_id, origin)?;
    let found = db::run(pool, move |c| Ok(devices::device_by_id(c, id)?)).await?;
    found
        .map(|d| web::Json(DeviceResponse::from(&d)))
        .ok_or_else(|| bad(format!("Device with id {id} not found."), origin))
}

fn changed(
    outcome: Changed,
    not_found: String,
    origin: &str,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    match outcome {
        Changed::Done(d) => Ok(web::Json(DeviceResponse::from(&d))),
        Changed::NoDevice => Err(bad(not_found, origin)),
        Changed::Duplicate(d) => Err(bad(
            format!(
                "Device with name '{}' and MAC address '{}' already exists.",
                d.name, d.mac
            ),
            origin,
        )),
    }
}

/// PUT: the device's name, address, MAC and key become the request's.
pub async fn replace(
    pool: &DbPool,
    raw_id: &str,
    body: &DeviceRequest,
    origin: &str,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    let id = positive_id(raw_id, origin)?;
    let new = device_of(Some(body), origin)?;
    let outcome = db::run(pool, move |c| devices::change_device(c, id, |_| Ok(new))).await?;
    changed(outcome, format!("No device with id : {id}"), origin)
}

/// PATCH: the fields given replace the stored ones.
pub async fn patch(
    pool: &DbPool,
    raw_id: &str,
    body: DeviceRequest,
    origin: &str,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    let id = positive_id(raw_id, origin)?;
    if is_empty_patch(&body) {
        return Err(bad("Patch request is empty.", origin));
    }
    let o = origin.to_owned();
    let outcome = db::run(pool, move |c| {
        devices::change_device(c, id, |stored| patched(stored, Some(&body), &o))
    })
    .await?;
    changed(outcome, format!("Device with id {id} not found."), origin)
}

/// Deletes a device (its registry entries go with it, by the foreign keys).
pub async fn delete(
    pool: &DbPool,
    raw_id: &str,
    origin: &str,
) -> Result<HttpResponse, ArrowheadError> {
    let id = positive_id(raw_id, origin)?;
    if db::run(pool, move |c| Ok(devices::delete_device(c, id)?)).await? {
        Ok(HttpResponse::Ok().finish())
    } else {
        Err(bad(format!("Device with id {id} not found."), origin))
    }
}
