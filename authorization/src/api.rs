//! The Authorization system's HTTP endpoints: echo and public key for everyone, the private
//! intra-cloud check and token generation for the named core systems, and intra-cloud rule
//! management for the operator.

use crate::access::{self, Endpoint};
use crate::inter_rules::{self, InterCloudRule};
use crate::rules::{self, IntraCloudRule, NewRules};
use crate::tokens::{self, TokenProvider};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::{self, DbPool};
use common::dto::{
    InterCloudCheckRequest, InterCloudCheckResponse, IntraCloudCheckRequest,
    IntraCloudCheckResponse, ListResponse, SubscriptionCheckRequest, SubscriptionCheckResponse,
    SystemRequest, SystemResponse, TokenGenerationRequest, TokenGenerationResponse,
};
use common::error::ErrorMessage;
use common::identity::{Caller, SystemIdentity};
use common::names::{
    normalize_interface, normalize_name, validate_id, validate_interface, PageQuery,
};
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};
use utoipa::OpenApi;

/// Handler state; no authorization data is kept in memory.
pub struct AppState {
    pub pool: DbPool,
    /// Token issuing with this system's key (`None` in insecure mode).
    pub tokens: Option<std::sync::Arc<tokens::TokenService>>,
    /// Base64 DER of the public half, served at `/publickey`.
    pub public_key: Option<String>,
    /// This system's certificate identity: the fallback cloud of a token's consumer.
    pub identity: Option<SystemIdentity>,
    /// Set when `eventhandler_is_present`: rule changes are announced to the Event Handler.
    pub notifier: Option<crate::notify::AuthUpdateNotifier>,
}

const MGMT_INTRA: &str = "/authorization/mgmt/intracloud";
const MGMT_INTRA_ID: &str = "/authorization/mgmt/intracloud/{id}";
const CHECK_INTRA: &str = "/authorization/intracloud/check";
const TOKEN: &str = "/authorization/token";
const TOKEN_MULTI: &str = "/authorization/token/multi";
const CHECK_SUBSCRIPTION: &str = "/authorization/subscription/check";
const MGMT_INTER: &str = "/authorization/mgmt/intercloud";
const MGMT_INTER_ID: &str = "/authorization/mgmt/intercloud/{id}";
const CHECK_INTER: &str = "/authorization/intercloud/check";
const SORTABLE: &[&str] = &["id", "createdAt", "updatedAt"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/authorization")
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/publickey").route(web::get().to(public_key)))
            .service(
                web::resource("/mgmt/intracloud")
                    .route(web::get().to(list_rules))
                    .route(web::post().to(create_rules)),
            )
            .service(
                web::resource("/mgmt/intracloud/{id}")
                    .route(web::get().to(get_rule))
                    .route(web::delete().to(delete_rule)),
            )
            .service(web::resource("/intracloud/check").route(web::post().to(check_intra_cloud)))
            .service(web::resource("/token").route(web::post().to(generate_tokens)))
            .service(web::resource("/token/multi").route(web::post().to(generate_multi_tokens)))
            .service(web::resource("/subscription/check").route(web::post().to(check_subscription)))
            .service(
                web::resource("/mgmt/intercloud")
                    .route(web::get().to(list_inter_rules))
                    .route(web::post().to(create_inter_rules)),
            )
            .service(
                web::resource("/mgmt/intercloud/{id}")
                    .route(web::get().to(get_inter_rule))
                    .route(web::delete().to(delete_inter_rule)),
            )
            .service(web::resource("/intercloud/check").route(web::post().to(check_inter_cloud))),
    );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Arrowhead Authorization",
        description = "Authorization core system (Arrowhead 4.x compatible)."
    ),
    paths(
        echo,
        logs,
        public_key,
        list_rules,
        create_rules,
        get_rule,
        delete_rule,
        check_intra_cloud,
        generate_tokens,
        generate_multi_tokens,
        check_subscription,
        list_inter_rules,
        create_inter_rules,
        get_inter_rule,
        delete_inter_rule,
        check_inter_cloud
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

fn allow(caller: &Caller, endpoint: Endpoint, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

/// Availability check.
#[utoipa::path(get, path = "/authorization/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!")
}

/// The key providers verify token signatures with: a JSON string of the base64 DER public key.
#[utoipa::path(get, path = "/authorization/publickey", tag = "Client", responses((status = 200, body = String, content_type = "application/json",
    description = "The public key as a JSON string (in quotes): base64 of the DER `SubjectPublicKeyInfo`.",
    example = json!("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...")), (status = 500, body = ErrorMessage)))]
pub async fn public_key(
    state: web::Data<AppState>,
    _caller: Caller,
) -> Result<HttpResponse, ArrowheadError> {
    match &state.public_key {
        Some(k) => Ok(HttpResponse::Ok().json(k)),
        None => Err(
            ArrowheadError::internal("Authorization core service runs in insecure mode.")
                .with_origin("/authorization/publickey"),
        ),
    }
}

/// Intra-cloud rules (paged, sorted).
#[utoipa::path(get, path = "/authorization/mgmt/intracloud", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<IntraCloudRule>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_rules(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<IntraCloudRule>>, ArrowheadError> {
    allow(&caller, Endpoint::MgmtIntraCloud, &req)?;
    let page = q.validate(SORTABLE, MGMT_INTRA)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| Ok(rules::list(c, &page)?)).await?,
    ))
}

/// Java `AuthorizationIntraCloudRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntraCloudRuleRequest {
    #[schema(required = true)]
    pub consumer_id: Option<i64>,
    #[schema(required = true)]
    pub provider_ids: Option<Vec<i64>>,
    #[schema(required = true)]
    pub service_definition_ids: Option<Vec<i64>>,
    #[schema(required = true)]
    pub interface_ids: Option<Vec<i64>>,
}

fn ids(list: Option<&Vec<i64>>, what: &str, origin: &str) -> Result<Vec<i64>, ArrowheadError> {
    let bad = |m: String| ArrowheadError::bad_payload(m).with_origin(origin);
    let list = list
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad(format!("{what} id list is null or empty.")))?;
    if list.iter().any(|i| *i < 1) {
        return Err(bad(format!("{what} ids must be greater than 0.")));
    }
    let mut out = list.clone();
    out.dedup();
    Ok(out)
}

/// Creates rules: one provider and one interface with several services, or several providers
/// and interfaces with one service.
#[utoipa::path(post, path = "/authorization/mgmt/intracloud", tag = "Management", request_body(content = IntraCloudRuleRequest, example = json!({"consumerId": 7, "providerIds": [6], "serviceDefinitionIds": [12], "interfaceIds": [1]})),
    responses((status = 201, body = ListResponse<IntraCloudRule>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_rules(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<IntraCloudRuleRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::MgmtIntraCloud, &req)?;
    let consumer_id = body.consumer_id.filter(|i| *i >= 1).ok_or_else(|| {
        ArrowheadError::bad_payload("Consumer system id must be greater than 0.")
            .with_origin(MGMT_INTRA)
    })?;
    let new = NewRules {
        consumer_id,
        provider_ids: ids(body.provider_ids.as_ref(), "Provider", MGMT_INTRA)?,
        service_ids: ids(
            body.service_definition_ids.as_ref(),
            "Service definition",
            MGMT_INTRA,
        )?,
        interface_ids: ids(body.interface_ids.as_ref(), "Interface", MGMT_INTRA)?,
    };
    check_combination(&new, MGMT_INTRA)?;
    let created = db::run(&state.pool, move |c| {
        rules::create_rules::<rules::IntraCloud>(c, &new)
    })
    .await?;
    if let Some(n) = &state.notifier {
        n.notify(vec![consumer_id]);
    }
    Ok(HttpResponse::Created().json(created))
}

/// Only two shapes of rule forms are accepted, as in Java.
fn check_combination(new: &NewRules, origin: &str) -> Result<(), ArrowheadError> {
    if new.service_ids.len() > 1 && (new.provider_ids.len() > 1 || new.interface_ids.len() > 1) {
        return Err(ArrowheadError::bad_payload(
            "Either one provider and one interface with several service definitions, or several providers and interfaces with one service definition can be given.",
        )
        .with_origin(origin));
    }
    Ok(())
}

/// One rule.
#[utoipa::path(get, path = "/authorization/mgmt/intracloud/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = IntraCloudRule), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_rule(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<IntraCloudRule>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_INTRA_ID)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| rules::get(c, id)).await?,
    ))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/authorization/mgmt/intracloud/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_rule(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_INTRA_ID)?;
    let consumer_id = db::run(&state.pool, move |c| rules::delete(c, id)).await?;
    if let Some(n) = &state.notifier {
        n.notify(vec![consumer_id]);
    }
    Ok(HttpResponse::Ok().finish())
}

/// The name, address and port of a system in a request, normalized as stored.
fn system_key(
    s: Option<&SystemRequest>,
    what: &str,
    origin: &str,
) -> Result<(String, String, i32), ArrowheadError> {
    s.ok_or_else(|| ArrowheadError::bad_payload(format!("{what} is null.")).with_origin(origin))?
        .key(what, origin)
}

/// `providerIdsWithInterfaceIds` of a check request as (provider, interfaces) pairs.
fn offered_providers(
    list: Option<&[common::dto::IdIdList]>,
    origin: &str,
) -> Result<Vec<(i64, Vec<i64>)>, ArrowheadError> {
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(origin);
    let list = list
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("Provider list is null or empty."))?;
    list.iter()
        .map(|p| {
            let id =
                p.id.filter(|i| *i >= 1)
                    .ok_or_else(|| bad("Provider id must be greater than 0."))?;
            let interfaces = p
                .id_list
                .clone()
                .filter(|l| !l.is_empty() && l.iter().all(|i| *i >= 1))
                .ok_or_else(|| bad("Interface id list is null, empty or invalid."))?;
            Ok((id, interfaces))
        })
        .collect()
}

/// Which of the offered providers and interfaces the consumer may use for the service.
#[utoipa::path(post, path = "/authorization/intracloud/check", tag = "Private", request_body = IntraCloudCheckRequest,
    responses((status = 200, body = IntraCloudCheckResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn check_intra_cloud(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<IntraCloudCheckRequest>,
) -> Result<web::Json<IntraCloudCheckResponse>, ArrowheadError> {
    allow(&caller, Endpoint::IntraCloudCheck, &req)?;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(CHECK_INTRA);
    let (name, address, port) = system_key(body.consumer.as_ref(), "Consumer", CHECK_INTRA)?;
    let service_id = body
        .service_definition_id
        .filter(|i| *i >= 1)
        .ok_or_else(|| bad("Service definition id must be greater than 0."))?;
    let providers =
        offered_providers(body.provider_ids_with_interface_ids.as_deref(), CHECK_INTRA)?;
    let answer = db::run(&state.pool, move |c| {
        let consumer = common::db::models::find_system(c, &name, &address, port)?.ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!("Consumer with name: {name}, address: {address}, port: {port} is not exist in the database."))
        })?;
        let authorized = rules::check(c, &consumer, service_id, &providers)?;
        Ok(IntraCloudCheckResponse {
            consumer: SystemResponse::from(&consumer),
            service_definition_id: service_id,
            authorized_provider_ids_with_interface_ids: authorized,
        })
    })
    .await?;
    Ok(web::Json(answer))
}

/// One token request after validation: what [`tokens::TokenService::generate`] needs.
struct PreparedTokenRequest {
    consumer: String,
    address: String,
    port: i32,
    service: String,
    providers: Vec<TokenProvider>,
    /// (cloud name, operator) as given; `None`: this cloud.
    cloud: Option<(String, String)>,
}

/// Checks a token request as Java's controller does (400 naming the problem).
fn prepare_token_request(
    body: &TokenGenerationRequest,
    origin: &str,
) -> Result<PreparedTokenRequest, ArrowheadError> {
    let bad = |m: String| ArrowheadError::bad_payload(m).with_origin(origin);
    let (consumer, address, port) = system_key(body.consumer.as_ref(), "Consumer", origin)?;
    let service = body
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("Service is null or blank.".into()))?;
    let service = normalize_name(service);
    let offered = body
        .providers
        .as_ref()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("Provider list is null or empty.".into()))?;
    let mut providers = Vec::with_capacity(offered.len());
    for p in offered {
        let (name, address, port) = system_key(p.provider.as_ref(), "Provider", origin)?;
        let authentication_info = p
            .provider
            .as_ref()
            .and_then(|s| s.authentication_info.as_deref())
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad(format!("Provider {name} has no authentication info.")))?
            .to_owned();
        let interfaces = p
            .service_interfaces
            .as_ref()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("Service interface list is null or empty.".into()))?;
        for i in interfaces {
            validate_interface(i, false).map_err(|e| e.with_origin(origin))?;
        }
        // Java's field is an Integer: longer durations never reached it (its JSON reader
        // refuses them), and here they would overflow the expiry time.
        if p.token_duration.is_some_and(|d| d > i64::from(i32::MAX)) {
            return Err(bad(format!(
                "Token duration must be at most {} seconds.",
                i32::MAX
            )));
        }
        let duration = p
            .token_duration
            .filter(|d| *d > 0)
            .map(|d| Duration::from_secs(d.unsigned_abs()));
        providers.push(TokenProvider {
            name,
            address,
            port,
            authentication_info,
            interfaces: interfaces.iter().map(|i| normalize_interface(i)).collect(),
            duration,
        });
    }
    let cloud = body.consumer_cloud.as_ref().map(|c| {
        (
            c.name.as_deref().unwrap_or_default().trim().to_owned(),
            c.operator.as_deref().unwrap_or_default().trim().to_owned(),
        )
    });
    if cloud
        .as_ref()
        .is_some_and(|(n, o)| n.is_empty() || o.is_empty())
    {
        return Err(bad(
            "Consumer cloud name and operator must not be blank.".into()
        ));
    }
    Ok(PreparedTokenRequest {
        consumer,
        address,
        port,
        service,
        providers,
        cloud,
    })
}

/// Issues the tokens of several requests: the own cloud (one database read, only when a
/// request names no cloud), then the RSA signing, off the async workers and on no more threads
/// than there are cores (see [`tokens::TokenService`]).
async fn issue_tokens(
    state: &AppState,
    requests: Vec<PreparedTokenRequest>,
    origin: &str,
) -> Result<Vec<(PreparedTokenRequest, TokenGenerationResponse)>, ArrowheadError> {
    let Some(service_tokens) = state.tokens.clone() else {
        return Err(
            ArrowheadError::internal("Token generation is not possible in insecure mode.")
                .with_origin(origin),
        );
    };
    let own = if requests.iter().any(|r| r.cloud.is_none()) {
        let identity = state.identity.clone();
        db::run(&state.pool, move |c| {
            Ok(match common::db::models::own_cloud(c, true)? {
                Some(own) => (own.name, own.operator),
                None => identity
                    .as_ref()
                    .map(|i| (i.cloud.clone(), i.operator.clone()))
                    .unwrap_or_default(),
            })
        })
        .await?
    } else {
        Default::default()
    };
    let count = requests
        .iter()
        .flat_map(|r| r.providers.iter())
        .map(|p| p.interfaces.len())
        .sum();
    service_tokens
        .signing(count, move |service_tokens| {
            let mut out = Vec::with_capacity(requests.len());
            for r in requests {
                let (cloud, operator) = r.cloud.clone().unwrap_or_else(|| own.clone());
                let cid = tokens::consumer_id(&r.consumer, &cloud, &operator);
                let answer =
                    service_tokens.generate(&cid, &r.service, &r.providers, SystemTime::now())?;
                out.push((r, answer));
            }
            Ok(out)
        })
        .await
}

/// Tokens for a consumer to call TOKEN-secured providers.
#[utoipa::path(post, path = "/authorization/token", tag = "Private", request_body = TokenGenerationRequest,
    responses((status = 200, body = TokenGenerationResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn generate_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<TokenGenerationRequest>,
) -> Result<web::Json<TokenGenerationResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Token, &req)?;
    let prepared = prepare_token_request(&body, TOKEN)?;
    let mut issued = issue_tokens(&state, vec![prepared], TOKEN).await?;
    let (_, answer) = issued
        .pop()
        .ok_or_else(|| ArrowheadError::internal("Token generation failed."))?;
    Ok(web::Json(answer))
}

/// Java `TokenGenerationDetailedResponseDTO` (the misspelt `consumerAdress` is the wire name).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenGenerationDetailedResponse {
    pub service: String,
    pub consumer_name: String,
    #[serde(rename = "consumerAdress")]
    pub consumer_address: String,
    pub consumer_port: i32,
    pub token_data: Vec<common::dto::TokenData>,
}

/// Java `TokenGenerationMultiServiceResponseDTO`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenGenerationMultiResponse {
    pub data: Vec<TokenGenerationDetailedResponse>,
}

/// Tokens for several consumers and services at once (used by the Choreographer). The whole
/// request is validated before any token is issued.
#[utoipa::path(post, path = "/authorization/token/multi", tag = "Private", request_body = Vec<TokenGenerationRequest>,
    responses((status = 200, body = TokenGenerationMultiResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn generate_multi_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<Vec<TokenGenerationRequest>>,
) -> Result<web::Json<TokenGenerationMultiResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Token, &req)?;
    if body.is_empty() {
        return Err(
            ArrowheadError::bad_payload("Request list is null or empty.").with_origin(TOKEN_MULTI),
        );
    }
    let prepared = body
        .iter()
        .map(|r| prepare_token_request(r, TOKEN_MULTI))
        .collect::<Result<Vec<_>, _>>()?;
    let issued = issue_tokens(&state, prepared, TOKEN_MULTI).await?;
    Ok(web::Json(TokenGenerationMultiResponse {
        data: issued
            .into_iter()
            .map(|(r, answer)| TokenGenerationDetailedResponse {
                service: r.service,
                consumer_name: r.consumer,
                consumer_address: r.address,
                consumer_port: r.port,
                token_data: answer.token_data,
            })
            .collect(),
    }))
}

/// Which publishers a subscriber may hear from: those it has any intra-cloud rule with,
/// restricted to the given ones when the request names publishers.
#[utoipa::path(post, path = "/authorization/subscription/check", tag = "Private", request_body = SubscriptionCheckRequest,
    responses((status = 200, body = SubscriptionCheckResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn check_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SubscriptionCheckRequest>,
) -> Result<web::Json<SubscriptionCheckResponse>, ArrowheadError> {
    allow(&caller, Endpoint::SubscriptionCheck, &req)?;
    let (name, address, port) = system_key(body.consumer.as_ref(), "Consumer", CHECK_SUBSCRIPTION)?;
    let mut wanted = Vec::new();
    for p in body.publishers.iter().flatten() {
        wanted.push(system_key(Some(p), "Publisher", CHECK_SUBSCRIPTION)?);
    }
    let answer = db::run(&state.pool, move |c| {
        let consumer = common::db::models::find_system(c, &name, &address, port)?.ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!("Consumer with name: {name}, address: {address}, port: {port} is not exist in the database."))
        })?;
        let publishers = rules::authorized_publishers(c, consumer.id)?
            .into_iter()
            .filter(|s| wanted.is_empty() || wanted.iter().any(|(n, a, p)| *n == s.system_name && *a == s.address && *p == s.port))
            .map(|s| SystemResponse::from(&s))
            .collect();
        Ok(SubscriptionCheckResponse { consumer: SystemResponse::from(&consumer), publishers })
    })
    .await?;
    Ok(web::Json(answer))
}

/// Inter-cloud rules (paged, sorted).
#[utoipa::path(get, path = "/authorization/mgmt/intercloud", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<InterCloudRule>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list_inter_rules(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<InterCloudRule>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(SORTABLE, MGMT_INTER)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| Ok(inter_rules::list(c, &page)?)).await?,
    ))
}

/// Java `AuthorizationInterCloudRequestDTO`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterCloudRuleRequest {
    #[schema(required = true)]
    pub cloud_id: Option<i64>,
    #[schema(required = true)]
    pub provider_id_list: Option<Vec<i64>>,
    #[schema(required = true)]
    pub service_definition_id_list: Option<Vec<i64>>,
    #[schema(required = true)]
    pub interface_id_list: Option<Vec<i64>>,
}

/// Creates inter-cloud rules (same two shapes as intra-cloud ones).
#[utoipa::path(post, path = "/authorization/mgmt/intercloud", tag = "Management", request_body = InterCloudRuleRequest,
    responses((status = 201, body = ListResponse<InterCloudRule>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn create_inter_rules(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<InterCloudRuleRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let cloud_id = body.cloud_id.filter(|i| *i >= 1).ok_or_else(|| {
        ArrowheadError::bad_payload("Cloud id must be greater than 0.").with_origin(MGMT_INTER)
    })?;
    let new = NewRules {
        consumer_id: cloud_id,
        provider_ids: ids(body.provider_id_list.as_ref(), "Provider", MGMT_INTER)?,
        service_ids: ids(
            body.service_definition_id_list.as_ref(),
            "Service definition",
            MGMT_INTER,
        )?,
        interface_ids: ids(body.interface_id_list.as_ref(), "Interface", MGMT_INTER)?,
    };
    check_combination(&new, MGMT_INTER)?;
    let created = db::run(&state.pool, move |c| {
        rules::create_rules::<inter_rules::InterCloud>(c, &new)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// One inter-cloud rule.
#[utoipa::path(get, path = "/authorization/mgmt/intercloud/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = InterCloudRule), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get_inter_rule(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<InterCloudRule>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_INTER_ID)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| inter_rules::get(c, id)).await?,
    ))
}

/// Deletes an inter-cloud rule.
#[utoipa::path(delete, path = "/authorization/mgmt/intercloud/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete_inter_rule(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_INTER_ID)?;
    db::run(&state.pool, move |c| inter_rules::delete(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Which of the offered providers and interfaces another cloud may use for the service.
#[utoipa::path(post, path = "/authorization/intercloud/check", tag = "Private", request_body = InterCloudCheckRequest,
    responses((status = 200, body = InterCloudCheckResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn check_inter_cloud(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<InterCloudCheckRequest>,
) -> Result<web::Json<InterCloudCheckResponse>, ArrowheadError> {
    allow(&caller, Endpoint::InterCloudCheck, &req)?;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(CHECK_INTER);
    let cloud = body.cloud.as_ref().ok_or_else(|| bad("Cloud is null."))?;
    let operator = cloud
        .operator
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("Cloud operator is null or blank."))?
        .to_owned();
    let name = cloud
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("Cloud name is null or blank."))?
        .to_owned();
    let definition = body
        .service_definition
        .as_deref()
        .map(normalize_name)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("Service definition is null or blank."))?;
    let providers =
        offered_providers(body.provider_ids_with_interface_ids.as_deref(), CHECK_INTER)?;
    let answer = db::run(&state.pool, move |c| {
        let cloud = inter_rules::find_cloud(c, &operator, &name)?.ok_or_else(|| {
            ArrowheadError::invalid_parameter(format!(
                "Cloud with operator: {operator} and name: {name} is not exist in the database."
            ))
        })?;
        let def =
            common::db::models::find_service_definition(c, &definition)?.ok_or_else(|| {
                ArrowheadError::invalid_parameter(format!(
                    "Service definition {definition} is not exist in the database."
                ))
            })?;
        let authorized = inter_rules::check(c, cloud.id, def.id, &providers)?;
        Ok(InterCloudCheckResponse {
            cloud: common::dto::CloudResponse::from(&cloud),
            service_definition: def.service_definition,
            authorized_provider_ids_with_interface_ids: authorized,
        })
    })
    .await?;
    Ok(web::Json(answer))
}

common::mgmt_logs_handler!(
    "/authorization/mgmt/logs",
    common::identity::CoreSystem::Authorization,
    AppState,
    |s| &s.pool
);

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "Authorization",
        crate::access::who_may_call,
    )
}
