//! The Device Registry's HTTP endpoints: Java 4.6.2 paths, JSON and messages, with Java's query
//! bugs fixed (the version filter kept the wrong entries, the address filter did nothing) and
//! unregistration matching names the way they are stored.

use crate::access::{self, Endpoint};
use crate::store::{self, EntryRow, NewEntry, Registered, Unregistered};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::device::{self as devices, DeviceRow};
use common::db::{self, DbPool};
use common::dto::device::{device_of, is_mac, required, DeviceRequest, DeviceResponse};
use common::dto::{format_instant, ListResponse, RequestMetadata};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{metadata_column, normalize_metadata, text_to_metadata, PageQuery};
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::OpenApi;

pub const BASE: &str = "/deviceregistry";

/// Handler state; no registry data is kept in memory.
pub struct AppState {
    pub pool: DbPool,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/register").route(web::post().to(register)))
            .service(web::resource("/unregister").route(web::delete().to(unregister)))
            .service(web::resource("/query").route(web::post().to(query)))
            .service(web::resource("/query/device/{id}").route(web::get().to(device_by_id)))
            .service(web::resource("/query/device").route(web::post().to(device_by_body)))
            .service(
                web::resource("/mgmt/devices")
                    .route(web::get().to(list_devices))
                    .route(web::post().to(create_device)),
            )
            .service(web::resource("/mgmt/device/{id}").route(web::get().to(get_device)))
            .service(web::resource("/mgmt/devicename/{name}").route(web::get().to(entries_by_name)))
            .service(web::resource("/mgmt/devices/{id}").route(web::delete().to(delete_device)))
            .service(
                web::resource("/mgmt")
                    .route(web::get().to(list_entries))
                    .route(web::post().to(register)),
            )
            .service(
                web::resource("/mgmt/{id}")
                    .route(web::get().to(get_entry))
                    .route(web::delete().to(delete_entry)),
            ),
    );
}

fn allow(caller: &Caller, endpoint: Endpoint, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

#[utoipa::path(get, path = "/deviceregistry/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(caller: Caller, req: HttpRequest) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!"))
}

common::mgmt_logs_handler!(
    "/deviceregistry/mgmt/logs",
    common::identity::CoreSystem::DeviceRegistry,
    AppState,
    |s| &s.pool
);

// ---- wire types ----

/// Java `DeviceRegistryRequestDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistryRequest {
    #[schema(required = true)]
    pub device: Option<DeviceRequest>,
    /// ISO-8601 instant.
    pub end_of_validity: Option<String>,
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub metadata: Option<RequestMetadata>,
    pub version: Option<i64>,
}

/// Java `DeviceRegistryResponseDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistryResponse {
    pub id: i64,
    pub device: DeviceResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_validity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    pub version: i32,
    pub created_at: String,
    pub updated_at: String,
}

fn response(e: &EntryRow, d: &DeviceRow) -> DeviceRegistryResponse {
    DeviceRegistryResponse {
        id: e.id,
        device: DeviceResponse::from(d),
        end_of_validity: e.end_of_validity.as_ref().map(format_instant),
        metadata: text_to_metadata(e.metadata.as_deref()),
        version: e.version.unwrap_or(1),
        created_at: format_instant(&e.created_at),
        updated_at: format_instant(&e.updated_at),
    }
}

/// Java `DeviceQueryFormDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceQueryForm {
    #[schema(required = true)]
    pub device_name_requirements: Option<String>,
    pub address_requirement: Option<String>,
    pub mac_address_requirement: Option<String>,
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub metadata_requirements: Option<RequestMetadata>,
    pub version_requirement: Option<i64>,
    pub min_version_requirement: Option<i64>,
    pub max_version_requirement: Option<i64>,
}

/// Java `DeviceQueryResultDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceQueryResult {
    pub device_query_data: Vec<DeviceRegistryResponse>,
    /// Entries of the named device(s) before the other requirements were applied.
    pub unfiltered_hits: i64,
}

// ---- validation ----

fn entry_of(body: &DeviceRegistryRequest, origin: &str) -> Result<NewEntry, ArrowheadError> {
    let device = device_of(body.device.as_ref(), origin)?;
    let end_of_validity = match body
        .end_of_validity
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => {
            let t = common::dto::parse_instant(v).ok_or_else(|| {
                bad("End of validity is specified in the wrong format. Please provide UTC time using ISO-8601 format.", origin)
            })?;
            if !common::dto::storable(&t) {
                return Err(bad("End of validity is out of the storable range (1970-01-01T00:00:01Z to 2038-01-19T03:14:07Z).", origin));
            }
            Some(t)
        }
    };
    let metadata = normalize_metadata(body.metadata.as_ref()).map_err(|e| e.with_origin(origin))?;
    let version = match body.version {
        None => 1,
        Some(v) => i32::try_from(v).map_err(|_| bad("Version is out of range.", origin))?,
    };
    Ok(NewEntry {
        device,
        end_of_validity,
        metadata: metadata_column(&metadata, origin)?,
        version,
    })
}

fn positive_id(raw: &str, origin: &str) -> Result<i64, ArrowheadError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("Id must be greater than 0.", origin))
}

// ---- handlers ----

/// Registers a device (created or updated by name and MAC) with its registry entry.
#[utoipa::path(post, path = "/deviceregistry/register", tag = "Client", request_body(content = DeviceRegistryRequest,
        example = json!({"device": {"deviceName": "gateway-7", "address": "10.0.0.7", "macAddress": "aa:bb:cc:dd:ee:07"}, "metadata": {"site": "hall-2"}})),
    responses((status = 201, body = DeviceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<DeviceRegistryRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    let mgmt = req.path().ends_with("/mgmt");
    allow(
        &caller,
        if mgmt {
            Endpoint::Mgmt
        } else {
            Endpoint::Client
        },
        &req,
    )?;
    let origin = if mgmt {
        "/deviceregistry/mgmt"
    } else {
        "/deviceregistry/register"
    };
    let entry = entry_of(&body, origin)?;
    let outcome = db::run(&state.pool, move |c| Ok(store::register(c, &entry)?)).await?;
    match outcome {
        Registered::Done(e, d) => Ok(HttpResponse::Created().json(response(&e, &d))),
        Registered::Duplicate(d) => Err(bad(
            format!(
                "Device Registry entry with provider: ({}, {}) already exists.",
                d.device_name, d.mac_address
            ),
            origin,
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnregisterQuery {
    pub device_name: Option<String>,
    pub mac_address: Option<String>,
}

/// Removes a device's registry entry (the device record stays).
#[utoipa::path(delete, path = "/deviceregistry/unregister", tag = "Client", params(UnregisterQuery),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn unregister(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<UnregisterQuery>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/deviceregistry/unregister";
    let name = required(
        q.device_name.as_deref(),
        "Name of the device is blank",
        ORIGIN,
    )?;
    let mac = required(
        q.mac_address.as_deref(),
        "MAC Address of the device is blank",
        ORIGIN,
    )?;
    if !is_mac(&mac) {
        return Err(bad("Unrecognized format of MAC Address", ORIGIN));
    }
    let (n, m) = (name.clone(), mac.clone());
    match db::run(&state.pool, move |c| Ok(store::unregister(c, &n, &m)?)).await? {
        Unregistered::Done => Ok(HttpResponse::Ok().finish()),
        Unregistered::NoDevice => Err(bad(
            format!("Device entry with name '{name}' and MAC address '{mac}' does not exist"),
            ORIGIN,
        )),
        Unregistered::NoEntry => Err(bad(
            format!("Device Registry entry for System with name '{name}' and MAC address '{mac}' does not exist"),
            ORIGIN,
        )),
    }
}

/// The registry entries of a device name, filtered by the other requirements.
#[utoipa::path(post, path = "/deviceregistry/query", tag = "Client", request_body = DeviceQueryForm,
    responses((status = 200, body = DeviceQueryResult), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    form: web::Json<DeviceQueryForm>,
) -> Result<web::Json<DeviceQueryResult>, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/deviceregistry/query";
    let form = form.into_inner();
    let name = required(
        form.device_name_requirements.as_deref(),
        "Device definition requirement is null or blank",
        ORIGIN,
    )?;
    let mac = form
        .mac_address_requirement
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_lowercase);
    let rows = db::run(&state.pool, move |c| {
        Ok(store::entries_of(c, &name, mac.as_deref())?)
    })
    .await?;
    let unfiltered_hits = rows.len() as i64;
    let address = form
        .address_requirement
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_lowercase);
    let wanted: Vec<(String, String)> = form
        .metadata_requirements
        .iter()
        .flatten()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let data = rows
        .iter()
        .filter(|(e, d)| {
            let version = i64::from(e.version.unwrap_or(1));
            let metadata = text_to_metadata(e.metadata.as_deref()).unwrap_or_default();
            address.as_deref().is_none_or(|a| d.address == a)
                && form.version_requirement.is_none_or(|v| version == v)
                && form.min_version_requirement.is_none_or(|v| version >= v)
                && form.max_version_requirement.is_none_or(|v| version <= v)
                && wanted.iter().all(|(k, v)| metadata.get(k) == Some(v))
        })
        .map(|(e, d)| response(e, d))
        .collect();
    Ok(web::Json(DeviceQueryResult {
        device_query_data: data,
        unfiltered_hits,
    }))
}

/// The device with the id of the path (both the query and the management endpoint).
async fn device_json(
    state: &AppState,
    req: &HttpRequest,
    raw_id: &str,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    let origin = request_url(req);
    let id = positive_id(raw_id, &origin)?;
    let found = db::run(&state.pool, move |c| Ok(devices::device_by_id(c, id)?)).await?;
    found
        .map(|d| web::Json(DeviceResponse::from(&d)))
        .ok_or_else(|| bad(format!("Device with id {id} not found."), &origin))
}

/// A device by id.
#[utoipa::path(get, path = "/deviceregistry/query/device/{id}", tag = "Client", params(("id" = i64, Path)),
    responses((status = 200, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn device_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    device_json(&state, &req, &id).await
}

/// A device by name and MAC address.
#[utoipa::path(post, path = "/deviceregistry/query/device", tag = "Client", request_body = DeviceRequest,
    responses((status = 200, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn device_by_body(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<DeviceRequest>,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/deviceregistry/query/device";
    let name = required(
        body.device_name.as_deref(),
        "Device name must have value",
        ORIGIN,
    )?;
    let mac = required(
        body.mac_address.as_deref(),
        "Device MAC address must have value",
        ORIGIN,
    )?;
    let (n, m) = (name.clone(), mac.clone());
    let found = db::run(&state.pool, move |c| {
        Ok(devices::device_by_name_and_mac(c, &n, &m)?)
    })
    .await?;
    found
        .map(|d| web::Json(DeviceResponse::from(&d)))
        .ok_or_else(|| {
            bad(
                format!("Device entry with name '{name}' and MAC address '{mac}' does not exist"),
                ORIGIN,
            )
        })
}

/// Registry entries (paged, sorted by `id`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/deviceregistry/mgmt", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<DeviceRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_entries(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<DeviceRegistryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(store::ENTRY_SORT_FIELDS, "/deviceregistry/mgmt")?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(store::list_entries(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(|(e, d)| response(e, d)).collect(),
        count,
    }))
}

/// One registry entry.
#[utoipa::path(get, path = "/deviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = DeviceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<DeviceRegistryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let found = db::run(&state.pool, move |c| Ok(store::entry_by_id(c, id)?)).await?;
    found
        .map(|(e, d)| web::Json(response(&e, &d)))
        .ok_or_else(|| {
            bad(
                format!("Device Registry entry with id '{id}' does not exist"),
                &origin,
            )
        })
}

/// Removes one registry entry.
#[utoipa::path(delete, path = "/deviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)),
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
    let found = db::run(&state.pool, move |c| Ok(store::delete_entry(c, id)?)).await?;
    match found {
        Some(_) => Ok(HttpResponse::Ok().finish()),
        None => Err(bad(
            format!("Device Registry entry with id '{id}' does not exist"),
            &origin,
        )),
    }
}

/// The registry entries of the devices with this name (paged by `page`/`item_per_page`, by id).
#[utoipa::path(get, path = "/deviceregistry/mgmt/devicename/{name}", tag = "Management", params(("name" = String, Path), PageQuery),
    responses((status = 200, body = ListResponse<DeviceRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn entries_by_name(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    name: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<DeviceRegistryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let page = q.validate(store::ENTRY_SORT_FIELDS, &origin)?;
    let name = required(Some(&name), "Device name must have value", &origin)?;
    let rows = db::run(&state.pool, move |c| Ok(store::entries_of(c, &name, None)?)).await?;
    let count = rows.len() as i64;
    let mut data: Vec<DeviceRegistryResponse> = rows.iter().map(|(e, d)| response(e, d)).collect();
    if page.direction == common::names::Direction::Desc {
        data.reverse();
    }
    if let Some((index, size)) = page.page {
        let skip = usize::try_from(index.saturating_mul(size)).unwrap_or(usize::MAX);
        data = data
            .into_iter()
            .skip(skip)
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .collect();
    }
    Ok(web::Json(ListResponse { data, count }))
}

/// Devices (paged, sorted by `id`, `deviceName`, `createdAt`, `updatedAt`).
#[utoipa::path(get, path = "/deviceregistry/mgmt/devices", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<DeviceResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_devices(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<DeviceResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(devices::DEVICE_SORT_FIELDS, "/deviceregistry/mgmt/devices")?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(devices::list_devices(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(DeviceResponse::from).collect(),
        count,
    }))
}

/// Creates a device (without a registry entry).
#[utoipa::path(post, path = "/deviceregistry/mgmt/devices", tag = "Management", request_body = DeviceRequest,
    responses((status = 201, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<DeviceRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    const ORIGIN: &str = "/deviceregistry/mgmt/devices";
    let new = device_of(Some(&body), ORIGIN)?;
    let (name, mac) = (new.name.clone(), new.mac.clone());
    let created = db::run(&state.pool, move |c| Ok(devices::create_device(c, &new)?)).await?;
    match created {
        Some(d) => Ok(HttpResponse::Created().json(DeviceResponse::from(&d))),
        None => Err(bad(
            format!("Device with name '{name}' and MAC address '{mac}' already exists."),
            ORIGIN,
        )),
    }
}

/// One device.
#[utoipa::path(get, path = "/deviceregistry/mgmt/device/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = DeviceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<DeviceResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    device_json(&state, &req, &id).await
}

/// Removes a device and its registry entry.
#[utoipa::path(delete, path = "/deviceregistry/mgmt/devices/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_device(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    if db::run(&state.pool, move |c| Ok(devices::delete_device(c, id)?)).await? {
        Ok(HttpResponse::Ok().finish())
    } else {
        Err(bad(format!("Device with id {id} not found."), &origin))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        description = "Device Registry core system (Arrowhead 4.x compatible): the devices of the cloud."
    ),
    paths(
        echo,
        logs,
        register,
        unregister,
        query,
        device_by_id,
        device_by_body,
        list_entries,
        get_entry,
        delete_entry,
        list_devices,
        create_device,
        get_device,
        delete_device,
        entries_by_name
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "Device Registry",
        crate::access::who_may_call,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_complete() {
        assert_eq!(common::openapi::faults(&openapi()), Vec::<String>::new());
    }
}
