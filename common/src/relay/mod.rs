//! The relay client both the Gatekeeper and the Gateway use: a STOMP 1.2 session
//! ([`stomp`]) with the relay's ActiveMQ broker over mutual TLS, presenting the system's whole
//! chain (its certificate and its cloud's: relays trust only the master) and accepting the
//! broker's chain under the trust anchors given (the relay master, `relay.arrowhead.eu`, in
//! the Java samples).

pub mod envelope;
pub mod link;
pub mod router;
pub mod stomp;

use crate::tls::Keystore;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use std::time::Duration;

/// Opens a TLS connection to `host:port` (a broker, or a Gateway's provider) as `identity`,
/// trusting `anchors`.
/// The broker's name is not checked against `host`: relays are registered by address and
/// their certificates name the relay, not the address (Java does not check it either).
pub async fn connect_tls(
    host: &str,
    port: u16,
    identity: &Keystore,
    anchors: &[X509],
    limit: Duration,
) -> Result<tokio_openssl::SslStream<tokio::net::TcpStream>, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    b.set_certificate(&identity.cert)
        .map_err(|e| e.to_string())?;
    b.set_private_key(&identity.key)
        .map_err(|e| e.to_string())?;
    for c in &identity.chain {
        b.add_extra_chain_cert(c.clone())
            .map_err(|e| e.to_string())?;
    }
    // Partial chains accepted: an anchor may be a cloud certificate (the Gateway's providers).
    b.set_verify_cert_store(crate::tls::anchor_store(anchors).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    b.set_verify(SslVerifyMode::PEER);
    let connector = b.build();
    let mut config = connector.configure().map_err(|e| e.to_string())?;
    config.set_verify_hostname(false);
    let ssl = config.into_ssl(host).map_err(|e| e.to_string())?;
    let tcp = tokio::time::timeout(limit, tokio::net::TcpStream::connect((host, port)))
        .await
        .map_err(|_| format!("{host}:{port}: no connection within {limit:?}"))?
        .map_err(|e| format!("{host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let mut stream = tokio_openssl::SslStream::new(ssl, tcp).map_err(|e| e.to_string())?;
    tokio::time::timeout(limit, std::pin::Pin::new(&mut stream).connect())
        .await
        .map_err(|_| format!("{host}:{port}: no TLS handshake within {limit:?}"))?
        .map_err(|e| format!("TLS with the relay {host}:{port}: {e}"))?;
    Ok(stream)
}

/// Java's relay session and queue ids: 48 random letters and digits.
pub fn session_id() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 48];
    let _ = openssl::rand::rand_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect()
}

/// `relay.trust-store` (ours; a PEM file): certificates a relay broker's chain may end at.
pub fn relay_trust(p: &crate::config::Properties) -> Result<Vec<X509>, crate::config::ConfigError> {
    let Some(path) = p.path("relay.trust-store") else {
        return Ok(Vec::new());
    };
    let shown = path.display().to_string();
    let invalid = |e: String| crate::config::ConfigError::invalid("relay.trust-store", &shown, e);
    let pem = std::fs::read(&path).map_err(|e| invalid(e.to_string()))?;
    X509::stack_from_pem(&pem).map_err(|e| invalid(e.to_string()))
}

/// What a relay broker's chain may end at: the trust store (Java's way), the master above our
/// own certificate, and `extra` (from [`relay_trust`]).
pub fn anchors(tls: &crate::tls::TlsContext, extra: &[X509]) -> Vec<X509> {
    let mut anchors = tls.trust.clone();
    anchors.extend(tls.keystore.chain.last().cloned());
    anchors.extend(extra.iter().cloned());
    anchors
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_are_java_shaped() {
        let a = super::session_id();
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, super::session_id());
    }
}
