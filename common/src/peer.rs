//! Who a TLS peer is, decided in one place for both directions (callers of our servers, and the
//! systems our clients call). The rule is the Arrowhead trust chain, applied to the chain OpenSSL
//! *verified*, never to certificates a peer merely presents:
//!
//! - the identity is the verified leaf's common name, which must be a system name
//!   `<system>.<cloud>.<operator>.arrowhead.eu` (one CN, a plain ASCII system label);
//! - the certificate that signed the leaf (the next one in the verified chain) must be the
//!   certificate of the cloud the leaf names: its CN equals `<cloud>.<operator>.arrowhead.eu`.
//!
//! - above the cloud certificate, every certificate of the chain is a name parent of the one it
//!   signed (`<cloud>.<operator>.arrowhead.eu` → `<operator>.arrowhead.eu` → `arrowhead.eu`).
//!
//! The last two points are what stop another cloud's CA under a shared master from issuing
//! `sysop.<our cloud>`, directly or through a sub-CA named like our cloud: chain verification
//! alone accepts both when the master is trusted.

use crate::identity::SystemIdentity;
use crate::tls::{anchor_store, common_name};
use openssl::nid::Nid;
use openssl::stack::{Stack, StackRef};
use openssl::x509::store::X509Store;
use openssl::x509::{X509Ref, X509StoreContext, X509};

/// Why a peer certificate does not name a system of the cloud that issued it. The text is for
/// logs and error messages; it starts with the leaf's name when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The leaf CN as presented (for "`<cn>` is unauthorized" messages), if any.
    pub cn: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cn {
            Some(cn) => write!(f, "{cn}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

fn refuse(cn: Option<&str>, reason: impl Into<String>) -> Refusal {
    Refusal {
        cn: cn.map(str::to_owned),
        reason: reason.into(),
    }
}

/// A system label as certificates carry it: an ASCII letter first, then letters, digits, `-`
/// and `_` (the underscore for the pre-4.4 core-system names such as `service_registry`).
/// Accented or otherwise non-ASCII look-alikes are refused outright.
pub fn is_certificate_system_label(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// Judges a verified chain, leaf first, as OpenSSL built it (up to a trust anchor, which under
/// a partial chain may be the cloud certificate itself).
pub fn judge_chain<'a>(
    mut chain: impl Iterator<Item = &'a X509Ref>,
) -> Result<SystemIdentity, Refusal> {
    let leaf = chain
        .next()
        .ok_or_else(|| refuse(None, "no client certificate"))?;
    let mut cns = leaf.subject_name().entries_by_nid(Nid::COMMONNAME);
    let cn = cns.next().and_then(|e| e.data().to_string().ok());
    let Some(cn) = cn else {
        return Err(refuse(None, "the certificate has no common name"));
    };
    if cns.next().is_some() {
        return Err(refuse(
            Some(&cn),
            "the certificate has more than one common name",
        ));
    }
    let id = SystemIdentity::from_cn(&cn)
        .filter(|id| is_certificate_system_label(&id.system))
        .ok_or_else(|| {
            refuse(
                Some(&cn),
                "not an Arrowhead system name (<system>.<cloud>.<operator>.arrowhead.eu)",
            )
        })?;
    let issuer = chain.next().ok_or_else(|| {
        refuse(
            Some(&cn),
            "the certificate is trusted directly, not through its cloud's certificate",
        )
    })?;
    let issuer_cn = common_name(issuer).unwrap_or_default();
    if !issuer_cn.eq_ignore_ascii_case(&id.cloud_cn()) {
        return Err(refuse(
            Some(&cn),
            format!(
                "issued by '{issuer_cn}', not by the certificate of its cloud {}",
                id.cloud_cn()
            ),
        ));
    }
    // Above the cloud, each certificate must be a name parent of the one it signed (cloud →
    // organisation → arrowhead.eu): a certificate named like this cloud but issued by another
    // cloud's CA (a sub-CA under a CA without a path length limit) is not this cloud's.
    let mut below = issuer_cn.to_ascii_lowercase();
    for ca in chain {
        let ca_cn = common_name(ca).unwrap_or_default().to_ascii_lowercase();
        if !below.ends_with(&format!(".{ca_cn}")) {
            return Err(refuse(
                Some(&cn),
                format!("'{below}' is issued by '{ca_cn}', which is not above it in the Arrowhead name hierarchy"),
            ));
        }
        below = ca_cn;
    }
    Ok(id)
}

/// The trust anchors, kept to verify a chain again where OpenSSL's verified chain is not at
/// hand (a resumed TLS session carries the peer's certificates but no verified chain).
pub struct Anchors {
    store: X509Store,
}

impl Anchors {
    /// A store that accepts a chain ending at any of `trust`, self-signed or not: a trust store
    /// usually holds only the cloud certificate.
    pub fn new(trust: &[X509]) -> Result<Self, openssl::error::ErrorStack> {
        Ok(Self {
            store: anchor_store(trust)?,
        })
    }

    /// Verifies `leaf` with the presented `untrusted` certificates as candidate intermediates,
    /// then judges the chain that verification built.
    pub fn verify_and_judge(
        &self,
        leaf: &X509Ref,
        untrusted: Option<&StackRef<X509>>,
    ) -> Result<SystemIdentity, Refusal> {
        let cn = common_name(leaf);
        let fail = |why: String| refuse(cn.as_deref(), why);
        let mut stack = Stack::new().map_err(|e| fail(e.to_string()))?;
        for c in untrusted.into_iter().flatten() {
            stack.push(c.to_owned()).map_err(|e| fail(e.to_string()))?;
        }
        let mut ctx = X509StoreContext::new().map_err(|e| fail(e.to_string()))?;
        ctx.init(&self.store, leaf, &stack, |c| {
            if !c.verify_cert()? {
                return Ok(Err(c.error().error_string().to_owned()));
            }
            let chain: Vec<X509> = c
                .chain()
                .map(|s| s.iter().map(ToOwned::to_owned).collect())
                .unwrap_or_default();
            Ok(Ok(chain))
        })
        .map_err(|e| fail(e.to_string()))?
        .map_err(|e| fail(format!("certificate verification failed: {e}")))
        .and_then(|chain| judge_chain(chain.iter().map(|c| c.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_labels() {
        for ok in [
            "sysop",
            "service_registry",
            "my-provider",
            "a1",
            "Orchestrator",
        ] {
            assert!(is_certificate_system_label(ok), "{ok}");
        }
        for bad in ["", "1abc", "sýsop", "-a", "a-", "a b", "a.b", "_a"] {
            assert!(!is_certificate_system_label(bad), "{bad}");
        }
    }
}
