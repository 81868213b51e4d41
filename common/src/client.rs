//! The HTTPS client core systems use to call each other with their own certificate. Peer errors
//! come back as the same Arrowhead error (type, code, origin), so they propagate unchanged through
//! call chains as in the Java systems, and an unreachable peer is a clear 503 naming the URL.

use crate::error::{ArrowheadError, ErrorMessage};
use crate::https::{CallError, Expect, HttpsClient, Limits};
use crate::identity::CoreSystem;
use crate::tls::TlsContext;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest answer read from a core system (a full registry listing fits easily).
const MAX_CORE_ANSWER: usize = 64 * 1024 * 1024;

/// Calls to the other core systems. Each call names the core system it expects to reach; the
/// handshake refuses any other peer (see [`crate::https`]), so a look-alike provider registered
/// for a core service never receives a request.
#[derive(Clone)]
pub struct CoreClient {
    tls: Option<TlsContext>,
    limits: Limits,
    /// One pooled client per expected core system, made on first use.
    clients: Arc<Mutex<HashMap<CoreSystem, HttpsClient>>>,
}

impl CoreClient {
    pub fn new(
        tls: Option<&TlsContext>,
        connect_timeout: Duration,
        timeout: Duration,
        accept_invalid_hostnames: bool,
    ) -> Result<Self, String> {
        let mut limits = Limits::new(connect_timeout, timeout);
        limits.accept_invalid_hostnames = accept_invalid_hostnames;
        limits.max_response_bytes = MAX_CORE_ANSWER;
        // Fail at startup, not on the first call, when the material cannot make a client.
        HttpsClient::new(tls, Expect::OwnCloud, limits.clone())?;
        Ok(Self {
            tls: tls.cloned(),
            limits,
            clients: Arc::default(),
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    fn client_for(&self, peer: CoreSystem) -> Result<HttpsClient, ArrowheadError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&peer) {
            return Ok(c.clone());
        }
        let c = HttpsClient::new(
            self.tls.as_ref(),
            Expect::System(peer.name().to_owned()),
            self.limits.clone(),
        )
        .map_err(ArrowheadError::internal)?;
        clients.insert(peer, c.clone());
        Ok(c)
    }

    /// Sends a request to core system `peer` and decodes a JSON answer (or the peer's
    /// Arrowhead error).
    pub async fn send<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        peer: CoreSystem,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<R, ArrowheadError> {
        let text = self.send_raw(peer, method, url, body).await?;
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
        peer: CoreSystem,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<String, ArrowheadError> {
        let json = match body {
            Some(b) => Some(
                serde_json::to_vec(b)
                    .map_err(|e| ArrowheadError::internal(e.to_string()))?
                    .into(),
            ),
            None => None,
        };
        let answer = self
            .client_for(peer)?
            .call(method, url, json)
            .await
            .map_err(|e| match e {
                CallError::Refused(why) => {
                    tracing::warn!(%url, expected = peer.name(), reason = %why, "peer refused");
                    ArrowheadError::auth(format!(
                        "The system at {url} is not part of the same certificate chain of trust!"
                    ))
                }
                CallError::TooLarge { limit, .. } => ArrowheadError::internal(format!(
                    "The answer of {url} is longer than {limit} bytes."
                )),
                other => {
                    tracing::debug!(%url, error = %other, "core call failed");
                    ArrowheadError::unavailable(format!("Could not get any response from: {url}"))
                }
            })?;
        let status = answer.status;
        let text = String::from_utf8_lossy(&answer.body).into_owned();
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
