//! How a core system other than the Service Registry makes its services known (Java
//! `ApplicationInitListener`): at startup it replaces its entries of earlier runs with fresh ones
//! (CERTIFICATE / `HTTP-SECURE-JSON`, or NOT_SECURE / `HTTP-INSECURE-JSON` in insecure mode),
//! retrying with backoff while the registry is unreachable so no startup order is needed; at
//! shutdown it removes them.

use crate::client::CoreClient;
use crate::core_services::{self, CoreService};
use crate::dto::{ServiceQueryForm, ServiceQueryResult, ServiceRegistryRequest, SystemRequest};
use crate::identity::CoreSystem;
use crate::ArrowheadError;
use std::time::Duration;

/// Services not registered: the Java systems leave out the first although they serve it; the
/// next belong to features not built here (the flexible store, QoS) and are switched off by
/// default in Java too (`use_flexible_store`, `enable_qos`); the Device Registry's onboarding
/// endpoints are not built yet, so the Onboarding Controller must not send devices there.
const NOT_REGISTERED: &[&str] = &[
    "token-generation-multi-service",
    "orchestration-create-flexible-store-rules",
    "orchestration-remove-flexible-store-rule",
    "orchestration-clean-flexible-store",
    "orchestration-qos-enabled",
    "orchestration-qos-reservations",
    "orchestration-qos-temporary-lock",
    "orchestration-qos-confirm-reservation",
    // The Gatekeeper's relay test belongs to the QoS Monitor, which does not exist yet.
    "gatekeeper-relay-test",
];

/// The services `system` registers.
pub fn registered_services(system: CoreSystem) -> impl Iterator<Item = &'static CoreService> {
    core_services::of(system).filter(|s| !NOT_REGISTERED.contains(&s.definition))
}

/// A core service's location and the core system that provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub url: String,
    pub system: CoreSystem,
}

#[derive(Clone)]
pub struct Registrar {
    client: CoreClient,
    /// `https://<sr_address>:<sr_port>/serviceregistry`
    registry: String,
    system: CoreSystem,
    address: String,
    port: u16,
    /// Base64 public key (secure mode) — also decides secure vs insecure registration.
    authentication_info: Option<String>,
}

impl Registrar {
    pub fn new(
        client: CoreClient,
        sr_address: &str,
        sr_port: u16,
        system: CoreSystem,
        domain_name: &str,
        domain_port: u16,
        authentication_info: Option<String>,
    ) -> Self {
        let registry = format!(
            "{}://{}:{}/serviceregistry",
            client.scheme(),
            sr_address,
            sr_port
        );
        Self {
            client,
            registry,
            system,
            address: domain_name.to_owned(),
            port: domain_port,
            authentication_info,
        }
    }

    fn provider(&self) -> SystemRequest {
        SystemRequest {
            system_name: Some(self.system.name().to_owned()),
            address: Some(self.address.clone()),
            port: Some(i64::from(self.port)),
            authentication_info: self.authentication_info.clone(),
            metadata: None,
        }
    }

    /// This instance's entries of `definition` (its system name at its own address and port).
    fn is_own(&self, e: &crate::dto::ServiceRegistryResponse) -> bool {
        crate::identity::same_system(&e.provider.system_name, self.system.name())
            && crate::names::normalize_address(&e.provider.address)
                == crate::names::normalize_address(&self.address)
            && i64::from(e.provider.port) == i64::from(self.port)
    }

    /// This instance's system id in the Service Registry (found through one of its own
    /// services), once it is registered.
    pub async fn own_system_id(&self) -> Result<Option<i64>, ArrowheadError> {
        let Some(svc) = registered_services(self.system).next() else {
            return Ok(None);
        };
        let found = self.query(svc.definition).await?;
        Ok(found
            .service_query_data
            .iter()
            .find(|e| self.is_own(e))
            .map(|e| e.provider.id))
    }

    /// What the registry has for `definition` now.
    pub async fn query(&self, definition: &str) -> Result<ServiceQueryResult, ArrowheadError> {
        let form = ServiceQueryForm {
            service_definition_requirement: Some(definition.to_owned()),
            ..Default::default()
        };
        self.query_form(&form).await
    }

    /// The registry's `/query` with a full form (its errors come back unchanged).
    pub async fn query_form(
        &self,
        form: &ServiceQueryForm,
    ) -> Result<ServiceQueryResult, ArrowheadError> {
        self.client
            .send(
                CoreSystem::ServiceRegistry,
                reqwest::Method::POST,
                &format!("{}/query", self.registry),
                Some(form),
            )
            .await
    }

    /// Every entry of the registry (`/query/all`, open to the Gatekeeper and the QoS Monitor).
    pub async fn query_all(
        &self,
    ) -> Result<crate::dto::ListResponse<crate::dto::ServiceRegistryResponse>, ArrowheadError> {
        self.client
            .send::<(), _>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::GET,
                &format!("{}/query/all", self.registry),
                None,
            )
            .await
    }

    /// Removes this instance's entries of `definition`: this system at this instance's own
    /// address and port. Other instances of the same system (same name, other address or port)
    /// are left alone, so one instance starting or stopping never unregisters another.
    async fn remove_stale(&self, definition: &str) -> Result<(), ArrowheadError> {
        let found = self.query(definition).await?;
        // The registry stores addresses normalised (lowercase, IPv6 in full form).
        for e in found.service_query_data.iter().filter(|e| self.is_own(e)) {
            let url = format!(
                "{}/unregister?service_definition={}&system_name={}&address={}&port={}&service_uri={}",
                self.registry,
                query_escape(definition),
                query_escape(&e.provider.system_name),
                query_escape(&e.provider.address),
                e.provider.port,
                query_escape(&e.service_uri)
            );
            self.client
                .send_raw::<()>(
                    CoreSystem::ServiceRegistry,
                    reqwest::Method::DELETE,
                    &url,
                    None,
                )
                .await?;
        }
        Ok(())
    }

    /// Replaces this system's entries with fresh ones.
    pub async fn register_all(&self) -> Result<(), ArrowheadError> {
        let secure = self.authentication_info.is_some();
        for svc in registered_services(self.system) {
            self.remove_stale(svc.definition).await?;
            let request = ServiceRegistryRequest {
                service_definition: Some(svc.definition.to_owned()),
                provider_system: Some(self.provider()),
                service_uri: Some(svc.uri.to_owned()),
                secure: Some(if secure { "CERTIFICATE" } else { "NOT_SECURE" }.to_owned()),
                interfaces: Some(vec![if secure {
                    "HTTP-SECURE-JSON"
                } else {
                    "HTTP-INSECURE-JSON"
                }
                .to_owned()]),
                ..Default::default()
            };
            self.client
                .send_raw(
                    CoreSystem::ServiceRegistry,
                    reqwest::Method::POST,
                    &format!("{}/register", self.registry),
                    Some(&request),
                )
                .await?;
        }
        Ok(())
    }

    /// Registers, retrying with backoff (1 s doubling to 30 s) until the registry accepts.
    pub async fn register_until_done(self) {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.register_all().await {
                Ok(()) => {
                    tracing::info!(registry = %self.registry, "services registered in the Service Registry");
                    return;
                }
                Err(e) => {
                    tracing::warn!(registry = %self.registry, error = %e, retry_in_s = wait.as_secs(), "cannot register services yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Where a core service is, as the Service Registry knows it now (Java's URI crawler: the
    /// last entry, `https` unless the entry is NOT_SECURE), with the core system that must
    /// answer there. Only entries whose provider is the service's own core system count: a
    /// look-alike provider filed under the same definition is never called.
    pub async fn locate(&self, definition: &str) -> Result<Located, ArrowheadError> {
        let mut all = self.locate_all(definition).await?;
        all.pop().ok_or_else(|| {
            ArrowheadError::unavailable(format!(
                "No provider of {definition} is registered in the Service Registry."
            ))
        })
    }

    /// Every registered instance of a core service, in registry order (the last is Java's
    /// choice); empty when none is registered.
    pub async fn locate_all(&self, definition: &str) -> Result<Vec<Located>, ArrowheadError> {
        let owner = crate::core_services::find(definition)
            .and_then(|s| s.system)
            .ok_or_else(|| {
                ArrowheadError::internal(format!("{definition} is not a core service"))
            })?;
        let found = self.query(definition).await?;
        Ok(found
            .service_query_data
            .iter()
            .filter(|e| crate::identity::same_system(&e.provider.system_name, owner.name()))
            .map(|e| {
                let scheme = if e.secure == "NOT_SECURE" {
                    "http"
                } else {
                    "https"
                };
                Located {
                    url: format!(
                        "{scheme}://{}:{}{}",
                        e.provider.address, e.provider.port, e.service_uri
                    ),
                    system: owner,
                }
            })
            .collect())
    }

    /// The client this registrar calls with (the system's own identity).
    pub fn client(&self) -> &CoreClient {
        &self.client
    }

    /// This system as a provider (the `source` of its events).
    pub fn system(&self) -> SystemRequest {
        self.provider()
    }

    /// Removes this system's entries (at shutdown); failures are only logged.
    pub async fn unregister_all(&self) {
        for svc in registered_services(self.system) {
            if let Err(e) = self.remove_stale(svc.definition).await {
                tracing::warn!(service = svc.definition, error = %e, "cannot unregister service");
            }
        }
    }
}

/// The services a system consumes, found through the Service Registry and remembered for a
/// short while: a location is not state another instance can change (a moved peer answers
/// "unreachable", which drops the remembered location at once), and looking it up on every
/// request would double the registry's load.
#[derive(Clone)]
pub struct Locator {
    registrar: Registrar,
    ttl: Duration,
    known: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<&'static str, (Located, std::time::Instant)>>,
    >,
}

impl Locator {
    pub fn new(registrar: Registrar, ttl: Duration) -> Self {
        Self {
            registrar,
            ttl,
            known: Default::default(),
        }
    }

    /// Where `definition` is, from memory when recent.
    pub async fn url(&self, definition: &'static str) -> Result<Located, ArrowheadError> {
        if let Some((url, at)) = self.lock().get(definition) {
            if at.elapsed() < self.ttl {
                return Ok(url.clone());
            }
        }
        let url = self.registrar.locate(definition).await?;
        self.lock()
            .insert(definition, (url.clone(), std::time::Instant::now()));
        Ok(url)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<&'static str, (Located, std::time::Instant)>,
    > {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// POSTs `body` to the service and decodes the answer. When the remembered location does
    /// not answer, the registry is asked again and every other registered instance is tried
    /// (an instance of a scaled-out system may have died without unregistering).
    pub async fn post<B: serde::Serialize + ?Sized, R: serde::de::DeserializeOwned>(
        &self,
        definition: &'static str,
        body: &B,
    ) -> Result<R, ArrowheadError> {
        let at = self.url(definition).await?;
        let client = self.registrar.client();
        match client
            .send(at.system, reqwest::Method::POST, &at.url, Some(body))
            .await
        {
            Err(e) if e.kind == crate::ExceptionType::Unavailable => {
                self.lock().remove(definition);
                let mut last = e;
                for other in self
                    .registrar
                    .locate_all(definition)
                    .await?
                    .into_iter()
                    .rev()
                {
                    if other == at {
                        continue;
                    }
                    match client
                        .send(other.system, reqwest::Method::POST, &other.url, Some(body))
                        .await
                    {
                        Err(e) if e.kind == crate::ExceptionType::Unavailable => last = e,
                        answered => {
                            self.lock()
                                .insert(definition, (other, std::time::Instant::now()));
                            return answered;
                        }
                    }
                }
                Err(last)
            }
            other => other,
        }
    }
}

/// Percent-encodes a query parameter value.
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_registers_the_java_list() {
        let defs: Vec<&str> = registered_services(CoreSystem::Authorization)
            .map(|s| s.definition)
            .collect();
        assert_eq!(
            defs,
            [
                "authorization-control-intra",
                "authorization-control-inter",
                "token-generation",
                "auth-public-key",
                "authorization-control-subscription"
            ]
        );
        assert_eq!(query_escape("a b/c?d"), "a%20b/c%3Fd");
    }
}
