//! The endpoints for the systems of the cloud: echo, register, unregister and the queries.

use super::{
    allow, bad, checked_name, checked_port, duplicate, entry_of, publish, response, AppState,
    SystemRegistryRequest, SystemRegistryResponse,
};
use crate::access::{self, Endpoint};
use crate::store::{self, Registered, Unregistered};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::{self, models::system_by_id as stored_system};
use common::device_api::positive_id;
use common::dto::{RequestMetadata, SystemRequest, SystemResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{normalize_address, normalize_name, text_to_metadata, AddressType};
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};

#[utoipa::path(get, path = "/systemregistry/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(caller: Caller, req: HttpRequest) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!"))
}

common::mgmt_logs_handler!(
    "/systemregistry/mgmt/logs",
    common::identity::CoreSystem::SystemRegistry,
    AppState,
    |s| &s.pool
);

/// Registers a system on its device (both created or brought up to date).
#[utoipa::path(post, path = "/systemregistry/register", tag = "Client", request_body(content = SystemRegistryRequest,
        example = json!({"system": {"systemName": "thermometer", "address": "10.0.0.7", "port": 8080},
                         "provider": {"deviceName": "gateway-7", "address": "10.0.0.7", "macAddress": "aa:bb:cc:dd:ee:07"}})),
    responses((status = 201, body = SystemRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SystemRegistryRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/systemregistry/register";
    let reserved = body
        .system
        .as_ref()
        .and_then(|s| s.system_name.as_deref())
        .is_some_and(|n| !access::may_register_name(&caller, n));
    let entry = entry_of(&body, reserved, state.address, ORIGIN)?;
    let entry = register_entry(&state, entry, ORIGIN).await?;
    Ok(HttpResponse::Created().json(response(&entry)))
}

/// Stores a registration and announces it (`REGISTER-SYSTEM`).
pub(super) async fn register_entry(
    state: &AppState,
    entry: store::NewEntry,
    origin: &str,
) -> Result<store::Entry, ArrowheadError> {
    match db::run(&state.pool, move |c| store::register(c, &entry)).await? {
        Registered::Done(entry) => {
            publish(state, "REGISTER-SYSTEM", std::slice::from_ref(&*entry));
            Ok(*entry)
        }
        Registered::Duplicate(device, mac, system) => {
            Err(duplicate(&device, &mac, &system, origin))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnregisterQuery {
    pub system_name: Option<String>,
    pub address: Option<String>,
    pub port: Option<String>,
}

/// The name, address and port of a system, checked as Java's unregister does.
fn system_key(
    name: Option<&str>,
    address: Option<&str>,
    port: Option<i64>,
    origin: &str,
) -> Result<(String, String, i32), ArrowheadError> {
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("Name of the system is blank", origin))?;
    let name = checked_name(name, false, origin)?;
    let address = address
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| bad("Address of the system is blank", origin))?;
    let port = checked_port(port.unwrap_or(0), origin)?;
    Ok((normalize_name(&name), normalize_address(address), port))
}

/// Removes every registry entry of a system (the system stays in `system_`).
#[utoipa::path(delete, path = "/systemregistry/unregister", tag = "Client", params(UnregisterQuery),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn unregister(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<UnregisterQuery>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/systemregistry/unregister";
    let port = q.port.as_deref().and_then(|p| p.trim().parse::<i64>().ok());
    let (name, address, port) =
        system_key(q.system_name.as_deref(), q.address.as_deref(), port, ORIGIN)?;
    let (n, a) = (name.clone(), address.clone());
    match db::run(&state.pool, move |c| Ok(store::unregister(c, &n, &a, port)?)).await? {
        Unregistered::Done(entries) => {
            publish(&state, "UNREGISTER-SYSTEM", &entries);
            Ok(HttpResponse::Ok().finish())
        }
        Unregistered::NoSystem => Err(bad(
            format!("System entry with name '{name}', address '{address}' and port '{port}' does not exist"),
            ORIGIN,
        )),
        Unregistered::NoEntry => Err(bad(
            format!("System Registry entry for System with name '{name}', address '{address}' and port '{port}' does not exist"),
            ORIGIN,
        )),
    }
}

/// Java `SystemQueryFormDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemQueryForm {
    #[schema(required = true)]
    pub system_name_requirements: Option<String>,
    pub device_name_requirements: Option<String>,
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub metadata_requirements: Option<RequestMetadata>,
    pub version_requirement: Option<i64>,
    pub min_version_requirement: Option<i64>,
    pub max_version_requirement: Option<i64>,
    /// `IPV4`, `IPV6`, `HOSTNAME`.
    pub address_type_requirements: Option<Vec<String>>,
    /// Only systems that accept a TCP connection within `ping_timeout`.
    pub ping_providers: Option<bool>,
}

/// Java `SystemQueryResultDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemQueryResult {
    pub system_query_data: Vec<SystemRegistryResponse>,
    /// Entries of the named system(s) before the other requirements were applied.
    pub unfiltered_hits: i64,
}

/// The registry entries of a system name, filtered by the other requirements.
#[utoipa::path(post, path = "/systemregistry/query", tag = "Client", request_body = SystemQueryForm,
    responses((status = 200, body = SystemQueryResult), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    form: web::Json<SystemQueryForm>,
) -> Result<web::Json<SystemQueryResult>, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/systemregistry/query";
    let form = form.into_inner();
    let name = form
        .system_name_requirements
        .as_deref()
        .map(normalize_name)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("System definition requirement is null or blank", ORIGIN))?;
    let address_types = form
        .address_type_requirements
        .iter()
        .flatten()
        .map(|t| {
            AddressType::parse(t)
                .ok_or_else(|| bad(format!("Unknown address type requirement: '{t}'."), ORIGIN))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows = db::run(&state.pool, move |c| Ok(store::entries_of(c, &name)?)).await?;
    let unfiltered_hits = rows.len() as i64;
    let device = form
        .device_name_requirements
        .as_deref()
        .map(normalize_name)
        .filter(|d| !d.is_empty());
    let wanted: Vec<(String, String)> = form
        .metadata_requirements
        .iter()
        .flatten()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let kept: Vec<store::Entry> = rows
        .into_iter()
        .filter(|(e, s, d)| {
            let version = i64::from(e.version.unwrap_or(1));
            let metadata = text_to_metadata(e.metadata.as_deref()).unwrap_or_default();
            let address_type = s.address_type.as_deref().and_then(AddressType::parse);
            device.as_deref().is_none_or(|n| d.device_name == n)
                && (address_types.is_empty()
                    || address_type.is_some_and(|t| address_types.contains(&t)))
                && form.version_requirement.is_none_or(|v| version == v)
                && form.min_version_requirement.is_none_or(|v| version >= v)
                && form.max_version_requirement.is_none_or(|v| version <= v)
                && wanted.iter().all(|(k, v)| metadata.get(k) == Some(v))
        })
        .collect();
    let kept = if form.ping_providers == Some(true) {
        let checks = kept
            .iter()
            .map(|(_, s, _)| common::net::reachable(s.address.clone(), s.port, state.ping_timeout));
        let alive = futures_util::future::join_all(checks).await;
        kept.into_iter()
            .zip(alive)
            .filter_map(|(e, ok)| ok.then_some(e))
            .collect()
    } else {
        kept
    };
    Ok(web::Json(SystemQueryResult {
        system_query_data: kept.iter().map(response).collect(),
        unfiltered_hits,
    }))
}

/// A system (of the shared `system_` table) by id.
pub(super) async fn system_json(
    state: &AppState,
    raw_id: &str,
    origin: &str,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    let id = positive_id(raw_id, origin)?;
    let found = db::run(&state.pool, move |c| Ok(stored_system(c, id)?)).await?;
    found
        .map(|s| web::Json(SystemResponse::from(&s)))
        .ok_or_else(|| bad(format!("System with id {id} not found."), origin))
}

/// A system by id.
#[utoipa::path(get, path = "/systemregistry/query/system/{id}", tag = "Client", params(("id" = i64, Path)),
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn system_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    system_json(&state, &id, &request_url(&req)).await
}

/// A system by name, address and port.
#[utoipa::path(post, path = "/systemregistry/query/system", tag = "Client", request_body = SystemRequest,
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn system_by_body(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SystemRequest>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Client, &req)?;
    const ORIGIN: &str = "/systemregistry/query/system";
    let name = body
        .system_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad(" System name must have value ", ORIGIN))?;
    let address = body
        .address
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| bad(" System address must have value ", ORIGIN))?;
    let port = body
        .port
        .ok_or_else(|| bad(" System port must have value ", ORIGIN))?;
    let port = checked_port(port, ORIGIN)?;
    let (name, address) = (normalize_name(name), normalize_address(address));
    let (n, a) = (name.clone(), address.clone());
    let found = db::run(&state.pool, move |c| {
        Ok(common::db::models::find_system(c, &n, &a, port)?)
    })
    .await?;
    found.map(|s| web::Json(SystemResponse::from(&s))).ok_or_else(|| {
        bad(
            format!("System entry with name '{name}', address '{address}' and port '{port}' does not exist"),
            ORIGIN,
        )
    })
}
