//! The Orchestrator's HTTP endpoints: echo and orchestration for application systems, and the
//! Orchestrator Store management for the operator.

use crate::access::{self, Endpoint};
use crate::orchestration::{OrchestrationForm, OrchestrationResponse, Orchestrator, Request};
use crate::store::{self, NewEntry, StoreEntryResponse};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::dto::{CloudRequest, ListResponse, RequestMetadata, SystemRequest};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{
    fits, metadata_to_text, normalize_address, normalize_interface, normalize_metadata,
    normalize_name, validate_id, validate_interface, validate_port, PageQuery, MAX_VARCHAR,
};
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::OpenApi;

pub struct AppState {
    pub orchestrator: Orchestrator,
}

const MGMT_STORE: &str = "/orchestrator/mgmt/store";
const MGMT_STORE_ID: &str = "/orchestrator/mgmt/store/{id}";
const MGMT_TOP: &str = "/orchestrator/mgmt/store/all_top_priority";
const MGMT_BY_CONSUMER: &str = "/orchestrator/mgmt/store/all_by_consumer";
const MGMT_MODIFY: &str = "/orchestrator/mgmt/store/modify_priorities";
const BY_ID: &str = "/orchestrator/orchestration/{id}";
const SORTABLE: &[&str] = &["id", "createdAt", "updatedAt"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/orchestrator")
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/orchestration").route(web::post().to(orchestrate)))
            .service(web::resource("/orchestration/{id}").route(web::get().to(orchestrate_by_id)))
            .service(
                web::resource("/orchestration-by-proxy")
                    .route(web::post().to(orchestrate_by_proxy)),
            )
            .service(
                web::resource("/mgmt/store")
                    .route(web::get().to(list_store))
                    .route(web::post().to(add_store)),
            )
            .service(
                web::resource("/mgmt/store/all_top_priority").route(web::get().to(top_priority)),
            )
            .service(
                web::resource("/mgmt/store/all_by_consumer").route(web::post().to(by_consumer)),
            )
            .service(
                web::resource("/mgmt/store/modify_priorities")
                    .route(web::post().to(modify_priorities)),
            )
            .service(
                web::resource("/mgmt/store/{id}")
                    .route(web::get().to(get_store))
                    .route(web::delete().to(delete_store)),
            ),
    );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Arrowhead Orchestrator",
        description = "Orchestrator core system (Arrowhead 4.x compatible)."
    ),
    paths(
        echo,
        logs,
        orchestrate,
        orchestrate_by_id,
        orchestrate_by_proxy,
        list_store,
        add_store,
        top_priority,
        by_consumer,
        modify_priorities,
        get_store,
        delete_store
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

fn allow(caller: &Caller, endpoint: Endpoint, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

/// Availability check.
#[utoipa::path(get, path = "/orchestrator/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!")
}

/// Which providers the requester should use: store-based by default, dynamic with the
/// `overrideStore` flag.
#[utoipa::path(post, path = "/orchestrator/orchestration", tag = "Client", request_body(content = OrchestrationForm, example = json!({"requesterSystem": {"systemName": "dashboard", "address": "127.0.0.1", "port": 9002}, "requestedService": {"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["HTTP-SECURE-JSON"]}, "orchestrationFlags": {"overrideStore": true, "matchmaking": true}})),
    responses((status = 200, body = OrchestrationResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn orchestrate(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<OrchestrationForm>,
) -> Result<web::Json<OrchestrationResponse>, ArrowheadError> {
    let request = Request::validate(&body);
    allow(
        &caller,
        Endpoint::Orchestration {
            requester: body
                .requester_system
                .as_ref()
                .and_then(|s| s.system_name.as_deref()),
            external: request
                .as_ref()
                .is_ok_and(|r| r.flags.external_service_request),
        },
        &req,
    )?;
    let request = request?;
    warn_unknown_flags(&body, &caller);
    Ok(web::Json(
        state.orchestrator.orchestrate(&request, true).await?,
    ))
}

/// Logs flag names that are no flag, with the caller (they are ignored, as in Java).
fn warn_unknown_flags(form: &OrchestrationForm, caller: &Caller) {
    let unknown = crate::orchestration::Flags::unknown(form);
    if !unknown.is_empty() {
        let caller = caller.identity().map(|i| i.cn()).unwrap_or_default();
        tracing::warn!(%caller, ?unknown, known = ?crate::orchestration::FLAG_NAMES,
            "unknown orchestration flags ignored");
    }
}

/// Orchestration for a consumer named by the Choreographer, without the authorization check.
#[utoipa::path(post, path = "/orchestrator/orchestration-by-proxy", tag = "Private", request_body = OrchestrationForm,
    responses((status = 200, body = OrchestrationResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn orchestrate_by_proxy(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<OrchestrationForm>,
) -> Result<web::Json<OrchestrationResponse>, ArrowheadError> {
    allow(&caller, Endpoint::OrchestrationByProxy, &req)?;
    let request = Request::validate(&body)?;
    warn_unknown_flags(&body, &caller);
    Ok(web::Json(
        state.orchestrator.orchestrate(&request, false).await?,
    ))
}

/// Store orchestration for a consumer known by id: the priority-1 provider of each service.
#[utoipa::path(get, path = "/orchestrator/orchestration/{id}", tag = "Client", params(("id" = i64, Path)),
    responses((status = 200, body = OrchestrationResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn orchestrate_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<OrchestrationResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Open, &req)?;
    let id = validate_id(id.into_inner(), BY_ID)?;
    Ok(web::Json(state.orchestrator.by_consumer_id(id).await?))
}

/// Store entries (paged, sorted).
#[utoipa::path(get, path = "/orchestrator/mgmt/store", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<StoreEntryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_store(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<StoreEntryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(SORTABLE, MGMT_STORE)?;
    let pool = &state.orchestrator.pool;
    Ok(web::Json(
        db::run(pool, move |c| Ok(store::list(c, &page)?)).await?,
    ))
}

/// Java `OrchestratorStoreRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreRuleRequest {
    #[schema(required = true)]
    pub service_definition_name: Option<String>,
    #[schema(required = true)]
    pub consumer_system_id: Option<i64>,
    pub attribute: Option<RequestMetadata>,
    #[schema(required = true)]
    pub provider_system: Option<SystemRequest>,
    /// Absent (or this cloud): the provider is a system of this cloud.
    pub cloud: Option<CloudRequest>,
    #[schema(required = true)]
    pub service_interface_name: Option<String>,
    #[schema(required = true)]
    pub priority: Option<i64>,
}

fn non_blank<'a>(v: Option<&'a str>, what: &str, origin: &str) -> Result<&'a str, ArrowheadError> {
    v.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        ArrowheadError::bad_payload(format!("{what} is null or blank.")).with_origin(origin)
    })
}

fn new_entry(r: &StoreRuleRequest) -> Result<NewEntry, ArrowheadError> {
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(MGMT_STORE);
    let consumer_id = r
        .consumer_system_id
        .filter(|i| *i >= 1)
        .ok_or_else(|| bad("Consumer system id must be greater than 0."))?;
    let definition = normalize_name(non_blank(
        r.service_definition_name.as_deref(),
        "Service definition name",
        MGMT_STORE,
    )?);
    let interface = non_blank(
        r.service_interface_name.as_deref(),
        "Service interface name",
        MGMT_STORE,
    )?;
    validate_interface(interface, false).map_err(|e| e.with_origin(MGMT_STORE))?;
    fits(
        &definition,
        MAX_VARCHAR,
        "Service definition name",
        MGMT_STORE,
    )?;
    fits(interface, MAX_VARCHAR, "Service interface name", MGMT_STORE)?;
    let provider = r
        .provider_system
        .as_ref()
        .ok_or_else(|| bad("Provider system is null."))?;
    let provider_name = normalize_name(non_blank(
        provider.system_name.as_deref(),
        "Provider system name",
        MGMT_STORE,
    )?);
    let provider_address = normalize_address(non_blank(
        provider.address.as_deref(),
        "Provider system address",
        MGMT_STORE,
    )?);
    let provider_port = validate_port(provider.port).map_err(|e| e.with_origin(MGMT_STORE))?;
    let cloud = match &r.cloud {
        None => None,
        Some(c) => Some((
            normalize_name(non_blank(
                c.operator.as_deref(),
                "Cloud operator",
                MGMT_STORE,
            )?),
            normalize_name(non_blank(c.name.as_deref(), "Cloud name", MGMT_STORE)?),
        )),
    };
    let priority = r
        .priority
        .filter(|p| *p >= 1)
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| bad("Priority must be greater than 0."))?;
    Ok(NewEntry {
        consumer_id,
        definition,
        interface: normalize_interface(interface),
        provider_name,
        provider_address,
        provider_port: i32::from(provider_port),
        cloud,
        priority,
        attribute: metadata_to_text(
            &normalize_metadata(r.attribute.as_ref()).map_err(|e| e.with_origin(MGMT_STORE))?,
        ),
    })
}

/// Adds store entries (all or none; answered with 200 as in Java).
#[utoipa::path(post, path = "/orchestrator/mgmt/store", tag = "Management", request_body(content = Vec<StoreRuleRequest>, example = json!([{"serviceDefinitionName": "temperature", "consumerSystemId": 7, "providerSystem": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001}, "serviceInterfaceName": "HTTP-SECURE-JSON", "priority": 1}])),
    responses((status = 200, body = ListResponse<StoreEntryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn add_store(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<StoreRuleRequest>>,
) -> Result<web::Json<ListResponse<StoreEntryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    if body.is_empty() {
        return Err(ArrowheadError::bad_payload("Request is empty.").with_origin(MGMT_STORE));
    }
    let entries = body.iter().map(new_entry).collect::<Result<Vec<_>, _>>()?;
    let pool = &state.orchestrator.pool;
    Ok(web::Json(
        db::run(pool, move |c| store::create(c, &entries)).await?,
    ))
}

/// The priority-1 entries (paged, sorted).
#[utoipa::path(get, path = "/orchestrator/mgmt/store/all_top_priority", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<StoreEntryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn top_priority(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<StoreEntryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(SORTABLE, MGMT_TOP)?;
    let pool = &state.orchestrator.pool;
    Ok(web::Json(
        db::run(pool, move |c| Ok(store::top_priority(c, &page)?)).await?,
    ))
}

/// Java `OrchestratorStoreRequestDTO` as used by `all_by_consumer`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRuleQuery {
    #[schema(required = true)]
    pub consumer_system_id: Option<i64>,
    #[schema(required = true)]
    pub service_definition_name: Option<String>,
    pub service_interface_name: Option<String>,
}

/// A consumer's entries for a service (and optionally one interface), paged and sorted.
#[utoipa::path(post, path = "/orchestrator/mgmt/store/all_by_consumer", tag = "Management", params(PageQuery), request_body = ConsumerRuleQuery,
    responses((status = 200, body = ListResponse<StoreEntryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn by_consumer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
    body: web::Json<ConsumerRuleQuery>,
) -> Result<web::Json<ListResponse<StoreEntryResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(SORTABLE, MGMT_BY_CONSUMER)?;
    let consumer_id = body.consumer_system_id.filter(|i| *i >= 1).ok_or_else(|| {
        ArrowheadError::bad_payload("Consumer system id must be greater than 0.")
            .with_origin(MGMT_BY_CONSUMER)
    })?;
    let definition = normalize_name(non_blank(
        body.service_definition_name.as_deref(),
        "Service definition name",
        MGMT_BY_CONSUMER,
    )?);
    let interface = body
        .service_interface_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(normalize_interface);
    let pool = &state.orchestrator.pool;
    Ok(web::Json(
        db::run(pool, move |c| {
            store::by_consumer(c, &page, consumer_id, &definition, interface.as_deref())
        })
        .await?,
    ))
}

/// Java `OrchestratorStoreModifyPriorityRequestDTO`: entry id → new priority.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriorityRequest {
    #[schema(required = true)]
    pub priority_map: Option<BTreeMap<i64, i64>>,
}

/// Reorders the entries of one consumer, service and interface.
#[utoipa::path(post, path = "/orchestrator/mgmt/store/modify_priorities", tag = "Management", request_body = PriorityRequest,
    responses((status = 200, description = "Modified"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn modify_priorities(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<PriorityRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(MGMT_MODIFY);
    let map = body
        .priority_map
        .as_ref()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("PriorityMap is null or empty."))?;
    let mut priorities = BTreeMap::new();
    for (id, p) in map {
        if *id < 1 {
            return Err(bad("Ids must be greater than 0."));
        }
        let p = i32::try_from(*p)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad("Priorities must be greater than 0."))?;
        priorities.insert(*id, p);
    }
    let pool = &state.orchestrator.pool;
    db::run(pool, move |c| store::modify_priorities(c, &priorities)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// One store entry.
#[utoipa::path(get, path = "/orchestrator/mgmt/store/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = StoreEntryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_store(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<StoreEntryResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_STORE_ID)?;
    let pool = &state.orchestrator.pool;
    Ok(web::Json(db::run(pool, move |c| store::get(c, id)).await?))
}

/// Deletes a store entry; the entries after it move up one priority.
#[utoipa::path(delete, path = "/orchestrator/mgmt/store/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_store(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_STORE_ID)?;
    let pool = &state.orchestrator.pool;
    db::run(pool, move |c| store::delete(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_rule_validation() {
        let ok: StoreRuleRequest = serde_json::from_value(serde_json::json!({
            "serviceDefinitionName": " Temperature ", "consumerSystemId": 1, "priority": 2,
            "providerSystem": {"systemName": "Provider", "address": "127.0.0.1", "port": 6000},
            "serviceInterfaceName": "http-secure-json", "attribute": {"k": "v"}
        }))
        .unwrap();
        let e = new_entry(&ok).unwrap();
        assert_eq!(
            (
                e.definition.as_str(),
                e.interface.as_str(),
                e.provider_name.as_str(),
                e.priority
            ),
            ("temperature", "HTTP-SECURE-JSON", "provider", 2)
        );
        assert_eq!(e.attribute.as_deref(), Some("k=v"));
        for (field, value) in [
            ("consumerSystemId", serde_json::json!(0)),
            ("priority", serde_json::json!(0)),
            (
                "serviceInterfaceName",
                serde_json::json!("not an interface"),
            ),
            ("serviceDefinitionName", serde_json::json!(" ")),
            (
                "providerSystem",
                serde_json::json!({"systemName": "p", "address": "a", "port": 70000}),
            ),
        ] {
            let mut v = serde_json::to_value(&ok).unwrap();
            v[field] = value;
            let r: StoreRuleRequest = serde_json::from_value(v).unwrap();
            let err = new_entry(&r).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{field}");
            assert_eq!(err.origin.as_deref(), Some(MGMT_STORE), "{field}");
        }
    }
}

common::mgmt_logs_handler!(
    "/orchestrator/mgmt/logs",
    common::identity::CoreSystem::Orchestrator,
    AppState,
    |s| &s.orchestrator.pool
);

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "Orchestrator",
        crate::access::who_may_call,
    )
}
