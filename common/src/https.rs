//! Outgoing HTTPS with the peer judged during the handshake, before a byte of the request leaves:
//! the peer's chain must verify against the trust store (partial chains accepted, so a trust
//! store holding only the cloud certificate works, also under a four-level master → organisation
//! → cloud chain), and the verified chain must pass [`crate::peer::judge_chain`] for this cloud
//! and name the system the caller expects. Built on hyper + OpenSSL (hyper-openssl) rather than
//! reqwest's native-tls, which can neither accept a partial chain nor run a verify callback.
//!
//! Connections are pooled and kept alive per client; TLS sessions are resumed only within the
//! same client, so a session verified for one expected peer never stands in for another.

use crate::identity::same_system;
use crate::peer::judge_chain;
use crate::tls::{anchor_store, TlsContext};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, StatusCode};
use hyper_openssl::client::legacy::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use std::time::Duration;

/// Whom a client may talk to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expect {
    /// Any system of the own cloud.
    OwnCloud,
    /// This system of the own cloud (core systems match under either spelling of their name).
    System(String),
}

/// Connection and size limits of a client.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// Whole call: connect, send and read the answer.
    pub timeout: Duration,
    pub accept_invalid_hostnames: bool,
    pub max_idle_per_host: usize,
    /// Answers longer than this are refused (and the connection dropped) rather than buffered.
    pub max_response_bytes: usize,
}

impl Limits {
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Self {
        Self {
            connect_timeout,
            timeout,
            accept_invalid_hostnames: false,
            max_idle_per_host: 32,
            max_response_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A peer's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The handshake refused the peer (untrusted chain, wrong cloud, not the expected system).
    #[error("the peer's certificate was refused: {0}")]
    Refused(String),
    #[error("not reachable: {0}")]
    Unreachable(String),
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// The peer answered `status` with a body longer than `limit` bytes (not read further).
    #[error("the answer ({status}) is longer than {limit} bytes")]
    TooLarge { status: StatusCode, limit: usize },
    #[error("invalid request: {0}")]
    Invalid(String),
}

#[derive(Clone)]
pub struct HttpsClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    limits: Limits,
}

impl HttpsClient {
    /// A client presenting `tls`'s certificate and accepting only `expect` (plain HTTP in
    /// insecure mode, `tls` = `None`).
    pub fn new(tls: Option<&TlsContext>, expect: Expect, limits: Limits) -> Result<Self, String> {
        let err = |e: openssl::error::ErrorStack| e.to_string();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(limits.connect_timeout));
        http.set_nodelay(true);
        let mut ssl = SslConnector::builder(SslMethod::tls_client()).map_err(err)?;
        let own_cloud = tls.map(|t| t.identity.cloud_cn());
        if let Some(tls) = tls {
            ssl.set_certificate(&tls.keystore.cert).map_err(err)?;
            for c in &tls.keystore.chain {
                ssl.add_extra_chain_cert(c.clone()).map_err(err)?;
            }
            ssl.set_private_key(&tls.keystore.key).map_err(err)?;
            ssl.check_private_key().map_err(err)?;
            ssl.set_cert_store(anchor_store(&tls.trust).map_err(err)?);
        }
        let mut https = HttpsConnector::with_connector(http, ssl).map_err(err)?;
        let check_hostname = !limits.accept_invalid_hostnames;
        https.set_callback(move |cfg, _uri| {
            cfg.set_verify_hostname(check_hostname);
            if let Some(cloud) = own_cloud.clone() {
                let expect = expect.clone();
                cfg.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
                    if !ok || ctx.error_depth() != 0 {
                        return ok;
                    }
                    let Some(chain) = ctx.chain() else {
                        return false;
                    };
                    match acceptable(judge_chain(chain.iter()), &cloud, &expect) {
                        Ok(()) => true,
                        Err(why) => {
                            tracing::warn!(reason = %why, "peer certificate refused");
                            false
                        }
                    }
                });
            }
            Ok(())
        });
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(limits.max_idle_per_host)
            .build(https);
        Ok(Self { client, limits })
    }

    /// Sends a request (with a JSON body when given) and reads the whole answer, within the
    /// client's time and size limits.
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        json: Option<Bytes>,
    ) -> Result<Answer, CallError> {
        self.call_with(method, url, json, &[]).await
    }

    /// [`call`](Self::call) with extra request headers.
    pub async fn call_with(
        &self,
        method: Method,
        url: &str,
        json: Option<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, CallError> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        if json.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req
            .body(Full::new(json.unwrap_or_default()))
            .map_err(|e| CallError::Invalid(e.to_string()))?;
        let max = self.limits.max_response_bytes;
        let exchange = async {
            let resp = self.client.request(req).await.map_err(|e| {
                let chain = error_chain(&e);
                if chain.contains("certificate verify failed") {
                    CallError::Refused(chain)
                } else {
                    CallError::Unreachable(chain)
                }
            })?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        CallError::TooLarge { status, limit: max }
                    } else {
                        CallError::Unreachable(e.to_string())
                    }
                })?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.limits.timeout, exchange)
            .await
            .map_err(|_| CallError::Timeout(self.limits.timeout))?
    }
}

/// The handshake's decision on a judged peer.
fn acceptable(
    judged: Result<crate::identity::SystemIdentity, crate::peer::Refusal>,
    own_cloud: &str,
    expect: &Expect,
) -> Result<(), String> {
    let id = judged.map_err(|r| r.to_string())?;
    if !id.same_cloud(own_cloud) {
        return Err(format!("{} is not a system of {own_cloud}", id.cn()));
    }
    match expect {
        Expect::System(name) if !same_system(&id.system, name) => {
            Err(format!("{} is not the expected system '{name}'", id.cn()))
        }
        _ => Ok(()),
    }
}

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::SystemIdentity;
    use crate::peer::Refusal;

    #[test]
    fn handshake_decision_table() {
        let own = "c.o.arrowhead.eu";
        let id = |cn: &str| Ok::<_, Refusal>(SystemIdentity::from_cn(cn).unwrap());
        let sys = |n: &str| Expect::System(n.to_owned());
        let cases = [
            (
                id("serviceregistry.c.o.arrowhead.eu"),
                sys("serviceregistry"),
                true,
            ),
            (
                id("service_registry.c.o.arrowhead.eu"),
                sys("serviceregistry"),
                true,
            ),
            (
                id("serviceregistry.C.o.arrowhead.eu"),
                Expect::OwnCloud,
                true,
            ),
            (id("evil.c.o.arrowhead.eu"), sys("authorization"), false),
            (
                id("authorization.x.o.arrowhead.eu"),
                sys("authorization"),
                false,
            ),
            (
                id("authorization.x.o.arrowhead.eu"),
                Expect::OwnCloud,
                false,
            ),
            (id("subscriber.c.o.arrowhead.eu"), sys("subscriber"), true),
            (id("subscriber2.c.o.arrowhead.eu"), sys("subscriber"), false),
        ];
        for (judged, expect, ok) in cases {
            let shown = format!("{judged:?} {expect:?}");
            assert_eq!(acceptable(judged, own, &expect).is_ok(), ok, "{shown}");
        }
        let refused = Err(Refusal {
            cn: Some("x".into()),
            reason: "bad".into(),
        });
        assert!(acceptable(refused, own, &Expect::OwnCloud).is_err());
    }
}
