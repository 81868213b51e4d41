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
    /// `pull_clouds`: the QoS Monitor.
    PullClouds,
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
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/gatekeeper")?;
    Some(if op.starts_with("/mgmt") {
        "the sysop."
    } else if op.starts_with("/cloud/") {
        "the Orchestrator and the QoS Monitor."
    } else if op == "/pull_clouds" {
        "the QoS Monitor."
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
        ] {
            assert_eq!(
                check(&caller(name), endpoint, "/x").is_ok(),
                allowed,
                "{name} {endpoint:?}"
            );
        }
    }
}
