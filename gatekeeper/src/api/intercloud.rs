//! The inter-cloud endpoints the cloud's own core systems call: discovery (`init_gsd`,
//! `init_multi_gsd`) and negotiation (`init_icn`) for the Orchestrator and the Choreographer,
//! and what the QoS Monitor collects about neighbour clouds. Each validates with Java's
//! messages, then talks to the other clouds' Gatekeepers over the relays.

use super::clouds::cloud_of;
use super::{allow, bad, AppState};
use crate::access::Endpoint;
use actix_web::{web, HttpRequest};
use common::dto::gatekeeper::{
    CloudAccessResponse, GsdMultiQueryForm, GsdMultiQueryResult, GsdQueryForm, GsdQueryResult,
    IcnRequestForm, IcnResult, SystemAddressSet,
};
use common::dto::{CloudRequest, ListResponse, ServiceQueryForm, SystemRequest};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::ArrowheadError;

const INIT_GSD: &str = "/gatekeeper/init_gsd";
const INIT_MULTI_GSD: &str = "/gatekeeper/init_multi_gsd";
const INIT_ICN: &str = "/gatekeeper/init_icn";
const COLLECT_ADDRESSES: &str = "/gatekeeper/collect_system_addresses";
const COLLECT_ACCESS: &str = "/gatekeeper/collect_access_types";

fn check_service(
    s: Option<&ServiceQueryForm>,
    null: &str,
    blank: &str,
    origin: &str,
) -> Result<ServiceQueryForm, ArrowheadError> {
    let s = s.ok_or_else(|| bad(null, origin))?;
    if s.service_definition_requirement
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        return Err(bad(blank, origin));
    }
    Ok(s.clone())
}

fn check_clouds(clouds: &[CloudRequest], origin: &str) -> Result<(), ArrowheadError> {
    for c in clouds {
        cloud_of(c, origin)?;
    }
    Ok(())
}

/// Java `validateSystem` of the ICN form.
fn check_system(s: Option<&SystemRequest>, origin: &str) -> Result<SystemRequest, ArrowheadError> {
    let s = s.ok_or_else(|| bad("System is null", origin))?;
    if s.system_name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(bad("System name is null or blank", origin));
    }
    if s.address.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(bad("System address is null or blank", origin));
    }
    let port = s.port.ok_or_else(|| bad("System port is null", origin))?;
    if !(0..=65535).contains(&port) {
        return Err(bad("System port must be between 0 and 65535.", origin));
    }
    Ok(s.clone())
}

/// Global service discovery: which other clouds offer the service to this cloud.
#[utoipa::path(post, path = "/gatekeeper/init_gsd", tag = "Client", request_body = GsdQueryForm,
    responses((status = 200, body = GsdQueryResult), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage),
        (status = 503, body = ErrorMessage)))]
pub async fn init_gsd(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<GsdQueryForm>,
) -> Result<web::Json<GsdQueryResult>, ArrowheadError> {
    allow(&caller, Endpoint::Orchestrator, &req)?;
    let form = body.into_inner();
    let service = check_service(
        form.requested_service.as_ref(),
        "RequestedService is null",
        "serviceDefinitionRequirement is empty",
        INIT_GSD,
    )?;
    let preferred = form.preferred_clouds.unwrap_or_default();
    check_clouds(&preferred, INIT_GSD)?;
    let result = state
        .requester
        .init_gsd(service, &preferred, form.need_qo_s_measurements)
        .await
        .map_err(|e| e.or_origin(INIT_GSD))?;
    Ok(web::Json(result))
}

/// Discovery of several services at once (for the Choreographer).
#[utoipa::path(post, path = "/gatekeeper/init_multi_gsd", tag = "Client", request_body = GsdMultiQueryForm,
    responses((status = 200, body = GsdMultiQueryResult), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn init_multi_gsd(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<GsdMultiQueryForm>,
) -> Result<web::Json<GsdMultiQueryResult>, ArrowheadError> {
    allow(&caller, Endpoint::Choreographer, &req)?;
    let form = body.into_inner();
    let services = form.requested_services.unwrap_or_default();
    if services.is_empty() {
        return Err(bad(
            "RequestedServices list is null or empty",
            INIT_MULTI_GSD,
        ));
    }
    for s in &services {
        check_service(
            Some(s),
            "RequestedService is null",
            "serviceDefinitionRequirement is empty",
            INIT_MULTI_GSD,
        )?;
    }
    let preferred = form.preferred_clouds.unwrap_or_default();
    check_clouds(&preferred, INIT_MULTI_GSD)?;
    let result = state
        .requester
        .init_multi_gsd(services, &preferred)
        .await
        .map_err(|e| e.or_origin(INIT_MULTI_GSD))?;
    Ok(web::Json(result))
}

/// Inter-cloud negotiation with one cloud found by discovery: its Orchestrator's answer for our
/// consumer, filtered by its inter-cloud rules.
#[utoipa::path(post, path = "/gatekeeper/init_icn", tag = "Client", request_body = IcnRequestForm,
    responses((status = 200, body = IcnResult), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage),
        (status = 503, body = ErrorMessage), (status = 504, body = ErrorMessage)))]
pub async fn init_icn(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<IcnRequestForm>,
) -> Result<web::Json<IcnResult>, ArrowheadError> {
    allow(&caller, Endpoint::Orchestrator, &req)?;
    let form = body.into_inner();
    let service = check_service(
        form.requested_service.as_ref(),
        "Requested service is null",
        "Requested service definition is null or blank",
        INIT_ICN,
    )?;
    let target = form.target_cloud_id.unwrap_or(0);
    if target < 1 {
        return Err(bad(format!("Invalid id: {target}"), INIT_ICN));
    }
    let requester = check_system(form.requester_system.as_ref(), INIT_ICN)?;
    let mut preferred = Vec::new();
    for s in form.preferred_systems.iter().flatten() {
        preferred.push(check_system(Some(s), INIT_ICN)?);
    }
    let result = state
        .requester
        .init_icn(
            target,
            service,
            requester,
            preferred,
            form.preferred_gateway_relays.unwrap_or_default(),
            form.negotiation_flags.unwrap_or_default(),
            form.commands.unwrap_or_default(),
        )
        .await
        .map_err(|e| e.or_origin(INIT_ICN))?;
    Ok(web::Json(result))
}

/// Every provider address registered in another cloud (for the QoS Monitor).
#[utoipa::path(post, path = "/gatekeeper/collect_system_addresses", tag = "Client", request_body = CloudRequest,
    responses((status = 200, body = SystemAddressSet), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn collect_system_addresses(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CloudRequest>,
) -> Result<web::Json<SystemAddressSet>, ArrowheadError> {
    allow(&caller, Endpoint::PullClouds, &req)?;
    let cloud = cloud_of(&body, COLLECT_ADDRESSES)?;
    let result = state
        .requester
        .system_addresses(cloud.operator, cloud.name)
        .await
        .map_err(|e| e.or_origin(COLLECT_ADDRESSES))?;
    Ok(web::Json(result))
}

/// Whether the given neighbour clouds' providers are reachable without a gateway (for the QoS
/// Monitor); clouds that are ours, not neighbours, unknown or silent are left out.
#[utoipa::path(post, path = "/gatekeeper/collect_access_types", tag = "Client", request_body = Vec<CloudRequest>,
    responses((status = 200, body = ListResponse<CloudAccessResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn collect_access_types(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<CloudRequest>>,
) -> Result<web::Json<ListResponse<CloudAccessResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::PullClouds, &req)?;
    check_clouds(&body, COLLECT_ACCESS)?;
    let data = state
        .requester
        .access_types(&body)
        .await
        .map_err(|e| e.or_origin(COLLECT_ACCESS))?;
    Ok(web::Json(ListResponse {
        count: data.len() as i64,
        data,
    }))
}
