//! Intra-cloud authorization rules in the shared database (Java `AuthorizationDBService`): a
//! consumer may use a service of a provider through the listed interfaces. Management and the
//! check the Orchestrator asks before it answers a consumer.

use chrono::NaiveDateTime;
use common::db::models::{ServiceDefinition, ServiceInterface, System};
use common::db::schema::{
    authorization_intra_cloud as rule, authorization_intra_cloud_interface_connection as rule_intf,
    service_definition, service_interface, system_,
};
use common::dto::{
    format_instant, IdIdList, ListResponse, ServiceDefinitionResponse, ServiceInterfaceResponse,
    SystemResponse,
};
use common::names::PageParams;
use common::ArrowheadError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rule)]
struct RuleRow {
    id: i64,
    consumer_system_id: i64,
    provider_system_id: i64,
    service_id: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Java `AuthorizationIntraCloudResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntraCloudRule {
    pub id: i64,
    pub consumer_system: SystemResponse,
    pub provider_system: SystemResponse,
    pub service_definition: ServiceDefinitionResponse,
    pub interfaces: Vec<ServiceInterfaceResponse>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn systems_by_id(
    conn: &mut MysqlConnection,
    ids: &[i64],
) -> QueryResult<HashMap<i64, System>> {
    Ok(system_::table
        .filter(system_::id.eq_any(ids))
        .select(System::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

pub(crate) fn definitions_by_id(
    conn: &mut MysqlConnection,
    ids: &[i64],
) -> QueryResult<HashMap<i64, ServiceDefinition>> {
    Ok(service_definition::table
        .filter(service_definition::id.eq_any(ids))
        .select(ServiceDefinition::as_select())
        .load(conn)?
        .into_iter()
        .map(|d| (d.id, d))
        .collect())
}

/// Interfaces by rule id from `(rule id, connection id, interface)` rows, each list in the order
/// the interfaces were attached.
pub(crate) fn group_interfaces(
    rows: Vec<(i64, i64, ServiceInterface)>,
) -> HashMap<i64, Vec<ServiceInterfaceResponse>> {
    let mut by_rule: HashMap<i64, Vec<(i64, ServiceInterface)>> = HashMap::new();
    for (rule_id, conn_id, i) in rows {
        by_rule.entry(rule_id).or_default().push((conn_id, i));
    }
    by_rule
        .into_iter()
        .map(|(rule_id, mut list)| {
            list.sort_by_key(|(conn_id, _)| *conn_id);
            (
                rule_id,
                list.iter()
                    .map(|(_, i)| ServiceInterfaceResponse::from(i))
                    .collect(),
            )
        })
        .collect()
}

/// Turns rule rows into responses with three batched lookups (systems, definitions, interfaces).
fn responses(conn: &mut MysqlConnection, rows: Vec<RuleRow>) -> QueryResult<Vec<IntraCloudRule>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let systems = systems_by_id(
        conn,
        &rows
            .iter()
            .flat_map(|r| [r.consumer_system_id, r.provider_system_id])
            .collect::<Vec<_>>(),
    )?;
    let defs = definitions_by_id(conn, &rows.iter().map(|r| r.service_id).collect::<Vec<_>>())?;
    let rule_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut interfaces = group_interfaces(
        rule_intf::table
            .inner_join(service_interface::table)
            .filter(rule_intf::authorization_intra_cloud_id.eq_any(&rule_ids))
            .select((
                rule_intf::authorization_intra_cloud_id,
                rule_intf::id,
                ServiceInterface::as_select(),
            ))
            .load(conn)?,
    );
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        // Foreign keys guarantee these rows; a miss means a concurrent delete, so skip the rule.
        let (Some(consumer), Some(provider), Some(def)) = (
            systems.get(&r.consumer_system_id),
            systems.get(&r.provider_system_id),
            defs.get(&r.service_id),
        ) else {
            continue;
        };
        out.push(IntraCloudRule {
            id: r.id,
            consumer_system: SystemResponse::from(consumer),
            provider_system: SystemResponse::from(provider),
            service_definition: ServiceDefinitionResponse::from(def),
            interfaces: interfaces.remove(&r.id).unwrap_or_default(),
            created_at: format_instant(&r.created_at),
            updated_at: format_instant(&r.updated_at),
        });
    }
    Ok(out)
}

pub fn list(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<IntraCloudRule>> {
    let mut q = rule::table.select(RuleRow::as_select()).into_boxed();
    q = common::sorted_page!(q, rule, page);
    let rows = q.load(conn)?;
    Ok(ListResponse {
        data: responses(conn, rows)?,
        count: rule::table.count().get_result(conn)?,
    })
}

fn not_found(id: i64) -> ArrowheadError {
    ArrowheadError::invalid_parameter(format!(
        "AuthorizationIntraCloud with id of '{id}' not exists"
    ))
}

pub fn get(conn: &mut MysqlConnection, id: i64) -> Result<IntraCloudRule, ArrowheadError> {
    let rows: Vec<RuleRow> = rule::table
        .filter(rule::id.eq(id))
        .select(RuleRow::as_select())
        .load(conn)?;
    responses(conn, rows)?.pop().ok_or_else(|| not_found(id))
}

/// Deletes a rule; returns its consumer's id (whose subscriptions the Event Handler re-checks).
pub fn delete(conn: &mut MysqlConnection, id: i64) -> Result<i64, ArrowheadError> {
    conn.transaction(|conn| {
        let consumer: i64 = rule::table
            .find(id)
            .select(rule::consumer_system_id)
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))?;
        diesel::delete(rule::table.find(id)).execute(conn)?;
        Ok(consumer)
    })
}

/// A validated `POST /mgmt/intracloud` form: one provider and one interface with several
/// services, or several providers and interfaces with one service.
#[derive(Debug, Clone)]
pub struct NewRules {
    pub consumer_id: i64,
    pub provider_ids: Vec<i64>,
    pub service_ids: Vec<i64>,
    pub interface_ids: Vec<i64>,
}

/// What a rule refers to by id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entity {
    System,
    ServiceDefinition,
    ServiceInterface,
    Cloud,
}

/// Fails with the Java-style message when the referenced row does not exist.
pub(crate) fn exists(
    conn: &mut MysqlConnection,
    entity: Entity,
    id: i64,
) -> Result<(), ArrowheadError> {
    use common::db::schema::cloud;
    let (found, what) = match entity {
        Entity::System => (
            system_::table
                .find(id)
                .select(system_::id)
                .first::<i64>(conn)
                .optional()?,
            "System",
        ),
        Entity::ServiceDefinition => (
            service_definition::table
                .find(id)
                .select(service_definition::id)
                .first::<i64>(conn)
                .optional()?,
            "Service definition",
        ),
        Entity::ServiceInterface => (
            service_interface::table
                .find(id)
                .select(service_interface::id)
                .first::<i64>(conn)
                .optional()?,
            "Service interface",
        ),
        Entity::Cloud => (
            cloud::table
                .find(id)
                .select(cloud::id)
                .first::<i64>(conn)
                .optional()?,
            "Cloud",
        ),
    };
    found.map(|_| ()).ok_or_else(|| {
        ArrowheadError::invalid_parameter(format!("{what} with id of '{id}' not exists"))
    })
}

/// The parts of rule creation that differ between the intra-cloud and inter-cloud tables.
pub(crate) trait RuleStore {
    /// What the consumer id refers to (a system, or a cloud).
    const CONSUMER: Entity;
    type Rule;
    /// Inserts one rule and returns its id; a duplicate is an INVALID_PARAMETER error.
    fn insert(
        conn: &mut MysqlConnection,
        consumer: i64,
        provider: i64,
        service: i64,
    ) -> Result<i64, ArrowheadError>;
    fn attach(conn: &mut MysqlConnection, rule: i64, interface: i64) -> QueryResult<()>;
    fn load(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<Vec<Self::Rule>>;
}

/// The message for a rule that already exists.
pub(crate) fn duplicate(
    table: &str,
    consumer_label: &str,
    consumer: i64,
    provider: i64,
    service: i64,
) -> ArrowheadError {
    ArrowheadError::invalid_parameter(format!(
        "{table} entry with {consumer_label} id '{consumer}', provider id '{provider}' and service definition id '{service}' already exists"
    ))
}

/// Creates every (provider, service) rule of the form with its interfaces, in one transaction.
pub(crate) fn create_rules<S: RuleStore>(
    conn: &mut MysqlConnection,
    r: &NewRules,
) -> Result<ListResponse<S::Rule>, ArrowheadError> {
    conn.transaction(|conn| {
        exists(conn, S::CONSUMER, r.consumer_id)?;
        for p in &r.provider_ids {
            exists(conn, Entity::System, *p)?;
        }
        for s in &r.service_ids {
            exists(conn, Entity::ServiceDefinition, *s)?;
        }
        for i in &r.interface_ids {
            exists(conn, Entity::ServiceInterface, *i)?;
        }
        let mut ids = Vec::new();
        for provider in &r.provider_ids {
            for service in &r.service_ids {
                let id = S::insert(conn, r.consumer_id, *provider, *service)?;
                for interface in &r.interface_ids {
                    S::attach(conn, id, *interface)?;
                }
                ids.push(id);
            }
        }
        let data = S::load(conn, &ids)?;
        Ok(ListResponse {
            count: data.len() as i64,
            data,
        })
    })
}

/// The intra-cloud rule table.
pub struct IntraCloud;

impl RuleStore for IntraCloud {
    const CONSUMER: Entity = Entity::System;
    type Rule = IntraCloudRule;

    fn insert(
        conn: &mut MysqlConnection,
        consumer: i64,
        provider: i64,
        service: i64,
    ) -> Result<i64, ArrowheadError> {
        let inserted = diesel::insert_into(rule::table)
            .values((
                rule::consumer_system_id.eq(consumer),
                rule::provider_system_id.eq(provider),
                rule::service_id.eq(service),
            ))
            .execute(conn);
        if let Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) = inserted
        {
            return Err(duplicate(
                "AuthorizationIntraCloud",
                "consumer",
                consumer,
                provider,
                service,
            ));
        }
        inserted?;
        Ok(rule::table
            .filter(rule::consumer_system_id.eq(consumer))
            .filter(rule::provider_system_id.eq(provider))
            .filter(rule::service_id.eq(service))
            .select(rule::id)
            .first(conn)?)
    }

    fn attach(conn: &mut MysqlConnection, rule_id: i64, interface: i64) -> QueryResult<()> {
        diesel::insert_into(rule_intf::table)
            .values((
                rule_intf::authorization_intra_cloud_id.eq(rule_id),
                rule_intf::interface_id.eq(interface),
            ))
            .execute(conn)
            .map(|_| ())
    }

    fn load(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<Vec<IntraCloudRule>> {
        let rows: Vec<RuleRow> = rule::table
            .filter(rule::id.eq_any(ids))
            .order(rule::id.asc())
            .select(RuleRow::as_select())
            .load(conn)?;
        responses(conn, rows)
    }
}

/// The intra-cloud check: of the offered providers and interfaces, those the consumer may use
/// for the service. Unknown providers are left out; interfaces are intersected with the rule's.
pub fn check(
    conn: &mut MysqlConnection,
    consumer: &System,
    service_id: i64,
    offered: &[(i64, Vec<i64>)],
) -> QueryResult<Vec<IdIdList>> {
    let provider_ids: Vec<i64> = offered.iter().map(|(p, _)| *p).collect();
    let allowed: Vec<(i64, i64)> = rule::table
        .inner_join(rule_intf::table)
        .filter(rule::consumer_system_id.eq(consumer.id))
        .filter(rule::service_id.eq(service_id))
        .filter(rule::provider_system_id.eq_any(&provider_ids))
        .select((rule::provider_system_id, rule_intf::interface_id))
        .load(conn)?;
    Ok(intersect(offered, &allowed))
}

/// Providers the consumer has any intra-cloud rule with (the Event Handler's authorized
/// publishers), ordered by id.
pub fn authorized_publishers(
    conn: &mut MysqlConnection,
    consumer_id: i64,
) -> QueryResult<Vec<System>> {
    let ids: Vec<i64> = rule::table
        .filter(rule::consumer_system_id.eq(consumer_id))
        .select(rule::provider_system_id)
        .distinct()
        .load(conn)?;
    system_::table
        .filter(system_::id.eq_any(&ids))
        .order(system_::id.asc())
        .select(System::as_select())
        .load(conn)
}

/// The offered providers with only their allowed interfaces; providers left with none drop out.
pub(crate) fn intersect(offered: &[(i64, Vec<i64>)], allowed: &[(i64, i64)]) -> Vec<IdIdList> {
    offered
        .iter()
        .filter_map(|(provider, interfaces)| {
            let ok: Vec<i64> = interfaces
                .iter()
                .copied()
                .filter(|i| allowed.contains(&(*provider, *i)))
                .collect();
            (!ok.is_empty()).then_some(IdIdList {
                id: Some(*provider),
                id_list: Some(ok),
            })
        })
        .collect()
}
