//! The HTTPS client core systems use to call each other with their own certificate. Peer errors
//! come back as the same Arrowhead error (type, code, origin), so they propagate unchanged through
//! call chains as in the Java systems, and an unreachable peer is a clear 503 naming the URL.

use crate::error::{ArrowheadError, ErrorMessage};
use crate::identity::SystemIdentity;
use crate::tls::{common_name, TlsContext};
use openssl::x509::X509;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

#[derive(Clone)]
pub struct CoreClient {
    http: reqwest::Client,
    /// In secure mode, the cloud every peer must belong to.
    own_cloud: Option<String>,
    /// Peer certificates (DER) already found to belong to `own_cloud`. Decoding a certificate
    /// takes OpenSSL 3 hundreds of microseconds under its global locks, and every response
    /// carries one; whether a given certificate passes never changes, so the answer is kept.
    trusted_peers: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<Vec<u8>>>>,
}

/// Bound on remembered peer certificates (a cloud has a handful of core systems).
const MAX_TRUSTED_PEERS: usize = 256;

impl CoreClient {
    pub fn new(
        tls: Option<&TlsContext>,
        connect_timeout: Duration,
        timeout: Duration,
        accept_invalid_hostnames: bool,
    ) -> Result<Self, String> {
        let b = client_builder(tls, connect_timeout, timeout, accept_invalid_hostnames)?;
        Ok(Self {
            http: b
                .tls_info(tls.is_some())
                .build()
                .map_err(|e| e.to_string())?,
            own_cloud: tls.map(|t| t.identity.cloud_cn()),
            trusted_peers: Default::default(),
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.own_cloud.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Sends a request and decodes a JSON answer (or the peer's Arrowhead error).
    pub async fn send<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<R, ArrowheadError> {
        let text = self.send_raw(method, url, body).await?;
        let text = if text.is_empty() {
            "null".to_owned()
        } else {
            text
        };
        serde_json::from_str(&text)
            .map_err(|e| ArrowheadError::internal(format!("Unexpected answer from {url}: {e}")))
    }

    /// Like [`CoreClient::send`] but returns the body text.
    pub async fn send_raw<B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<String, ArrowheadError> {
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            let chain = error_chain(&e);
            if chain.contains("certificate verify failed") {
                ArrowheadError::auth(format!(
                    "The system at {url} is not part of the same certificate chain of trust!"
                ))
            } else {
                ArrowheadError::unavailable(format!("Could not get any response from: {url}"))
            }
        })?;
        if let Some(cloud) = &self.own_cloud {
            let der = resp
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|i| i.peer_certificate());
            if !der.is_some_and(|der| self.peer_in_cloud(der, cloud)) {
                return Err(ArrowheadError::auth(format!(
                    "The system at {url} is not part of the same certificate chain of trust!"
                )));
            }
        }
        let status = resp.status();
        let text = resp.text().await.map_err(|_| {
            ArrowheadError::unavailable(format!("Could not get any response from: {url}"))
        })?;
        if status.is_success() {
            return Ok(text);
        }
        match serde_json::from_str::<ErrorMessage>(&text) {
            Ok(m) => Err(ArrowheadError::from_message(m)),
            Err(_) => Err(ArrowheadError::internal(format!("{url} answered {status}"))
                .with_code(status.as_u16())),
        }
    }
}

impl CoreClient {
    /// Whether the peer certificate names a system of `cloud` (remembered per certificate).
    fn peer_in_cloud(&self, der: &[u8], cloud: &str) -> bool {
        let lock = || self.trusted_peers.lock().unwrap_or_else(|p| p.into_inner());
        if lock().contains(der) {
            return true;
        }
        let ok = X509::from_der(der)
            .ok()
            .and_then(|c| common_name(&c))
            .and_then(|cn| SystemIdentity::from_cn(&cn))
            .is_some_and(|p| p.same_cloud(cloud));
        if ok {
            let mut set = lock();
            if set.len() >= MAX_TRUSTED_PEERS {
                set.clear();
            }
            set.insert(der.to_vec());
        }
        ok
    }
}

/// A client presenting this system's certificate and trusting this cloud (or plain HTTP in
/// insecure mode): the base of [`CoreClient`] and of calls to application systems (event
/// delivery).
pub fn client_builder(
    tls: Option<&TlsContext>,
    connect_timeout: Duration,
    timeout: Duration,
    accept_invalid_hostnames: bool,
) -> Result<reqwest::ClientBuilder, String> {
    let mut b = reqwest::Client::builder()
        .tls_backend_native()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(tls) = tls {
        let mut roots = Vec::new();
        for r in tls.client_roots() {
            roots.push(
                reqwest::Certificate::from_der(&r.to_der().map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?,
            );
        }
        b = b
            .identity(tls.reqwest_identity().map_err(|e| e.to_string())?)
            .tls_certs_only(roots)
            .danger_accept_invalid_hostnames(accept_invalid_hostnames);
    }
    Ok(b)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
