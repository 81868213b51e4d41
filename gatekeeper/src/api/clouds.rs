//! The sysop's cloud management: the neighbour clouds and the relays each is reached through.

use super::relays::RelayResponse;
use super::{allow, bad, AppState};
use crate::access::Endpoint;
use crate::store::{self, CloudWithRelays, NewCloud};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::device_api::positive_id;
use common::dto::{format_instant, ListResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{is_cn_label, PageQuery};
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};

pub use common::dto::CloudRequest;

/// Java `CloudWithRelaysResponseDTO` (no `NON_NULL`: nulls are written).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudWithRelaysResponse {
    pub id: i64,
    pub operator: String,
    pub name: String,
    pub secure: bool,
    pub neighbor: bool,
    pub own_cloud: bool,
    pub authentication_info: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub gatekeeper_relays: Vec<RelayResponse>,
    pub gateway_relays: Vec<RelayResponse>,
}

pub(crate) fn response((c, gk, gw): &CloudWithRelays) -> CloudWithRelaysResponse {
    CloudWithRelaysResponse {
        id: c.id,
        operator: c.operator.clone(),
        name: c.name.clone(),
        secure: c.secure != 0,
        neighbor: c.neighbor != 0,
        own_cloud: c.own_cloud != 0,
        authentication_info: c.authentication_info.clone(),
        created_at: format_instant(&c.created_at),
        updated_at: format_instant(&c.updated_at),
        gatekeeper_relays: gk.iter().map(RelayResponse::from).collect(),
        gateway_relays: gw.iter().map(RelayResponse::from).collect(),
    }
}

/// A cloud of a request, checked with Java's combined message and normalised.
pub fn cloud_of(dto: &CloudRequest, origin: &str) -> Result<NewCloud, ArrowheadError> {
    let operator = dto.operator.as_deref().map(str::trim).unwrap_or_default();
    let name = dto.name.as_deref().map(str::trim).unwrap_or_default();
    let mut reasons = String::new();
    if operator.is_empty() {
        reasons.push_str(" operator is empty,");
    }
    if !is_cn_label(operator) {
        reasons.push_str(" operator is in wrong format,");
    }
    if name.is_empty() {
        reasons.push_str(" name is empty,");
    }
    if !is_cn_label(name) {
        reasons.push_str(" name is in wrong format,");
    }
    if !reasons.is_empty() {
        reasons.pop();
        return Err(bad(
            format!("CloudRequestDTO is invalid due to the following reasons:{reasons}"),
            origin,
        ));
    }
    let authentication_info = dto
        .authentication_info
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    if let Some(k) = &authentication_info {
        common::names::fits(k, 2047, "Authentication info", origin)?;
    }
    Ok(NewCloud {
        operator: operator.to_lowercase(),
        name: name.to_lowercase(),
        secure: dto.secure.unwrap_or(false),
        neighbor: dto.neighbor.unwrap_or(false),
        authentication_info,
        gatekeeper_relay_ids: dto.gatekeeper_relay_ids.clone().unwrap_or_default(),
        gateway_relay_ids: dto.gateway_relay_ids.clone().unwrap_or_default(),
    })
}

/// Clouds with their relays (paged, sorted by `id`, `operator`, `name`, `updatedAt`, `createdAt`).
#[utoipa::path(get, path = "/gatekeeper/mgmt/clouds", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<CloudWithRelaysResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_clouds(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<CloudWithRelaysResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(store::CLOUD_SORT_FIELDS, "/gatekeeper/mgmt/clouds")?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(store::list_clouds(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(response).collect(),
        count,
    }))
}

/// One cloud with its relays.
#[utoipa::path(get, path = "/gatekeeper/mgmt/clouds/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = CloudWithRelaysResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_cloud(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<CloudWithRelaysResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let found = db::run(&state.pool, move |c| Ok(store::cloud_with_relays(c, id)?)).await?;
    found
        .map(|c| web::Json(response(&c)))
        .ok_or_else(|| bad(format!("Cloud with id '{id}' not exists"), &origin))
}

/// Registers the clouds of the list with their relays, all or none.
#[utoipa::path(post, path = "/gatekeeper/mgmt/clouds", tag = "Management", request_body(content = Vec<CloudRequest>,
        example = json!([{"operator": "aitia", "name": "testcloud1", "secure": true, "neighbor": true,
                          "authenticationInfo": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...", "gatekeeperRelayIds": [1], "gatewayRelayIds": []}])),
    responses((status = 201, body = ListResponse<CloudWithRelaysResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_clouds(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<CloudRequest>>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    const ORIGIN: &str = "/gatekeeper/mgmt/clouds";
    if body.is_empty() {
        return Err(bad("List of CloudRequestDTO is null or empty", ORIGIN));
    }
    let new = body
        .iter()
        .map(|c| cloud_of(c, ORIGIN))
        .collect::<Result<Vec<_>, _>>()?;
    let written = db::run(&state.pool, move |c| store::create_clouds(c, &new)).await?;
    // Listen on the new clouds' relays now, not at the next periodic check.
    state.requester.hub.relays_changed.notify_one();
    match written {
        Ok(rows) => Ok(HttpResponse::Created().json(ListResponse {
            count: rows.len() as i64,
            data: rows.iter().map(response).collect::<Vec<_>>(),
        })),
        Err(m) => Err(bad(m, ORIGIN)),
    }
}

/// Replaces a cloud and its relay lists.
#[utoipa::path(put, path = "/gatekeeper/mgmt/clouds/{id}", tag = "Management", params(("id" = i64, Path)), request_body = CloudRequest,
    responses((status = 200, body = CloudWithRelaysResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update_cloud(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<CloudRequest>,
) -> Result<web::Json<CloudWithRelaysResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let new = cloud_of(&body, &origin)?;
    let written = db::run(&state.pool, move |c| store::update_cloud(c, id, &new)).await?;
    state.requester.hub.relays_changed.notify_one();
    match written {
        Ok(c) => Ok(web::Json(response(&c))),
        Err(m) => Err(bad(m, &origin)),
    }
}

/// Java `CloudRelaysAssignmentRequestDTO`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    #[schema(required = true)]
    pub cloud_id: Option<i64>,
    pub gatekeeper_relay_ids: Option<Vec<i64>>,
    pub gateway_relay_ids: Option<Vec<i64>>,
}

/// Adds relays to a cloud.
#[utoipa::path(post, path = "/gatekeeper/mgmt/clouds/assign", tag = "Management", request_body = AssignRequest,
    responses((status = 200, body = CloudWithRelaysResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn assign_relays(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<AssignRequest>,
) -> Result<web::Json<CloudWithRelaysResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    const ORIGIN: &str = "/gatekeeper/mgmt/clouds/assign";
    let id = body
        .cloud_id
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("Id must be greater than 0.", ORIGIN))?;
    let gatekeeper = body.gatekeeper_relay_ids.clone().unwrap_or_default();
    let gateway = body.gateway_relay_ids.clone().unwrap_or_default();
    if gatekeeper.is_empty() && gateway.is_empty() {
        return Err(bad(
            "GatekeeperRelayIds and GatewayRelayIds list couldn't be null or empty at the same time",
            ORIGIN,
        ));
    }
    let written = db::run(&state.pool, move |c| {
        store::assign_relays(c, id, &gatekeeper, &gateway)
    })
    .await?;
    state.requester.hub.relays_changed.notify_one();
    match written {
        Ok(c) => Ok(web::Json(response(&c))),
        Err(m) => Err(bad(m, ORIGIN)),
    }
}

/// Removes a cloud (200 also when there is none; the own cloud stays).
#[utoipa::path(delete, path = "/gatekeeper/mgmt/clouds/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_cloud(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    match db::run(&state.pool, move |c| Ok(store::delete_cloud(c, id)?)).await? {
        Ok(()) => Ok(HttpResponse::Ok().finish()),
        Err(m) => Err(bad(m, &origin)),
    }
}
