//! Certificates the cloud's Certificate Authority has revoked are refused by every core system
//! (Java records revocations and never enforces them).
//!
//! The CA writes revocations into the shared `ca_certificate` table. Every system instance reads
//! the serial numbers of the revoked certificates every [`REFRESH`] and refuses callers whose
//! certificate carries one of them (401, on every request, so kept-alive connections are cut off
//! too). A revocation is therefore enforced everywhere within [`REFRESH`] plus one query, in every
//! instance of every system, without a restart. Only the CA issues certificates with serials in
//! that table, and every system of the cloud trusts only the cloud's certificate as issuer, so
//! the serial alone names the certificate.

use crate::db::schema::ca_certificate;
use crate::db::DbPool;
use diesel::prelude::*;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often every instance re-reads the revoked serials: the bound of the enforcement delay.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The serial numbers of revoked certificates, as last read.
#[derive(Debug, Default)]
pub struct Revocations {
    revoked: RwLock<HashSet<i64>>,
}

impl Revocations {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether the certificate with this serial (`None`: not a 63-bit serial, so not one the CA
    /// issued) has been revoked.
    pub fn is_revoked(&self, serial: Option<i64>) -> bool {
        serial.is_some_and(|s| {
            self.revoked
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&s)
        })
    }

    /// Reads the revoked serials from the database.
    pub fn refresh(&self, conn: &mut MysqlConnection) -> QueryResult<usize> {
        let serials: Vec<i64> = ca_certificate::table
            .filter(ca_certificate::revoked_at.is_not_null())
            .select(ca_certificate::serial)
            .load(conn)?;
        let n = serials.len();
        *self.revoked.write().unwrap_or_else(|p| p.into_inner()) = serials.into_iter().collect();
        Ok(n)
    }

    /// Keeps the set current: reads it now, then every [`REFRESH`], for as long as the actix
    /// system runs. A failed read keeps the last known set (and says so once per outage).
    pub fn start_refreshing(self: &Arc<Self>, pool: DbPool) {
        let me = self.clone();
        actix_web::rt::spawn(async move {
            let mut failing = false;
            loop {
                let this = me.clone();
                let result = crate::db::run(&pool, move |c| Ok(this.refresh(c)?)).await;
                match result {
                    Ok(_) if failing => {
                        tracing::info!("revoked certificates are read again");
                        failing = false;
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "cannot read the revoked certificates; the last known list is used");
                        failing = true;
                    }
                    _ => {}
                }
                actix_web::rt::time::sleep(REFRESH).await;
            }
        });
    }
}

/// The serial number of a certificate as the CA stores it (a positive 63-bit number), if it is
/// one.
pub fn serial_of(cert: &openssl::x509::X509Ref) -> Option<i64> {
    let bn = cert.serial_number().to_bn().ok()?;
    if bn.is_negative() || bn.num_bits() > 63 {
        return None;
    }
    let bytes = bn.to_vec();
    let mut buf = [0u8; 8];
    buf[8 - bytes.len()..].copy_from_slice(&bytes);
    Some(i64::from_be_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_serials_are_recognised() {
        let r = Revocations::default();
        r.revoked
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(42);
        assert!(r.is_revoked(Some(42)));
        assert!(!r.is_revoked(Some(43)));
        assert!(!r.is_revoked(None));
    }
}
