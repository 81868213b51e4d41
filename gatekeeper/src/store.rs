//! The Gatekeeper's tables (`relay`, `cloud_gatekeeper_relay`, `cloud_gateway_relay`, and the
//! `cloud` rows it shares), as in the Java schema. Every answer comes from the database; every
//! multi-step write is one transaction.

use chrono::NaiveDateTime;
use common::db::models::Cloud;
use common::db::schema::{cloud, cloud_gatekeeper_relay, cloud_gateway_relay, relay};
use common::names::PageParams;
use common::ArrowheadError;
use diesel::mysql::Mysql;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = relay)]
pub struct RelayRow {
    pub id: i64,
    pub address: String,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub secure: i32,
    pub exclusive: i32,
    pub relay_type: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A relay as validated and normalised (address trimmed and lowercased).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = relay, treat_none_as_null = true)]
pub struct NewRelay {
    pub address: String,
    pub port: i32,
    pub authentication_info: Option<String>,
    pub secure: i32,
    pub exclusive: i32,
    pub relay_type: String,
}

/// Why a relay write was refused (the Java messages).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    AddressTaken(String, i32),
    KeyTaken(String),
    NoRelay(i64),
    TypeChanged,
    /// The cloud (operator.name) would be left without a Gatekeeper relay.
    LastGatekeeperRelay(String),
}

impl Refused {
    pub fn message(&self) -> String {
        match self {
            Refused::AddressTaken(a, p) => {
                format!("Relay with the following address and port already exists: {a}, {p}")
            }
            Refused::KeyTaken(k) => {
                format!("Relay with the following authentication info already exists: {k}")
            }
            Refused::NoRelay(id) => format!("Relay with id '{id}' not exists"),
            Refused::TypeChanged => "Type of relay couldn't be updated".into(),
            Refused::LastGatekeeperRelay(c) => format!(
                "Relay couldn't be removed, because the following cloud woud stay without gatekeeper Relay: {c}"
            ),
        }
    }
}

/// Sort fields of the relay list (Java's).
pub const RELAY_SORT_FIELDS: &[&str] = &["id", "updatedAt", "createdAt", "address", "port"];

pub fn list_relays(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<RelayRow>, i64)> {
    use relay as r;
    let q = r::table.select(RelayRow::as_select()).into_boxed::<Mysql>();
    let rows = common::sorted_page!(q, r, page, "address" => address, "port" => port).load(conn)?;
    let count = r::table.count().get_result(conn)?;
    Ok((rows, count))
}

pub fn relay_by_id(conn: &mut MysqlConnection, id: i64) -> QueryResult<Option<RelayRow>> {
    relay::table
        .find(id)
        .select(RelayRow::as_select())
        .first(conn)
        .optional()
}

pub fn relay_by_address(
    conn: &mut MysqlConnection,
    address: &str,
    port: i32,
) -> QueryResult<Option<RelayRow>> {
    relay::table
        .filter(relay::address.eq(address))
        .filter(relay::port.eq(port))
        .select(RelayRow::as_select())
        .first(conn)
        .optional()
}

/// Whether another relay (not `except`) has this address and port, or this key.
fn taken(
    c: &mut MysqlConnection,
    r: &NewRelay,
    except: Option<i64>,
) -> QueryResult<Option<Refused>> {
    if let Some(other) = relay_by_address(c, &r.address, r.port)? {
        if Some(other.id) != except {
            return Ok(Some(Refused::AddressTaken(r.address.clone(), r.port)));
        }
    }
    if let Some(key) = &r.authentication_info {
        let others: Vec<i64> = relay::table
            .filter(relay::authentication_info.eq(key))
            .select(relay::id)
            .load(c)?;
        if others.iter().any(|id| Some(*id) != except) {
            return Ok(Some(Refused::KeyTaken(key.clone())));
        }
    }
    Ok(None)
}

/// Creates every relay of the list, or none (one transaction; duplicates within the list are
/// refused like duplicates of stored relays).
pub fn create_relays(
    conn: &mut MysqlConnection,
    new: &[NewRelay],
) -> Result<Result<Vec<RelayRow>, Refused>, ArrowheadError> {
    let outcome = conn.transaction::<_, RolledBack, _>(|c| {
        let mut created = Vec::with_capacity(new.len());
        for r in new {
            if let Some(refusal) = taken(c, r, None)? {
                return Err(RolledBack::Refused(refusal));
            }
            diesel::insert_into(relay::table).values(r).execute(c)?;
            created.push(
                relay_by_address(c, &r.address, r.port)?.ok_or(diesel::result::Error::NotFound)?,
            );
        }
        Ok(created)
    });
    match outcome {
        Ok(rows) => Ok(Ok(rows)),
        Err(RolledBack::Refused(r)) => Ok(Err(r)),
        Err(RolledBack::Failed(e)) => Err(e),
    }
}

enum RolledBack {
    Refused(Refused),
    Failed(ArrowheadError),
}

impl From<diesel::result::Error> for RolledBack {
    fn from(e: diesel::result::Error) -> Self {
        RolledBack::Failed(e.into())
    }
}

/// Replaces relay `id` (its type stays: Java refuses a change of type).
pub fn update_relay(
    conn: &mut MysqlConnection,
    id: i64,
    r: &NewRelay,
) -> QueryResult<Result<RelayRow, Refused>> {
    conn.transaction(|c| {
        let Some(stored) = relay_by_id(c, id)? else {
            return Ok(Err(Refused::NoRelay(id)));
        };
        if stored.relay_type != r.relay_type {
            return Ok(Err(Refused::TypeChanged));
        }
        if let Some(refusal) = taken(c, r, Some(id))? {
            return Ok(Err(refusal));
        }
        diesel::update(relay::table.find(id)).set(r).execute(c)?;
        relay_by_id(c, id)?
            .ok_or(diesel::result::Error::NotFound)
            .map(Ok)
    })
}

/// Deletes relay `id`, unless a cloud would be left without a Gatekeeper relay.
pub fn delete_relay(conn: &mut MysqlConnection, id: i64) -> QueryResult<Result<(), Refused>> {
    conn.transaction(|c| {
        if relay_by_id(c, id)?.is_none() {
            return Ok(Err(Refused::NoRelay(id)));
        }
        let clouds: Vec<(i64, String, String)> = cloud_gatekeeper_relay::table
            .inner_join(cloud::table)
            .filter(cloud_gatekeeper_relay::relay_id.eq(id))
            .select((cloud::id, cloud::operator, cloud::name))
            .load(c)?;
        for (cloud_id, operator, name) in clouds {
            let relays: i64 = cloud_gatekeeper_relay::table
                .filter(cloud_gatekeeper_relay::cloud_id.eq(cloud_id))
                .count()
                .get_result(c)?;
            if relays <= 1 {
                return Ok(Err(Refused::LastGatekeeperRelay(format!(
                    "{operator}.{name}"
                ))));
            }
        }
        diesel::delete(relay::table.find(id)).execute(c)?;
        Ok(Ok(()))
    })
}

// ---- clouds ----

/// A cloud with its Gatekeeper and Gateway relays.
pub type CloudWithRelays = (Cloud, Vec<RelayRow>, Vec<RelayRow>);

/// A cloud as validated and normalised (operator and name trimmed and lowercased).
#[derive(Debug, Clone)]
pub struct NewCloud {
    pub operator: String,
    pub name: String,
    pub secure: bool,
    pub neighbor: bool,
    pub authentication_info: Option<String>,
    pub gatekeeper_relay_ids: Vec<i64>,
    pub gateway_relay_ids: Vec<i64>,
}

fn cloud_by_id(c: &mut MysqlConnection, id: i64) -> QueryResult<Option<Cloud>> {
    cloud::table
        .find(id)
        .select(Cloud::as_select())
        .first(c)
        .optional()
}

fn relays_of(c: &mut MysqlConnection, cloud: Cloud) -> QueryResult<CloudWithRelays> {
    let gatekeeper: Vec<RelayRow> = cloud_gatekeeper_relay::table
        .inner_join(relay::table)
        .filter(cloud_gatekeeper_relay::cloud_id.eq(cloud.id))
        .order(relay::id.asc())
        .select(RelayRow::as_select())
        .load(c)?;
    let gateway_ids: Vec<i64> = cloud_gateway_relay::table
        .filter(cloud_gateway_relay::cloud_id.eq(cloud.id))
        .select(cloud_gateway_relay::relay_id)
        .load(c)?;
    let gateway: Vec<RelayRow> = relay::table
        .filter(relay::id.eq_any(&gateway_ids))
        .order(relay::id.asc())
        .select(RelayRow::as_select())
        .load(c)?;
    Ok((cloud, gatekeeper, gateway))
}

pub fn cloud_with_relays(c: &mut MysqlConnection, id: i64) -> QueryResult<Option<CloudWithRelays>> {
    match cloud_by_id(c, id)? {
        Some(cloud) => relays_of(c, cloud).map(Some),
        None => Ok(None),
    }
}

/// Sort fields of the cloud list (Java's).
pub const CLOUD_SORT_FIELDS: &[&str] = &["id", "operator", "name", "updatedAt", "createdAt"];

pub fn list_clouds(
    c: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<CloudWithRelays>, i64)> {
    let q = cloud::table
        .select(Cloud::as_select())
        .into_boxed::<Mysql>();
    let rows: Vec<Cloud> =
        common::sorted_page!(q, cloud, page, "operator" => operator, "name" => name).load(c)?;
    let count = cloud::table.count().get_result(c)?;
    let mut out = Vec::with_capacity(rows.len());
    for cloud in rows {
        out.push(relays_of(c, cloud)?);
    }
    Ok((out, count))
}

/// Java's checks of the relays a cloud is given: Gatekeeper relays non-exclusive
/// `GATEKEEPER_RELAY`/`GENERAL_RELAY`, Gateway relays exclusive `GATEWAY_RELAY`.
fn check_relays(
    c: &mut MysqlConnection,
    gatekeeper: &[i64],
    gateway: &[i64],
) -> QueryResult<Option<String>> {
    for id in gatekeeper {
        let Some(r) = relay_by_id(c, *id)? else {
            return Ok(Some(format!("GatekeeperRelay with id '{id}' not exists")));
        };
        if r.exclusive != 0 {
            return Ok(Some(
                "Relay with gatekeeper purpose couldn't be exclusive".into(),
            ));
        }
        if r.relay_type != "GATEKEEPER_RELAY" && r.relay_type != "GENERAL_RELAY" {
            return Ok(Some(format!(
                "Relay with gatekeeper purpose could be only GATEKEEPER_RELAY or GENERAL_RELAY type, but not {} type",
                r.relay_type
            )));
        }
    }
    for id in gateway {
        let Some(r) = relay_by_id(c, *id)? else {
            return Ok(Some(format!("GatekewayRelay with id '{id}' not exists")));
        };
        if r.relay_type != "GATEWAY_RELAY" || r.exclusive == 0 {
            let exclusivity = if r.exclusive != 0 {
                "exclusive "
            } else {
                "non-exclusive "
            };
            return Ok(Some(format!(
                "Gateway dedicated relay could be only exclusive GATEWAY_RELAY type, but not {exclusivity}{} type",
                r.relay_type
            )));
        }
    }
    Ok(None)
}

fn attach(
    c: &mut MysqlConnection,
    cloud_id: i64,
    gatekeeper: &[i64],
    gateway: &[i64],
) -> QueryResult<()> {
    for id in gatekeeper {
        diesel::insert_into(cloud_gatekeeper_relay::table)
            .values((
                cloud_gatekeeper_relay::cloud_id.eq(cloud_id),
                cloud_gatekeeper_relay::relay_id.eq(id),
            ))
            // A duplicate is left alone (a concurrent request may create the same row); not INSERT
            // IGNORE, which would also store text the column cannot hold changed (strict mode off).
            .on_conflict(diesel::dsl::DuplicatedKeys)
            .do_update()
            .set(cloud_gatekeeper_relay::id.eq(cloud_gatekeeper_relay::id))
            .execute(c)?;
    }
    for id in gateway {
        diesel::insert_into(cloud_gateway_relay::table)
            .values((
                cloud_gateway_relay::cloud_id.eq(cloud_id),
                cloud_gateway_relay::relay_id.eq(id),
            ))
            // A duplicate is left alone (a concurrent request may create the same row); not INSERT
            // IGNORE, which would also store text the column cannot hold changed (strict mode off).
            .on_conflict(diesel::dsl::DuplicatedKeys)
            .do_update()
            .set(cloud_gateway_relay::id.eq(cloud_gateway_relay::id))
            .execute(c)?;
    }
    Ok(())
}

fn find_cloud(c: &mut MysqlConnection, operator: &str, name: &str) -> QueryResult<Option<Cloud>> {
    cloud::table
        .filter(cloud::operator.eq(operator))
        .filter(cloud::name.eq(name))
        .select(Cloud::as_select())
        .first(c)
        .optional()
}

/// The checks every create and replace makes (Java's order).
fn check_cloud(
    c: &mut MysqlConnection,
    n: &NewCloud,
    except: Option<i64>,
) -> QueryResult<Option<String>> {
    if n.secure && n.authentication_info.is_none() {
        return Ok(Some(
            "Secure cloud without authenticationInfo is denied".into(),
        ));
    }
    if find_cloud(c, &n.operator, &n.name)?.is_some_and(|found| Some(found.id) != except) {
        return Ok(Some(format!(
            "Cloud with the following operator and name already exists: {}, {}",
            n.operator, n.name
        )));
    }
    if n.gatekeeper_relay_ids.is_empty() {
        return Ok(Some("GatekeeperRelayIds list is empty".into()));
    }
    check_relays(c, &n.gatekeeper_relay_ids, &n.gateway_relay_ids)
}

/// A refusal that rolls the transaction back and still reaches the caller.
enum CloudTx {
    Refused(String),
    Failed(ArrowheadError),
}

impl From<diesel::result::Error> for CloudTx {
    fn from(e: diesel::result::Error) -> Self {
        CloudTx::Failed(e.into())
    }
}

fn settle<T>(r: Result<T, CloudTx>) -> Result<Result<T, String>, ArrowheadError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(CloudTx::Refused(m)) => Ok(Err(m)),
        Err(CloudTx::Failed(e)) => Err(e),
    }
}

/// Creates every cloud of the list with its relays, or none.
pub fn create_clouds(
    conn: &mut MysqlConnection,
    new: &[NewCloud],
) -> Result<Result<Vec<CloudWithRelays>, String>, ArrowheadError> {
    settle(conn.transaction::<_, CloudTx, _>(|c| {
        let mut seen = std::collections::HashSet::new();
        for n in new {
            if !seen.insert((n.operator.clone(), n.name.clone())) {
                return Err(CloudTx::Refused(format!(
                    "List of CloudRequestDTO contains uinque constraint violation: {} operator with {} name",
                    n.operator, n.name
                )));
            }
        }
        let mut created = Vec::with_capacity(new.len());
        for n in new {
            if let Some(m) = check_cloud(c, n, None)? {
                return Err(CloudTx::Refused(m));
            }
            diesel::insert_into(cloud::table)
                .values((
                    cloud::operator.eq(&n.operator),
                    cloud::name.eq(&n.name),
                    cloud::secure.eq(i32::from(n.secure)),
                    cloud::neighbor.eq(i32::from(n.neighbor)),
                    cloud::own_cloud.eq(0),
                    cloud::authentication_info.eq(&n.authentication_info),
                ))
                .execute(c)?;
            let stored = find_cloud(c, &n.operator, &n.name)?.ok_or(diesel::result::Error::NotFound)?;
            attach(c, stored.id, &n.gatekeeper_relay_ids, &n.gateway_relay_ids)?;
            created.push(relays_of(c, stored)?);
        }
        Ok(created)
    }))
}

/// Replaces cloud `id` and its relay lists (its own-cloud flag stays).
pub fn update_cloud(
    conn: &mut MysqlConnection,
    id: i64,
    n: &NewCloud,
) -> Result<Result<CloudWithRelays, String>, ArrowheadError> {
    settle(conn.transaction::<_, CloudTx, _>(|c| {
        if cloud_by_id(c, id)?.is_none() {
            return Err(CloudTx::Refused(format!("Cloud with id '{id}' not exists")));
        }
        if let Some(m) = check_cloud(c, n, Some(id))? {
            return Err(CloudTx::Refused(m));
        }
        diesel::update(cloud::table.find(id))
            .set((
                cloud::operator.eq(&n.operator),
                cloud::name.eq(&n.name),
                cloud::secure.eq(i32::from(n.secure)),
                cloud::neighbor.eq(i32::from(n.neighbor)),
                cloud::authentication_info.eq(&n.authentication_info),
            ))
            .execute(c)?;
        diesel::delete(
            cloud_gatekeeper_relay::table.filter(cloud_gatekeeper_relay::cloud_id.eq(id)),
        )
        .execute(c)?;
        diesel::delete(cloud_gateway_relay::table.filter(cloud_gateway_relay::cloud_id.eq(id)))
            .execute(c)?;
        attach(c, id, &n.gatekeeper_relay_ids, &n.gateway_relay_ids)?;
        Ok(cloud_with_relays(c, id)?.ok_or(diesel::result::Error::NotFound)?)
    }))
}

/// Adds relays to cloud `id` (an id already assigned, or below 1, is refused as in Java).
pub fn assign_relays(
    conn: &mut MysqlConnection,
    id: i64,
    gatekeeper: &[i64],
    gateway: &[i64],
) -> Result<Result<CloudWithRelays, String>, ArrowheadError> {
    settle(conn.transaction::<_, CloudTx, _>(|c| {
        let Some(cloud) = cloud_by_id(c, id)? else {
            return Err(CloudTx::Refused(format!("Cloud with id '{id}' not exists")));
        };
        let (_, has_gk, has_gw) = relays_of(c, cloud)?;
        for (wanted, has) in [(gatekeeper, &has_gk), (gateway, &has_gw)] {
            if let Some(bad) = wanted
                .iter()
                .find(|r| **r < 1 || has.iter().any(|h| h.id == **r))
            {
                return Err(CloudTx::Refused(format!("Invalid relay id: {bad}")));
            }
        }
        if let Some(m) = check_relays(c, gatekeeper, gateway)? {
            return Err(CloudTx::Refused(m));
        }
        attach(c, id, gatekeeper, gateway)?;
        Ok(cloud_with_relays(c, id)?.ok_or(diesel::result::Error::NotFound)?)
    }))
}

/// Removes cloud `id` (its relay links go with it). The own cloud stays: Java lets it go, after
/// which every inter-cloud call fails.
pub fn delete_cloud(conn: &mut MysqlConnection, id: i64) -> QueryResult<Result<(), String>> {
    conn.transaction(|c| match cloud_by_id(c, id)? {
        Some(cloud) if cloud.own_cloud != 0 => Ok(Err("The own cloud cannot be removed.".into())),
        Some(_) => {
            diesel::delete(cloud::table.find(id)).execute(c)?;
            Ok(Ok(()))
        }
        None => Ok(Ok(())),
    })
}

/// The public gateway relays (Java: `exclusive = 0` and type `GATEWAY_RELAY` or
/// `GENERAL_RELAY`): any cloud may use them.
pub fn public_gateway_relays(c: &mut MysqlConnection) -> QueryResult<Vec<RelayRow>> {
    relay::table
        .filter(relay::exclusive.eq(0))
        .filter(relay::relay_type.eq_any(["GATEWAY_RELAY", "GENERAL_RELAY"]))
        .order(relay::id.asc())
        .select(RelayRow::as_select())
        .load(c)
}

/// A cloud by operator and name (stored lowercased), with its relays.
pub fn cloud_by_name(
    c: &mut MysqlConnection,
    operator: &str,
    name: &str,
) -> QueryResult<Option<CloudWithRelays>> {
    match find_cloud(c, operator, name)? {
        Some(cloud) => relays_of(c, cloud).map(Some),
        None => Ok(None),
    }
}

/// Every cloud with its relays, by id.
pub fn all_clouds(c: &mut MysqlConnection) -> QueryResult<Vec<CloudWithRelays>> {
    let rows: Vec<Cloud> = cloud::table
        .order(cloud::id.asc())
        .select(Cloud::as_select())
        .load(c)?;
    rows.into_iter().map(|cloud| relays_of(c, cloud)).collect()
}

/// This cloud's own row (inserted by the Service Registry at its first start).
pub fn own_cloud(c: &mut MysqlConnection) -> QueryResult<Option<Cloud>> {
    cloud::table
        .filter(cloud::own_cloud.eq(1))
        .select(Cloud::as_select())
        .first(c)
        .optional()
}

/// The relays other clouds' Gatekeepers may call us through: every Gatekeeper relay of a cloud
/// other than our own (Java `getAllLiveGatekeeperRelays`).
pub fn listened_relays(c: &mut MysqlConnection) -> QueryResult<Vec<RelayRow>> {
    let mut rows: Vec<RelayRow> = cloud_gatekeeper_relay::table
        .inner_join(relay::table)
        .inner_join(cloud::table)
        .filter(cloud::own_cloud.eq(0))
        .select(RelayRow::as_select())
        .load(c)?;
    rows.sort_by_key(|r| r.id);
    rows.dedup_by_key(|r| r.id);
    Ok(rows)
}

/// A relay by its key when given, else by address (any case) and port (Java's relay matching).
pub fn find_relay(
    c: &mut MysqlConnection,
    authentication_info: Option<&str>,
    address: &str,
    port: i32,
) -> QueryResult<Option<RelayRow>> {
    if let Some(key) = authentication_info.filter(|k| !k.trim().is_empty()) {
        return relay::table
            .filter(relay::authentication_info.eq(key.trim()))
            .select(RelayRow::as_select())
            .first(c)
            .optional();
    }
    relay_by_address(c, &address.trim().to_lowercase(), port)
}
