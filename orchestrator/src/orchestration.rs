//! The orchestration process (Java `OrchestratorService` and `OrchestratorDriver`): which
//! providers a consumer should use. Store-based by default (the operator's rules, walked in
//! priority order), dynamic with `overrideStore` (whatever the Service Registry offers). Both
//! keep only what the Authorization system allows, attach tokens for TOKEN-secured providers and
//! warn about validity. The registry, the intra-cloud rules and the store are read from the
//! shared database through [`crate::reads`] (the registry's own query code and the
//! Authorization system's rule check, with the same errors), or, when the database account may
//! not read them, asked over HTTPS so their errors reach the consumer unchanged. Tokens always
//! come from the Authorization system, which alone holds the signing key.

use crate::store::{self, Entry, Provider};
use common::db::{self, DbPool};
use common::dto::gatekeeper::{GsdQueryForm, GsdQueryResult, IcnRequestForm, IcnResult};
use common::dto::{
    parse_instant, CloudRequest, IdIdList, IntraCloudCheckRequest, IntraCloudCheckResponse,
    ServiceQueryForm, ServiceRegistryResponse, SystemRequest, SystemResponse,
    TokenGenerationProvider, TokenGenerationRequest, TokenGenerationResponse,
};
use common::names::{normalize_interface, normalize_name};
use common::registration::{Locator, Registrar};
use common::ArrowheadError;
use std::collections::BTreeMap;
use std::time::Duration;

pub const ORCHESTRATION: &str = "/orchestrator/orchestration";

pub use common::dto::orchestrator::{
    FlagsDoc, OrchestrationForm, OrchestrationResponse, OrchestrationResult, PreferredProvider,
};

/// The flags of a request (Java `OrchestrationFlags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub matchmaking: bool,
    pub metadata_search: bool,
    pub only_preferred: bool,
    pub ping_providers: bool,
    pub override_store: bool,
    pub trigger_inter_cloud: bool,
    pub external_service_request: bool,
    pub enable_inter_cloud: bool,
    pub enable_qos: bool,
    pub only_ip_address_response: bool,
    pub only_ipv4_address_response: bool,
    pub only_ipv6_address_response: bool,
}

/// The flag names Java knows (`OrchestrationFlags`); any other name is ignored.
pub const FLAG_NAMES: [&str; 12] = [
    "matchmaking",
    "metadataSearch",
    "onlyPreferred",
    "pingProviders",
    "overrideStore",
    "triggerInterCloud",
    "externalServiceRequest",
    "enableInterCloud",
    "enableQoS",
    "onlyIPAddressResponse",
    "onlyIPv4AddressResponse",
    "onlyIPv6AddressResponse",
];

impl Flags {
    /// Flag names in the form that are no flag (case matters, as in Java): ignored, and worth
    /// telling the operator about, since a misspelt `overridestore` silently changes the answer.
    pub fn unknown(form: &OrchestrationForm) -> Vec<String> {
        form.orchestration_flags
            .iter()
            .flat_map(|f| f.keys())
            .filter(|k| !FLAG_NAMES.contains(&k.as_str()))
            .cloned()
            .collect()
    }

    /// All twelve flags by their Java names (the negotiation flags sent to another cloud).
    pub fn to_map(self) -> BTreeMap<String, Option<bool>> {
        let values = [
            self.matchmaking,
            self.metadata_search,
            self.only_preferred,
            self.ping_providers,
            self.override_store,
            self.trigger_inter_cloud,
            self.external_service_request,
            self.enable_inter_cloud,
            self.enable_qos,
            self.only_ip_address_response,
            self.only_ipv4_address_response,
            self.only_ipv6_address_response,
        ];
        FLAG_NAMES
            .iter()
            .zip(values)
            .map(|(n, v)| ((*n).to_owned(), Some(v)))
            .collect()
    }

    pub fn of(form: &OrchestrationForm) -> Self {
        let on = |name: &str| {
            form.orchestration_flags
                .as_ref()
                .and_then(|f| f.get(name).copied().flatten())
                .unwrap_or(false)
        };
        Self {
            matchmaking: on("matchmaking"),
            metadata_search: on("metadataSearch"),
            only_preferred: on("onlyPreferred"),
            ping_providers: on("pingProviders"),
            override_store: on("overrideStore"),
            trigger_inter_cloud: on("triggerInterCloud"),
            external_service_request: on("externalServiceRequest"),
            enable_inter_cloud: on("enableInterCloud"),
            enable_qos: on("enableQoS"),
            only_ip_address_response: on("onlyIPAddressResponse"),
            only_ipv4_address_response: on("onlyIPv4AddressResponse"),
            only_ipv6_address_response: on("onlyIPv6AddressResponse"),
        }
    }
}

/// A system as (name, address, port), normalized as the registry stores it.
type SystemKey = (String, String, i32);

/// A validated orchestration request.
#[derive(Debug, Clone)]
pub struct Request {
    pub requester: SystemRequest,
    pub requester_key: SystemKey,
    pub requester_cloud: Option<CloudRequest>,
    pub service: Option<ServiceQueryForm>,
    pub flags: Flags,
    /// Preferred providers of this cloud.
    pub preferred: Vec<SystemKey>,
    /// Preferred providers of other clouds ("global" ones), with their clouds.
    pub global_preferred: Vec<(SystemRequest, CloudRequest)>,
}

fn bad(message: impl Into<String>) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(ORCHESTRATION)
}

fn system_key(s: &SystemRequest, what: &str) -> Result<SystemKey, ArrowheadError> {
    s.key(what, ORCHESTRATION)
}

impl Request {
    /// Java `OrchestratorController.checkOrchestratorFormRequestDTO` and the service's checks.
    pub fn validate(form: &OrchestrationForm) -> Result<Self, ArrowheadError> {
        let flags = Flags::of(form);
        let requester = form
            .requester_system
            .clone()
            .ok_or_else(|| bad("Requester system is null."))?;
        let requester_key = system_key(&requester, "Requester")?;
        let service = form.requested_service.clone();
        if service.is_none() && (flags.override_store || flags.trigger_inter_cloud) {
            return Err(bad(
                "Requested service can not be null when \"overrideStore\" or \"triggerInterCloud\" is TRUE",
            ));
        }
        if let Some(s) = &service {
            if s.service_definition_requirement
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
            {
                return Err(bad(
                    "Requested service definition requirement is null or blank",
                ));
            }
        }
        let mut preferred = Vec::new();
        let mut global_preferred = Vec::new();
        for p in form.preferred_providers.iter().flatten() {
            let Some(system) = &p.provider_system else {
                continue;
            };
            match &p.provider_cloud {
                None => preferred.push(system_key(system, "Preferred provider")?),
                Some(cloud) => {
                    system_key(system, "Preferred provider")?;
                    global_preferred.push((system.clone(), cloud.clone()));
                }
            }
        }
        if flags.only_preferred && preferred.is_empty() {
            return Err(bad(
                "There is no valid preferred provider, but \"onlyPreferred\" is set to true",
            ));
        }
        Ok(Self {
            requester,
            requester_key,
            requester_cloud: form.requester_cloud.clone(),
            service,
            flags,
            preferred,
            global_preferred,
        })
    }
}

/// Settings of the process (Java properties).
#[derive(Debug, Clone)]
pub struct Policy {
    /// `gatekeeper_is_present`: other clouds are asked through the Gatekeeper
    /// (`triggerInterCloud`, `enableInterCloud`, foreign store entries), and the Gatekeeper's
    /// `externalServiceRequest`s are served.
    pub gatekeeper_is_present: bool,
    /// Token lifetime in seconds (`auth_token_ttl_in_minutes` × 60); `None`: tokens never expire.
    pub token_lifetime: Option<Duration>,
    /// `TTL_EXPIRING` is given when less than this is left of a registration.
    pub expiring_window: Duration,
}

/// Runs orchestrations against the registry and the Authorization system.
pub struct Orchestrator {
    pub pool: DbPool,
    pub registrar: Registrar,
    pub locator: Locator,
    pub policy: Policy,
    /// Direct database reads (`None`: over HTTPS through the registry and Authorization).
    pub reads: Option<std::sync::Arc<crate::reads::Reads>>,
}

/// How one orchestration reads the registry, the rules and the store.
enum View<'a> {
    Https,
    Direct(crate::reads::Snapshot<'a>),
}

const AUTH_INTRA: &str = "authorization-control-intra";
const TOKEN_GENERATION: &str = "token-generation";
const GSD: &str = "global-service-discovery";
const ICN: &str = "inter-cloud-negotiations";

/// Warnings of results that come from another cloud (Java's names).
pub const FROM_OTHER_CLOUD: &str = "FROM_OTHER_CLOUD";

fn no_gatekeeper() -> ArrowheadError {
    bad("Inter-cloud orchestration is not possible: this cloud runs without a Gatekeeper (gatekeeper_is_present=false).")
}

impl Orchestrator {
    /// `POST /orchestration`: dispatch by flags as Java does. `check_auth` is false only for
    /// `orchestration-by-proxy`.
    pub async fn orchestrate(
        &self,
        request: &Request,
        check_auth: bool,
    ) -> Result<OrchestrationResponse, ArrowheadError> {
        let flags = request.flags;
        let gatekeeper = self.policy.gatekeeper_is_present;
        if flags.external_service_request {
            if !gatekeeper {
                return Err(bad(
                    "External service request can not be served. Orchestrator runs in NO GATEKEEPER mode.",
                ));
            }
            let view = self.view().await?;
            return Ok(OrchestrationResponse {
                response: self.external(&view, request).await?,
            });
        }
        if flags.trigger_inter_cloud {
            if !gatekeeper {
                return Err(bad(
                    "Forced inter cloud service request can not be served. Orchestrator runs in NO GATEKEEPER mode.",
                ));
            }
            return Ok(OrchestrationResponse {
                response: self.inter_cloud(request).await?,
            });
        }
        let view = self.view().await?;
        let response = if flags.override_store {
            self.dynamic(&view, request, check_auth).await?
        } else {
            self.store_based(&view, request, check_auth).await?
        };
        Ok(OrchestrationResponse { response })
    }

    /// Dynamic orchestration: everything the registry offers that the consumer may use.
    async fn dynamic(
        &self,
        view: &View<'_>,
        request: &Request,
        check_auth: bool,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let flags = request.flags;
        let form = request
            .service
            .as_ref()
            .ok_or_else(|| bad("Requested service is null."))?;
        let found = self.query(view, form, flags).await?;
        let mut entries = if check_auth {
            self.authorized(view, request, found).await?
        } else {
            found
        };
        if flags.only_preferred {
            entries.retain(|e| request.preferred.contains(&provider_key(&e.provider)));
        }
        if entries.is_empty() {
            if flags.enable_inter_cloud {
                if !self.policy.gatekeeper_is_present {
                    return Err(no_gatekeeper());
                }
                return self.inter_cloud(request).await;
            }
            return Ok(Vec::new());
        }
        if flags.matchmaking {
            entries = vec![pick(entries, &request.preferred)];
        }
        self.compile(view, request, entries).await
    }

    /// A request of another cloud's consumer, passed on by our Gatekeeper (Java
    /// `externalServiceRequest`): what the registry offers, without the intra-cloud check (the
    /// Gatekeeper applies the inter-cloud rules), with tokens minted for the foreign consumer.
    async fn external(
        &self,
        view: &View<'_>,
        request: &Request,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let flags = request.flags;
        let form = request
            .service
            .as_ref()
            .ok_or_else(|| bad("Requested service is null."))?;
        let mut entries = self.query(view, form, flags).await?;
        if flags.only_preferred {
            entries.retain(|e| request.preferred.contains(&provider_key(&e.provider)));
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        if flags.matchmaking {
            entries = vec![pick(entries, &request.preferred)];
        }
        self.compile(view, request, entries).await
    }

    /// A store entry naming another cloud's provider (Java): no discovery, negotiation with
    /// that cloud for that provider only, matchmaking forced.
    async fn foreign_entry(
        &self,
        request: &Request,
        form: &ServiceQueryForm,
        foreign_id: i64,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let found = db::run(&self.pool, move |c| {
            Ok(store::foreign_provider(c, foreign_id)?)
        })
        .await?;
        let Some((system, cloud)) = found else {
            return Ok(Vec::new());
        };
        let stored = SystemRequest {
            system_name: Some(system.system_name.clone()),
            address: Some(system.address.clone()),
            port: Some(i64::from(system.port)),
            authentication_info: system.authentication_info.clone(),
            metadata: None,
        };
        let mut flags = request.flags;
        flags.matchmaking = true;
        let icn = IcnRequestForm {
            requested_service: Some(form.clone()),
            target_cloud_id: Some(cloud.id),
            requester_system: Some(request.requester.clone()),
            preferred_systems: Some(vec![stored.clone()]),
            preferred_gateway_relays: Some(Vec::new()),
            negotiation_flags: Some(flags.to_map()),
            commands: Some(BTreeMap::new()),
        };
        let answer: IcnResult = self.locator.post(ICN, &icn).await?;
        let mut results = answer.response;
        for r in &mut results {
            r.warnings.push(FROM_OTHER_CLOUD.into());
        }
        // The stored provider only (the other cloud's matchmaking prefers it, but may offer
        // another when it is gone).
        results.retain(|r| stored.names(&r.provider));
        Ok(results)
    }

    /// Asks other clouds through the Gatekeeper: discovery (GSD), one cloud chosen (a preferred
    /// one first), negotiation (ICN) with it. The tokens in the answer were minted there.
    async fn inter_cloud(
        &self,
        request: &Request,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let flags = request.flags;
        let form = request
            .service
            .clone()
            .ok_or_else(|| bad("Requested service is null."))?;
        let mut preferred_clouds: Vec<CloudRequest> = Vec::new();
        for (_, cloud) in &request.global_preferred {
            if !preferred_clouds.iter().any(|c| same_cloud(c, cloud)) {
                preferred_clouds.push(cloud.clone());
            }
        }
        let gsd = GsdQueryForm {
            requested_service: Some(form.clone()),
            preferred_clouds: Some(preferred_clouds.clone()),
            need_qo_s_measurements: flags.enable_qos,
        };
        let found: GsdQueryResult = self.locator.post(GSD, &gsd).await?;
        let chosen = preferred_clouds
            .iter()
            .find_map(|p| {
                found.results.iter().find(|r| {
                    r.provider_cloud
                        .as_ref()
                        .is_some_and(|c| same_cloud_response(p, c))
                })
            })
            .or_else(|| {
                (!flags.only_preferred)
                    .then(|| found.results.first())
                    .flatten()
            });
        let Some(cloud) = chosen.and_then(|r| r.provider_cloud.clone()) else {
            return Ok(Vec::new());
        };
        let preferred_systems: Vec<SystemRequest> = request
            .global_preferred
            .iter()
            .filter(|(_, c)| same_cloud_response(c, &cloud))
            .map(|(s, _)| s.clone())
            .collect();
        let icn = IcnRequestForm {
            requested_service: Some(form),
            target_cloud_id: Some(cloud.id),
            requester_system: Some(request.requester.clone()),
            preferred_systems: Some(preferred_systems.clone()),
            preferred_gateway_relays: Some(Vec::new()),
            negotiation_flags: Some(flags.to_map()),
            commands: Some(BTreeMap::new()),
        };
        let answer: IcnResult = self.locator.post(ICN, &icn).await?;
        let mut results = answer.response;
        for r in &mut results {
            r.warnings.push(FROM_OTHER_CLOUD.into());
        }
        if flags.matchmaking && !results.is_empty() {
            let preferred = results
                .iter()
                .position(|r| preferred_systems.iter().any(|s| s.names(&r.provider)));
            results = match preferred {
                Some(i) => vec![results.swap_remove(i)],
                None if flags.only_preferred => Vec::new(),
                None => vec![results.swap_remove(0)],
            };
        }
        Ok(results)
    }

    /// Asks the registry with the request's form as the flags shape it.
    async fn query(
        &self,
        view: &View<'_>,
        form: &ServiceQueryForm,
        flags: Flags,
    ) -> Result<Vec<ServiceRegistryResponse>, ArrowheadError> {
        let mut form = form.clone();
        form.ping_providers = flags.ping_providers;
        if !flags.metadata_search {
            form.metadata_requirements = None;
        }
        if flags.only_ipv4_address_response {
            form.provider_address_type_requirements = Some(vec!["IPV4".into()]);
        } else if flags.only_ipv6_address_response {
            form.provider_address_type_requirements = Some(vec!["IPV6".into()]);
        } else if flags.only_ip_address_response {
            form.provider_address_type_requirements = Some(vec!["IPV4".into(), "IPV6".into()]);
        }
        match view {
            // Only the registry pings providers.
            View::Direct(snapshot) if !form.ping_providers => snapshot.query(&form).await,
            _ => Ok(self.registrar.query_form(&form).await?.service_query_data),
        }
    }

    /// How this orchestration reads: one snapshot (a coalesced generation read) for all of it.
    async fn view(&self) -> Result<View<'_>, ArrowheadError> {
        Ok(match &self.reads {
            Some(reads) => View::Direct(reads.snapshot().await?),
            None => View::Https,
        })
    }

    /// Keeps the entries (and interfaces) the Authorization system allows the requester.
    async fn authorized(
        &self,
        view: &View<'_>,
        request: &Request,
        found: Vec<ServiceRegistryResponse>,
    ) -> Result<Vec<ServiceRegistryResponse>, ArrowheadError> {
        let Some(first) = found.first() else {
            return Ok(found);
        };
        if let View::Direct(snapshot) = view {
            let allowed = snapshot
                .allowed(&request.requester_key, first.service_definition.id)
                .await?;
            return Ok(common::dto::keep_allowed(found, &allowed));
        }
        let offered = IdIdList::offered(
            found
                .iter()
                .map(|e| (e.provider.id, e.interfaces.iter().map(|i| i.id).collect())),
        );
        let check = IntraCloudCheckRequest {
            consumer: Some(request.requester.clone()),
            service_definition_id: Some(first.service_definition.id),
            provider_ids_with_interface_ids: Some(offered),
        };
        let answer: IntraCloudCheckResponse = self.locator.post(AUTH_INTRA, &check).await?;
        let allowed = IdIdList::allowed(answer.authorized_provider_ids_with_interface_ids);
        Ok(common::dto::keep_allowed(found, &allowed))
    }

    /// Store orchestration: the requester's rules for the service, best first; the first rule
    /// whose provider is registered and allowed answers. Without a requested service: the
    /// priority-1 rule of every service of the requester.
    async fn store_based(
        &self,
        view: &View<'_>,
        request: &Request,
        check_auth: bool,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let (name, address, port) = request.requester_key.clone();
        let find_consumer = move |c: &mut diesel::MysqlConnection| {
            common::db::models::find_system(c, &name, &address, port)?.ok_or_else(|| {
                ArrowheadError::invalid_parameter(format!(
                    "Consumer system with name: {name}, address: {address}, port: {port} is not registered."
                ))
            })
        };
        let Some(form) = &request.service else {
            let entries = db::run(&self.pool, move |c| {
                let consumer = find_consumer(c)?;
                Ok(store::top_entries_of(c, consumer.id)?)
            })
            .await?;
            return self.top_priority(view, request, entries, check_auth).await;
        };
        let interfaces = form.interface_requirements.as_deref().unwrap_or_default();
        let [interface] = interfaces else {
            return Err(bad(
                "There must be exactly one interface requirement for store-based orchestration.",
            ));
        };
        let definition = normalize_name(
            form.service_definition_requirement
                .as_deref()
                .unwrap_or_default(),
        );
        let interface = normalize_interface(interface);
        let (def, intf) = (definition.clone(), interface.clone());
        let providers = match view {
            View::Direct(snapshot) => {
                let (name, address, port) = &request.requester_key;
                let consumer = snapshot.system(&request.requester_key).await?.ok_or_else(|| {
                    ArrowheadError::invalid_parameter(format!(
                        "Consumer system with name: {name}, address: {address}, port: {port} is not registered."
                    ))
                })?;
                snapshot.store_providers(consumer.id, &def, &intf).await?
            }
            // One trip to the database: the consumer and its rules' providers, best first.
            View::Https => std::sync::Arc::new(
                db::run(&self.pool, move |c| {
                    let consumer = find_consumer(c)?;
                    Ok(store::providers_for(c, consumer.id, &def, &intf)?)
                })
                .await?,
            ),
        };
        if providers.is_empty() {
            return Ok(Vec::new());
        }
        let mut form = form.clone();
        form.service_definition_requirement = Some(definition);
        form.interface_requirements = Some(vec![interface]);
        let found = self.query(view, &form, request.flags).await?;
        let found = if check_auth {
            self.authorized(view, request, found).await?
        } else {
            found
        };
        for &(provider, foreign) in providers.iter() {
            if foreign {
                if !self.policy.gatekeeper_is_present {
                    continue; // another cloud's provider: needs the Gatekeeper
                }
                let found = self.foreign_entry(request, &form, provider).await?;
                if !found.is_empty() {
                    return Ok(found);
                }
                continue;
            }
            let chosen = of_local_provider(&found, provider);
            if !chosen.is_empty() {
                return self.compile(view, request, chosen).await;
            }
        }
        Ok(Vec::new())
    }

    /// The priority-1 rule of every service of the requester, each answered like a store
    /// orchestration for that service and interface.
    async fn top_priority(
        &self,
        view: &View<'_>,
        request: &Request,
        entries: Vec<Entry>,
        check_auth: bool,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let mut out = Vec::new();
        for entry in entries {
            let form = ServiceQueryForm {
                service_definition_requirement: Some(entry.definition.service_definition.clone()),
                interface_requirements: Some(vec![entry.interface.interface_name.clone()]),
                ..Default::default()
            };
            if let Provider::Foreign(system, _) = &entry.provider {
                if !self.policy.gatekeeper_is_present {
                    tracing::warn!(
                        entry = entry.row.id,
                        "store entry of another cloud skipped: no Gatekeeper"
                    );
                    continue;
                }
                out.extend(self.foreign_entry(request, &form, system.id).await?);
                continue;
            }
            let found = self.query(view, &form, request.flags).await?;
            let found = if check_auth {
                self.authorized(view, request, found).await?
            } else {
                found
            };
            let chosen = of_provider(&found, &entry);
            out.extend(self.compile(view, request, chosen).await?);
        }
        Ok(out)
    }

    /// `GET /orchestration/{id}`: the priority-1 rules of a consumer given by id.
    pub async fn by_consumer_id(&self, id: i64) -> Result<OrchestrationResponse, ArrowheadError> {
        let (consumer, entries) = db::run(&self.pool, move |c| {
            let consumer = common::db::models::system_by_id(c, id)?.ok_or_else(|| {
                ArrowheadError::invalid_parameter(format!(
                    "Consumer system with id {id} not found."
                ))
            })?;
            Ok((consumer, store::top_entries_of(c, id)?))
        })
        .await?;
        let requester = SystemRequest {
            system_name: Some(consumer.system_name.clone()),
            address: Some(consumer.address.clone()),
            port: Some(i64::from(consumer.port)),
            authentication_info: consumer.authentication_info.clone(),
            metadata: None,
        };
        let request = Request {
            requester,
            requester_key: (consumer.system_name, consumer.address, consumer.port),
            requester_cloud: None,
            service: None,
            flags: Flags::default(),
            preferred: Vec::new(),
            global_preferred: Vec::new(),
        };
        Ok(OrchestrationResponse {
            response: self
                .top_priority(&self.view().await?, &request, entries, true)
                .await?,
        })
    }

    /// Results with warnings, and tokens for the TOKEN-secured ones.
    async fn compile(
        &self,
        view: &View<'_>,
        request: &Request,
        entries: Vec<ServiceRegistryResponse>,
    ) -> Result<Vec<OrchestrationResult>, ArrowheadError> {
        let now = chrono::Utc::now().naive_utc();
        let mut results: Vec<OrchestrationResult> = entries
            .into_iter()
            .map(|e| OrchestrationResult {
                warnings: warnings(
                    e.end_of_validity.as_deref(),
                    now,
                    self.policy.expiring_window,
                ),
                provider: e.provider,
                service: e.service_definition,
                service_uri: e.service_uri,
                secure: e.secure,
                metadata: e.metadata.unwrap_or_default(),
                interfaces: e.interfaces,
                version: e.version,
                authorization_tokens: None,
            })
            .collect();
        self.attach_tokens(view, request, &mut results).await?;
        Ok(results)
    }

    /// One token request per service definition, covering its TOKEN-secured results.
    async fn attach_tokens(
        &self,
        view: &View<'_>,
        request: &Request,
        results: &mut [OrchestrationResult],
    ) -> Result<(), ArrowheadError> {
        let mut services: Vec<String> = results
            .iter()
            .filter(|r| r.secure == "TOKEN")
            .map(|r| r.service.service_definition.clone())
            .collect();
        services.sort();
        services.dedup();
        if services.is_empty() {
            return Ok(());
        }
        // A local consumer's cloud is the own cloud; named here when the direct reads know it
        // (from the same snapshot), which spares the Authorization system its database read.
        let consumer_cloud = match (&request.requester_cloud, view) {
            (Some(cloud), _) => Some(cloud.clone()),
            (None, View::Direct(snapshot)) => {
                snapshot
                    .own_cloud()
                    .await?
                    .map(|(name, operator)| CloudRequest {
                        operator: Some(operator),
                        name: Some(name),
                        ..CloudRequest::default()
                    })
            }
            (None, View::Https) => None,
        };
        let duration = self
            .policy
            .token_lifetime
            .map_or(-1, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        for service in services {
            let providers = results
                .iter()
                .filter(|r| r.secure == "TOKEN" && r.service.service_definition == service)
                .map(|r| TokenGenerationProvider {
                    provider: Some(SystemRequest {
                        system_name: Some(r.provider.system_name.clone()),
                        address: Some(r.provider.address.clone()),
                        port: Some(i64::from(r.provider.port)),
                        authentication_info: r.provider.authentication_info.clone(),
                        metadata: None,
                    }),
                    service_interfaces: Some(
                        r.interfaces
                            .iter()
                            .map(|i| i.interface_name.clone())
                            .collect(),
                    ),
                    token_duration: Some(duration),
                })
                .collect();
            let token_request = TokenGenerationRequest {
                consumer: Some(request.requester.clone()),
                consumer_cloud: consumer_cloud.clone(),
                providers: Some(providers),
                service: Some(service.clone()),
            };
            let answer: TokenGenerationResponse =
                self.locator.post(TOKEN_GENERATION, &token_request).await?;
            for data in answer.token_data {
                for r in results.iter_mut().filter(|r| {
                    r.secure == "TOKEN"
                        && r.service.service_definition == service
                        && r.provider.system_name == data.provider_name
                        && r.provider.address == data.provider_address
                        && r.provider.port == data.provider_port
                }) {
                    r.authorization_tokens = Some(data.tokens.clone());
                }
            }
        }
        Ok(())
    }
}

fn same_cloud(a: &CloudRequest, b: &CloudRequest) -> bool {
    let norm = |s: &Option<String>| s.as_deref().unwrap_or_default().trim().to_lowercase();
    norm(&a.operator) == norm(&b.operator) && norm(&a.name) == norm(&b.name)
}

fn same_cloud_response(a: &CloudRequest, b: &common::dto::CloudResponse) -> bool {
    let norm = |s: &Option<String>| s.as_deref().unwrap_or_default().trim().to_lowercase();
    norm(&a.operator) == b.operator.to_lowercase() && norm(&a.name) == b.name.to_lowercase()
}

fn provider_key(p: &SystemResponse) -> SystemKey {
    (p.system_name.to_lowercase(), p.address.clone(), p.port)
}

/// The registry entries of a local store rule's provider.
fn of_provider(found: &[ServiceRegistryResponse], entry: &Entry) -> Vec<ServiceRegistryResponse> {
    match &entry.provider {
        Provider::Local(p) => of_local_provider(found, p.id),
        Provider::Foreign(..) => Vec::new(),
    }
}

fn of_local_provider(
    found: &[ServiceRegistryResponse],
    provider_id: i64,
) -> Vec<ServiceRegistryResponse> {
    found
        .iter()
        .filter(|e| e.provider.id == provider_id)
        .cloned()
        .collect()
}

/// Matchmaking (Java `RandomIntraCloudProviderMatchmaker`): the first entry of a preferred
/// provider, else a random one.
fn pick(
    mut entries: Vec<ServiceRegistryResponse>,
    preferred: &[SystemKey],
) -> ServiceRegistryResponse {
    if let Some(i) = entries
        .iter()
        .position(|e| preferred.contains(&provider_key(&e.provider)))
    {
        return entries.swap_remove(i);
    }
    let mut bytes = [0u8; 8];
    let r = match openssl::rand::rand_bytes(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => 0,
    };
    let i = usize::try_from(r % entries.len() as u64).unwrap_or(0);
    entries.swap_remove(i)
}

/// Validity warnings of a registry entry: `TTL_UNKNOWN` without an end of validity,
/// `TTL_EXPIRED` past it, `TTL_EXPIRING` when less than `window` is left. (Java means the
/// last one but compares the wrong way round, so it never appears there.)
pub fn warnings(
    end_of_validity: Option<&str>,
    now: chrono::NaiveDateTime,
    window: Duration,
) -> Vec<String> {
    let Some(end) = end_of_validity.and_then(parse_instant) else {
        return vec!["TTL_UNKNOWN".into()];
    };
    if end < now {
        return vec!["TTL_EXPIRED".into()];
    }
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    if end - now < window {
        return vec!["TTL_EXPIRING".into()];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_follow_the_end_of_validity() {
        let now = parse_instant("2030-01-01T12:00:00Z").unwrap();
        let w = Duration::from_secs(120);
        assert_eq!(warnings(None, now, w), ["TTL_UNKNOWN"]);
        assert_eq!(warnings(Some("garbage"), now, w), ["TTL_UNKNOWN"]);
        assert_eq!(
            warnings(Some("2030-01-01T11:59:59Z"), now, w),
            ["TTL_EXPIRED"]
        );
        assert_eq!(
            warnings(Some("2030-01-01T12:01:59Z"), now, w),
            ["TTL_EXPIRING"]
        );
        assert!(warnings(Some("2030-01-01T12:02:00Z"), now, w).is_empty());
        assert!(warnings(Some("2031-01-01T00:00:00Z"), now, w).is_empty());
    }

    #[test]
    fn flags_and_validation() {
        let form: OrchestrationForm = serde_json::from_value(serde_json::json!({
            "requesterSystem": {"systemName": " Consumer ", "address": "127.0.0.1", "port": 5000},
            "orchestrationFlags": {"overrideStore": true, "matchmaking": null, "unknown": true},
            "preferredProviders": [
                {"providerSystem": {"systemName": "p", "address": "10.0.0.1", "port": 1}},
                {"providerSystem": {"systemName": "q", "address": "10.0.0.2", "port": 2},
                 "providerCloud": {"operator": "o", "name": "n"}}
            ]
        }))
        .unwrap();
        let flags = Flags::of(&form);
        assert!(flags.override_store && !flags.matchmaking && !flags.only_preferred);
        assert_eq!(Flags::unknown(&form), ["unknown"]);
        let e = Request::validate(&form).unwrap_err();
        assert_eq!(
            e.message,
            "Requested service can not be null when \"overrideStore\" or \"triggerInterCloud\" is TRUE"
        );
        let mut form = form;
        form.requested_service = Some(ServiceQueryForm {
            service_definition_requirement: Some("x".into()),
            ..Default::default()
        });
        let r = Request::validate(&form).unwrap();
        assert_eq!(
            r.requester_key,
            ("consumer".into(), "127.0.0.1".into(), 5000)
        );
        assert_eq!(
            r.preferred,
            [("p".to_owned(), "10.0.0.1".to_owned(), 1)],
            "local ones only"
        );
        form.preferred_providers = None;
        form.orchestration_flags = Some(BTreeMap::from([("onlyPreferred".to_owned(), Some(true))]));
        assert_eq!(Request::validate(&form).unwrap_err().status().as_u16(), 400);
    }
}
