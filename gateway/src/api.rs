//! The Gateway's HTTP endpoints, with the Java paths, JSON and messages: its public key and the
//! two connection requests for the Gatekeeper, the session list and close for the sysop, and
//! `close_sessions` for the Choreographer.

use crate::access::{self, Endpoint};
use crate::bridge::Bridge;
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::DbPool;
use common::dto::gatekeeper::{ConnectionInfo, RelayRequest};
use common::dto::gateway::{
    ActiveSession, ClosePortError, ConsumerConnectionRequest, ProviderConnectionRequest,
};
use common::dto::{CloudRequest, ListResponse, SystemRequest};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::relay::router::RelayAddress;
use common::web::request_url;
use common::ArrowheadError;
use std::sync::Arc;
use utoipa::OpenApi;

pub const BASE: &str = "/gateway";
const CONNECT_PROVIDER: &str = "/gateway/connect_provider";
const CONNECT_CONSUMER: &str = "/gateway/connect_consumer";
const SESSIONS: &str = "/gateway/mgmt/sessions";
const CLOSE: &str = "/gateway/mgmt/sessions/close";
const CLOSE_SESSIONS: &str = "/gateway/close_sessions";

pub struct AppState {
    pub pool: DbPool,
    pub bridge: Arc<Bridge>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/publickey").route(web::get().to(public_key)))
            .service(web::resource("/connect_provider").route(web::post().to(connect_provider)))
            .service(web::resource("/connect_consumer").route(web::post().to(connect_consumer)))
            .service(web::resource("/close_sessions").route(web::post().to(close_sessions)))
            .service(web::resource("/mgmt/sessions").route(web::get().to(sessions)))
            .service(web::resource("/mgmt/sessions/close").route(web::post().to(close_session)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs))),
    );
}

fn allow(caller: &Caller, endpoint: Endpoint, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|v| v.trim().is_empty())
}

/// Java `validateRelay`; the relay's address.
fn relay_of(relay: Option<&RelayRequest>, origin: &str) -> Result<RelayAddress, ArrowheadError> {
    let r = relay.ok_or_else(|| bad("Relay is null.", origin))?;
    if blank(&r.address) {
        return Err(bad("Relay address is null or blank.", origin));
    }
    let port = r.port.ok_or_else(|| bad("Relay port is null.", origin))?;
    let port =
        u16::try_from(port).map_err(|_| bad("Relay port must be between 0 and 65535.", origin))?;
    if blank(&r.relay_type) {
        return Err(bad("Relay type is null or blank.", origin));
    }
    let t = r
        .relay_type
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_uppercase();
    if t != "GATEWAY_RELAY" && t != "GENERAL_RELAY" {
        return Err(bad("Relay type is invalid.", origin));
    }
    Ok(RelayAddress {
        host: r.address.as_deref().unwrap_or_default().trim().to_owned(),
        port,
        secure: r.secure,
    })
}

fn check_system(s: Option<&SystemRequest>, origin: &str) -> Result<(String, u16), ArrowheadError> {
    let s = s.ok_or_else(|| bad("System is null.", origin))?;
    if blank(&s.system_name) {
        return Err(bad("System name is null or blank.", origin));
    }
    if blank(&s.address) {
        return Err(bad("System address is null or blank.", origin));
    }
    let port = s.port.ok_or_else(|| bad("System port is null.", origin))?;
    let port =
        u16::try_from(port).map_err(|_| bad("System port must be between 0 and 65535.", origin))?;
    Ok((
        s.address.as_deref().unwrap_or_default().trim().to_owned(),
        port,
    ))
}

fn check_cloud(c: Option<&CloudRequest>, origin: &str) -> Result<(), ArrowheadError> {
    let c = c.ok_or_else(|| bad("Cloud is null.", origin))?;
    if blank(&c.operator) {
        return Err(bad("Cloud operator is null or blank.", origin));
    }
    if blank(&c.name) {
        return Err(bad("Cloud name is null or blank.", origin));
    }
    Ok(())
}

fn key_of(
    key: &Option<String>,
    message: &str,
    origin: &str,
) -> Result<openssl::pkey::PKey<openssl::pkey::Public>, ArrowheadError> {
    if blank(key) {
        return Err(bad(message, origin));
    }
    common::token::public_key_from_base64(key.as_deref().unwrap_or_default().trim()).map_err(|_| {
        bad(
            format!(
                "{} is not a public key.",
                message.split(" is ").next().unwrap_or("Key")
            ),
            origin,
        )
    })
}

#[utoipa::path(get, path = "/gateway/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(caller: Caller, req: HttpRequest) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Echo, &req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!"))
}

/// The Gateway's public key (base64 DER) as a JSON string, quotes included, as Java answers it.
#[utoipa::path(get, path = "/gateway/publickey", tag = "Private",
    responses((status = 200, body = String), (status = 401, body = ErrorMessage)))]
pub async fn public_key(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Gatekeeper, &req)?;
    let json = req
        .headers()
        .get("accept")
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let body = format!("\"{}\"", state.bridge.public_key);
    Ok(HttpResponse::Ok()
        .content_type(if json {
            "application/json"
        } else {
            "text/plain;charset=UTF-8"
        })
        .body(body))
}

fn session_info(
    relay: Option<&RelayRequest>,
    consumer: Option<&SystemRequest>,
    provider: Option<&SystemRequest>,
    consumer_cloud: Option<&CloudRequest>,
    provider_cloud: Option<&CloudRequest>,
    service: Option<&String>,
) -> ActiveSession {
    ActiveSession {
        relay: relay.cloned(),
        consumer: consumer.cloned(),
        provider: provider.cloned(),
        consumer_cloud: consumer_cloud.cloned(),
        provider_cloud: provider_cloud.cloned(),
        service_definition: service.cloned(),
        ..Default::default()
    }
}

/// Opens the provider side of a session: the relay queues and a TLS connection to the provider.
#[utoipa::path(post, path = "/gateway/connect_provider", tag = "Private", request_body = ProviderConnectionRequest,
    responses((status = 201, body = ConnectionInfo), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage),
        (status = 502, body = ErrorMessage)))]
pub async fn connect_provider(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ProviderConnectionRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Gatekeeper, &req)?;
    let o = CONNECT_PROVIDER;
    let r = body.into_inner();
    let relay = relay_of(r.relay.as_ref(), o)?;
    check_system(r.consumer.as_ref(), o)?;
    let provider = check_system(r.provider.as_ref(), o)?;
    check_cloud(r.consumer_cloud.as_ref(), o)?;
    check_cloud(r.provider_cloud.as_ref(), o)?;
    if blank(&r.service_definition) {
        return Err(bad("Service definition is null or blank.", o));
    }
    let key = key_of(
        &r.consumer_gw_public_key,
        "Consumer gateway public key is null or blank.",
        o,
    )?;
    let info = session_info(
        r.relay.as_ref(),
        r.consumer.as_ref(),
        r.provider.as_ref(),
        r.consumer_cloud.as_ref(),
        r.provider_cloud.as_ref(),
        r.service_definition.as_ref(),
    );
    let queue_id = state
        .bridge
        .connect_provider(info, relay, provider, key)
        .await
        .map_err(|e| e.or_origin(o))?;
    Ok(HttpResponse::Created().json(ConnectionInfo {
        queue_id: Some(queue_id),
        peer_name: Some(state.bridge.own_cn().to_owned()),
        provider_gw_public_key: Some(state.bridge.public_key.clone()),
    }))
}

/// Opens the consumer side of a session: a port for the consumer; answers the port number.
#[utoipa::path(post, path = "/gateway/connect_consumer", tag = "Private", request_body = ConsumerConnectionRequest,
    responses((status = 201, body = i64), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage),
        (status = 502, body = ErrorMessage), (status = 503, body = ErrorMessage)))]
pub async fn connect_consumer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ConsumerConnectionRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Gatekeeper, &req)?;
    let o = CONNECT_CONSUMER;
    let r = body.into_inner();
    let relay = relay_of(r.relay.as_ref(), o)?;
    check_system(r.consumer.as_ref(), o)?;
    check_system(r.provider.as_ref(), o)?;
    check_cloud(r.consumer_cloud.as_ref(), o)?;
    check_cloud(r.provider_cloud.as_ref(), o)?;
    if blank(&r.service_definition) {
        return Err(bad("Service definition is null or blank.", o));
    }
    let key = key_of(
        &r.provider_gw_public_key,
        "Provider gateway public key is null or blank.",
        o,
    )?;
    if blank(&r.queue_id) {
        return Err(bad("Queue id is null or blank.", o));
    }
    if blank(&r.peer_name) {
        return Err(bad("Peer name is null or blank.", o));
    }
    let queue_id = r.queue_id.as_deref().unwrap_or_default().trim().to_owned();
    let peer = r
        .peer_name
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    if !queue_id.chars().all(|c| c.is_ascii_alphanumeric())
        || !peer
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(bad(
            "Queue id or peer name has characters a queue name cannot hold.",
            o,
        ));
    }
    let info = session_info(
        r.relay.as_ref(),
        r.consumer.as_ref(),
        r.provider.as_ref(),
        r.consumer_cloud.as_ref(),
        r.provider_cloud.as_ref(),
        r.service_definition.as_ref(),
    );
    let port = state
        .bridge
        .connect_consumer(info, relay, peer, queue_id, key)
        .await
        .map_err(|e| e.or_origin(o))?;
    Ok(HttpResponse::Created().json(port))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct SessionsQuery {
    /// Zero-based page index; together with `item_per_page`.
    pub page: Option<i64>,
    pub item_per_page: Option<i64>,
}

/// The active sessions, oldest first.
#[utoipa::path(get, path = "/gateway/mgmt/sessions", tag = "Management", params(SessionsQuery),
    responses((status = 200, body = ListResponse<ActiveSession>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn sessions(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<SessionsQuery>,
) -> Result<web::Json<ListResponse<ActiveSession>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let all = state.bridge.sessions();
    let count = all.len() as i64;
    let data = match (q.page, q.item_per_page) {
        (None, None) => all,
        (Some(p), Some(s)) if p >= 0 && s >= 1 => {
            let start = usize::try_from(p.saturating_mul(s)).unwrap_or(usize::MAX);
            let size = usize::try_from(s).unwrap_or(usize::MAX);
            all.into_iter().skip(start).take(size).collect()
        }
        _ => {
            return Err(bad(
                "Page parameter has to be equals or greater than zero and size parameter has to be equals or greater than one.",
                SESSIONS,
            ))
        }
    };
    Ok(web::Json(ListResponse { data, count }))
}

fn relay_address_of(s: &ActiveSession, origin: &str) -> Result<RelayAddress, ArrowheadError> {
    relay_of(s.relay.as_ref(), origin)
}

/// Closes a session on both Gateways.
#[utoipa::path(post, path = "/gateway/mgmt/sessions/close", tag = "Management", request_body = ActiveSession,
    responses((status = 200), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn close_session(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ActiveSession>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let s = body.into_inner();
    let relay = relay_address_of(&s, CLOSE)?;
    for (value, name) in [
        (&s.queue_id, "queueId"),
        (&s.peer_name, "peerName"),
        (&s.request_queue, "requestQueue"),
        (&s.request_control_queue, "requestControlQueue"),
        (&s.response_queue, "responseQueue"),
        (&s.response_control_queue, "responseControlQueue"),
        (&s.session_started_at, "sessionStartedAt"),
    ] {
        if blank(value) {
            return Err(bad(format!("{name} is null or blank."), CLOSE));
        }
    }
    if blank(&s.service_definition) {
        return Err(bad("serviceDefinition id is null or blank.", CLOSE));
    }
    state.bridge.close(&s, &relay).await;
    Ok(HttpResponse::Ok().finish())
}

/// Closes the sessions on the given consumer-side ports; answers the ports that failed.
#[utoipa::path(post, path = "/gateway/close_sessions", tag = "Private", request_body = Vec<i64>,
    responses((status = 200, body = Vec<ClosePortError>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn close_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<i64>>,
) -> Result<web::Json<Vec<ClosePortError>>, ArrowheadError> {
    allow(&caller, Endpoint::Choreographer, &req)?;
    if body.is_empty() {
        return Err(bad("Ports list is null or empty.", CLOSE_SESSIONS));
    }
    let mut failed = Vec::new();
    for &port in body.iter() {
        let in_range = u16::try_from(port)
            .ok()
            .filter(|p| (state.bridge.min_port..=state.bridge.max_port).contains(p));
        let Some(p) = in_range else {
            failed.push(ClosePortError {
                port,
                error: "Invalid active session port.".into(),
            });
            continue;
        };
        match state.bridge.session_on_port(p) {
            Some(s) => match relay_address_of(&s, CLOSE_SESSIONS) {
                Ok(relay) => state.bridge.close(&s, &relay).await,
                Err(e) => failed.push(ClosePortError {
                    port,
                    error: e.message,
                }),
            },
            None => failed.push(ClosePortError {
                port,
                error: "Active session not found.".into(),
            }),
        }
    }
    Ok(web::Json(failed))
}

common::mgmt_logs_handler!(
    "/gateway/mgmt/logs",
    common::identity::CoreSystem::Gateway,
    AppState,
    |s| &s.pool
);

#[derive(OpenApi)]
#[openapi(
    info(
        description = "Gateway core system (Arrowhead 4.x compatible): consumer-to-provider connections between clouds through ActiveMQ relays."
    ),
    paths(
        echo,
        public_key,
        connect_provider,
        connect_consumer,
        sessions,
        close_session,
        close_sessions,
        logs
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(ApiDoc::openapi(), "Gateway", crate::access::who_may_call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_complete() {
        assert_eq!(common::openapi::faults(&openapi()), Vec::<String>::new());
    }
}
