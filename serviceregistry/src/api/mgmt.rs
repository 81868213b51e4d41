//! Management endpoints for the cloud's operator (sysop certificate only): registry entries,
//! systems, service definitions, interfaces, the grouped view and logs.

use super::AppState;
use crate::access::{self, Endpoint};
use crate::registry::{self, EntryPatch, Grouped, Scope};
use crate::validate::{self, ValidSystem};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db;
use common::dblog::{LogEntry, LogQuery};
use common::dto::{
    ListResponse, ServiceDefinitionResponse, ServiceInterfaceResponse, ServiceRegistryRequest,
    ServiceRegistryResponse, SystemRequest, SystemResponse,
};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{
    normalize_interface, normalize_metadata, normalize_name, validate_id, validate_interface,
    validate_system_name, verify_address, PageQuery,
};
use common::ArrowheadError;
use serde::Deserialize;

const SORTABLE: &[&str] = &["id", "createdAt", "updatedAt"];
const MGMT: &str = "/serviceregistry/mgmt";
const MGMT_ID: &str = "/serviceregistry/mgmt/{id}";
const SYSTEMS: &str = "/serviceregistry/mgmt/systems";
const SYSTEMS_ID: &str = "/serviceregistry/mgmt/systems/{id}";
const SERVICES: &str = "/serviceregistry/mgmt/services";
const SERVICES_ID: &str = "/serviceregistry/mgmt/services/{id}";
const INTERFACES: &str = "/serviceregistry/mgmt/interfaces";
const INTERFACES_ID: &str = "/serviceregistry/mgmt/interfaces/{id}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/mgmt")
            .route(web::get().to(list_entries))
            .route(web::post().to(create_entry)),
    );
    cfg.service(web::resource("/mgmt/grouped").route(web::get().to(grouped)));
    cfg.service(web::resource("/mgmt/logs").route(web::get().to(logs)));
    cfg.service(
        web::resource("/mgmt/servicedef/{definition}").route(web::get().to(entries_by_definition)),
    );
    cfg.service(
        web::resource("/mgmt/systems")
            .route(web::get().to(list_systems))
            .route(web::post().to(create_system)),
    );
    cfg.service(
        web::resource("/mgmt/systems/{id}")
            .route(web::get().to(get_system))
            .route(web::put().to(put_system))
            .route(web::patch().to(patch_system))
            .route(web::delete().to(delete_system)),
    );
    cfg.service(
        web::resource("/mgmt/services")
            .route(web::get().to(list_services))
            .route(web::post().to(create_service)),
    );
    cfg.service(
        web::resource("/mgmt/services/{id}")
            .route(web::get().to(get_service))
            .route(web::put().to(put_service))
            .route(web::patch().to(patch_service))
            .route(web::delete().to(delete_service)),
    );
    cfg.service(
        web::resource("/mgmt/interfaces")
            .route(web::get().to(list_interfaces))
            .route(web::post().to(create_interface)),
    );
    cfg.service(
        web::resource("/mgmt/interfaces/{id}")
            .route(web::get().to(get_interface))
            .route(web::put().to(put_interface))
            .route(web::patch().to(patch_interface))
            .route(web::delete().to(delete_interface)),
    );
    cfg.service(
        web::resource("/mgmt/{id}")
            .route(web::get().to(get_entry))
            .route(web::put().to(put_entry))
            .route(web::patch().to(patch_entry))
            .route(web::delete().to(delete_entry)),
    );
}

fn sysop(caller: &Caller, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, Endpoint::Mgmt, req)
}

type JsonResult<T> = Result<web::Json<T>, ArrowheadError>;

// ---- registry entries ----

/// Registry entries (paged, sorted).
#[utoipa::path(get, path = "/serviceregistry/mgmt", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<ServiceRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_entries(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> JsonResult<ListResponse<ServiceRegistryResponse>> {
    sysop(&caller, &req)?;
    let page = q.validate(SORTABLE, MGMT)?;
    let out = db::run(&state.pool, move |c| {
        let data = registry::load(c, Scope::All, Some(&page))?;
        Ok(ListResponse {
            data,
            count: registry::count(c, Scope::All)?,
        })
    })
    .await?;
    Ok(web::Json(out))
}

/// Creates an entry (core-system provider names are reserved).
#[utoipa::path(post, path = "/serviceregistry/mgmt", tag = "Management", request_body(content = ServiceRegistryRequest, example = json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001, "authenticationInfo": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA... (base64 body of thermometer.pub)"}, "serviceUri": "/temperature", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"], "metadata": {"unit": "celsius"}})),
    responses((status = 201, body = ServiceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ServiceRegistryRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let entry = validate::entry(&body, &state.policy, MGMT)?;
    validate::not_reserved_system(&entry.provider.name, MGMT)?;
    let created = db::run(&state.pool, move |c| registry::register(c, &entry)).await?;
    Ok(HttpResponse::Created().json(created))
}

/// One entry.
#[utoipa::path(get, path = "/serviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = ServiceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> JsonResult<ServiceRegistryResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| registry::entry_by_id(c, id)).await?,
    ))
}

/// Replaces every field of an entry.
#[utoipa::path(put, path = "/serviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)), request_body = ServiceRegistryRequest,
    responses((status = 200, body = ServiceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn put_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ServiceRegistryRequest>,
) -> JsonResult<ServiceRegistryResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    let entry = validate::entry(&body, &state.policy, MGMT_ID)?;
    validate::not_reserved_system(&entry.provider.name, MGMT_ID)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| registry::replace(c, id, &entry)).await?,
    ))
}

/// Changes the given fields of an entry.
#[utoipa::path(patch, path = "/serviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)), request_body = ServiceRegistryRequest,
    responses((status = 200, body = ServiceRegistryResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ServiceRegistryRequest>,
) -> JsonResult<ServiceRegistryResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    let patch = entry_patch(&body, &state)?;
    let secure = state.policy.secure;
    Ok(web::Json(
        db::run(&state.pool, move |c| registry::patch(c, id, &patch, secure)).await?,
    ))
}

fn some_text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn entry_patch(b: &ServiceRegistryRequest, state: &AppState) -> Result<EntryPatch, ArrowheadError> {
    let policy = &state.policy;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(MGMT_ID);
    let p = b.provider_system.clone().unwrap_or_default();
    let empty = some_text(&b.service_definition).is_none()
        && some_text(&p.system_name).is_none()
        && some_text(&p.address).is_none()
        && p.port.is_none()
        && some_text(&p.authentication_info).is_none()
        && p.metadata.is_none()
        && b.service_uri.is_none()
        && some_text(&b.end_of_validity).is_none()
        && some_text(&b.secure).is_none()
        && b.metadata.is_none()
        && b.version.is_none()
        && b.interfaces.as_ref().is_none_or(|i| i.is_empty());
    if empty {
        return Err(bad("Patch request is empty."));
    }
    let mut out = EntryPatch::default();
    if let Some(d) = some_text(&b.service_definition) {
        out.definition = Some(validate::definition(Some(d), policy, MGMT_ID)?);
    }
    if let Some(n) = some_text(&p.system_name) {
        validate_system_name(n).map_err(|e| e.with_origin(MGMT_ID))?;
        validate::not_reserved_system(n, MGMT_ID)?;
        out.provider_name = Some(normalize_name(n));
    }
    if let Some(a) = some_text(&p.address) {
        out.provider_address =
            Some(verify_address(a, policy.address).map_err(|e| e.with_origin(MGMT_ID))?);
    }
    if p.port.is_some() {
        out.provider_port = Some(i32::from(
            common::names::validate_port(p.port).map_err(|e| e.with_origin(MGMT_ID))?,
        ));
    }
    out.provider_auth = some_text(&p.authentication_info).map(str::to_owned);
    if out
        .provider_auth
        .as_ref()
        .is_some_and(|a| a.chars().count() > validate::MAX_AUTHENTICATION_INFO)
    {
        return Err(bad("Authentication info is longer than 2047 characters."));
    }
    if p.metadata.is_some() {
        out.provider_metadata =
            Some(normalize_metadata(p.metadata.as_ref()).map_err(|e| e.with_origin(MGMT_ID))?);
    }
    if let Some(uri) = b.service_uri.as_deref().map(str::trim) {
        if uri.chars().count() > validate::MAX_VARCHAR {
            return Err(bad("Service URI is longer than 255 characters."));
        }
        out.service_uri = Some(uri.to_owned());
    }
    out.end_of_validity = validate::end_of_validity(b.end_of_validity.as_deref(), MGMT_ID)?;
    if some_text(&b.secure).is_some() {
        out.secure = Some(validate::security(b.secure.as_deref(), MGMT_ID)?);
    }
    if b.metadata.is_some() {
        out.metadata =
            Some(normalize_metadata(b.metadata.as_ref()).map_err(|e| e.with_origin(MGMT_ID))?);
    }
    if b.version.is_some() {
        out.version = Some(validate::version(b.version, MGMT_ID)?);
    }
    if b.interfaces.as_ref().is_some_and(|i| !i.is_empty()) {
        out.interfaces = Some(validate::interfaces(
            b.interfaces.as_ref(),
            policy,
            MGMT_ID,
        )?);
    }
    Ok(out)
}

/// Deletes an entry.
#[utoipa::path(delete, path = "/serviceregistry/mgmt/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_entry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    db::run(&state.pool, move |c| registry::delete_entry(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Entries of one service definition (paged).
#[utoipa::path(get, path = "/serviceregistry/mgmt/servicedef/{definition}", tag = "Management", params(("definition" = String, Path), PageQuery),
    responses((status = 200, body = ListResponse<ServiceRegistryResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn entries_by_definition(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    definition: web::Path<String>,
    q: web::Query<PageQuery>,
) -> JsonResult<ListResponse<ServiceRegistryResponse>> {
    sysop(&caller, &req)?;
    const ORIGIN: &str = "/serviceregistry/mgmt/servicedef/{serviceDefinition}";
    let def = normalize_name(&definition);
    if def.is_empty() {
        return Err(
            ArrowheadError::bad_payload("Service definition is null or blank").with_origin(ORIGIN),
        );
    }
    let page = q.validate(SORTABLE, ORIGIN)?;
    let out = db::run(&state.pool, move |c| {
        let d = common::db::models::find_service_definition(c, &def)?.ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Service with definition of '{def}' is not exists"
            ))
        })?;
        let data = registry::load(c, Scope::Definition(d.id), Some(&page))?;
        Ok(ListResponse {
            data,
            count: registry::count(c, Scope::Definition(d.id))?,
        })
    })
    .await?;
    Ok(web::Json(out))
}

/// Everything grouped for the management tool's registry view.
#[utoipa::path(get, path = "/serviceregistry/mgmt/grouped", tag = "Management",
    responses((status = 200, body = Grouped), (status = 401, body = ErrorMessage)))]
pub async fn grouped(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> JsonResult<Grouped> {
    sysop(&caller, &req)?;
    Ok(web::Json(
        db::run(&state.pool, |c| Ok(registry::grouped(c)?)).await?,
    ))
}

/// Warnings and errors of the Service Registry (the Java `logs` table, this system's rows).
#[utoipa::path(get, path = "/serviceregistry/mgmt/logs", tag = "Management", params(LogQuery),
    responses((status = 200, body = ListResponse<LogEntry>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn logs(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<LogQuery>,
) -> JsonResult<ListResponse<LogEntry>> {
    let list = common::dblog::mgmt_logs(
        &state.pool,
        &caller,
        common::identity::CoreSystem::ServiceRegistry,
        q.into_inner(),
        "/serviceregistry/mgmt/logs",
    )
    .await?;
    Ok(web::Json(list))
}

// ---- systems ----

/// Systems (paged, sorted).
#[utoipa::path(get, path = "/serviceregistry/mgmt/systems", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<SystemResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_systems(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> JsonResult<ListResponse<SystemResponse>> {
    sysop(&caller, &req)?;
    let page = q.validate(&["id", "createdAt", "updatedAt", "systemName"], SYSTEMS)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| Ok(registry::list_systems(c, &page)?)).await?,
    ))
}

/// Creates a system (core-system names are reserved).
#[utoipa::path(post, path = "/serviceregistry/mgmt/systems", tag = "Management", request_body(content = SystemRequest, example = json!({"systemName": "dashboard", "address": "127.0.0.1", "port": 9002, "authenticationInfo": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA... (base64 body of dashboard.pub)"})),
    responses((status = 201, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SystemRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let s = validate::system(&body, &state.policy, SYSTEMS)?;
    validate::not_reserved_system(&s.name, SYSTEMS)?;
    let created = db::run(&state.pool, move |c| registry::create_system(c, &s)).await?;
    Ok(HttpResponse::Created().json(SystemResponse::from(&created)))
}

/// One system.
#[utoipa::path(get, path = "/serviceregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> JsonResult<SystemResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), SYSTEMS_ID)?;
    let s = db::run(&state.pool, move |c| registry::system_by_id(c, id)).await?;
    Ok(web::Json(SystemResponse::from(&s)))
}

/// Replaces a system.
#[utoipa::path(put, path = "/serviceregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SystemRequest,
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn put_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<SystemRequest>,
) -> JsonResult<SystemResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), SYSTEMS_ID)?;
    let s = validate::system(&body, &state.policy, SYSTEMS_ID)?;
    validate::not_reserved_system(&s.name, SYSTEMS_ID)?;
    let updated = db::run(&state.pool, move |c| registry::update_system(c, id, &s)).await?;
    Ok(web::Json(SystemResponse::from(&updated)))
}

/// Changes the given fields of a system.
#[utoipa::path(patch, path = "/serviceregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SystemRequest,
    responses((status = 200, body = SystemResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<SystemRequest>,
) -> JsonResult<SystemResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), SYSTEMS_ID)?;
    let b = body.into_inner();
    if some_text(&b.system_name).is_none()
        && some_text(&b.address).is_none()
        && b.port.is_none()
        && some_text(&b.authentication_info).is_none()
        && b.metadata.is_none()
    {
        return Err(ArrowheadError::bad_payload("Patch request is empty.").with_origin(SYSTEMS_ID));
    }
    let policy = state.policy;
    let updated = db::run(&state.pool, move |c| {
        let cur = registry::system_by_id(c, id)?;
        let merged = SystemRequest {
            system_name: b
                .system_name
                .filter(|s| !s.trim().is_empty())
                .or(Some(cur.system_name)),
            address: b
                .address
                .filter(|s| !s.trim().is_empty())
                .or(Some(cur.address)),
            port: b.port.or(Some(i64::from(cur.port))),
            authentication_info: b
                .authentication_info
                .filter(|s| !s.trim().is_empty())
                .or(cur.authentication_info),
            metadata: match b.metadata {
                Some(m) => Some(m),
                None => common::names::text_to_metadata(cur.metadata.as_deref())
                    .map(|m| m.into_iter().map(|(k, v)| (k, Some(v))).collect()),
            },
        };
        let s: ValidSystem = validate::system(&merged, &policy, SYSTEMS_ID)?;
        registry::update_system(c, id, &s)
    })
    .await?;
    Ok(web::Json(SystemResponse::from(&updated)))
}

/// Deletes a system and its services.
#[utoipa::path(delete, path = "/serviceregistry/mgmt/systems/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_system(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), SYSTEMS_ID)?;
    db::run(&state.pool, move |c| registry::delete_system(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

// ---- service definitions ----

/// Java `ServiceDefinitionRequestDTO`.
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDefinitionRequest {
    #[schema(required = true)]
    pub service_definition: Option<String>,
}

fn definition_body(
    b: &ServiceDefinitionRequest,
    state: &AppState,
    origin: &str,
) -> Result<String, ArrowheadError> {
    let def = validate::definition(b.service_definition.as_deref(), &state.policy, origin)?;
    if common::core_services::imitated(&def).is_some() {
        return Err(ArrowheadError::bad_payload(format!(
            "Service definition '{def}' is a reserved arrowhead core service definition."
        ))
        .with_origin(origin));
    }
    Ok(def)
}

/// Service definitions (paged, sorted).
#[utoipa::path(get, path = "/serviceregistry/mgmt/services", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<ServiceDefinitionResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_services(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> JsonResult<ListResponse<ServiceDefinitionResponse>> {
    sysop(&caller, &req)?;
    let page = q.validate(SORTABLE, SERVICES)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| {
            Ok(registry::list_definitions(c, &page)?)
        })
        .await?,
    ))
}

/// Creates a service definition.
#[utoipa::path(post, path = "/serviceregistry/mgmt/services", tag = "Management", request_body(content = ServiceDefinitionRequest, example = json!({"serviceDefinition": "humidity"})),
    responses((status = 201, body = ServiceDefinitionResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_service(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ServiceDefinitionRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let def = definition_body(&body, &state, SERVICES)?;
    let created = db::run(&state.pool, move |c| registry::create_definition(c, &def)).await?;
    Ok(HttpResponse::Created().json(ServiceDefinitionResponse::from(&created)))
}

/// One service definition.
#[utoipa::path(get, path = "/serviceregistry/mgmt/services/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = ServiceDefinitionResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_service(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> JsonResult<ServiceDefinitionResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), SERVICES_ID)?;
    let d = db::run(&state.pool, move |c| registry::definition_by_id(c, id)).await?;
    Ok(web::Json(ServiceDefinitionResponse::from(&d)))
}

async fn update_service(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: i64,
    body: ServiceDefinitionRequest,
) -> JsonResult<ServiceDefinitionResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id, SERVICES_ID)?;
    let def = definition_body(&body, &state, SERVICES_ID)?;
    let d = db::run(&state.pool, move |c| {
        registry::update_definition(c, id, &def)
    })
    .await?;
    Ok(web::Json(ServiceDefinitionResponse::from(&d)))
}

/// Renames a service definition.
#[utoipa::path(put, path = "/serviceregistry/mgmt/services/{id}", tag = "Management", params(("id" = i64, Path)), request_body = ServiceDefinitionRequest,
    responses((status = 200, body = ServiceDefinitionResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn put_service(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ServiceDefinitionRequest>,
) -> JsonResult<ServiceDefinitionResponse> {
    update_service(state, caller, req, id.into_inner(), body.into_inner()).await
}

/// Renames a service definition (same as PUT, as in Java).
#[utoipa::path(patch, path = "/serviceregistry/mgmt/services/{id}", tag = "Management", params(("id" = i64, Path)), request_body = ServiceDefinitionRequest,
    responses((status = 200, body = ServiceDefinitionResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_service(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ServiceDefinitionRequest>,
) -> JsonResult<ServiceDefinitionResponse> {
    update_service(state, caller, req, id.into_inner(), body.into_inner()).await
}

/// Deletes a service definition and its entries.
#[utoipa::path(delete, path = "/serviceregistry/mgmt/services/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_service(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), SERVICES_ID)?;
    db::run(&state.pool, move |c| registry::delete_definition(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

// ---- interfaces ----

/// Java `ServiceInterfaceRequestDTO`.
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInterfaceRequest {
    #[schema(required = true)]
    pub interface_name: Option<String>,
}

fn interface_body(
    b: &ServiceInterfaceRequest,
    state: &AppState,
    origin: &str,
) -> Result<String, ArrowheadError> {
    let name = b.interface_name.as_deref().unwrap_or_default();
    if name.trim().is_empty() {
        return Err(
            ArrowheadError::bad_payload("Interface name is null or blank").with_origin(origin),
        );
    }
    validate_interface(name, state.policy.strict_interfaces).map_err(|e| e.with_origin(origin))?;
    if name.trim().chars().count() > validate::MAX_VARCHAR {
        return Err(
            ArrowheadError::bad_payload("Interface name is longer than 255 characters.")
                .with_origin(origin),
        );
    }
    Ok(normalize_interface(name))
}

/// Interfaces (paged, sorted).
#[utoipa::path(get, path = "/serviceregistry/mgmt/interfaces", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<ServiceInterfaceResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_interfaces(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> JsonResult<ListResponse<ServiceInterfaceResponse>> {
    sysop(&caller, &req)?;
    let page = q.validate(SORTABLE, INTERFACES)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| {
            Ok(registry::list_interfaces(c, &page)?)
        })
        .await?,
    ))
}

/// Creates an interface.
#[utoipa::path(post, path = "/serviceregistry/mgmt/interfaces", tag = "Management", request_body(content = ServiceInterfaceRequest, example = json!({"interfaceName": "HTTP-SECURE-CBOR"})),
    responses((status = 201, body = ServiceInterfaceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_interface(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<ServiceInterfaceRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let name = interface_body(&body, &state, INTERFACES)?;
    let created = db::run(&state.pool, move |c| registry::create_interface(c, &name)).await?;
    Ok(HttpResponse::Created().json(ServiceInterfaceResponse::from(&created)))
}

/// One interface.
#[utoipa::path(get, path = "/serviceregistry/mgmt/interfaces/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = ServiceInterfaceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_interface(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> JsonResult<ServiceInterfaceResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), INTERFACES_ID)?;
    let i = db::run(&state.pool, move |c| registry::interface_by_id(c, id)).await?;
    Ok(web::Json(ServiceInterfaceResponse::from(&i)))
}

async fn update_interface(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: i64,
    body: ServiceInterfaceRequest,
) -> JsonResult<ServiceInterfaceResponse> {
    sysop(&caller, &req)?;
    let id = validate_id(id, INTERFACES_ID)?;
    let name = interface_body(&body, &state, INTERFACES_ID)?;
    let i = db::run(&state.pool, move |c| {
        registry::update_interface(c, id, &name)
    })
    .await?;
    Ok(web::Json(ServiceInterfaceResponse::from(&i)))
}

/// Renames an interface.
#[utoipa::path(put, path = "/serviceregistry/mgmt/interfaces/{id}", tag = "Management", params(("id" = i64, Path)), request_body = ServiceInterfaceRequest,
    responses((status = 200, body = ServiceInterfaceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn put_interface(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ServiceInterfaceRequest>,
) -> JsonResult<ServiceInterfaceResponse> {
    update_interface(state, caller, req, id.into_inner(), body.into_inner()).await
}

/// Renames an interface (same as PUT, as in Java).
#[utoipa::path(patch, path = "/serviceregistry/mgmt/interfaces/{id}", tag = "Management", params(("id" = i64, Path)), request_body = ServiceInterfaceRequest,
    responses((status = 200, body = ServiceInterfaceResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn patch_interface(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<ServiceInterfaceRequest>,
) -> JsonResult<ServiceInterfaceResponse> {
    update_interface(state, caller, req, id.into_inner(), body.into_inner()).await
}

/// Deletes an interface.
#[utoipa::path(delete, path = "/serviceregistry/mgmt/interfaces/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_interface(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    sysop(&caller, &req)?;
    let id = validate_id(id.into_inner(), INTERFACES_ID)?;
    db::run(&state.pool, move |c| registry::delete_interface(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}
