//! The System Registry's HTTP endpoints: Java 4.6.2 paths, JSON and messages, with Java's bugs
//! fixed (the inverted version filter, PATCH writing the device name into the MAC, a device
//! answered where a system is asked for, `AH_DEVICE` on system certificates). One module per
//! endpoint group; the wire types and the validation they share live here.

pub mod client;
pub mod mgmt;
pub mod onboarding;

use crate::access::{self, Endpoint};
use crate::store::{Entry, NewEntry};
use actix_web::{web, HttpRequest};
use common::db::models::SystemValues;
use common::db::DbPool;
use common::dto::device::{checked_device, DeviceRequest, DeviceResponse};
use common::dto::{format_instant, RequestMetadata, SystemRequest, SystemResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{
    fits, is_cn_label, metadata_column, metadata_to_text, normalize_metadata, text_to_metadata,
    verify_address, AddressPolicy, MAX_NAME_LENGTH,
};
use common::registration::Registrar;
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::OpenApi;

pub const BASE: &str = "/systemregistry";

/// Handler state; no registry data is kept in memory.
pub struct AppState {
    pub pool: DbPool,
    /// The way to the Certificate Authority and the Event Handler.
    pub registrar: Registrar,
    /// `<cloud>.<operator>.arrowhead.eu` of this system's certificate (`None` when insecure).
    pub cloud_cn: Option<String>,
    pub address: AddressPolicy,
    pub ping_timeout: Duration,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    use client::*;
    use mgmt::*;
    use onboarding::*;
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/register").route(web::post().to(register)))
            .service(web::resource("/unregister").route(web::delete().to(unregister)))
            .service(web::resource("/query").route(web::post().to(query)))
            .service(web::resource("/query/system/{id}").route(web::get().to(system_by_id)))
            .service(web::resource("/query/system").route(web::post().to(system_by_body)))
            .service(web::resource("/onboarding/name").route(web::post().to(onboarding_name)))
            .service(web::resource("/onboarding/csr").route(web::post().to(onboarding_csr)))
            .service(
                web::resource("/mgmt/systems")
                    .route(web::get().to(list_systems))
                    .route(web::post().to(create_system)),
            )
            .service(
                web::resource("/mgmt/systems/{id}")
                    .route(web::get().to(get_system))
                    .route(web::put().to(update_system))
                    .route(web::patch().to(patch_system))
                    .route(web::delete().to(delete_system)),
            )
            .service(web::resource("/mgmt/system/{id}").route(web::get().to(get_system)))
            .service(web::resource("/mgmt/systemname/{name}").route(web::get().to(entries_by_name)))
            .service(
                web::resource("/mgmt/devices")
                    .route(web::get().to(list_devices))
                    .route(web::post().to(create_device)),
            )
            .service(
                web::resource("/mgmt/device/{id}")
                    .route(web::get().to(get_device))
                    .route(web::put().to(update_device))
                    .route(web::patch().to(patch_device))
                    .route(web::delete().to(delete_device)),
            )
            .service(web::resource("/mgmt").route(web::get().to(list_entries)))
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

// ---- wire types ----

/// Java `SystemRegistryRequestDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemRegistryRequest {
    #[schema(required = true)]
    pub system: Option<SystemRequest>,
    /// The device the system runs on.
    #[schema(required = true)]
    pub provider: Option<DeviceRequest>,
    /// ISO-8601 instant.
    pub end_of_validity: Option<String>,
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub metadata: Option<RequestMetadata>,
    pub version: Option<i64>,
}

/// Java `SystemRegistryResponseDTO`.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemRegistryResponse {
    pub id: i64,
    pub system: SystemResponse,
    pub provider: DeviceResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_validity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    pub version: i32,
    pub created_at: String,
    pub updated_at: String,
}

fn response((e, s, d): &Entry) -> SystemRegistryResponse {
    SystemRegistryResponse {
        id: e.id,
        system: SystemResponse::from(s),
        provider: DeviceResponse::from(d),
        end_of_validity: e.end_of_validity.as_ref().map(format_instant),
        metadata: text_to_metadata(e.metadata.as_deref()),
        version: e.version.unwrap_or(1),
        created_at: format_instant(&e.created_at),
        updated_at: format_instant(&e.updated_at),
    }
}

// ---- validation ----

const NAME_FORMAT: &str = "System name has invalid format. System names only contain letters (english alphabet), numbers and dash (-), and have to start with a letter (also cannot end with dash).";

/// Java's system name rule (a certificate label), and reserved names when `reserved` is set.
fn checked_name(raw: &str, reserved: bool, origin: &str) -> Result<String, ArrowheadError> {
    let name = raw.trim();
    if name.len() > MAX_NAME_LENGTH || !is_cn_label(name) {
        return Err(bad(NAME_FORMAT, origin));
    }
    if reserved && common::identity::is_protected(name) {
        return Err(bad(
            format!("System name '{name}' is a reserved arrowhead core system name."),
            origin,
        ));
    }
    Ok(name.to_lowercase())
}

fn checked_port(port: i64, origin: &str) -> Result<i32, ArrowheadError> {
    if (1..=65535).contains(&port) {
        Ok(port as i32)
    } else {
        Err(bad("Port must be between 0 and 65535.", origin))
    }
}

fn checked_address(
    raw: &str,
    policy: AddressPolicy,
    origin: &str,
) -> Result<(String, String), ArrowheadError> {
    let (address, kind) = verify_address(raw, policy).map_err(|e| e.with_origin(origin))?;
    fits(
        &address,
        common::names::MAX_VARCHAR,
        "System address",
        origin,
    )?;
    Ok((address, kind.as_str().to_owned()))
}

/// A system of a request, checked and normalised as stored (Java SYR messages, spaces included).
fn system_of(
    s: Option<&SystemRequest>,
    reserved: bool,
    policy: AddressPolicy,
    origin: &str,
) -> Result<SystemValues, ArrowheadError> {
    let s = s.ok_or_else(|| bad("System is null.", origin))?;
    let name = s
        .system_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad(" System name must have value ", origin))?;
    let name = checked_name(name, reserved, origin)?;
    let address = s
        .address
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| bad(" System address must have value ", origin))?;
    let port = s
        .port
        .ok_or_else(|| bad(" System port must have value ", origin))?;
    let port = checked_port(port, origin)?;
    let (address, address_type) = checked_address(address, policy, origin)?;
    let authentication_info = s
        .authentication_info
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    if let Some(info) = &authentication_info {
        fits(info, 2047, "Authentication info", origin)?;
    }
    let metadata = normalize_metadata(s.metadata.as_ref()).map_err(|e| e.with_origin(origin))?;
    Ok(SystemValues {
        system_name: name,
        address,
        address_type: Some(address_type),
        port,
        authentication_info,
        metadata: metadata_column(&metadata, origin)?,
    })
}

/// A device of a request: the shared rules with the System Registry's wording, and its address
/// through the same network-address verifier as the system's (as Java does).
fn provider_of(
    d: Option<&DeviceRequest>,
    policy: AddressPolicy,
    origin: &str,
) -> Result<common::db::device::NewDevice, ArrowheadError> {
    let mut device = checked_device(d, origin, " ")?;
    device.address = checked_address(&device.address, policy, origin)?.0;
    Ok(device)
}

/// A registration, checked and normalised; `reserved`: refuse core-system names.
fn entry_of(
    body: &SystemRegistryRequest,
    reserved: bool,
    policy: AddressPolicy,
    origin: &str,
) -> Result<NewEntry, ArrowheadError> {
    let system = system_of(body.system.as_ref(), reserved, policy, origin)?;
    let device = provider_of(body.provider.as_ref(), policy, origin)?;
    let metadata = normalize_metadata(body.metadata.as_ref()).map_err(|e| e.with_origin(origin))?;
    Ok(NewEntry {
        system,
        device,
        end_of_validity: common::dto::end_of_validity_of(body.end_of_validity.as_deref(), origin)?,
        metadata: metadata_column(&metadata, origin)?,
        version: common::dto::version_of(body.version, origin)?.unwrap_or(1),
    })
}

fn duplicate(device: &str, mac: &str, system: &str, origin: &str) -> ArrowheadError {
    bad(
        format!("System Registry entry with provider: ({device}, {mac}) and system : {system} already exists."),
        origin,
    )
}

fn system_taken(v: &SystemValues, origin: &str) -> ArrowheadError {
    bad(
        format!(
            "System with name: {}, address: {}, port: {} already exists.",
            v.system_name, v.address, v.port
        ),
        origin,
    )
}

/// Java's registry events, one per entry (as a `SystemRegistryRequestDTO`), in the background.
fn publish(state: &AppState, event_type: &str, entries: &[Entry]) {
    let payloads = entries.iter().map(event_payload).collect();
    common::events::publish_event(&state.registrar, event_type, payloads);
}

fn event_payload((e, s, d): &Entry) -> String {
    let mut system = serde_json::json!({
        "systemName": s.system_name,
        "address": s.address,
        "port": s.port,
    });
    if let Some(info) = &s.authentication_info {
        system["authenticationInfo"] = info.clone().into();
    }
    if let Some(m) = text_to_metadata(s.metadata.as_deref()) {
        system["metadata"] = serde_json::json!(m);
    }
    let mut payload = serde_json::json!({
        "system": system,
        "provider": common::dto::device::request_of(d),
        "version": e.version.unwrap_or(1),
    });
    if let Some(t) = &e.end_of_validity {
        payload["endOfValidity"] = format_instant(t).into();
    }
    if let Some(m) = text_to_metadata(e.metadata.as_deref()) {
        payload["metadata"] = serde_json::json!(m);
    }
    payload.to_string()
}

/// Metadata of a stored column as a request would send it (for merging a PATCH).
fn stored_metadata(text: Option<&str>) -> Option<String> {
    text_to_metadata(text).and_then(|m| metadata_to_text(&m))
}

#[derive(OpenApi)]
#[openapi(
    info(
        description = "System Registry core system (Arrowhead 4.x compatible): the systems of the cloud and the devices they run on."
    ),
    paths(
        client::echo,
        client::logs,
        client::register,
        client::unregister,
        client::query,
        client::system_by_id,
        client::system_by_body,
        onboarding::onboarding_name,
        onboarding::onboarding_csr,
        mgmt::list_entries,
        mgmt::get_entry,
        mgmt::update_entry,
        mgmt::patch_entry,
        mgmt::delete_entry,
        mgmt::entries_by_name,
        mgmt::list_systems,
        mgmt::create_system,
        mgmt::get_system,
        mgmt::update_system,
        mgmt::patch_system,
        mgmt::delete_system,
        mgmt::list_devices,
        mgmt::create_device,
        mgmt::get_device,
        mgmt::update_device,
        mgmt::patch_device,
        mgmt::delete_device
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "System Registry",
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

    #[test]
    fn system_validation() {
        let policy = AddressPolicy {
            allow_self_addressing: false,
            allow_non_routable_addressing: false,
        };
        let sys = |name: Option<&str>, address: Option<&str>, port: Option<i64>| SystemRequest {
            system_name: name.map(str::to_owned),
            address: address.map(str::to_owned),
            port,
            ..Default::default()
        };
        let msg = |r: Result<SystemValues, ArrowheadError>| {
            r.map(|v| v.system_name).map_err(|e| e.message)
        };
        let cases = [
            (sys(None, Some("10.0.0.1"), Some(1)), false, Err(" System name must have value ".to_owned())),
            (sys(Some("1abc"), Some("10.0.0.1"), Some(1)), false, Err(NAME_FORMAT.to_owned())),
            (sys(Some("a_b"), Some("10.0.0.1"), Some(1)), false, Err(NAME_FORMAT.to_owned())),
            (sys(Some("Orchestrator"), Some("10.0.0.1"), Some(1)), true,
             Err("System name 'Orchestrator' is a reserved arrowhead core system name.".to_owned())),
            (sys(Some("Orchestrator"), Some("10.0.0.1"), Some(1)), false, Ok("orchestrator".to_owned())),
            (sys(Some("x"), None, Some(1)), false, Err(" System address must have value ".to_owned())),
            (sys(Some("x"), Some("10.0.0.1"), None), false, Err(" System port must have value ".to_owned())),
            (sys(Some("x"), Some("10.0.0.1"), Some(0)), false, Err("Port must be between 0 and 65535.".to_owned())),
            (sys(Some("x"), Some("10.0.0.1"), Some(65536)), false, Err("Port must be between 0 and 65535.".to_owned())),
            (sys(Some("x"), Some("127.0.0.1"), Some(1)), false,
             Err("IPv4 network address '127.0.0.1' is a loopback address and self-addressing is not allowed.".to_owned())),
            (sys(Some(" Sensor-1 "), Some("10.0.0.1"), Some(1)), false, Ok("sensor-1".to_owned())),
        ];
        for (request, reserved, expected) in cases {
            assert_eq!(
                msg(system_of(Some(&request), reserved, policy, "/o")),
                expected,
                "{request:?}"
            );
        }
        assert_eq!(
            msg(system_of(None, false, policy, "/o")),
            Err("System is null.".to_owned())
        );
    }
}
