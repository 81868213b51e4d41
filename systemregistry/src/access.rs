//! Who may call which System Registry endpoint (Java `SystemRegistryAccessControlFilter`), as a
//! pure function of the caller, tested as a table. Insecure mode has no access control.
//!
//! As in Java, any system of the cloud may register, query, unregister and onboard; the
//! management endpoints are the sysop's. Unlike Java (which registers reserved names through
//! `/register` for anyone), a core system's name or `sysop` is registered only by the sysop:
//! the `system_` rows are the Service Registry's too.

use common::identity::{require_sysop, Caller};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Echo, register, unregister, query, onboarding: any system of the cloud.
    Client,
    Mgmt,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Client => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
    }
}

/// Whether `caller` may register a system called `name` through `/register`: reserved names
/// (every core system and `sysop`, in any spelling) only for the sysop.
pub fn may_register_name(caller: &Caller, name: &str) -> bool {
    !common::identity::is_protected(name) || matches!(caller, Caller::Sysop(_) | Caller::Insecure)
}

/// Who may call each documented operation, in words, for the OpenAPI document.
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/systemregistry")?;
    Some(if op.starts_with("/mgmt") {
        "the sysop."
    } else if op == "/register" {
        "any system of the cloud; reserved names (core systems, sysop) only the sysop."
    } else {
        "any system of the cloud."
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    fn caller(name: &str) -> Caller {
        Caller::classify(
            SystemIdentity::from_cn(&format!("{name}.testcloud.aitia.arrowhead.eu"))
                .unwrap_or_else(|| panic!("{name}")),
        )
    }

    #[test]
    fn access_matrix() {
        for (name, endpoint, allowed) in [
            ("client", Endpoint::Client, true),
            ("client", Endpoint::Mgmt, false),
            ("onboardingcontroller", Endpoint::Mgmt, false),
            ("serviceregistry", Endpoint::Mgmt, false),
            ("sysop", Endpoint::Mgmt, true),
            ("Sysop", Endpoint::Mgmt, true),
            ("sys0p", Endpoint::Mgmt, false),
            ("sys-op", Endpoint::Mgmt, false),
        ] {
            assert_eq!(
                check(&caller(name), endpoint, "/x").is_ok(),
                allowed,
                "{name} {endpoint:?}"
            );
        }
        assert!(check(&Caller::Insecure, Endpoint::Mgmt, "/x").is_ok());
    }

    #[test]
    fn reserved_names_only_for_the_sysop() {
        for (who, name, allowed) in [
            ("client", "thermometer", true),
            ("client", "serviceregistry", false),
            ("client", "Service_Registry", false),
            ("client", "ORCHESTRATOR", false),
            ("client", "Sys-Op", false),
            ("orchestrator", "serviceregistry", false),
            ("sysop", "serviceregistry", true),
            ("sysop", "thermometer", true),
        ] {
            assert_eq!(
                may_register_name(&caller(who), name),
                allowed,
                "{who} registering {name}"
            );
        }
    }
}
