//! Who may call which Orchestrator endpoint (Java `OrchestratorAccessControlFilter`), as a pure
//! function of the caller, tested as a table. Insecure mode has no access control.

use common::identity::{require_core, require_named, require_sysop, Caller, CoreSystem};
use common::ArrowheadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// Echo and `GET /orchestration/{id}`: any system of the cloud.
    Open,
    Mgmt,
    /// `POST /orchestration` with the body's requester name and `externalServiceRequest` flag.
    Orchestration {
        requester: Option<&'a str>,
        external: bool,
    },
    OrchestrationByProxy,
}

pub fn check(caller: &Caller, endpoint: Endpoint, url: &str) -> Result<(), ArrowheadError> {
    match endpoint {
        Endpoint::Open => Ok(()),
        Endpoint::Mgmt => require_sysop(caller, url),
        Endpoint::OrchestrationByProxy => require_core(caller, &[CoreSystem::Choreographer], url),
        Endpoint::Orchestration { external: true, .. } => {
            require_core(caller, &[CoreSystem::Gatekeeper], url)
        }
        Endpoint::Orchestration {
            requester,
            external: false,
        } => require_named(caller, requester, url),
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document (the rules are
/// [`check`]'s).
pub fn who_may_call(method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/orchestrator")?;
    Some(match (method, op) {
        (_, "/echo" | "/orchestration/{id}") => "any system of the cloud.",
        ("post", "/orchestration") => "any system of the cloud, for itself (`requesterSystem.systemName` must be the caller's name); \
            the Gatekeeper with `externalServiceRequest`.",
        (_, "/orchestration-by-proxy") => "the Choreographer.",
        (_, p) if p.starts_with("/mgmt") => "the sysop.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    #[test]
    fn access_matrix() {
        let who = |n: &str| {
            Caller::classify(SystemIdentity::from_cn(&format!("{n}.c.o.arrowhead.eu")).unwrap())
        };
        let orch = |r: &'static str, external| Endpoint::Orchestration {
            requester: Some(r),
            external,
        };
        use Endpoint::*;
        #[rustfmt::skip]
        let cases = [
            ("consumer", Open, true), ("sysop", Open, true),
            ("sysop", Mgmt, true), ("consumer", Mgmt, false), ("choreographer", Mgmt, false),
            ("consumer", orch("consumer", false), true), ("consumer", orch(" CONSUMER ", false), true),
            ("consumer", orch("provider", false), false), ("sysop", orch("consumer", false), false),
            ("gatekeeper", orch("consumer", true), true), ("consumer", orch("consumer", true), false),
            ("orchestrator", orch("consumer", true), false),
            ("consumer", Orchestration { requester: None, external: false }, true),
            ("choreographer", OrchestrationByProxy, true), ("consumer", OrchestrationByProxy, false),
        ];
        for (name, endpoint, allowed) in cases {
            let got = check(&who(name), endpoint, "u");
            assert_eq!(got.is_ok(), allowed, "{name} -> {endpoint:?}");
            if let Err(e) = got {
                assert_eq!(e.status().as_u16(), 401);
            }
        }
        let e = check(&who("consumer"), orch("provider", false), "u").unwrap_err();
        assert_eq!(
            e.message,
            "Requester system name(provider) and client name from certificate (consumer) do not match!"
        );
        assert!(check(&Caller::Insecure, Mgmt, "u").is_ok());
        assert!(check(&Caller::Insecure, orch("x", true), "u").is_ok());
    }
}
