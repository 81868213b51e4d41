//! The Event Handler's HTTP endpoints: subscribe, unsubscribe and publish for application
//! systems, the authorization update for the Authorization system, and subscription management
//! (plus delivery counters) for the operator.

use crate::access::{self, Endpoint};
use crate::authsync::{system_request, AuthSync};
use crate::delivery::{DeliveryStats, Dispatcher};
use crate::queue::{self, NewDelivery};
use crate::subscriptions::{self, NewSubscription, SubscriptionResponse};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use common::db::{self, DbPool};
use common::dto::{format_instant, parse_instant, ListResponse, RequestMetadata, SystemRequest};
use common::error::ErrorMessage;
use common::identity::Caller;
use common::names::{
    fits, metadata_to_text, normalize_metadata, text_to_metadata, validate_id, PageQuery,
    MAX_VARCHAR,
};
use common::web::request_url;
use common::ArrowheadError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use utoipa::OpenApi;

pub struct AppState {
    pub pool: DbPool,
    pub auth: AuthSync,
    pub dispatcher: Dispatcher,
    /// `time_stamp_tolerance_seconds`.
    pub tolerance: Duration,
}

const SUBSCRIBE: &str = "/eventhandler/subscribe";
const UNSUBSCRIBE: &str = "/eventhandler/unsubscribe";
const PUBLISH: &str = "/eventhandler/publish";
const AUTH_UPDATE: &str = "/eventhandler/publish/authupdate";
const MGMT: &str = "/eventhandler/mgmt/subscriptions";
const MGMT_ID: &str = "/eventhandler/mgmt/subscriptions/{id}";
const SORTABLE: &[&str] = &["id", "createdAt", "updatedAt"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/eventhandler")
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(web::resource("/subscribe").route(web::post().to(subscribe)))
            .service(web::resource("/unsubscribe").route(web::delete().to(unsubscribe)))
            .service(web::resource("/publish").route(web::post().to(publish)))
            .service(web::resource("/publish/authupdate").route(web::post().to(auth_update)))
            .service(web::resource("/mgmt/subscriptions").route(web::get().to(list)))
            .service(web::resource("/mgmt/deliveries").route(web::get().to(deliveries)))
            .service(
                web::resource("/mgmt/subscriptions/{id}")
                    .route(web::get().to(get))
                    .route(web::put().to(update))
                    .route(web::delete().to(delete)),
            ),
    );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Arrowhead Event Handler",
        description = "Event Handler core system (Arrowhead 4.x compatible)."
    ),
    paths(
        echo,
        logs,
        subscribe,
        unsubscribe,
        publish,
        auth_update,
        list,
        get,
        update,
        delete,
        deliveries
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

fn allow(caller: &Caller, endpoint: Endpoint, req: &HttpRequest) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

/// Availability check.
#[utoipa::path(get, path = "/eventhandler/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(_caller: Caller) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!")
}

/// Java `SubscriptionRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRequest {
    #[schema(required = true)]
    pub event_type: Option<String>,
    #[schema(required = true)]
    pub subscriber_system: Option<SystemRequest>,
    pub filter_meta_data: Option<RequestMetadata>,
    #[schema(required = true)]
    pub notify_uri: Option<String>,
    pub match_meta_data: Option<bool>,
    /// ISO-8601 UTC (`2030-01-01T00:00:00Z`) or `yyyy-MM-dd HH:mm:ss` (UTC).
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// Only these publishers (if the Authorization system allows them); absent: all allowed.
    pub sources: Option<Vec<SystemRequest>>,
}

/// Java `EventPublishRequestDTO`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPublishRequest {
    #[schema(required = true)]
    pub event_type: Option<String>,
    #[schema(required = true)]
    pub source: Option<SystemRequest>,
    pub meta_data: Option<RequestMetadata>,
    #[schema(required = true)]
    pub payload: Option<String>,
    /// ISO-8601 UTC; absent: now.
    pub time_stamp: Option<String>,
}

/// Java `EventDTO`: what a subscriber receives at its `notifyUri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_type: String,
    pub meta_data: Option<BTreeMap<String, String>>,
    pub payload: String,
    pub time_stamp: String,
}

fn event_type_name(raw: Option<&str>, origin: &str) -> Result<String, ArrowheadError> {
    let name = raw
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ArrowheadError::bad_payload("Event type is null or blank.").with_origin(origin)
        })?;
    fits(name, MAX_VARCHAR, "Event type", origin)?;
    Ok(name.to_uppercase())
}

/// A subscription request checked as far as it can be without the database.
struct CheckedSubscription {
    event_type: String,
    subscriber: (String, String, i32),
    sources: Vec<(String, String, i32)>,
    filter: Option<String>,
    match_meta_data: bool,
    notify_uri: String,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
}

fn check_subscription(
    r: &SubscriptionRequest,
    tolerance: Duration,
    origin: &str,
) -> Result<CheckedSubscription, ArrowheadError> {
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(origin);
    let event_type = event_type_name(r.event_type.as_deref(), origin)?;
    let subscriber = r
        .subscriber_system
        .as_ref()
        .ok_or_else(|| bad("Subscriber system is null."))?
        .key("Subscriber", origin)?;
    let notify_uri = r
        .notify_uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad("Notify URI is null or blank."))?
        .to_owned();
    let filter =
        normalize_metadata(r.filter_meta_data.as_ref()).map_err(|e| e.with_origin(origin))?;
    let match_meta_data = r.match_meta_data.unwrap_or(false);
    if match_meta_data && filter.is_empty() {
        return Err(bad(
            "Request.MatchMetaData is true but Request.FilterMetaData is null or blank.",
        ));
    }
    let now = chrono::Utc::now().naive_utc();
    let earliest = now - chrono::Duration::from_std(tolerance).unwrap_or_default();
    let date = |v: Option<&str>, what: &str| -> Result<Option<NaiveDateTime>, ArrowheadError> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => {
                let t = parse_instant(s).ok_or_else(|| {
                    bad(&format!(
                        "{what} is not a valid date: use UTC ISO-8601, e.g. 2030-01-01T00:00:00Z."
                    ))
                })?;
                if t < earliest {
                    return Err(bad(&format!("{what} must be in the future.")));
                }
                Ok(Some(t))
            }
        }
    };
    let start = date(r.start_date.as_deref(), "Start date")?;
    let end = date(r.end_date.as_deref(), "End date")?;
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(bad("End date must be after the start date."));
        }
    }
    let sources = r
        .sources
        .iter()
        .flatten()
        .map(|s| s.key("Source", origin))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CheckedSubscription {
        event_type,
        subscriber,
        sources,
        filter: metadata_to_text(&filter),
        match_meta_data,
        notify_uri,
        start,
        end,
    })
}

fn find_system(
    c: &mut diesel::MysqlConnection,
    (name, address, port): &(String, String, i32),
    what: &str,
) -> Result<common::db::models::System, ArrowheadError> {
    common::db::models::find_system(c, name, address, *port)?.ok_or_else(|| {
        ArrowheadError::invalid_parameter(format!(
            "{what} system with name: {name}, address: {address}, port: {port} is not registered."
        ))
    })
}

/// Resolves a checked subscription against the database and asks Authorization which
/// publishers the subscriber may hear from.
async fn prepare(
    state: &AppState,
    checked: CheckedSubscription,
) -> Result<(NewSubscription, std::collections::HashSet<i64>), ArrowheadError> {
    let (subscriber, sources) = db::run(&state.pool, {
        let (subscriber, sources) = (checked.subscriber.clone(), checked.sources.clone());
        move |c| {
            let s = find_system(c, &subscriber, "Subscriber")?;
            let sources = sources
                .iter()
                .map(|k| find_system(c, k, "Source").map(|s| s.id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((s, sources))
        }
    })
    .await?;
    let authorized = state
        .auth
        .authorized_publishers(system_request(&subscriber))
        .await?;
    Ok((
        NewSubscription {
            event_type: checked.event_type,
            subscriber_id: subscriber.id,
            filter_meta_data: checked.filter,
            match_meta_data: checked.match_meta_data,
            notify_uri: checked.notify_uri,
            start_date: checked.start,
            end_date: checked.end,
            sources,
        },
        authorized,
    ))
}

/// Subscribes the caller to an event type (an earlier subscription to it is replaced).
#[utoipa::path(post, path = "/eventhandler/subscribe", tag = "Client", request_body(content = SubscriptionRequest, example = json!({"eventType": "TEMPERATURE_CHANGED", "subscriberSystem": {"systemName": "dashboard", "address": "127.0.0.1", "port": 9002}, "notifyUri": "/events", "matchMetaData": false})),
    responses((status = 200, description = "Subscribed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn subscribe(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<SubscriptionRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    let name = body
        .subscriber_system
        .as_ref()
        .and_then(|s| s.system_name.as_deref());
    allow(&caller, Endpoint::Subscribe(name), &req)?;
    let checked = check_subscription(&body, state.tolerance, SUBSCRIBE)?;
    let (new, authorized) = prepare(&state, checked).await?;
    db::run(&state.pool, move |c| {
        subscriptions::subscribe(c, &new, &authorized)
    })
    .await?;
    Ok(HttpResponse::Ok().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnsubscribeQuery {
    pub event_type: Option<String>,
    pub system_name: Option<String>,
    pub address: Option<String>,
    pub port: Option<i64>,
}

/// Removes the caller's subscription to an event type.
#[utoipa::path(delete, path = "/eventhandler/unsubscribe", tag = "Client", params(UnsubscribeQuery),
    responses((status = 200, description = "Unsubscribed"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<UnsubscribeQuery>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(
        &caller,
        Endpoint::Unsubscribe(q.system_name.as_deref()),
        &req,
    )?;
    let event_type = event_type_name(q.event_type.as_deref(), UNSUBSCRIBE)?;
    let key = SystemRequest {
        system_name: q.system_name.clone(),
        address: q.address.clone(),
        port: q.port,
        ..Default::default()
    }
    .key("Subscriber", UNSUBSCRIBE)?;
    db::run(&state.pool, move |c| {
        let s = find_system(c, &key, "Subscriber")?;
        Ok(subscriptions::unsubscribe(c, &event_type, s.id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().finish())
}

/// Whether an event at `at` with `metadata` passes a subscription's filters.
pub fn wanted(
    s: &subscriptions::SubscriptionRow,
    at: NaiveDateTime,
    metadata: &BTreeMap<String, String>,
) -> bool {
    if s.start_date.is_some_and(|start| at < start) || s.end_date.is_some_and(|end| at > end) {
        return false;
    }
    if s.match_meta_data != 0 {
        let filter = text_to_metadata(s.filter_meta_data.as_deref()).unwrap_or_default();
        return filter.iter().all(|(k, v)| {
            metadata
                .get(k)
                .is_some_and(|got| got.eq_ignore_ascii_case(v))
        });
    }
    true
}

/// Publishes an event: answered at once, delivered in the background to every subscriber that
/// may hear from the publisher and wants it.
#[utoipa::path(post, path = "/eventhandler/publish", tag = "Client", request_body(content = EventPublishRequest, example = json!({"eventType": "TEMPERATURE_CHANGED", "source": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001}, "payload": "21.5", "metaData": {"unit": "celsius"}})),
    responses((status = 200, description = "Accepted for delivery"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn publish(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<EventPublishRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    let name = body.source.as_ref().and_then(|s| s.system_name.as_deref());
    allow(&caller, Endpoint::Publish(name), &req)?;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(PUBLISH);
    let event_type = event_type_name(body.event_type.as_deref(), PUBLISH)?;
    let source = body
        .source
        .as_ref()
        .ok_or_else(|| bad("Source system is null."))?
        .key("Source", PUBLISH)?;
    let payload = body
        .payload
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| bad("Payload is null or blank."))?;
    let now = chrono::Utc::now().naive_utc();
    let (at, time_stamp) = match body
        .time_stamp
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => (now, format_instant(&now)),
        Some(t) => {
            let at = parse_instant(t)
                .ok_or_else(|| bad("Request.TimeStamp is not a valid UTC ISO-8601 date."))?;
            let tolerance = chrono::Duration::from_std(state.tolerance).unwrap_or_default();
            if at > now + tolerance {
                return Err(bad(
                    "Request.TimeStamp is further in the future than the tolerated time difference",
                ));
            }
            if at < now - tolerance {
                return Err(bad(
                    "Request.TimeStamp is further in the past than the tolerated time difference",
                ));
            }
            (at, t.to_owned())
        }
    };
    let metadata =
        normalize_metadata(body.meta_data.as_ref()).map_err(|e| e.with_origin(PUBLISH))?;
    let event = Event {
        event_type: body
            .event_type
            .clone()
            .unwrap_or_else(|| event_type.clone())
            .trim()
            .to_owned(),
        meta_data: body.meta_data.as_ref().map(|_| metadata.clone()),
        payload: payload.to_owned(),
        time_stamp,
    };
    let bytes = serde_json::to_vec(&event).map_err(|e| ArrowheadError::internal(e.to_string()))?;
    let bounds = state.dispatcher.bounds();
    // One trip to the database: the matching subscriptions, and their deliveries stored in the
    // same request, so the answer comes only once they are committed (never lost after a 200).
    let accepted = db::run(&state.pool, move |c| {
        let s = find_system(c, &source, "Publisher")?;
        let now = chrono::Utc::now().naive_utc();
        let mut names = HashMap::new();
        let rows: Vec<NewDelivery> = subscriptions::targets(c, &event_type, s.id)?
            .into_iter()
            .filter(|t| wanted(&t.subscription, at, &metadata))
            .map(|t| {
                names.insert(t.subscriber.id, t.subscriber.system_name.clone());
                NewDelivery {
                    subscriber_id: t.subscriber.id,
                    subscription_id: t.subscription.id,
                    size: i32::try_from(bytes.len()).unwrap_or(i32::MAX),
                    body: bytes.clone(),
                    attempts: 0,
                    next_attempt_at: now,
                    created_at: now,
                }
            })
            .collect();
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some((queue::enqueue(c, rows, &names, bounds)?, names)))
    })
    .await?;
    if let Some((done, names)) = accepted {
        state.dispatcher.accepted(done, &names);
    }
    Ok(HttpResponse::Ok().finish())
}

/// The Authorization system announces that a consumer's rules changed (payload: its id); its
/// subscriptions are re-checked in the background.
#[utoipa::path(post, path = "/eventhandler/publish/authupdate", tag = "Private", request_body = EventPublishRequest,
    responses((status = 200, description = "Accepted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn auth_update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<EventPublishRequest>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::AuthUpdate, &req)?;
    let bad = |m: &str| ArrowheadError::bad_payload(m).with_origin(AUTH_UPDATE);
    if event_type_name(body.event_type.as_deref(), AUTH_UPDATE)? != "SUBSCRIBER_AUTH_UPDATE" {
        return Err(bad("Event type must be SUBSCRIBER_AUTH_UPDATE."));
    }
    let id = body
        .payload
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|i| *i >= 1)
        .ok_or_else(|| bad("Payload must be the id of the consumer system."))?;
    let auth = state.auth.clone();
    actix_web::rt::spawn(async move {
        match auth.resync_id(id).await {
            Ok(n) => tracing::info!(
                subscriber = id,
                subscriptions = n,
                "subscriptions re-checked after an authorization update"
            ),
            Err(e) => {
                tracing::warn!(subscriber = id, error = %e, "cannot re-check subscriptions after an authorization update")
            }
        }
    });
    Ok(HttpResponse::Ok().finish())
}

/// Subscriptions (paged, sorted).
#[utoipa::path(get, path = "/eventhandler/mgmt/subscriptions", tag = "Management", params(PageQuery),
    responses((status = 200, body = ListResponse<SubscriptionResponse>), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> Result<web::Json<ListResponse<SubscriptionResponse>>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let page = q.validate(SORTABLE, MGMT)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| Ok(subscriptions::list(c, &page)?)).await?,
    ))
}

/// One subscription.
#[utoipa::path(get, path = "/eventhandler/mgmt/subscriptions/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, body = SubscriptionResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<web::Json<SubscriptionResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    Ok(web::Json(
        db::run(&state.pool, move |c| subscriptions::get(c, id)).await?,
    ))
}

/// Replaces a subscription.
#[utoipa::path(put, path = "/eventhandler/mgmt/subscriptions/{id}", tag = "Management", params(("id" = i64, Path)), request_body = SubscriptionRequest,
    responses((status = 200, body = SubscriptionResponse), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<SubscriptionRequest>,
) -> Result<web::Json<SubscriptionResponse>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    let checked = check_subscription(&body, state.tolerance, MGMT_ID)?;
    let (new, authorized) = prepare(&state, checked).await?;
    Ok(web::Json(
        db::run(&state.pool, move |c| {
            subscriptions::update(c, id, &new, &authorized)
        })
        .await?,
    ))
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/eventhandler/mgmt/subscriptions/{id}", tag = "Management", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorMessage), (status = 401, body = ErrorMessage)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    let id = validate_id(id.into_inner(), MGMT_ID)?;
    db::run(&state.pool, move |c| subscriptions::delete(c, id)).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Delivery figures (not in Java): this instance's outcomes since it started (delivered, retried
/// attempts, given up, dropped because a subscriber's queue was full), and the cloud's queues:
/// events waiting and lost per subscriber, and which instance delivers to each.
#[utoipa::path(get, path = "/eventhandler/mgmt/deliveries", tag = "Management",
    responses((status = 200, body = DeliveryStats), (status = 401, body = ErrorMessage)))]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<web::Json<DeliveryStats>, ArrowheadError> {
    allow(&caller, Endpoint::Mgmt, &req)?;
    Ok(web::Json(state.dispatcher.stats().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        start: Option<&str>,
        end: Option<&str>,
        filter: Option<&str>,
    ) -> subscriptions::SubscriptionRow {
        let t = parse_instant("2030-01-01T00:00:00Z").unwrap();
        subscriptions::SubscriptionRow {
            id: 1,
            system_id: 1,
            event_type_id: 1,
            filter_meta_data: filter.map(str::to_owned),
            match_meta_data: i32::from(filter.is_some()),
            only_predefined_publishers: 0,
            notify_uri: "n".into(),
            start_date: start.and_then(parse_instant),
            end_date: end.and_then(parse_instant),
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn filters() {
        let at = parse_instant("2030-01-01T12:00:00Z").unwrap();
        let none = BTreeMap::new();
        assert!(wanted(&row(None, None, None), at, &none));
        assert!(wanted(
            &row(
                Some("2030-01-01T11:00:00Z"),
                Some("2030-01-01T13:00:00Z"),
                None
            ),
            at,
            &none
        ));
        assert!(!wanted(
            &row(Some("2030-01-01T12:00:01Z"), None, None),
            at,
            &none
        ));
        assert!(!wanted(
            &row(None, Some("2030-01-01T11:59:59Z"), None),
            at,
            &none
        ));
        let celsius = BTreeMap::from([
            ("unit".to_owned(), "CELSIUS".to_owned()),
            ("x".to_owned(), "y".to_owned()),
        ]);
        assert!(wanted(&row(None, None, Some("unit=celsius")), at, &celsius));
        assert!(!wanted(&row(None, None, Some("unit=kelvin")), at, &celsius));
        assert!(!wanted(&row(None, None, Some("unit=celsius")), at, &none));
    }
}

common::mgmt_logs_handler!(
    "/eventhandler/mgmt/logs",
    common::identity::CoreSystem::EventHandler,
    AppState,
    |s| &s.pool
);

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "Event Handler",
        crate::access::who_may_call,
    )
}
