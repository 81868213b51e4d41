//! The Certificate Authority's tables (`ca_certificate`, `ca_trusted_key`, as in the Java
//! schema). Every answer comes from the database, so several CA instances stay consistent.

use chrono::NaiveDateTime;
use common::db::schema::{ca_certificate, ca_trusted_key};
use common::names::{Direction, PageParams};
use diesel::mysql::Mysql;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ca_certificate)]
pub struct CertRow {
    pub id: i64,
    pub common_name: String,
    pub serial: i64,
    pub created_by: String,
    pub valid_after: NaiveDateTime,
    pub valid_before: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ca_certificate)]
pub struct NewCert<'a> {
    pub common_name: &'a str,
    pub serial: i64,
    pub created_by: &'a str,
    pub valid_after: NaiveDateTime,
    pub valid_before: NaiveDateTime,
}

/// Sort fields of the certificate list (Java `CaCertificate.SORTABLE_FIELDS_BY`).
pub const CERT_SORT_FIELDS: &[&str] = &["id", "commonName", "updatedAt", "createdAt"];

pub fn list_certificates(
    conn: &mut MysqlConnection,
    page: &PageParams,
) -> QueryResult<(Vec<CertRow>, i64)> {
    use ca_certificate::dsl as c;
    let mut q = c::ca_certificate
        .into_boxed::<Mysql>()
        .select(CertRow::as_select());
    let asc = page.direction == Direction::Asc;
    q = match page.sort_field.as_str() {
        "commonName" if asc => q.order((c::common_name.asc(), c::id.asc())),
        "commonName" => q.order((c::common_name.desc(), c::id.desc())),
        "updatedAt" if asc => q.order((c::updated_at.asc(), c::id.asc())),
        "updatedAt" => q.order((c::updated_at.desc(), c::id.desc())),
        "createdAt" if asc => q.order((c::created_at.asc(), c::id.asc())),
        "createdAt" => q.order((c::created_at.desc(), c::id.desc())),
        _ if asc => q.order(c::id.asc()),
        _ => q.order(c::id.desc()),
    };
    if let Some((index, size)) = page.page {
        q = q.offset(index * size).limit(size);
    }
    let rows = q.load(conn)?;
    let count = c::ca_certificate.count().get_result(conn)?;
    Ok((rows, count))
}

pub fn find_by_serial(conn: &mut MysqlConnection, serial: i64) -> QueryResult<Option<CertRow>> {
    ca_certificate::table
        .filter(ca_certificate::serial.eq(serial))
        .select(CertRow::as_select())
        .first(conn)
        .optional()
}

/// Revokes certificate `id` (revoking it again keeps the first time); whether it exists. Only
/// the sysop reaches this, and may revoke every certificate (Java lets only the original
/// requester revoke, so nothing issued through onboarding could ever be revoked).
pub fn revoke(conn: &mut MysqlConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    conn.transaction(|c| {
        let found: Option<Option<NaiveDateTime>> = ca_certificate::table
            .find(id)
            .select(ca_certificate::revoked_at)
            .for_update()
            .first(c)
            .optional()?;
        match found {
            None => Ok(false),
            Some(Some(_)) => Ok(true),
            Some(None) => {
                diesel::update(ca_certificate::table.find(id))
                    .set(ca_certificate::revoked_at.eq(now))
                    .execute(c)?;
                Ok(true)
            }
        }
    })
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ca_trusted_key)]
pub struct KeyRow {
    pub id: i64,
    pub public_key: String,
    pub hash: String,
    pub description: String,
    pub valid_after: NaiveDateTime,
    pub valid_before: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ca_trusted_key)]
pub struct NewKey<'a> {
    pub public_key: &'a str,
    pub hash: &'a str,
    pub description: &'a str,
    pub valid_after: NaiveDateTime,
    pub valid_before: NaiveDateTime,
}

/// The stable hash of a trusted key: hex SHA-256 of its text (Java: the digest bytes decoded as
/// platform-charset text, which is lossy and can collide).
pub fn key_hash(public_key: &str) -> String {
    openssl::sha::sha256(public_key.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Adds a trusted key; `None` when the same key is already trusted.
pub fn add_key(conn: &mut MysqlConnection, new: &NewKey) -> QueryResult<Option<KeyRow>> {
    conn.transaction(|c| {
        let inserted = diesel::insert_into(ca_trusted_key::table)
            .values(new)
            .execute(c);
        if !common::db::inserted(inserted)? {
            return Ok(None);
        }
        find_key(c, new.hash)
    })
}

pub fn find_key(conn: &mut MysqlConnection, hash: &str) -> QueryResult<Option<KeyRow>> {
    ca_trusted_key::table
        .filter(ca_trusted_key::hash.eq(hash))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

/// Sort fields of the trusted key list (Java `CaTrustedKey.SORTABLE_FIELDS_BY`).
pub const KEY_SORT_FIELDS: &[&str] = &["id", "updatedAt", "createdAt"];

pub fn list_keys(conn: &mut MysqlConnection, page: &PageParams) -> QueryResult<(Vec<KeyRow>, i64)> {
    use ca_trusted_key::dsl as k;
    let mut q = k::ca_trusted_key
        .into_boxed::<Mysql>()
        .select(KeyRow::as_select());
    let asc = page.direction == Direction::Asc;
    q = match page.sort_field.as_str() {
        "updatedAt" if asc => q.order((k::updated_at.asc(), k::id.asc())),
        "updatedAt" => q.order((k::updated_at.desc(), k::id.desc())),
        "createdAt" if asc => q.order((k::created_at.asc(), k::id.asc())),
        "createdAt" => q.order((k::created_at.desc(), k::id.desc())),
        _ if asc => q.order(k::id.asc()),
        _ => q.order(k::id.desc()),
    };
    if let Some((index, size)) = page.page {
        q = q.offset(index * size).limit(size);
    }
    let rows = q.load(conn)?;
    let count = k::ca_trusted_key.count().get_result(conn)?;
    Ok((rows, count))
}

/// Deletes trusted key `id`; whether it existed.
pub fn delete_key(conn: &mut MysqlConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(ca_trusted_key::table.find(id)).execute(conn)? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hashes_are_hex_sha256() {
        assert_eq!(
            key_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(key_hash(" abc\n"), key_hash("abc"));
    }
}
