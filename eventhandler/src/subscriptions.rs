//! Subscriptions in the shared database (Java `EventHandlerDBService`): who wants which event
//! type, filtered how, and from which publishers (`subscription_publisher_connection`, with the
//! Authorization system's verdict in `authorized`). Publishing reads them on every event, so
//! every instance behind a load balancer sees every other instance's writes at once.

use chrono::NaiveDateTime;
use common::db::models::System;
use common::db::schema::{
    event_type, subscription, subscription_publisher_connection as connection, system_,
};
use common::dto::{format_instant, ListResponse, SystemResponse};
use common::names::{text_to_metadata, PageParams};
use common::ArrowheadError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscription)]
pub struct SubscriptionRow {
    pub id: i64,
    pub system_id: i64,
    pub event_type_id: i64,
    pub filter_meta_data: Option<String>,
    pub match_meta_data: i32,
    pub only_predefined_publishers: i32,
    pub notify_uri: String,
    pub start_date: Option<NaiveDateTime>,
    pub end_date: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_type)]
pub struct EventType {
    pub id: i64,
    pub event_type_name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Java `EventTypeResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeResponse {
    pub id: i64,
    pub event_type_name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Java `SubscriptionResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionResponse {
    pub id: i64,
    pub event_type: EventTypeResponse,
    pub subscriber_system: SystemResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_meta_data: Option<BTreeMap<String, String>>,
    pub match_meta_data: bool,
    pub notify_uri: String,
    pub sources: Vec<SystemResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A validated subscription (subscribe, or a management update).
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub event_type: String,
    pub subscriber_id: i64,
    pub filter_meta_data: Option<String>,
    pub match_meta_data: bool,
    pub notify_uri: String,
    pub start_date: Option<NaiveDateTime>,
    pub end_date: Option<NaiveDateTime>,
    /// Publisher ids the subscriber named (`sources`); empty: every authorized publisher.
    pub sources: Vec<i64>,
}

/// Finds or creates an event type (names are stored uppercased).
fn event_type_for(conn: &mut MysqlConnection, name: &str) -> Result<EventType, ArrowheadError> {
    // `locking` after the upsert (see `common::first_row`).
    let find = |conn: &mut MysqlConnection, locking: bool| {
        let query = event_type::table
            .filter(event_type::event_type_name.eq(name))
            .select(EventType::as_select());
        common::first_row!(query, conn, locking)
    };
    if let Some(t) = find(conn, false)? {
        return Ok(t);
    }
    diesel::insert_into(event_type::table)
        .values(event_type::event_type_name.eq(name))
        // A duplicate is left alone (a concurrent request may create the same row); not INSERT
        // IGNORE, which would also store text the column cannot hold changed (strict mode off).
        .on_conflict(diesel::dsl::DuplicatedKeys)
        .do_update()
        .set(event_type::id.eq(event_type::id))
        .execute(conn)?;
    find(conn, true)?.ok_or_else(|| ArrowheadError::internal("Database operation exception"))
}

/// The publisher connections of a subscription: the named sources (authorized if the
/// Authorization system allows them), or every authorized publisher.
fn write_connections(
    conn: &mut MysqlConnection,
    subscription_id: i64,
    sources: &[i64],
    authorized: &HashSet<i64>,
) -> QueryResult<()> {
    diesel::delete(connection::table.filter(connection::subscription_id.eq(subscription_id)))
        .execute(conn)?;
    let rows: Vec<_> = if sources.is_empty() {
        authorized
            .iter()
            .map(|p| {
                (
                    connection::subscription_id.eq(subscription_id),
                    connection::system_id.eq(*p),
                    connection::authorized.eq(1),
                )
            })
            .collect()
    } else {
        sources
            .iter()
            .map(|p| {
                (
                    connection::subscription_id.eq(subscription_id),
                    connection::system_id.eq(*p),
                    connection::authorized.eq(i32::from(authorized.contains(p))),
                )
            })
            .collect()
    };
    if !rows.is_empty() {
        diesel::insert_into(connection::table)
            .values(rows)
            .execute(conn)?;
    }
    Ok(())
}

/// The stored columns of a subscription.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = subscription, treat_none_as_null = true)]
struct SubscriptionValues {
    system_id: i64,
    event_type_id: i64,
    filter_meta_data: Option<String>,
    match_meta_data: i32,
    only_predefined_publishers: i32,
    notify_uri: String,
    start_date: Option<NaiveDateTime>,
    end_date: Option<NaiveDateTime>,
}

fn values(s: &NewSubscription, event_type_id: i64) -> SubscriptionValues {
    SubscriptionValues {
        system_id: s.subscriber_id,
        event_type_id,
        filter_meta_data: s.filter_meta_data.clone(),
        match_meta_data: i32::from(s.match_meta_data),
        only_predefined_publishers: i32::from(!s.sources.is_empty()),
        notify_uri: s.notify_uri.clone(),
        start_date: s.start_date,
        end_date: s.end_date,
    }
}

/// Subscribes, replacing an earlier subscription of the same subscriber to the same event type
/// (Java's forced re-subscription), in one transaction.
pub fn subscribe(
    conn: &mut MysqlConnection,
    s: &NewSubscription,
    authorized: &HashSet<i64>,
) -> Result<i64, ArrowheadError> {
    conn.transaction(|conn| {
        let t = event_type_for(conn, &s.event_type)?;
        diesel::delete(
            subscription::table
                .filter(subscription::event_type_id.eq(t.id))
                .filter(subscription::system_id.eq(s.subscriber_id)),
        )
        .execute(conn)?;
        diesel::insert_into(subscription::table)
            .values(values(s, t.id))
            .execute(conn)?;
        let id: i64 = subscription::table
            .filter(subscription::event_type_id.eq(t.id))
            .filter(subscription::system_id.eq(s.subscriber_id))
            .select(subscription::id)
            .first(conn)?;
        write_connections(conn, id, &s.sources, authorized)?;
        Ok(id)
    })
}

/// Replaces subscription `id` (management update) in one transaction.
pub fn update(
    conn: &mut MysqlConnection,
    id: i64,
    s: &NewSubscription,
    authorized: &HashSet<i64>,
) -> Result<SubscriptionResponse, ArrowheadError> {
    conn.transaction(|conn| {
        if subscription::table
            .find(id)
            .count()
            .get_result::<i64>(conn)?
            == 0
        {
            return Err(not_found(id));
        }
        let t = event_type_for(conn, &s.event_type)?;
        let clash: i64 = subscription::table
            .filter(subscription::event_type_id.eq(t.id))
            .filter(subscription::system_id.eq(s.subscriber_id))
            .filter(subscription::id.ne(id))
            .count()
            .get_result(conn)?;
        if clash > 0 {
            return Err(ArrowheadError::invalid_parameter(format!(
                "Subscriber system already has a subscription to event type {}.",
                s.event_type
            )));
        }
        diesel::update(subscription::table.find(id))
            .set(values(s, t.id))
            .execute(conn)?;
        write_connections(conn, id, &s.sources, authorized)?;
        get(conn, id)
    })
}

/// Removes a subscriber's subscription to an event type; unknown ones are fine (Java).
pub fn unsubscribe(
    conn: &mut MysqlConnection,
    event_type_name: &str,
    subscriber_id: i64,
) -> QueryResult<usize> {
    let ids: Vec<i64> = subscription::table
        .inner_join(event_type::table)
        .filter(event_type::event_type_name.eq(event_type_name))
        .filter(subscription::system_id.eq(subscriber_id))
        .select(subscription::id)
        .load(conn)?;
    diesel::delete(subscription::table.filter(subscription::id.eq_any(ids))).execute(conn)
}

fn not_found(id: i64) -> ArrowheadError {
    ArrowheadError::invalid_parameter(format!("Subscription with id of '{id}' not exists"))
}

pub fn delete(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    match diesel::delete(subscription::table.find(id)).execute(conn)? {
        0 => Err(not_found(id)),
        _ => Ok(()),
    }
}

fn responses(
    conn: &mut MysqlConnection,
    rows: Vec<SubscriptionRow>,
) -> QueryResult<Vec<SubscriptionResponse>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let sources: Vec<(i64, System)> = connection::table
        .inner_join(system_::table.on(system_::id.eq(connection::system_id)))
        .filter(connection::subscription_id.eq_any(&ids))
        .order(connection::id.asc())
        .select((connection::subscription_id, System::as_select()))
        .load(conn)?;
    let mut by_subscription: HashMap<i64, Vec<SystemResponse>> = HashMap::new();
    for (id, s) in sources {
        by_subscription
            .entry(id)
            .or_default()
            .push(SystemResponse::from(&s));
    }
    let subscribers: HashMap<i64, System> = system_::table
        .filter(system_::id.eq_any(rows.iter().map(|r| r.system_id)))
        .select(System::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let types: HashMap<i64, EventType> = event_type::table
        .filter(event_type::id.eq_any(rows.iter().map(|r| r.event_type_id)))
        .select(EventType::as_select())
        .load(conn)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let s = subscribers.get(&r.system_id)?;
            let t = types.get(&r.event_type_id)?;
            Some(SubscriptionResponse {
                id: r.id,
                event_type: EventTypeResponse {
                    id: t.id,
                    event_type_name: t.event_type_name.clone(),
                    created_at: format_instant(&t.created_at),
                    updated_at: format_instant(&t.updated_at),
                },
                subscriber_system: SystemResponse::from(s),
                filter_meta_data: text_to_metadata(r.filter_meta_data.as_deref()),
                match_meta_data: r.match_meta_data != 0,
                notify_uri: r.notify_uri,
                sources: by_subscription.remove(&r.id).unwrap_or_default(),
                start_date: r.start_date.as_ref().map(format_instant),
                end_date: r.end_date.as_ref().map(format_instant),
                created_at: format_instant(&r.created_at),
                updated_at: format_instant(&r.updated_at),
            })
        })
        .collect())
}

pub fn list(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<SubscriptionResponse>> {
    let mut q = subscription::table
        .select(SubscriptionRow::as_select())
        .into_boxed();
    q = common::sorted_page!(q, subscription, page);
    let rows = q.load(conn)?;
    Ok(ListResponse {
        data: responses(conn, rows)?,
        count: subscription::table.count().get_result(conn)?,
    })
}

pub fn get(conn: &mut MysqlConnection, id: i64) -> Result<SubscriptionResponse, ArrowheadError> {
    let rows = subscription::table
        .filter(subscription::id.eq(id))
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    responses(conn, rows)?.pop().ok_or_else(|| not_found(id))
}

/// A subscription an event goes to, with its subscriber.
#[derive(Debug, Clone)]
pub struct Target {
    pub subscription: SubscriptionRow,
    pub subscriber: System,
}

/// The subscriptions of an event type that may hear from `source` (an authorized connection).
pub fn targets(
    conn: &mut MysqlConnection,
    event_type_name: &str,
    source_id: i64,
) -> QueryResult<Vec<Target>> {
    Ok(subscription::table
        .inner_join(event_type::table)
        .inner_join(system_::table.on(system_::id.eq(subscription::system_id)))
        .inner_join(connection::table.on(connection::subscription_id.eq(subscription::id)))
        .filter(event_type::event_type_name.eq(event_type_name))
        .filter(connection::system_id.eq(source_id))
        .filter(connection::authorized.eq(1))
        .order(subscription::id.asc())
        .select((SubscriptionRow::as_select(), System::as_select()))
        .load::<(SubscriptionRow, System)>(conn)?
        .into_iter()
        .map(|(subscription, subscriber)| Target {
            subscription,
            subscriber,
        })
        .collect())
}

/// Every system with at least one subscription (re-checked with Authorization at startup).
pub fn subscribers(conn: &mut MysqlConnection) -> QueryResult<Vec<System>> {
    let ids: Vec<i64> = subscription::table
        .select(subscription::system_id)
        .distinct()
        .load(conn)?;
    system_::table
        .filter(system_::id.eq_any(ids))
        .select(System::as_select())
        .load(conn)
}

/// Rewrites the publisher connections of all of a subscriber's subscriptions after its
/// authorization changed.
pub fn reauthorize(
    conn: &mut MysqlConnection,
    subscriber_id: i64,
    authorized: &HashSet<i64>,
) -> Result<usize, ArrowheadError> {
    conn.transaction(|conn| {
        let subs: Vec<SubscriptionRow> = subscription::table
            .filter(subscription::system_id.eq(subscriber_id))
            .select(SubscriptionRow::as_select())
            .load(conn)?;
        for s in &subs {
            let sources: Vec<i64> = if s.only_predefined_publishers != 0 {
                connection::table
                    .filter(connection::subscription_id.eq(s.id))
                    .select(connection::system_id)
                    .load(conn)?
            } else {
                Vec::new()
            };
            write_connections(conn, s.id, &sources, authorized)?;
        }
        Ok(subs.len())
    })
}

/// Removes subscriptions whose end date has passed (the optional clean-up task).
pub fn delete_expired(conn: &mut MysqlConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(subscription::table.filter(subscription::end_date.lt(now))).execute(conn)
}
