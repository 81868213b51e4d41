//! Who may call which Gatekeeper endpoint (Java `GatekeeperAccessControlFilter`), as a pure
//! function of the caller, tested as a table. The Gatekeeper runs only secured.

use common::identity::{require_sysop, Caller};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Echo,
    Mgmt,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Echo => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/gatekeeper")?;
    Some(if op.starts_with("/mgmt") {
        "the sysop."
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
        ] {
            assert_eq!(
                check(&caller(name), endpoint, "/x").is_ok(),
                allowed,
                "{name} {endpoint:?}"
            );
        }
    }
}
