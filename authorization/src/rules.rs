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
use common::names::{Direction, PageParams};
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

/// Turns rule rows into responses with three batched lookups (systems, definitions, interfaces).
fn responses(conn: &mut MysqlConnection, rows: Vec<RuleRow>) -> QueryResult<Vec<IntraCloudRule>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let system_ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.consumer_system_id, r.provider_system_id])
        .collect();
    let systems: HashMap<i64, System> = system_::table
        .filter(system_::id.eq_any(&system_ids))
        .select(System::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let def_ids: Vec<i64> = rows.iter().map(|r| r.service_id).collect();
    let defs: HashMap<i64, ServiceDefinition> = service_definition::table
        .filter(service_definition::id.eq_any(&def_ids))
        .select(ServiceDefinition::as_select())
        .load(conn)?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let rule_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let intfs: Vec<(i64, i64, ServiceInterface)> = rule_intf::table
        .inner_join(service_interface::table)
        .filter(rule_intf::authorization_intra_cloud_id.eq_any(&rule_ids))
        .select((
            rule_intf::authorization_intra_cloud_id,
            rule_intf::id,
            ServiceInterface::as_select(),
        ))
        .load(conn)?;
    let mut by_rule: HashMap<i64, Vec<(i64, ServiceInterface)>> = HashMap::new();
    for (rule_id, conn_id, i) in intfs {
        by_rule.entry(rule_id).or_default().push((conn_id, i));
    }
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
        let mut interfaces = by_rule.remove(&r.id).unwrap_or_default();
        interfaces.sort_by_key(|(conn_id, _)| *conn_id);
        out.push(IntraCloudRule {
            id: r.id,
            consumer_system: SystemResponse::from(consumer),
            provider_system: SystemResponse::from(provider),
            service_definition: ServiceDefinitionResponse::from(def),
            interfaces: interfaces
                .iter()
                .map(|(_, i)| ServiceInterfaceResponse::from(i))
                .collect(),
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
    q = match (page.sort_field.as_str(), page.direction) {
        ("createdAt", Direction::Asc) => q.order((rule::created_at.asc(), rule::id.asc())),
        ("createdAt", Direction::Desc) => q.order((rule::created_at.desc(), rule::id.desc())),
        ("updatedAt", Direction::Asc) => q.order((rule::updated_at.asc(), rule::id.asc())),
        ("updatedAt", Direction::Desc) => q.order((rule::updated_at.desc(), rule::id.desc())),
        (_, Direction::Desc) => q.order(rule::id.desc()),
        _ => q.order(rule::id.asc()),
    };
    if let Some((index, size)) = page.page {
        q = q.offset(index * size).limit(size);
    }
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

fn exists(conn: &mut MysqlConnection, what: &str, id: i64) -> Result<(), ArrowheadError> {
    let found = match what {
        "system" => system_::table
            .find(id)
            .select(system_::id)
            .first::<i64>(conn)
            .optional()?,
        "service definition" => service_definition::table
            .find(id)
            .select(service_definition::id)
            .first::<i64>(conn)
            .optional()?,
        _ => service_interface::table
            .find(id)
            .select(service_interface::id)
            .first::<i64>(conn)
            .optional()?,
    };
    found.map(|_| ()).ok_or_else(|| {
        ArrowheadError::invalid_parameter(format!(
            "{} with id of '{id}' not exists",
            capitalize(what)
        ))
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Creates every (provider, service) rule of the form with its interfaces, in one transaction.
pub fn create(
    conn: &mut MysqlConnection,
    r: &NewRules,
) -> Result<ListResponse<IntraCloudRule>, ArrowheadError> {
    conn.transaction(|conn| {
        exists(conn, "system", r.consumer_id)?;
        for p in &r.provider_ids {
            exists(conn, "system", *p)?;
        }
        for s in &r.service_ids {
            exists(conn, "service definition", *s)?;
        }
        for i in &r.interface_ids {
            exists(conn, "service interface", *i)?;
        }
        let mut ids = Vec::new();
        for provider in &r.provider_ids {
            for service in &r.service_ids {
                let inserted = diesel::insert_into(rule::table)
                    .values((
                        rule::consumer_system_id.eq(r.consumer_id),
                        rule::provider_system_id.eq(*provider),
                        rule::service_id.eq(*service),
                    ))
                    .execute(conn);
                if let Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) = inserted {
                    return Err(ArrowheadError::invalid_parameter(format!(
                        "AuthorizationIntraCloud entry with consumer id '{}', provider id '{provider}' and service definition id '{service}' already exists",
                        r.consumer_id
                    )));
                }
                inserted?;
                let id: i64 = rule::table
                    .filter(rule::consumer_system_id.eq(r.consumer_id))
                    .filter(rule::provider_system_id.eq(*provider))
                    .filter(rule::service_id.eq(*service))
                    .select(rule::id)
                    .first(conn)?;
                for interface in &r.interface_ids {
                    diesel::insert_into(rule_intf::table)
                        .values((rule_intf::authorization_intra_cloud_id.eq(id), rule_intf::interface_id.eq(*interface)))
                        .execute(conn)?;
                }
                ids.push(id);
            }
        }
        let rows: Vec<RuleRow> = rule::table.filter(rule::id.eq_any(&ids)).order(rule::id.asc()).select(RuleRow::as_select()).load(conn)?;
        let data = responses(conn, rows)?;
        Ok(ListResponse { count: data.len() as i64, data })
    })
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
    Ok(offered
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
        .collect())
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
