//! The operator's endpoints (sysop only): registry entries, systems and devices.

use super::client::system_json;
use super::{
    allow, bad, checked_address, checked_name, checked_port, duplicate, entry_of, publish,
    response, stored_metadata, system_of, system_taken, AppState, SystemRegistryRequest,
    SystemRegistryResponse,
};
use crate::access::Endpoint;
use crate::store::{self, Merged, SystemChanged, Updated};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::{self, models::System, models::SystemValues};
use common::device_api::{self, positive_id};
use common::dto::device::{DeviceRequest, DeviceResponse};
use common::dto::{ListResponse, SystemRequest, SystemResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{metadata_column, normalize_metadata, AddressPolicy, PageQuery};
use common::web::request_url;
use common::ArrowheadError;

/// Registry entries (paged, sorted by `id`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/systemregistry/mgmt", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<SystemRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_entries(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<SystemRegistryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(store::ENTRY_SORT_FIELDS, "/systemregistry/mgmt")?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(store::list_entries(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(response).collect(),
        count,
    }))
}

fn no_entry(id: i64, origin: &str) -> ArrowheadError {
    bad(
        format!("System Registry entry with id '{id}' does not exist"),
        origin,
    )
}

/// One registry entry.
#[utoipa::path(get, path = "/systemregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = SystemRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<SystemRegistryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let found = db::run(&state.pool, move |c| Ok(store::entry_by_id(c, id)?)).await?;
    found
        .map(|e| web::Json(response(&e)))
        .ok_or_else(|| no_entry(id, &origin))
}

fn updated(
    outcome: Updated,
    id: i64,
    origin: &str,
) -> Result<web::Json<SystemRegistryResponse>, ArrowheadError> {
    match outcome {
        Updated::Done(e) => Ok(web::Json(response(&e))),
        Updated::NoEntry => Err(no_entry(id, origin)),
        Updated::Duplicate(device, mac, system) => Err(duplicate(&device, &mac, &system, origin)),
        Updated::SystemTaken(v) => Err(system_taken(&v, origin)),
        Updated::DeviceTaken(d) => Err(bad(
            format!(
                "Device with name '{}' and MAC address '{}' already exists.",
                d.name, d.mac
            ),
            origin,
        )),
    }
}

/// Replaces a registry entry: its system and device (found or created) and fields.
#[utoipa::path(put, path = "/systemregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SystemRegistryRequest,
    responses((status = 200, body = SystemRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<SystemRegistryRequest>,
) -> Result<web::Json<SystemRegistryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let entry = entry_of(&body, true, state.address, &origin)?;
    let outcome = db::run(&state.pool, move |c| store::update_entry(c, id, &entry)).await?;
    updated(outcome, id, &origin)
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn is_empty_system_patch(p: &SystemRequest) -> bool {
    given(&p.system_name).is_none()
        && given(&p.address).is_none()
        && p.port.is_none()
        && p.authentication_info.is_none()
        && p.metadata.is_none()
}

/// A PATCHed system: the fields given replace the stored ones, checked like a new system.
fn merged_system(
    stored: &System,
    patch: Option<&SystemRequest>,
    policy: AddressPolicy,
    origin: &str,
) -> Result<SystemValues, ArrowheadError> {
    let mut v = SystemValues {
        system_name: stored.system_name.clone(),
        address: stored.address.clone(),
        address_type: stored.address_type.clone(),
        port: stored.port,
        authentication_info: stored.authentication_info.clone(),
        metadata: stored_metadata(stored.metadata.as_deref()),
    };
    let Some(p) = patch else {
        return Ok(v);
    };
    if let Some(name) = given(&p.system_name) {
        v.system_name = checked_name(name, true, origin)?;
    }
    if let Some(address) = given(&p.address) {
        (v.address, v.address_type) =
            checked_address(address, policy, origin).map(|(a, t)| (a, Some(t)))?;
    }
    if let Some(port) = p.port {
        v.port = checked_port(port, origin)?;
    }
    if let Some(info) = &p.authentication_info {
        let info = info.trim();
        common::names::fits(info, 2047, "Authentication info", origin)?;
        v.authentication_info = (!info.is_empty()).then(|| info.to_owned());
    }
    if let Some(m) = &p.metadata {
        let m = normalize_metadata(Some(m)).map_err(|e| e.with_origin(origin))?;
        v.metadata = metadata_column(&m, origin)?;
    }
    Ok(v)
}

/// Changes the fields given of a registry entry, its system and its device.
#[utoipa::path(patch, path = "/systemregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SystemRegistryRequest,
    responses((status = 200, body = SystemRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<SystemRegistryRequest>,
) -> Result<web::Json<SystemRegistryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let body = body.into_inner();
    let empty = body.system.as_ref().is_none_or(is_empty_system_patch)
        && body
            .provider
            .as_ref()
            .is_none_or(common::dto::device::is_empty_patch)
        && given(&body.end_of_validity).is_none()
        && body.metadata.is_none()
        && body.version.is_none();
    if empty {
        return Err(bad("Patch request is empty.", &origin));
    }
    let (o, policy) = (origin.clone(), state.address);
    let outcome = db::run(&state.pool, move |c| {
        store::patch_entry(c, id, |(e, s, d)| {
            let metadata = match &body.metadata {
                None => e.metadata.clone(),
                Some(m) => {
                    let m = normalize_metadata(Some(m)).map_err(|err| err.with_origin(&o))?;
                    metadata_column(&m, &o)?
                }
            };
            Ok(Merged {
                system: merged_system(s, body.system.as_ref(), policy, &o)?,
                device: common::dto::device::patched(d, body.provider.as_ref(), &o)?,
                end_of_validity: common::dto::end_of_validity_of(
                    body.end_of_validity.as_deref(),
                    &o,
                )?
                .or(e.end_of_validity),
                metadata,
                version: common::dto::version_of(body.version, &o)?
                    .unwrap_or(e.version.unwrap_or(1)),
            })
        })
    })
    .await?;
    updated(outcome, id, &origin)
}

/// Removes one registry entry.
#[utoipa::path(delete, path = "/systemregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    match db::run(&state.pool, move |c| Ok(store::delete_entry(c, id)?)).await? {
        Some(e) => {
            publish(&state, "UNREGISTER-SYSTEM", std::slice::from_ref(&e));
            Ok(HttpResponse::Ok().finish())
        }
        None => Err(no_entry(id, &origin)),
    }
}

/// The registry entries of the systems with this name (paged by `page`/`item_per_page`, by id).
#[utoipa::path(get, path = "/systemregistry/mgmt/systemname/{name}", tag = "Management", params(("name" = String, Path), PageQuery),
    responses((status = 200, body = ListResponse<SystemRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn entries_by_name(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    name: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<SystemRegistryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let page = q.validate(store::ENTRY_SORT_FIELDS, &origin)?;
    let name = checked_name(&name, false, &origin)?;
    let rows = db::run(&state.pool, move |c| Ok(store::entries_of(c, &name)?)).await?;
    let count = rows.len() as i64;
    let data = page.apply(rows.iter().map(response).collect());
    Ok(web::Json(ListResponse { data, count }))
}

// ---- systems ----

/// Systems (paged, sorted by `id`, `systemName`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/systemregistry/mgmt/systems", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<SystemResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_systems(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<SystemResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(store::SYSTEM_SORT_FIELDS, "/systemregistry/mgmt/systems")?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(store::list_systems(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(SystemResponse::from).collect(),
        count,
    }))
}

/// Creates a system (without a registry entry).
#[utoipa::path(post, path = "/systemregistry/mgmt/systems", tag = "Management", request_body = SystemRequest,
    responses((status = 201, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SystemRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    const ORIGIN: &str = "/systemregistry/mgmt/systems";
    let v = system_of(Some(&body), true, state.address, ORIGIN)?;
    let values = v.clone();
    match db::run(&state.pool, move |c| store::create_system(c, &values)).await? {
        Some(s) => Ok(HttpResponse::Created().json(SystemResponse::from(&s))),
        None => Err(system_taken(&v, ORIGIN)),
    }
}

/// One system (`/mgmt/systems/{id}` answers the system too; Java answered a device there).
#[utoipa::path(get, path = "/systemregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    system_json(&state, &id, &request_url(&req)).await
}

fn system_changed(
    outcome: SystemChanged,
    not_found: String,
    origin: &str,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    match outcome {
        SystemChanged::Done(s) => Ok(web::Json(SystemResponse::from(&s))),
        SystemChanged::NoSystem => Err(bad(not_found, origin)),
        SystemChanged::Duplicate(v) => Err(system_taken(&v, origin)),
    }
}

/// Replaces a system's name, address, port, key and metadata.
#[utoipa::path(put, path = "/systemregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SystemRequest,
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<SystemRequest>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let v = system_of(Some(&body), true, state.address, &origin)?;
    let outcome = db::run(&state.pool, move |c| store::change_system(c, id, |_| Ok(v))).await?;
    system_changed(outcome, format!("No system with id : {id}"), &origin)
}

/// Changes the fields given of a system.
#[utoipa::path(patch, path = "/systemregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SystemRequest,
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<SystemRequest>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    if is_empty_system_patch(&body) {
        return Err(bad("Patch request is empty.", &origin));
    }
    let (body, o, policy) = (body.into_inner(), origin.clone(), state.address);
    let outcome = db::run(&state.pool, move |c| {
        store::change_system(c, id, |stored| {
            merged_system(stored, Some(&body), policy, &o)
        })
    })
    .await?;
    system_changed(outcome, format!("System with id {id} not found."), &origin)
}

/// Deletes a system and, with it, its registry entries (and its services in the Service
/// Registry, which shares the table, as in Java).
#[utoipa::path(delete, path = "/systemregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    if db::run(&state.pool, move |c| Ok(store::delete_system(c, id)?)).await? {
        Ok(HttpResponse::Ok().finish())
    } else {
        Err(bad(format!("System with id {id} not found."), &origin))
    }
}

// ---- devices (the shared table; the same endpoints as the Device Registry's) ----

/// Devices (paged, sorted by `id`, `deviceName`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/systemregistry/mgmt/devices", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<DeviceResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_devices(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<DeviceResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_api::list(&state.pool, &q, "/systemregistry/mgmt/devices").await
}

/// Creates a device.
#[utoipa::path(post, path = "/systemregistry/mgmt/devices", tag = "Management", request_body = DeviceRequest,
    responses((status = 201, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<DeviceRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_api::create(&state.pool, &body, "/systemregistry/mgmt/devices").await
}

/// One device.
#[utoipa::path(get, path = "/systemregistry/mgmt/device/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_api::get(&state.pool, &id, &request_url(&req)).await
}

/// Replaces a device's name, address, MAC and key.
#[utoipa::path(put, path = "/systemregistry/mgmt/device/{id}", tag = "Management", params(("id" = i64, Path)), request_body = DeviceRequest,
    responses((status = 200, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<DeviceRequest>,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_api::replace(&state.pool, &id, &body, &request_url(&req)).await
}

/// Changes the fields given of a device.
#[utoipa::path(patch, path = "/systemregistry/mgmt/device/{id}", tag = "Management", params(("id" = i64, Path)), request_body = DeviceRequest,
    responses((status = 200, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<DeviceRequest>,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_api::patch(&state.pool, &id, body.into_inner(), &request_url(&req)).await
}

/// Deletes a device and the registry entries of the systems on it.
#[utoipa::path(delete, path = "/systemregistry/mgmt/device/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_api::delete(&state.pool, &id, &request_url(&req)).await
}
