//! The sysop's relay management: the brokers the Gatekeeper and Gateway reach other clouds
//! through.

use super::{allow, bad, AppState};
use crate::access::Endpoint;
use crate::store::{self, NewRelay, RelayRow};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::device_api::positive_id;
use common::dto::{format_instant, ListResponse};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::PageQuery;
use common::web::request_url;
use common::ArrowheadError;

pub use common::dto::gatekeeper::{RelayRequest, RelayResponse};

impl From<&RelayRow> for RelayResponse {
    fn from(r: &RelayRow) -> Self {
        Self {
            id: r.id,
            address: r.address.clone(),
            port: r.port,
            authentication_info: r.authentication_info.clone(),
            secure: r.secure != 0,
            exclusive: r.exclusive != 0,
            relay_type: r.relay_type.clone(),
            created_at: format_instant(&r.created_at),
            updated_at: format_instant(&r.updated_at),
        }
    }
}

const RELAY_TYPES: [&str; 3] = ["GATEKEEPER_RELAY", "GATEWAY_RELAY", "GENERAL_RELAY"];

/// Java's relay type parsing: blank is `GENERAL_RELAY`, case ignored.
pub fn relay_type(raw: Option<&str>) -> Option<String> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Some("GENERAL_RELAY".into()),
        Some(t) => {
            let t = t.to_ascii_uppercase();
            RELAY_TYPES.contains(&t.as_str()).then_some(t)
        }
    }
}

/// A relay of a request, checked with Java's combined message (its wording, "REALY"
/// included), and normalised as stored (address trimmed and lowercased, on update too).
pub fn relay_of(dto: &RelayRequest, origin: &str) -> Result<NewRelay, ArrowheadError> {
    let address = dto.address.as_deref().map(str::trim).unwrap_or_default();
    let port = dto.port.filter(|p| (1..=65535).contains(p));
    let kind = relay_type(dto.relay_type.as_deref());
    let exclusive_as = |t: &str| dto.exclusive && kind.as_deref() == Some(t);
    let mut reasons = String::new();
    if address.is_empty() {
        reasons.push_str(" address is empty, ");
    }
    if port.is_none() {
        reasons.push_str(" port is null or should be between 0 and 65535,");
    }
    if kind.is_none() {
        reasons.push_str(&format!(
            " type '{}' is not valid,",
            dto.relay_type.as_deref().unwrap_or_default()
        ));
    }
    if exclusive_as("GATEKEEPER_RELAY") {
        reasons.push_str(" GATEKEEPER_REALY type couldn't be exclusive,");
    }
    if exclusive_as("GENERAL_RELAY") {
        reasons.push_str(" GENERAL_REALY type couldn't be exclusive,");
    }
    if !reasons.is_empty() {
        reasons.pop();
        return Err(bad(
            format!("RelayRequestDTO is invalid due to the following reasons:{reasons}"),
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
    common::names::fits(address, common::names::MAX_VARCHAR, "Address", origin)?;
    Ok(NewRelay {
        address: address.to_lowercase(),
        port: port.map_or(0, |p| p as i32),
        authentication_info,
        secure: i32::from(dto.secure),
        exclusive: i32::from(dto.exclusive),
        relay_type: kind.unwrap_or_default(),
    })
}

/// Relays (paged, sorted by `id`, `updatedAt`, `createdAt`, `address`, `port`).
#[utoipa::path(get, path = "/gatekeeper/mgmt/relays", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<RelayResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_relays(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<RelayResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(store::RELAY_SORT_FIELDS, "/gatekeeper/mgmt/relays")?;
    let (rows, count) = db::run(&state.pool, move |c| Ok(store::list_relays(c, &page)?)).await?;
    Ok(web::Json(ListResponse {
        data: rows.iter().map(RelayResponse::from).collect(),
        count,
    }))
}

/// Creates the relays of the list, all or none.
#[utoipa::path(post, path = "/gatekeeper/mgmt/relays", tag = "Management", request_body(content = Vec<RelayRequest>,
        example = json!([{"address": "relay.example.com", "port": 61617, "secure": true, "exclusive": false, "type": "GENERAL_RELAY"}])),
    responses((status = 201, body = ListResponse<RelayResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_relays(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<RelayRequest>>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    const ORIGIN: &str = "/gatekeeper/mgmt/relays";
    if body.is_empty() {
        return Err(bad("List of RelayRequestDTO is null or empty", ORIGIN));
    }
    let new = body
        .iter()
        .map(|r| relay_of(r, ORIGIN))
        .collect::<Result<Vec<_>, _>>()?;
    match db::run(&state.pool, move |c| store::create_relays(c, &new)).await? {
        Ok(rows) => Ok(HttpResponse::Created().json(ListResponse {
            count: rows.len() as i64,
            data: rows.iter().map(RelayResponse::from).collect::<Vec<_>>(),
        })),
        Err(refused) => Err(bad(refused.message(), ORIGIN)),
    }
}

/// One relay.
#[utoipa::path(get, path = "/gatekeeper/mgmt/relays/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = RelayResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_relay(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<RelayResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let found = db::run(&state.pool, move |c| Ok(store::relay_by_id(c, id)?)).await?;
    found
        .map(|r| web::Json(RelayResponse::from(&r)))
        .ok_or_else(|| bad(store::Refused::NoRelay(id).message(), &origin))
}

/// A relay by address and port.
#[utoipa::path(get, path = "/gatekeeper/mgmt/relays/{address}/{port}", tag = "Management", params(("address" = String, Path), ("port" = i64, Path)),
    responses((status = 200, body = RelayResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn relay_by_address(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<web::Json<RelayResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let (address, port) = path.into_inner();
    let address = address.trim().to_lowercase();
    let port = port
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|p| (1..=65535).contains(p))
        .ok_or_else(|| bad("Port must be between 0 and 65535.", &origin))?;
    let a = address.clone();
    let found = db::run(&state.pool, move |c| {
        Ok(store::relay_by_address(c, &a, port)?)
    })
    .await?;
    found
        .map(|r| web::Json(RelayResponse::from(&r)))
        .ok_or_else(|| {
            bad(
                format!("Relay with the following address and port not exists: {address}, {port}"),
                &origin,
            )
        })
}

/// Replaces a relay (its type cannot change).
#[utoipa::path(put, path = "/gatekeeper/mgmt/relays/{id}", tag = "Management", params(("id" = i64, Path)), request_body = RelayRequest,
    responses((status = 200, body = RelayResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update_relay(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<RelayRequest>,
) -> Result<web::Json<RelayResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    let new = relay_of(&body, &origin)?;
    match db::run(&state.pool, move |c| Ok(store::update_relay(c, id, &new)?)).await? {
        Ok(r) => Ok(web::Json(RelayResponse::from(&r))),
        Err(refused) => Err(bad(refused.message(), &origin)),
    }
}

/// Removes a relay, unless a cloud would be left without a Gatekeeper relay.
#[utoipa::path(delete, path = "/gatekeeper/mgmt/relays/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_relay(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let origin = request_url(&req);
    let id = positive_id(&id, &origin)?;
    match db::run(&state.pool, move |c| Ok(store::delete_relay(c, id)?)).await? {
        Ok(()) => Ok(HttpResponse::Ok().finish()),
        Err(refused) => Err(bad(refused.message(), &origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_validation_messages() {
        let r = |address: Option<&str>, port: Option<i64>, exclusive: bool, t: Option<&str>| {
            RelayRequest {
                address: address.map(str::to_owned),
                port,
                exclusive,
                relay_type: t.map(str::to_owned),
                ..Default::default()
            }
        };
        let msg = |dto: RelayRequest| {
            relay_of(&dto, "/o")
                .map(|v| v.relay_type)
                .map_err(|e| e.message)
        };
        let head = "RelayRequestDTO is invalid due to the following reasons:";
        for (dto, expected) in [
            (
                r(Some(" Relay.Example.COM "), Some(61617), false, None),
                Ok("GENERAL_RELAY".to_owned()),
            ),
            (
                r(Some("a"), Some(1), true, Some("gateway_relay")),
                Ok("GATEWAY_RELAY".to_owned()),
            ),
            (
                r(None, Some(1), false, None),
                Err(format!("{head} address is empty,")),
            ),
            (
                r(Some("a"), None, false, None),
                Err(format!(
                    "{head} port is null or should be between 0 and 65535"
                )),
            ),
            (
                r(Some("a"), Some(70000), false, Some("x")),
                Err(format!(
                    "{head} port is null or should be between 0 and 65535, type 'x' is not valid"
                )),
            ),
            (
                r(Some("a"), Some(1), true, Some("GATEKEEPER_RELAY")),
                Err(format!(
                    "{head} GATEKEEPER_REALY type couldn't be exclusive"
                )),
            ),
            // Java: an NPE (500) for an exclusive relay without a type; here it is a GENERAL_RELAY.
            (
                r(Some("a"), Some(1), true, None),
                Err(format!("{head} GENERAL_REALY type couldn't be exclusive")),
            ),
        ] {
            assert_eq!(msg(dto.clone()), expected, "{dto:?}");
        }
        let stored = relay_of(
            &r(Some(" Relay.Example.COM "), Some(61617), false, None),
            "/o",
        )
        .unwrap();
        assert_eq!(stored.address, "relay.example.com");
    }
}
