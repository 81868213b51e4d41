//! The Device Registry's HTTP endpoints: Java 4.6.2 paths, JSON and messages, with Java's query
//! bugs fixed (the version filter kept the wrong entries, the address filter did nothing) and
//! unregistration matching names the way they are stored.

use crate::access::{self, Endpoint};
use crate::store::{self, EntryRow, NewEntry, Registered, Unregistered};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::device::{self as devices, DeviceRow};
use common::db::{self, DbPool};
use common::device_api::{self, positive_id};
use common::dto::device::{device_of, is_mac, required, DeviceRequest, DeviceResponse};
use common::dto::onboarding::{CertificateCreationRequest, CertificateResponse};
use common::dto::{format_instant, ListResponse, RequestMetadata};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{metadata_column, normalize_metadata, text_to_metadata, PageQuery};
use common::registration::Registrar;
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::OpenApi;

pub const BASE: &str = "/deviceregistry";

/// Handler state; no registry data is kept in memory.
pub struct AppState {
    pub pool: DbPool,
    /// The way to the Certificate Authority and the Event Handler.
    pub registrar: Registrar,
    /// `<cloud>.<operator>.arrowhead.eu` of this system's certificate (`None` when insecure).
    pub cloud_cn: Option<String>,
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
            .service(web::resource("/onboarding/name").route(web::post().to(onboarding_name)))
            .service(web::resource("/onboarding/csr").route(web::post().to(onboarding_csr)))
            .service(
                web::resource("/mgmt/devices/{id}")
                    .route(web::put().to(update_device))
                    .route(web::patch().to(patch_device))
                    .route(web::delete().to(delete_device)),
            )
            .service(
                web::resource("/mgmt")
                    .route(web::get().to(list_entries))
                    .route(web::post().to(register)),
            )
            .service(
                web::resource("/mgmt/{id}")
                    .route(web::get().to(get_entry))
                    .route(web::put().to(update_entry))
                    .route(web::patch().to(patch_entry))
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
    let metadata = normalize_metadata(body.metadata.as_ref()).map_err(|e| e.with_origin(origin))?;
    Ok(NewEntry {
        device,
        end_of_validity: common::dto::end_of_validity_of(body.end_of_validity.as_deref(), origin)?,
        metadata: metadata_column(&metadata, origin)?,
        version: common::dto::version_of(body.version, origin)?.unwrap_or(1),
    })
}

/// What a PATCH makes of an entry: the fields given replace the stored ones.
fn merged(
    body: &DeviceRegistryRequest,
    entry: &EntryRow,
    device: &DeviceRow,
    origin: &str,
) -> Result<store::Merged, ArrowheadError> {
    let metadata = match &body.metadata {
        None => entry.metadata.clone(),
        Some(m) => {
            let m = normalize_metadata(Some(m)).map_err(|e| e.with_origin(origin))?;
            metadata_column(&m, origin)?
        }
    };
    Ok(store::Merged {
        device: common::dto::device::patched(device, body.device.as_ref(), origin)?,
        end_of_validity: common::dto::end_of_validity_of(body.end_of_validity.as_deref(), origin)?
            .or(entry.end_of_validity),
        metadata,
        version: common::dto::version_of(body.version, origin)?
            .unwrap_or(entry.version.unwrap_or(1)),
    })
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
    let (e, d) = register_entry(&state, entry, origin).await?;
    Ok(HttpResponse::Created().json(response(&e, &d)))
}

fn duplicate(name: &str, mac: &str, origin: &str) -> ArrowheadError {
    bad(
        format!("Device Registry entry with provider: ({name}, {mac}) already exists."),
        origin,
    )
}

/// Stores a registration and announces it (`REGISTER-DEVICE`).
async fn register_entry(
    state: &AppState,
    entry: NewEntry,
    origin: &str,
) -> Result<(EntryRow, DeviceRow), ArrowheadError> {
    let outcome = db::run(&state.pool, move |c| Ok(store::register(c, &entry)?)).await?;
    match outcome {
        Registered::Done(e, d) => {
            publish(state, "REGISTER-DEVICE", &e, &d);
            Ok((e, d))
        }
        Registered::Duplicate(d) => Err(duplicate(&d.device_name, &d.mac_address, origin)),
    }
}

/// Java's registry events: the entry as a `DeviceRegistryRequestDTO`, in the background.
fn publish(state: &AppState, event_type: &str, e: &EntryRow, d: &DeviceRow) {
    let mut payload = serde_json::json!({
        "device": common::dto::device::request_of(d),
        "version": e.version.unwrap_or(1),
    });
    if let Some(t) = &e.end_of_validity {
        payload["endOfValidity"] = format_instant(t).into();
    }
    if let Some(m) = text_to_metadata(e.metadata.as_deref()) {
        payload["metadata"] = serde_json::json!(m);
    }
    common::events::publish_event(&state.registrar, event_type, vec![payload.to_string()]);
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
        Unregistered::Done(removed) => {
            let (e, d) = &*removed;
            publish(&state, "UNREGISTER-DEVICE", e, d);
            Ok(HttpResponse::Ok().finish())
        }
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
    device_api::get(&state.pool, &id, &request_url(&req)).await
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
        Some((e, d)) => {
            publish(&state, "UNREGISTER-DEVICE", &e, &d);
            Ok(HttpResponse::Ok().finish())
        }
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
    let data = page.apply(rows.iter().map(|(e, d)| response(e, d)).collect());
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
    device_api::list(&state.pool, &q, "/deviceregistry/mgmt/devices").await
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
    device_api::create(&state.pool, &body, "/deviceregistry/mgmt/devices").await
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
    device_api::get(&state.pool, &id, &request_url(&req)).await
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
    device_api::delete(&state.pool, &id, &request_url(&req)).await
}

/// Replaces a registry entry: its device (found or created by name and MAC) and fields.
#[utoipa::path(put, path = "/deviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)), request_body = DeviceRegistryRequest,
    responses((status = 200, body = DeviceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<DeviceRegistryRequest>,
) -> Result<web::Json<DeviceRegistryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let entry = entry_of(&body, &origin)?;
    let outcome = db::run(&state.pool, move |c| {
        Ok(store::update_entry(c, id, &entry)?)
    })
    .await?;
    updated(outcome, id, &origin)
}

fn updated(
    outcome: store::Updated,
    id: i64,
    origin: &str,
) -> Result<web::Json<DeviceRegistryResponse>, ArrowheadError> {
    match outcome {
        store::Updated::Done(e, d) => Ok(web::Json(response(&e, &d))),
        store::Updated::NoEntry => Err(bad(
            format!("Device Registry entry with id '{id}' does not exist"),
            origin,
        )),
        store::Updated::Duplicate(d) => Err(duplicate(&d.name, &d.mac, origin)),
    }
}

/// Changes the fields given of a registry entry and of its device.
#[utoipa::path(patch, path = "/deviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)), request_body = DeviceRegistryRequest,
    responses((status = 200, body = DeviceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<DeviceRegistryRequest>,
) -> Result<web::Json<DeviceRegistryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let body = body.into_inner();
    let empty = body
        .device
        .as_ref()
        .is_none_or(common::dto::device::is_empty_patch)
        && body
            .end_of_validity
            .as_deref()
            .is_none_or(|v| v.trim().is_empty())
        && body.metadata.is_none()
        && body.version.is_none();
    if empty {
        return Err(bad("Patch request is empty.", &origin));
    }
    let o = origin.clone();
    let outcome = db::run(&state.pool, move |c| {
        store::patch_entry(c, id, |e, d| merged(&body, e, d, &o))
    })
    .await?;
    updated(outcome, id, &origin)
}

/// Replaces a device's name, address, MAC and key.
#[utoipa::path(put, path = "/deviceregistry/mgmt/devices/{id}", tag = "Management", params(("id" = i64, Path)), request_body = DeviceRequest,
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
#[utoipa::path(patch, path = "/deviceregistry/mgmt/devices/{id}", tag = "Management", params(("id" = i64, Path)), request_body = DeviceRequest,
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

// ---- onboarding ----

/// Java `DeviceRegistryOnboardingWithNameRequestDTO`: a registration and the certificate to make.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingWithNameRequest {
    #[serde(flatten)]
    pub registration: DeviceRegistryRequest,
    #[schema(required = true)]
    pub certificate_creation_request: Option<CertificateCreationRequest>,
}

/// Java `DeviceRegistryOnboardingWithCsrRequestDTO`: a registration and the device's own CSR.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingWithCsrRequest {
    #[serde(flatten)]
    pub registration: DeviceRegistryRequest,
    /// Base64 DER PKCS#10, CN `<device>.<cloud>.<operator>.arrowhead.eu`.
    #[schema(required = true)]
    pub certificate_signing_request: Option<String>,
}

/// Java `DeviceRegistryOnboardingWith{Name,Csr}ResponseDTO`: the entry and the certificate.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingResponse {
    #[serde(flatten)]
    pub entry: DeviceRegistryResponse,
    pub certificate_response: CertificateResponse,
}

/// Signs the device's certificate, then registers it. A device that has an entry already is
/// refused before anything is signed (Java signed first and threw the certificate away).
async fn onboard(
    state: &AppState,
    entry: NewEntry,
    csr: Vec<u8>,
    key: Option<&openssl::pkey::PKey<openssl::pkey::Private>>,
    origin: &str,
) -> Result<HttpResponse, ArrowheadError> {
    let (name, mac) = (entry.device.name.clone(), entry.device.mac.clone());
    let (n, m) = (name.clone(), mac.clone());
    let exists = db::run(&state.pool, move |c| {
        Ok(!store::entries_of(c, &n, Some(&m))?.is_empty())
    })
    .await?;
    if exists {
        return Err(duplicate(&name, &mac, origin));
    }
    let signed = common::certify::sign(&state.registrar, &csr).await?;
    let certificate_response = signed.response("AH_DEVICE", key)?;
    let (e, d) = register_entry(state, entry, origin).await?;
    Ok(HttpResponse::Created().json(OnboardingResponse {
        entry: response(&e, &d),
        certificate_response,
    }))
}

/// Onboards a device by name: a certificate for `<commonName>.<cloud>` (key pair given or
/// generated, returned with the private key) and its registry entry.
#[utoipa::path(post, path = "/deviceregistry/onboarding/name", tag = "Onboarding", request_body = OnboardingWithNameRequest,
    responses((status = 201, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn onboarding_name(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<OnboardingWithNameRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/deviceregistry/onboarding/name";
    let body = body.into_inner();
    let creation = body
        .certificate_creation_request
        .ok_or_else(|| bad("Certificate creation request is null.", ORIGIN))?;
    let entry = entry_of(&body.registration, ORIGIN)?;
    let (csr, key) = common::certify::csr_for_name(
        &creation,
        state.cloud_cn.as_deref(),
        req.peer_addr().map(|a| a.ip()),
        "Device Registry",
        ORIGIN,
    )?;
    onboard(&state, entry, csr, Some(&key), ORIGIN).await
}

/// Onboards a device with its own CSR (the device keeps its private key) and registers it.
#[utoipa::path(post, path = "/deviceregistry/onboarding/csr", tag = "Onboarding", request_body = OnboardingWithCsrRequest,
    responses((status = 201, body = OnboardingResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn onboarding_csr(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<OnboardingWithCsrRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/deviceregistry/onboarding/csr";
    let body = body.into_inner();
    if body.certificate_signing_request.is_none() {
        return Err(bad("Certificate signing request is null.", ORIGIN));
    }
    let entry = entry_of(&body.registration, ORIGIN)?;
    let csr = common::certify::decode_csr(
        body.certificate_signing_request.as_deref(),
        "Certificate signing request is null.",
        ORIGIN,
    )?;
    onboard(&state, entry, csr, None, ORIGIN).await
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
        entries_by_name,
        update_entry,
        patch_entry,
        update_device,
        patch_device,
        onboarding_name,
        onboarding_csr
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
