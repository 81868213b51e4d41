//! The Gatekeeper's tables (`relay`, `cloud_gatekeeper_relay`, `cloud_gateway_relay`, and the
//! `cloud` rows it shares), as in the Java schema. Every answer comes from the database; every
//! multi-step write is one transaction.

use chrono::NaiveDateTime;
use common::db::schema::{cloud, cloud_gatekeeper_relay, relay};
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
