//! Who may call which Gatekeeper endpoint (Java `GatekeeperAccessControlFilter`), as a pure
//! function of the caller, tested as a table. The Gatekeeper runs only secured.

use common::identity::{require_core, require_sysop, Caller, CoreSystem};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Echo,
    Mgmt,
    /// `cloud/{operator}/{name}`: the Orchestrator and the QoS Monitor.
    Cloud,
    /// `pull_clouds`, `collect_system_addresses`, `collect_access_types`: the QoS Monitor.
    PullClouds,
    /// `init_gsd`, `init_icn`: the Orchestrator.
    Orchestrator,
    /// `init_multi_gsd`: the Choreographer.
    Choreographer,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Echo => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
        Endpoint::Cloud => require_core(
            caller,
            &[CoreSystem::Orchestrator, CoreSystem::QosMonitor],
            url,
        ),
        Endpoint::PullClouds => require_core(caller, &[CoreSystem::QosMonitor], url),
        Endpoint::Orchestrator => require_core(caller, &[CoreSystem::Orchestrator], url),
        Endpoint::Choreographer => require_core(caller, &[CoreSystem::Choreographer], url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/gatekeeper")?;
    Some(if op.starts_with("/mgmt") {
        "the sysop."
    } else if op.starts_with("/cloud/") {
        "the Orchestrator and the QoS Monitor."
    } else if matches!(
        op,
        "/pull_clouds" | "/collect_system_addresses" | "/collect_access_types"
    ) {
        "the QoS Monitor."
    } else if matches!(op, "/init_gsd" | "/init_icn") {
        "the Orchestrator."
    } else if op == "/init_multi_gsd" {
        "the Choreographer."
    } else {
        "any system of the cloud."
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    #[test]
    fn access_matrix() {
        let caller = |name: &str| {
            Caller::classify(
                SystemIdentity::from_cn(&format!("{name}.testcloud.aitia.arrowhead.eu"))
                    .unwrap_or_else(|| panic!("{name}")),
            )
        };
        for (name, endpoint, allowed) in [
            ("client", Endpoint::Echo, true),
            ("client", Endpoint::Mgmt, false),
            ("orchestrator", Endpoint::Mgmt, false),
            ("gateway", Endpoint::Mgmt, false),
            ("sysop", Endpoint::Mgmt, true),
            ("SysOp", Endpoint::Mgmt, true),
            ("sys-op", Endpoint::Mgmt, false),
            ("orchestrator", Endpoint::Cloud, true),
            ("qosmonitor", Endpoint::Cloud, true),
            ("qos_monitor", Endpoint::Cloud, true),
            ("client", Endpoint::Cloud, false),
            ("sysop", Endpoint::Cloud, false),
            ("orchestrator", Endpoint::PullClouds, false),
            ("qosmonitor", Endpoint::PullClouds, true),
            ("gateway", Endpoint::PullClouds, false),
            ("orchestrator", Endpoint::Orchestrator, true),
            ("Orchestrator", Endpoint::Orchestrator, true),
            ("orchestrat0r", Endpoint::Orchestrator, false),
            ("orchéstrator", Endpoint::Orchestrator, false),
            ("orche_strator", Endpoint::Orchestrator, false),
            ("choreo_grapher", Endpoint::Choreographer, false),
            ("choreographer", Endpoint::Orchestrator, false),
            ("sysop", Endpoint::Orchestrator, false),
            ("gatekeeper", Endpoint::Orchestrator, false),
            ("choreographer", Endpoint::Choreographer, true),
            ("orchestrator", Endpoint::Choreographer, false),
            ("qosmonitor", Endpoint::Choreographer, false),
        ] {
            assert_eq!(
                check(&caller(name), endpoint, "/x").is_ok(),
                allowed,
                "{name} {endpoint:?}"
            );
        }
    }
}
