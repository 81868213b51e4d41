//! Who may call which Gateway endpoint (Java `GatewayAccessControlFilter`), as a pure function
//! of the caller, tested as a table. The Gateway runs only secured.

use common::identity::{require_core, require_sysop, Caller, CoreSystem};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Echo,
    Mgmt,
    /// `publickey`, `connect_provider`, `connect_consumer`: the Gatekeeper.
    Gatekeeper,
    /// `close_sessions`: the Choreographer.
    Choreographer,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Echo => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
        Endpoint::Gatekeeper => require_core(caller, &[CoreSystem::Gatekeeper], url),
        Endpoint::Choreographer => require_core(caller, &[CoreSystem::Choreographer], url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/gateway")?;
    Some(if op.starts_with("/mgmt") {
        "the sysop."
    } else if matches!(op, "/publickey" | "/connect_provider" | "/connect_consumer") {
        "the Gatekeeper."
    } else if op == "/close_sessions" {
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
            ("gatekeeper", Endpoint::Mgmt, false),
            ("sysop", Endpoint::Mgmt, true),
            ("gatekeeper", Endpoint::Gatekeeper, true),
            ("GateKeeper", Endpoint::Gatekeeper, true),
            ("gate-keeper", Endpoint::Gatekeeper, false),
            ("orchestrator", Endpoint::Gatekeeper, false),
            ("sysop", Endpoint::Gatekeeper, false),
            ("gateway", Endpoint::Gatekeeper, false),
            ("gate_keeper", Endpoint::Gatekeeper, false),
            ("gatekéeper", Endpoint::Gatekeeper, false),
            ("gatekeeper1", Endpoint::Gatekeeper, false),
            ("Choreographer", Endpoint::Choreographer, true),
            ("choreógrapher", Endpoint::Choreographer, false),
            ("choreographer", Endpoint::Choreographer, true),
            ("gatekeeper", Endpoint::Choreographer, false),
        ] {
            assert_eq!(
                check(&caller(name), endpoint, "/x").is_ok(),
                allowed,
                "{name} {endpoint:?}"
            );
        }
    }
}
