//! Who may call which Service Registry endpoint (Java `SRAccessControlFilter`). Every decision is
//! a pure function of the caller and the request data it depends on, so the whole matrix is
//! tested as a table. Insecure mode has no access control, as in Java.

use common::core_services;
use common::identity::{require_core, same_system, unauthorized, Caller, CoreSystem};
use common::ArrowheadError;

use CoreSystem::*;

/// Core systems that may query any service definition.
pub const PRIVILEGED_QUERIERS: &[CoreSystem] = &[
    Orchestrator,
    Gatekeeper,
    CertificateAuthority,
    EventHandler,
    Authorization,
    QosMonitor,
    OnboardingController,
    DeviceRegistry,
    SystemRegistry,
    PlantDescriptionEngine,
    Choreographer,
    HawkbitConfigurationManager,
    Mscv,
];

/// The request-specific data some decisions depend on.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    Echo,
    /// `providerSystem.systemName` and `serviceDefinition` of the body.
    Register {
        provider: Option<&'a str>,
        definition: Option<&'a str>,
    },
    /// `system_name` query parameter.
    Unregister {
        system_name: &'a str,
    },
    Query {
        definition: &'a str,
    },
    QueryMulti,
    QuerySystemById,
    QuerySystem,
    QueryAll,
    QueryProvider,
    QueryDefinition,
    RegisterSystem {
        system_name: Option<&'a str>,
    },
    UnregisterSystem {
        system_name: &'a str,
    },
    PullSystems,
    PullConfig,
    Mgmt,
}

/// [`check_at`] for a request. Whether a call is allowed does not depend on its URL, which only
/// goes into a refusal's message: the URL is built for refusals alone, not for every request.
pub fn check(
    caller: &Caller,
    endpoint: Endpoint<'_>,
    req: &actix_web::HttpRequest,
) -> Result<(), ArrowheadError> {
    check_at(caller, endpoint, "")
        .or_else(|_| check_at(caller, endpoint, &common::web::request_url(req)))
}

pub fn check_at(caller: &Caller, endpoint: Endpoint<'_>, url: &str) -> Result<(), ArrowheadError> {
    if matches!(caller, Caller::Insecure) {
        return Ok(());
    }
    let cn_name = caller.system_name().unwrap_or_default();
    let auth = |m: String| Err(ArrowheadError::auth(m).with_origin(url));
    match endpoint {
        Endpoint::Echo => Ok(()),
        Endpoint::Mgmt => common::identity::require_sysop(caller, url),
        Endpoint::Register { provider, definition } => {
            let Some(provider) = provider.filter(|p| !p.trim().is_empty()) else { return Ok(()) };
            // The Translator registers on behalf of other providers (Java), but, like everyone,
            // not core service definitions it does not own (checked below).
            if !same_system(cn_name, "translator") && !same_system(provider, cn_name) {
                return auth(format!(
                    "Provider system name ({}) and certificate common name ({cn_name}) do not match!",
                    provider.trim()
                ));
            }
            // A core service definition, or a look-alike of one (case, accents, underscores),
            // is registered only by its own core system and only under its exact name.
            match definition.and_then(|d| core_services::imitated(d).map(|c| (d, c))) {
                Some((d, core)) => {
                    let exact = d.trim().to_lowercase() == core.definition;
                    let owner = matches!(caller, Caller::Core(c, _) if Some(*c) == core.system);
                    if exact && owner {
                        Ok(())
                    } else {
                        auth(format!("Service definition ({}) is a reserved arrowhead core service definition.", d.trim().to_lowercase()))
                    }
                }
                None => Ok(()),
            }
        }
        Endpoint::Unregister { system_name } => {
            if same_system(system_name, cn_name) {
                Ok(())
            } else {
                auth(format!(
                    "Application system name ({}) and certificate common name ({cn_name}) do not match!",
                    system_name.trim()
                ))
            }
        }
        Endpoint::Query { definition } => match caller {
            Caller::Core(core, _) => {
                let own = core_services::find(definition).and_then(|s| s.system) == Some(*core);
                if PRIVILEGED_QUERIERS.contains(core) || *core == Translator || own {
                    Ok(())
                } else {
                    Err(unauthorized(caller, url))
                }
            }
            _ if definition.trim().is_empty() => auth("Service is not defined.".into()),
            _ if core_services::is_public(definition) => Ok(()),
            _ => auth(format!(
                "Only public core system services are allowed to query directly. Requested service ({}) is not!",
                definition.trim()
            )),
        },
        Endpoint::QueryMulti => require_core(caller, PRIVILEGED_QUERIERS, url),
        Endpoint::QuerySystemById => require_core(caller, &[Orchestrator], url),
        Endpoint::QuerySystem => require_core(caller, &[Orchestrator, Choreographer], url),
        Endpoint::QueryProvider | Endpoint::QueryDefinition => require_core(caller, &[Choreographer], url),
        Endpoint::QueryAll => require_core(caller, &[QosMonitor, Gatekeeper], url),
        Endpoint::PullSystems => require_core(caller, &[PlantDescriptionEngine], url),
        Endpoint::PullConfig => match caller {
            Caller::Core(..) => Ok(()),
            _ => Err(unauthorized(caller, url)),
        },
        Endpoint::RegisterSystem { system_name } => match caller {
            Caller::Core(..) => require_core(caller, &[PlantDescriptionEngine, Choreographer], url),
            _ => match system_name.filter(|n| !n.trim().is_empty()) {
                None => Ok(()),
                Some(n) if same_system(n, cn_name) => Ok(()),
                Some(n) => auth(format!("System name ({}) and certificate common name ({cn_name}) do not match!", n.trim())),
            },
        },
        Endpoint::UnregisterSystem { system_name } => match caller {
            Caller::Core(..) => require_core(caller, &[PlantDescriptionEngine, Choreographer], url),
            _ if same_system(system_name, cn_name) => Ok(()),
            _ => auth(format!("System name ({}) and certificate common name ({cn_name}) do not match!", system_name.trim())),
        },
    }
}

/// Who may call each documented operation, in words, for the OpenAPI document (the rules are
/// [`check`]'s).
pub fn who_may_call(method: &str, path: &str) -> Option<&'static str> {
    let op = path.strip_prefix("/serviceregistry")?;
    Some(match (method, op) {
        (_, "/echo") => "any system of the cloud.",
        ("post", "/register") => "any system of the cloud, for its own services (the provider's name must be the caller's); \
            core service definitions only by the core system that owns them.",
        ("delete", "/unregister") => "any system of the cloud, for its own services.",
        ("post", "/query") => "core systems for any service; other systems only for public core services \
            (application systems find providers through the Orchestrator).",
        ("post", "/query/multi") => "core systems (Orchestrator, Gatekeeper, Event Handler, Authorization, ...).",
        ("get", "/query/system/{id}") => "the Orchestrator.",
        ("post", "/query/system") => "the Orchestrator, the Choreographer.",
        ("get", "/query/all") => "the QoS Monitor, the Gatekeeper.",
        ("post", "/query/provider/{id}" | "/query/definition") | ("get", "/query/provider/{id}") => "the Choreographer.",
        ("post", "/register-system") => "any system of the cloud, for itself; the Plant Description Engine and the Choreographer for any.",
        ("delete", "/unregister-system") => "any system of the cloud, for itself; the Plant Description Engine and the Choreographer for any.",
        ("get", "/pull-systems") => "the Plant Description Engine.",
        ("get", "/pull-config") => "core systems.",
        (_, p) if p.starts_with("/mgmt") => "the sysop.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::identity::SystemIdentity;

    fn caller(name: &str) -> Caller {
        Caller::classify(
            SystemIdentity::from_cn(&format!("{name}.testcloud2.aitia.arrowhead.eu")).unwrap(),
        )
    }

    #[test]
    fn access_matrix() {
        use Endpoint as E;
        let reg = |p: &'static str, d: &'static str| E::Register {
            provider: Some(p),
            definition: Some(d),
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, Endpoint, bool)> = vec![
            ("client", E::Echo, true),
            ("sysop", E::Mgmt, true),
            ("client", E::Mgmt, false),
            ("orchestrator", E::Mgmt, false),
            ("provider", reg("provider", "temperature"), true),
            ("provider", reg("PROVIDER", "temperature"), true),
            ("provider", reg("other", "temperature"), false),
            ("provider", reg("provider", "orchestration-service"), false),
            ("sysop", reg("provider", "temperature"), false),
            ("orchestrator", reg("orchestrator", "orchestration-service"), true),
            ("event_handler", reg("eventhandler", "event-publish"), true),
            // Core definitions and their look-alikes: only the owner, only the exact name.
            ("provider", reg("provider", "authorizatión-control-intra"), false),
            ("provider", reg("provider", "Authorization-Control-Intra"), false),
            ("provider", reg("provider", "authorization_control_intra"), false),
            ("orchestrator", reg("orchestrator", "authorization-control-intra"), false),
            ("authorization", reg("authorization", "authorization-control-intra"), true),
            ("authorization", reg("authorization", "authorization_control_intra"), false),
            ("authorization", reg("authorization", "Authorization-Control-Intra"), true),
            ("translator", reg("anything", "temperature"), true),
            ("translator", reg("authorization", "authorization-control-intra"), false),
            ("translator", reg("anything", "authorizatión-control-intra"), false),
            ("translator", reg("translator", "translation-service"), true),
            ("provider", E::Register { provider: None, definition: None }, true),
            ("provider", E::Unregister { system_name: "provider" }, true),
            ("provider", E::Unregister { system_name: "other" }, false),
            ("client", E::Query { definition: "orchestration-service" }, true),
            ("client", E::Query { definition: "event-subscribe" }, true),
            ("client", E::Query { definition: "temperature" }, false),
            ("client", E::Query { definition: "service-register" }, false),
            ("client", E::Query { definition: "" }, false),
            ("sysop", E::Query { definition: "temperature" }, false),
            ("orchestrator", E::Query { definition: "temperature" }, true),
            ("gatekeeper", E::Query { definition: "temperature" }, true),
            ("eventhandler", E::Query { definition: "temperature" }, true),
            ("gateway", E::Query { definition: "temperature" }, false),
            ("gateway", E::Query { definition: "gw-public-key" }, true),
            ("orchestrator", E::QueryMulti, true),
            ("client", E::QueryMulti, false),
            ("gateway", E::QueryMulti, false),
            ("orchestrator", E::QuerySystemById, true),
            ("gatekeeper", E::QuerySystemById, false),
            ("client", E::QuerySystemById, false),
            ("orchestrator", E::QuerySystem, true),
            ("choreographer", E::QuerySystem, true),
            ("authorization", E::QuerySystem, false),
            ("choreographer", E::QueryProvider, true),
            ("orchestrator", E::QueryProvider, false),
            ("choreographer", E::QueryDefinition, true),
            ("client", E::QueryDefinition, false),
            ("gatekeeper", E::QueryAll, true),
            ("qosmonitor", E::QueryAll, true),
            ("qos_monitor", E::QueryAll, true),
            ("orchestrator", E::QueryAll, false),
            ("plantdescriptionengine", E::PullSystems, true),
            ("sysop", E::PullSystems, false),
            ("authorization", E::PullConfig, true),
            ("client", E::PullConfig, false),
            ("client", E::RegisterSystem { system_name: Some("client") }, true),
            ("client", E::RegisterSystem { system_name: Some("other") }, false),
            ("choreographer", E::RegisterSystem { system_name: Some("other") }, true),
            ("orchestrator", E::RegisterSystem { system_name: Some("orchestrator") }, false),
            ("client", E::UnregisterSystem { system_name: "client" }, true),
            ("client", E::UnregisterSystem { system_name: "x" }, false),
            ("plantdescriptionengine", E::UnregisterSystem { system_name: "x" }, true),
        ];
        for (who, endpoint, allowed) in cases {
            let got = check_at(
                &caller(who),
                endpoint,
                "https://localhost:8443/serviceregistry/x",
            );
            assert_eq!(got.is_ok(), allowed, "{who} -> {endpoint:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.status().as_u16(), 401);
                assert_eq!(
                    e.origin.as_deref(),
                    Some("https://localhost:8443/serviceregistry/x")
                );
            }
        }
    }

    #[test]
    fn insecure_mode_allows_everything() {
        for e in [
            Endpoint::Mgmt,
            Endpoint::QueryAll,
            Endpoint::Query {
                definition: "temperature",
            },
        ] {
            assert!(check_at(&Caller::Insecure, e, "u").is_ok());
        }
    }

    /// The request form decides without the URL, then builds it for the refusal only: the
    /// refusal must still name and carry the requested URL.
    #[test]
    fn a_refusal_of_a_request_names_its_url() {
        let req = actix_web::test::TestRequest::get()
            .uri("/serviceregistry/mgmt")
            .to_http_request();
        let e = check(&caller("client"), Endpoint::Mgmt, &req).unwrap_err();
        let url = common::web::request_url(&req);
        assert!(url.ends_with("/serviceregistry/mgmt"), "{url}");
        assert_eq!(
            e.message,
            format!("client.testcloud2.aitia.arrowhead.eu is unauthorized to access {url}")
        );
        assert_eq!(e.origin.as_deref(), Some(url.as_str()));
        assert!(check(&caller("sysop"), Endpoint::Mgmt, &req).is_ok());
        // Look-alikes of the sysop are refused through the request form too, with the URL.
        for hostile in ["sys_op", "sysöp", "sysop1", "xsysop"] {
            let e = check(&caller(hostile), Endpoint::Mgmt, &req).unwrap_err();
            assert_eq!(e.status().as_u16(), 401, "{hostile}");
            assert_eq!(e.origin.as_deref(), Some(url.as_str()), "{hostile}");
        }
    }

    #[test]
    fn denial_messages_follow_java() {
        let e = check_at(
            &caller("provider"),
            Endpoint::Register {
                provider: Some("other"),
                definition: None,
            },
            "u",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Provider system name (other) and certificate common name (provider) do not match!"
        );
        let e = check_at(
            &caller("client"),
            Endpoint::Query {
                definition: "temperature",
            },
            "u",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Only public core system services are allowed to query directly. Requested service (temperature) is not!"
        );
        let e = check_at(&caller("client"), Endpoint::Mgmt, "u").unwrap_err();
        assert_eq!(
            e.message,
            "client.testcloud2.aitia.arrowhead.eu is unauthorized to access u"
        );
    }
}
