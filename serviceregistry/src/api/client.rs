//! Client endpoints: echo, register, unregister, query.

use super::AppState;
use crate::access::{self, Endpoint};
use crate::answer::Answer;
use crate::registry;
use crate::validate::{self, ValidQuery};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::dto::{
    ServiceQueryForm, ServiceQueryResult, ServiceRegistryRequest, ServiceRegistryResponse,
};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::normalize_name;
use common::ArrowheadError;
use serde::Deserialize;

const REGISTER: &str = "/serviceregistry/register";
const UNREGISTER: &str = "/serviceregistry/unregister";
const QUERY: &str = "/serviceregistry/query";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/echo").route(web::get().to(echo)));
    cfg.service(web::resource("/register").route(web::post().to(register)));
    cfg.service(web::resource("/unregister").route(web::delete().to(unregister)));
    cfg.service(web::resource("/query").route(web::post().to(query)));
}

/// Availability check.
#[utoipa::path(get, path = "/serviceregistry/echo", tag = "Client", responses((status = 200, description = "Got it!", body = String)))]
pub async fn echo(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!")
}

/// Registers a service of the calling provider (provider name must match its certificate).
#[utoipa::path(post, path = "/serviceregistry/register", tag = "Client", request_body(content = ServiceRegistryRequest, example = json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001, "authenticationInfo": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA... (base64 body of thermometer.pub)"}, "serviceUri": "/temperature", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"], "metadata": {"unit": "celsius"}})),
    responses((status = 201, body = ServiceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ServiceRegistryRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    let provider = body
        .provider_system
        .as_ref()
        .and_then(|p| p.system_name.as_deref());
    access::check(
        &caller,
        Endpoint::Register {
            provider,
            definition: body.service_definition.as_deref(),
        },
        &req,
    )?;
    let entry = validate::entry(&body, &state.policy, REGISTER)?;
    let created = state.registrar.register(entry).await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnregisterParams {
    pub service_definition: String,
    pub system_name: String,
    pub address: Option<String>,
    pub port: i64,
    /// Without it (clients written for 4.3 and earlier), every entry of that provider for that
    /// service definition goes, whatever its URI; Java 4.6.2 answers 400 and keeps them.
    pub service_uri: Option<String>,
}

/// Removes a service of the calling provider.
#[utoipa::path(delete, path = "/serviceregistry/unregister", tag = "Client", params(UnregisterParams),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn unregister(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    params: web::Query<UnregisterParams>,
) -> Result<HttpResponse, ArrowheadError> {
    access::check(
        &caller,
        Endpoint::Unregister {
            system_name: &params.system_name,
        },
        &req,
    )?;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(UNREGISTER);
    if params.service_definition.trim().is_empty() {
        return Err(bad("Service definition is blank"));
    }
    if params.system_name.trim().is_empty() {
        return Err(bad("Name of the provider system is blank"));
    }
    let port =
        common::names::validate_port(Some(params.port)).map_err(|e| e.with_origin(UNREGISTER))?;
    let address = state.request_address(params.address.as_deref(), &req, UNREGISTER)?;
    let def = normalize_name(&params.service_definition);
    let name = normalize_name(&params.system_name);
    let uri = params.service_uri.as_deref().map(|u| u.trim().to_owned());
    db::run(&state.pool, move |c| {
        registry::unregister(c, &def, &name, &address, i32::from(port), uri.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().finish())
}

/// Looks up providers of a service; application systems may query public core services only.
#[utoipa::path(post, path = "/serviceregistry/query", tag = "Client", request_body(content = ServiceQueryForm, example = json!({"serviceDefinitionRequirement": "orchestration-service", "interfaceRequirements": ["HTTP-SECURE-JSON"]})),
    responses((status = 200, body = ServiceQueryResult), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    form: web::Json<ServiceQueryForm>,
) -> Result<HttpResponse, ArrowheadError> {
    let definition = form
        .service_definition_requirement
        .as_deref()
        .unwrap_or_default();
    access::check(&caller, Endpoint::Query { definition }, &req)?;
    let q = validate::query(&form, QUERY)?;
    let answer = run_query(&state, q).await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(answer.to_json()))
}

/// Loads (or takes from the cache) and filters one query; shared with `/query/multi`.
pub async fn run_query(state: &AppState, q: ValidQuery) -> Result<Answer, ArrowheadError> {
    let cache = state.cache.clone();
    let entries = match &state.generation {
        // Cache on: a hit needs no blocking thread at all, only the (shared) generation read.
        // A definition the cache does not hold at all skips that read: the load brings the
        // generation its entries belong to in the same statement.
        Some(reader) => {
            let hit = if cache.holds(&q.definition) {
                let generation = reader.current().await?;
                cache.get(generation, &q.definition)
            } else {
                None
            };
            match hit {
                Some(hit) => hit,
                None => {
                    let def = q.definition.clone();
                    db::run(&state.pool, move |c| {
                        let (generation, loaded) = registry::load_by_definition_name_at(c, &def)?;
                        let loaded = cache.compact(loaded);
                        // No entries, no row to carry the generation: not cached (a cheap read).
                        if let Some(generation) = generation {
                            cache.put(generation, &def, loaded.clone());
                        }
                        Ok(loaded)
                    })
                    .await?
                }
            }
        }
        // Cache off (no triggers): the tables every time.
        None => {
            let def = q.definition.clone();
            db::run(&state.pool, move |c| {
                Ok(cache.compact(registry::load_by_definition_name(c, &def)?))
            })
            .await?
        }
    };
    let ping = q.ping;
    let mut answer = Answer::new(entries, q);
    if ping {
        let alive = futures_util::future::join_all(answer.entries().map(|e| {
            crate::tasks::reachable(
                e.provider().address.clone(),
                e.provider().port,
                state.ping_timeout,
            )
        }))
        .await;
        answer.retain(&alive);
    }
    Ok(answer)
}
