//! How the Onboarding Controller finds the systems it names in its answer, as Java does: through
//! the Orchestrator first (so an operator's rules and the Orchestrator's view decide), the
//! Service Registry when the Orchestrator has nothing. For the Orchestrator to answer, the
//! controller allows itself, at startup, to consume those services (Java
//! `OnboardingApplicationInitListener`): one intra-cloud rule per provider of each service,
//! created through the Authorization system's `mgmt/intracloud`, which lets the Onboarding
//! Controller in. Unlike Java (one try after a 15 s sleep, the last provider only), the rules
//! are retried until every service has appeared, for every instance of each provider, so
//! registries started later and scaled-out systems are covered. Nothing is cached: every answer
//! is looked up again, so another instance's changes are never hidden.

use common::core_services;
use common::identity::{same_system, CoreSystem};
use common::registration::{Located, Registrar};
use common::ArrowheadError;
use serde_json::{json, Value};
use std::time::Duration;

/// The services the controller consumes (Java's list).
pub const CONSUMED: &[&str] = &[
    "ca-sign",
    "orchestration-service",
    "device-onboarding-with-name",
    "device-onboarding-with-csr",
    "system-onboarding-with-name",
    "system-onboarding-with-csr",
    "service-register",
];

const INTERFACE: &str = "HTTP-SECURE-JSON";

/// Where `definition` is, as the Orchestrator answers this controller (the last result whose
/// provider is the service's own core system, as Java tries them last first).
async fn via_orchestrator(
    registrar: &Registrar,
    orchestrator: &Located,
    definition: &str,
) -> Result<String, ArrowheadError> {
    let owner = core_services::find(definition)
        .and_then(|s| s.system)
        .ok_or_else(|| ArrowheadError::internal(format!("{definition} is not a core service")))?;
    let form = json!({
        "requesterSystem": registrar.system(),
        "requestedService": {"serviceDefinitionRequirement": definition, "interfaceRequirements": [INTERFACE]},
        "orchestrationFlags": {"overrideStore": true},
    });
    let answer: Value = registrar
        .client()
        .send(
            CoreSystem::Orchestrator,
            reqwest::Method::POST,
            &orchestrator.url,
            Some(&form),
        )
        .await?;
    answer["response"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .find_map(|r| {
            let p = &r["provider"];
            if !same_system(p["systemName"].as_str()?, owner.name()) {
                return None;
            }
            let address = p["address"].as_str()?;
            let host = if address.contains(':') {
                format!("[{address}]")
            } else {
                address.to_owned()
            };
            Some(format!(
                "https://{host}:{}{}",
                p["port"].as_i64()?,
                r["serviceUri"].as_str().unwrap_or_default()
            ))
        })
        .ok_or_else(|| {
            ArrowheadError::unavailable(format!("Unable to find {definition} via Orchestrator"))
        })
}

/// Where `definition` is: the answer of the Orchestrator at `orchestrator` (looked up once per
/// onboarding answer, by the caller), else the Service Registry's.
pub async fn locate(
    registrar: &Registrar,
    orchestrator: Option<&Located>,
    definition: &str,
) -> Result<String, ArrowheadError> {
    let via = match orchestrator {
        Some(o) => via_orchestrator(registrar, o, definition).await,
        None => Err(ArrowheadError::unavailable(
            "No Orchestrator is registered.",
        )),
    };
    match via {
        Ok(url) => Ok(url),
        Err(e) => {
            tracing::debug!(definition, error = %e, "not through the Orchestrator; asking the Service Registry");
            Ok(registrar.locate(definition).await?.url)
        }
    }
}

/// Creates the rules for every provider of the consumed services that exists now; returns how
/// many services have no provider yet.
pub async fn create_rules(registrar: &Registrar) -> Result<usize, ArrowheadError> {
    let me = registrar.own_system_id().await?.ok_or_else(|| {
        ArrowheadError::unavailable("The Onboarding Controller is not registered yet.")
    })?;
    let auth = registrar.locate("authorization-control-intra").await?;
    let rules_url = match auth.url.rsplit_once("/intracloud/check") {
        Some((base, _)) => format!("{base}/mgmt/intracloud"),
        None => {
            return Err(ArrowheadError::internal(format!(
                "unexpected authorization-control-intra URI {}",
                auth.url
            )))
        }
    };
    let mut missing = 0;
    for definition in CONSUMED {
        let owner = core_services::find(definition).and_then(|s| s.system);
        let found = registrar.query(definition).await?;
        let entries: Vec<_> = found
            .service_query_data
            .iter()
            .filter(|e| owner.is_some_and(|o| same_system(&e.provider.system_name, o.name())))
            .filter_map(|e| {
                let iface = e
                    .interfaces
                    .iter()
                    .find(|i| i.interface_name == INTERFACE)?;
                Some((e.provider.id, e.service_definition.id, iface.id))
            })
            .collect();
        if entries.is_empty() {
            missing += 1;
        }
        for (provider, service, interface) in entries {
            let rule = json!({"consumerId": me, "providerIds": [provider],
                              "serviceDefinitionIds": [service], "interfaceIds": [interface]});
            match registrar
                .client()
                .send_raw(
                    CoreSystem::Authorization,
                    reqwest::Method::POST,
                    &rules_url,
                    Some(&rule),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.message.contains("already exists") => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(missing)
}

/// Keeps creating the rules in the background until every consumed service has a provider
/// with a rule (doubling waits, at most 5 minutes apart).
pub fn start_rules_task(registrar: Registrar) {
    actix_web::rt::spawn(async move {
        let mut wait = Duration::from_secs(1);
        loop {
            match create_rules(&registrar).await {
                Ok(0) => {
                    tracing::info!("intra-cloud rules for the Onboarding Controller are in place");
                    return;
                }
                Ok(n) => {
                    tracing::debug!(missing = n, "some consumed services are not registered yet")
                }
                Err(e) => tracing::debug!(error = %e, "intra-cloud rules not created yet"),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(300));
        }
    });
}
