//! Inter-cloud authorization rules: another cloud may use a service of a provider of this cloud
//! through the listed interfaces. Managed by the operator; checked by the Gatekeeper when a
//! neighbour cloud asks for a service.

use crate::rules::{
    definitions_by_id, duplicate, group_interfaces, systems_by_id, Entity, RuleStore,
};
use chrono::NaiveDateTime;
use common::db::models::{Cloud, ServiceInterface};
use common::db::schema::{
    authorization_inter_cloud as rule, authorization_inter_cloud_interface_connection as rule_intf,
    cloud, service_interface,
};
use common::dto::{
    format_instant, CloudResponse, IdIdList, ListResponse, ServiceDefinitionResponse,
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
    consumer_cloud_id: i64,
    provider_system_id: i64,
    service_id: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Java `AuthorizationInterCloudResponseDTO`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterCloudRule {
    pub id: i64,
    pub cloud: CloudResponse,
    pub provider: SystemResponse,
    pub service_definition: ServiceDefinitionResponse,
    pub interfaces: Vec<common::dto::ServiceInterfaceResponse>,
    pub created_at: String,
    pub updated_at: String,
}

fn responses(conn: &mut MysqlConnection, rows: Vec<RuleRow>) -> QueryResult<Vec<InterCloudRule>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let cloud_ids: Vec<i64> = rows.iter().map(|r| r.consumer_cloud_id).collect();
    let clouds: HashMap<i64, Cloud> = cloud::table
        .filter(cloud::id.eq_any(&cloud_ids))
        .select(Cloud::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let systems = systems_by_id(
        conn,
        &rows
            .iter()
            .map(|r| r.provider_system_id)
            .collect::<Vec<_>>(),
    )?;
    let defs = definitions_by_id(conn, &rows.iter().map(|r| r.service_id).collect::<Vec<_>>())?;
    let rule_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut interfaces = group_interfaces(
        rule_intf::table
            .inner_join(service_interface::table)
            .filter(rule_intf::authorization_inter_cloud_id.eq_any(&rule_ids))
            .select((
                rule_intf::authorization_inter_cloud_id,
                rule_intf::id,
                ServiceInterface::as_select(),
            ))
            .load(conn)?,
    );
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            // Foreign keys guarantee these rows; a miss means a concurrent delete.
            let (c, p, d) = (
                clouds.get(&r.consumer_cloud_id)?,
                systems.get(&r.provider_system_id)?,
                defs.get(&r.service_id)?,
            );
            Some(InterCloudRule {
                id: r.id,
                cloud: CloudResponse::from(c),
                provider: SystemResponse::from(p),
                service_definition: ServiceDefinitionResponse::from(d),
                interfaces: interfaces.remove(&r.id).unwrap_or_default(),
                created_at: format_instant(&r.created_at),
                updated_at: format_instant(&r.updated_at),
            })
        })
        .collect())
}

pub fn list(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<ListResponse<InterCloudRule>> {
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
        "AuthorizationInterCloud with id of '{id}' not exists"
    ))
}

pub fn get(conn: &mut MysqlConnection, id: i64) -> Result<InterCloudRule, ArrowheadError> {
    let rows: Vec<RuleRow> = rule::table
        .filter(rule::id.eq(id))
        .select(RuleRow::as_select())
        .load(conn)?;
    responses(conn, rows)?.pop().ok_or_else(|| not_found(id))
}

pub fn delete(conn: &mut MysqlConnection, id: i64) -> Result<(), ArrowheadError> {
    if diesel::delete(rule::table.find(id)).execute(conn)? == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// The inter-cloud rule table.
pub struct InterCloud;

impl RuleStore for InterCloud {
    const CONSUMER: Entity = Entity::Cloud;
    type Rule = InterCloudRule;

    fn insert(
        conn: &mut MysqlConnection,
        consumer: i64,
        provider: i64,
        service: i64,
    ) -> Result<i64, ArrowheadError> {
        let inserted = diesel::insert_into(rule::table)
            .values((
                rule::consumer_cloud_id.eq(consumer),
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
                "AuthorizationInterCloud",
                "cloud",
                consumer,
                provider,
                service,
            ));
        }
        inserted?;
        Ok(rule::table
            .filter(rule::consumer_cloud_id.eq(consumer))
            .filter(rule::provider_system_id.eq(provider))
            .filter(rule::service_id.eq(service))
            .select(rule::id)
            .first(conn)?)
    }

    fn attach(conn: &mut MysqlConnection, rule_id: i64, interface: i64) -> QueryResult<()> {
        diesel::insert_into(rule_intf::table)
            .values((
                rule_intf::authorization_inter_cloud_id.eq(rule_id),
                rule_intf::interface_id.eq(interface),
            ))
            .execute(conn)
            .map(|_| ())
    }

    fn load(conn: &mut MysqlConnection, ids: &[i64]) -> QueryResult<Vec<InterCloudRule>> {
        let rows: Vec<RuleRow> = rule::table
            .filter(rule::id.eq_any(ids))
            .order(rule::id.asc())
            .select(RuleRow::as_select())
            .load(conn)?;
        responses(conn, rows)
    }
}

/// The cloud by operator and name (as stored: Java keeps them as given, compared here
/// case-insensitively by MariaDB's collation).
pub fn find_cloud(
    conn: &mut MysqlConnection,
    operator: &str,
    name: &str,
) -> QueryResult<Option<Cloud>> {
    cloud::table
        .filter(cloud::operator.eq(operator))
        .filter(cloud::name.eq(name))
        .select(Cloud::as_select())
        .first(conn)
        .optional()
}

/// The inter-cloud check: of the offered providers and interfaces, those the cloud may use for
/// the service.
pub fn check(
    conn: &mut MysqlConnection,
    cloud_id: i64,
    service_id: i64,
    offered: &[(i64, Vec<i64>)],
) -> QueryResult<Vec<IdIdList>> {
    let provider_ids: Vec<i64> = offered.iter().map(|(p, _)| *p).collect();
    let allowed: Vec<(i64, i64)> = rule::table
        .inner_join(rule_intf::table)
        .filter(rule::consumer_cloud_id.eq(cloud_id))
        .filter(rule::service_id.eq(service_id))
        .filter(rule::provider_system_id.eq_any(&provider_ids))
        .select((rule::provider_system_id, rule_intf::interface_id))
        .load(conn)?;
    Ok(crate::rules::intersect(offered, &allowed))
}
