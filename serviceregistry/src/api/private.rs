//! Private endpoints, for named core systems only (Java §3.2 access table).

use super::{client::run_query, AppState};
use crate::access::{self, Endpoint};
use crate::registry::{self, Scope};
use crate::validate;
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::dto::{
    ListResponse, ServiceQueryForm, ServiceQueryResult, ServiceRegistryResponse, SystemRequest,
    SystemResponse,
};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{normalize_name, validate_id, PageQuery};
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const SORTABLE: &[&str] = &["id", "createdAt", "updatedAt"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/query/multi").route(web::post().to(query_multi)));
    cfg.service(web::resource("/query/system/{id}").route(web::get().to(query_system_by_id)));
    cfg.service(web::resource("/query/system").route(web::post().to(query_system)));
    cfg.service(web::resource("/query/all").route(web::get().to(query_all)));
    cfg.service(web::resource("/query/provider/{id}").route(web::get().to(query_provider)));
    cfg.service(web::resource("/query/definition").route(web::post().to(query_definition)));
    cfg.service(web::resource("/register-system").route(web::post().to(register_system)));
    cfg.service(web::resource("/unregister-system").route(web::delete().to(unregister_system)));
    cfg.service(web::resource("/pull-systems").route(web::get().to(pull_systems)));
    cfg.service(web::resource("/pull-config").route(web::get().to(pull_config)));
}

/// Java `ServiceQueryFormListDTO`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct QueryForms {
    pub forms: Option<Vec<ServiceQueryForm>>,
}

/// Java `ServiceQueryResultListDTO`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct QueryResults {
    pub results: Vec<ServiceQueryResult>,
}

/// What `/query/multi` sends: [`QueryResults`] made of compact answers.
#[derive(Serialize)]
pub struct Answers {
    results: Vec<crate::answer::Answer>,
}

/// Several queries in one call.
#[utoipa::path(post, path = "/serviceregistry/query/multi", tag = "Private", request_body = QueryForms,
    responses((status = 200, body = QueryResults), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query_multi(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<QueryForms>,
) -> Result<web::Json<Answers>, ArrowheadError> {
    access::check(&caller, Endpoint::QueryMulti, &req)?;
    const ORIGIN: &str = "/serviceregistry/query/multi";
    let forms = body
        .into_inner()
        .forms
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            ArrowheadError::bad_payload("Form list is null or empty.").with_origin(ORIGIN)
        })?;
    let mut valid = Vec::with_capacity(forms.len());
    for f in &forms {
        valid.push(validate::query(f, ORIGIN)?);
    }
    let mut results = Vec::with_capacity(valid.len());
    for q in valid {
        results.push(run_query(&state, q).await?);
    }
    Ok(web::Json(Answers { results }))
}

/// A system by id.
#[utoipa::path(get, path = "/serviceregistry/query/system/{id}", tag = "Private", params(("id" = i64, Path)),
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query_system_by_id(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    access::check(&caller, Endpoint::QuerySystemById, &req)?;
    let id = validate_id(id.into_inner(), "/serviceregistry/query/system/{id}")?;
    let s = db::run(&state.pool, move |c| registry::system_by_id(c, id)).await?;
    Ok(web::Json(SystemResponse::from(&s)))
}

/// A system by name, address and port.
#[utoipa::path(post, path = "/serviceregistry/query/system", tag = "Private", request_body = SystemRequest,
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SystemRequest>,
) -> Result<web::Json<SystemResponse>, ArrowheadError> {
    access::check(&caller, Endpoint::QuerySystem, &req)?;
    let s = validate::system(&body, &state.policy, "/serviceregistry/query/system")?;
    let found = db::run(&state.pool, move |c| registry::system_by_triple(c, &s)).await?;
    Ok(web::Json(SystemResponse::from(&found)))
}

/// Every registry entry.
#[utoipa::path(get, path = "/serviceregistry/query/all", tag = "Private",
    responses((status = 200, body = ListResponse<ServiceRegistryResponse>), (status = 401, body = ErrorMessage)))]
pub async fn query_all(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<web::Json<ListResponse<ServiceRegistryResponse>>, ArrowheadError> {
    access::check(&caller, Endpoint::QueryAll, &req)?;
    let data = db::run(&state.pool, |c| Ok(registry::load(c, Scope::All, None)?)).await?;
    let count = data.len() as i64;
    Ok(web::Json(ListResponse { data, count }))
}

/// The entries of one provider.
#[utoipa::path(get, path = "/serviceregistry/query/provider/{id}", tag = "Private", params(("id" = i64, Path)),
    responses((status = 200, body = ListResponse<ServiceRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query_provider(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<ListResponse<ServiceRegistryResponse>>, ArrowheadError> {
    access::check(&caller, Endpoint::QueryProvider, &req)?;
    let id = validate_id(id.into_inner(), "/serviceregistry/query/provider/{id}")?;
    let data = db::run(&state.pool, move |c| {
        registry::system_by_id(c, id)?;
        Ok(registry::load(c, Scope::Provider(id), None)?)
    })
    .await?;
    let count = data.len() as i64;
    Ok(web::Json(ListResponse { data, count }))
}

/// The entries of the given service definitions.
#[utoipa::path(post, path = "/serviceregistry/query/definition", tag = "Private", request_body = Vec<String>,
    responses((status = 200, body = ListResponse<ServiceRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn query_definition(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<String>>,
) -> Result<web::Json<ListResponse<ServiceRegistryResponse>>, ArrowheadError> {
    access::check(&caller, Endpoint::QueryDefinition, &req)?;
    let defs: Vec<String> = body
        .iter()
        .map(|d| normalize_name(d))
        .filter(|d| !d.is_empty())
        .collect();
    if defs.is_empty() {
        return Err(
            ArrowheadError::bad_payload("Service definition list is null or empty.")
                .with_origin("/serviceregistry/query/definition"),
        );
    }
    let data = db::run(&state.pool, move |c| {
        let ids = registry::definition_ids(c, &defs)?;
        Ok(registry::load(c, Scope::Definitions(&ids), None)?)
    })
    .await?;
    let count = data.len() as i64;
    Ok(web::Json(ListResponse { data, count }))
}

/// Registers a system without services.
#[utoipa::path(post, path = "/serviceregistry/register-system", tag = "Private", request_body(content = SystemRequest, example = json!({"systemName": "dashboard", "address": "127.0.0.1", "port": 9002, "authenticationInfo": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA... (base64 body of dashboard.pub)"})),
    responses((status = 201, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn register_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SystemRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    access::check(
        &caller,
        Endpoint::RegisterSystem {
            system_name: body.system_name.as_deref(),
        },
        &req,
    )?;
    let s = validate::system(&body, &state.policy, "/serviceregistry/register-system")?;
    let created = db::run(&state.pool, move |c| registry::create_system(c, &s)).await?;
    Ok(HttpResponse::Created().json(SystemResponse::from(&created)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SystemParams {
    pub system_name: String,
    pub address: Option<String>,
    pub port: i64,
}

/// Removes a system and its services.
#[utoipa::path(delete, path = "/serviceregistry/unregister-system", tag = "Private", params(SystemParams),
    responses((status = 200, description = "Removed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn unregister_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    params: web::Query<SystemParams>,
) -> Result<HttpResponse, ArrowheadError> {
    const ORIGIN: &str = "/serviceregistry/unregister-system";
    access::check(
        &caller,
        Endpoint::UnregisterSystem {
            system_name: &params.system_name,
        },
        &req,
    )?;
    if params.system_name.trim().is_empty() {
        return Err(ArrowheadError::bad_payload("Name of the system is blank").with_origin(ORIGIN));
    }
    let port =
        common::names::validate_port(Some(params.port)).map_err(|e| e.with_origin(ORIGIN))?;
    let address = state.request_address(params.address.as_deref(), &req, ORIGIN)?;
    let name = normalize_name(&params.system_name);
    db::run(&state.pool, move |c| {
        registry::unregister_system(c, &name, &address, i32::from(port))
    })
    .await?;
    Ok(HttpResponse::Ok().finish())
}

/// Every system (paged).
#[utoipa::path(get, path = "/serviceregistry/pull-systems", tag = "Private", params(PageQuery),
    responses((status = 200, body = ListResponse<SystemResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn pull_systems(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    page: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<SystemResponse>>, ArrowheadError> {
    access::check(&caller, Endpoint::PullSystems, &req)?;
    let page = page.validate(SORTABLE, "/serviceregistry/pull-systems")?;
    Ok(web::Json(
        db::run(&state.pool, move |c| Ok(registry::list_systems(c, &page)?)).await?,
    ))
}

/// Java `KeyValuesDTO`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyValues {
    pub map: BTreeMap<String, String>,
}

/// The registry's validation settings, so other core systems validate alike.
#[utoipa::path(get, path = "/serviceregistry/pull-config", tag = "Private",
    responses((status = 200, body = KeyValues), (status = 401, body = ErrorMessage)))]
pub async fn pull_config(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<web::Json<KeyValues>, ArrowheadError> {
    access::check(&caller, Endpoint::PullConfig, &req)?;
    Ok(web::Json(KeyValues {
        map: state.config_map.clone(),
    }))
}
