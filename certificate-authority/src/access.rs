//! Who may call which Certificate Authority endpoint (Java `CAAccessControlFilter`), as a pure
//! function of the caller, tested as a table. Insecure mode has no access control.

use common::identity::{require_sysop, unauthorized, Caller, CoreSystem};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/echo`, `/checkCertificate`: any system of the cloud.
    Open,
    /// `/sign`, `/checkTrustedKey`: the onboarding chain and the sysop.
    Onboarding,
    /// `/mgmt/...`: the sysop.
    Mgmt,
}

/// The core systems that request certificates for others (Java: `onboardingcontroller`,
/// `deviceregistry`, `systemregistry`).
pub const ONBOARDING: &[CoreSystem] = &[
    CoreSystem::OnboardingController,
    CoreSystem::DeviceRegistry,
    CoreSystem::SystemRegistry,
];

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Open => Ok(()),
        Endpoint::Onboarding => match caller {
            Caller::Insecure | Caller::Sysop(_) => Ok(()),
            c if c.is_core(ONBOARDING) => Ok(()),
            other => Err(unauthorized(other, url)),
        },
        Endpoint::Mgmt => require_sysop(caller, url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document (the rules are
/// [`check`]'s).
pub fn who_may_call(_method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/certificate-authority")?;
    Some(match op {
        "/echo" | "/checkCertificate" => "any system of the cloud.",
        "/sign" | "/checkTrustedKey" => {
            "the sysop, the Onboarding Controller, the Device Registry, the System Registry."
        }
        p if p.starts_with("/mgmt") => "the sysop.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    fn caller(name: &str) -> Caller {
        Caller::classify(
            SystemIdentity::from_cn(&format!("{name}.testcloud2.aitia.arrowhead.eu"))
                .unwrap_or_else(|| panic!("{name}")),
        )
    }

    #[test]
    fn access_matrix() {
        use Endpoint::*;
        let table: &[(&str, Endpoint, bool)] = &[
            ("client", Open, true),
            ("client", Onboarding, false),
            ("client", Mgmt, false),
            ("sysop", Onboarding, true),
            ("sysop", Mgmt, true),
            ("onboardingcontroller", Onboarding, true),
            ("onboarding_controller", Onboarding, true),
            ("deviceregistry", Onboarding, true),
            ("systemregistry", Onboarding, true),
            ("system_registry", Onboarding, true),
            ("onboardingcontroller", Mgmt, false),
            ("deviceregistry", Mgmt, false),
            ("orchestrator", Onboarding, false),
            ("serviceregistry", Onboarding, false),
            // Look-alikes are application systems.
            ("onboardingcontrolIer", Onboarding, false),
            ("sys0p", Mgmt, false),
        ];
        for (name, endpoint, allowed) in table {
            assert_eq!(
                check(&caller(name), *endpoint, "/certificate-authority/x").is_ok(),
                *allowed,
                "{name} {endpoint:?}"
            );
        }
        assert!(check(&Caller::Insecure, Endpoint::Mgmt, "/x").is_ok());
    }
}
