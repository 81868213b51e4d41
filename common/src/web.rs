//! HTTP plumbing every core system shares: the mutual-TLS (or loudly insecure) listener, the
//! per-connection peer identity and the [`Caller`] extractor, Arrowhead error JSON for every
//! framework-level failure (bad JSON, bad query or path parameters, unknown route, wrong method,
//! empty POST body), Java's trailing-slash tolerance, one log line per request, Swagger UI at the
//! root, and graceful shutdown.

use crate::error::ArrowheadError;
use crate::identity::{authenticate, Caller, SystemIdentity};
use crate::peer::{judge_chain, Anchors, Refusal};
use crate::tls::TlsContext;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, FromRequest, HttpRequest, HttpResponse, HttpServer};
use futures_util::future::{ready, Ready};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa_swagger_ui::SwaggerUi;

/// Who the client of a TLS connection is, judged once per connection by [`peer_identity`].
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub Result<SystemIdentity, Refusal>);

/// Judges the client of a freshly accepted TLS connection from the chain OpenSSL verified
/// (never from certificates the client merely appended). A resumed session has no verified
/// chain, so its stored certificates are verified again against the same anchors.
pub fn peer_identity(ssl: &openssl::ssl::SslRef, anchors: &Anchors) -> PeerIdentity {
    let judged = match ssl.verified_chain() {
        Some(chain) if !chain.is_empty() => judge_chain(chain.iter()),
        _ => match ssl.peer_certificate() {
            Some(leaf) => anchors.verify_and_judge(&leaf, ssl.peer_cert_chain()),
            None => Err(Refusal {
                cn: None,
                reason: "no client certificate".into(),
            }),
        },
    };
    // Each request of such a connection logs the refusal (`caller=refused(..)`); per
    // connection it is detail only, so a client reconnecting in a loop cannot flood the log.
    if let Err(refusal) = &judged {
        tracing::debug!(%refusal, "client certificate refused");
    }
    PeerIdentity(judged)
}

/// The serial number of a TLS connection's client certificate (see [`crate::revocation`]).
#[derive(Debug, Clone, Copy)]
pub struct PeerSerial(pub Option<i64>);

/// What request handlers need to know about the server itself.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `None` in insecure mode.
    pub own_cloud_cn: Option<String>,
    /// Revoked certificates, refused on every request; `None` when not enforced (tests that
    /// embed a server without a database).
    pub revocations: Option<Arc<crate::revocation::Revocations>>,
}

/// The request URL as Java's `request.getRequestURL()` gives it (no query string); access
/// denials name it.
pub fn request_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let secure = req
        .app_data::<web::Data<ServerInfo>>()
        .is_some_and(|i| i.own_cloud_cn.is_some());
    let scheme = if secure { "https" } else { "http" };
    format!("{scheme}://{}{}", info.host(), req.path())
}

impl FromRequest for Caller {
    type Error = ArrowheadError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let info = req.app_data::<web::Data<ServerInfo>>();
        ready(match info.and_then(|i| i.own_cloud_cn.as_deref()) {
            None => Ok(Caller::Insecure),
            Some(cloud) => {
                let peer = match req.conn_data::<PeerIdentity>().map(|p| &p.0) {
                    Some(Ok(id)) => Ok(id),
                    Some(Err(Refusal { cn: Some(cn), .. })) => Err(cn.as_str()),
                    _ => Err("<no certificate>"),
                };
                // The URL only goes into a refusal's message: built for refusals alone, not
                // for every request.
                authenticate(peer, cloud, "")
                    .or_else(|_| authenticate(peer, cloud, &request_url(req)))
            }
        })
    }
}

/// JSON body extractor settings: any parse failure is a 400 BAD_PAYLOAD in Arrowhead JSON.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(false)
        .error_handler(|err, req| {
            let message = match &err {
                actix_web::error::JsonPayloadError::Deserialize(e)
                    if e.is_eof() && e.line() == 1 && e.column() == 0 =>
                {
                    empty_body_message()
                }
                actix_web::error::JsonPayloadError::Overflow { limit }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { limit, .. } => {
                    return ArrowheadError::bad_payload(format!(
                        "Message body is larger than {limit} bytes."
                    ))
                    .with_code(413)
                    .with_origin(req.path())
                    .into();
                }
                actix_web::error::JsonPayloadError::Payload(
                    actix_web::error::PayloadError::Io(e),
                ) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return ArrowheadError::bad_payload(e.to_string())
                        .with_code(408)
                        .with_origin(req.path())
                        .into();
                }
                other => format!(
                    "The specified payload can not be read as the expected JSON object: {other}"
                ),
            };
            ArrowheadError::bad_payload(message)
                .with_origin(req.path())
                .into()
        })
}

fn empty_body_message() -> String {
    "Message body is null (unusual for POST/PUT/PATCH request)! Please check the message body."
        .to_owned()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, req| {
        ArrowheadError::bad_payload(format!("Invalid query parameter: {err}"))
            .with_origin(req.path())
            .into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        ArrowheadError::bad_payload(format!("Invalid path parameter: {err}"))
            .with_origin(req.path())
            .into()
    })
}

/// Turns any error response that is not already Arrowhead JSON (actix's own 404/405/413 and
/// the like) into one, so clients never see plain text or HTML.
fn ensure_json_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        // A server-side failure raised where the endpoint was not known (the database layer:
        // 503 while the database is down) gets the request's path as its origin, so that an
        // operator sees where it happened. Client errors keep Java's shape: Java leaves `origin`
        // out of the errors its database services raise, and so do we.
        let unplaced = res
            .response()
            .error()
            .and_then(|e| e.as_error::<ArrowheadError>())
            .filter(|e| e.origin.is_none() && res.status().is_server_error())
            .cloned();
        if let Some(err) = unplaced {
            let (req, res) = res.into_parts();
            let err = err.with_origin(req.path());
            let mut body = actix_web::ResponseError::error_response(&err);
            for (name, value) in res.headers() {
                if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                    body.headers_mut().insert(name.clone(), value.clone());
                }
            }
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, body).map_into_right_body(),
            ));
        }
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, _) = res.into_parts();
    let message = match status {
        StatusCode::NOT_FOUND => format!(
            "No endpoint is available at {} {}",
            req.method(),
            req.path()
        ),
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "Request method '{}' is not supported at {}",
            req.method(),
            req.path()
        ),
        s => s.canonical_reason().unwrap_or("Request failed").to_owned(),
    };
    let kind = match status.as_u16() {
        404 => crate::error::ExceptionType::DataNotFound,
        405 => crate::error::ExceptionType::Generic,
        400..=499 => crate::error::ExceptionType::BadPayload,
        _ => crate::error::ExceptionType::Generic,
    };
    let err = ArrowheadError::new(kind, message)
        .with_code(status.as_u16())
        .with_origin(req.path());
    let body = HttpResponse::build(status).json(err.to_message());
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, body).map_into_right_body(),
    ))
}

/// The refusal of a request whose client certificate the Certificate Authority has revoked.
fn revoked(req: &ServiceRequest) -> Option<ArrowheadError> {
    let serial = req.conn_data::<PeerSerial>().and_then(|s| s.0)?;
    let info = req.app_data::<web::Data<ServerInfo>>()?;
    if !info.revocations.as_ref()?.is_revoked(Some(serial)) {
        return None;
    }
    let cn = match req.conn_data::<PeerIdentity>().map(|p| &p.0) {
        Some(Ok(id)) => id.cn(),
        Some(Err(Refusal { cn: Some(cn), .. })) => cn.clone(),
        _ => "<unknown>".into(),
    };
    Some(
        ArrowheadError::auth(format!(
            "The certificate of {cn} has been revoked by the Certificate Authority."
        ))
        .with_origin(request_url(req.request())),
    )
}

/// Java's `PayloadSizeFilter`: POST/PUT/PATCH need a body and GET/DELETE must not have one.
fn payload_check(req: &ServiceRequest) -> Option<ArrowheadError> {
    let len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = req.headers().get(header::TRANSFER_ENCODING).is_some();
    let m = req.method();
    let path = req.path();
    if path.starts_with("/swagger-ui") || path.starts_with("/api-docs") {
        return None;
    }
    if (m == Method::POST || m == Method::PUT || m == Method::PATCH)
        && len.unwrap_or(0) == 0
        && !chunked
    {
        return Some(ArrowheadError::bad_payload(empty_body_message()).with_origin(path));
    }
    if (m == Method::GET || m == Method::DELETE) && (len.unwrap_or(0) > 0 || chunked) {
        return Some(
            ArrowheadError::bad_payload("Message body is not null (unusual for GET/DELETE request)! Please check the message body.")
                .with_origin(path),
        );
    }
    None
}

/// Java ignores one trailing slash (`/serviceregistry/echo/` = `/serviceregistry/echo`).
fn trim_trailing_slash(req: &mut ServiceRequest) {
    let path = req.path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/swagger-ui") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = req.head().uri.clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
}

/// Everything a system hands to [`start`].
pub struct ServerSpec<F> {
    pub address: String,
    pub port: u16,
    pub tls: Option<TlsContext>,
    pub workers: Option<usize>,
    pub openapi: utoipa::openapi::OpenApi,
    pub configure: F,
    /// Revoked certificates to refuse (kept current by [`crate::revocation`]).
    pub revocations: Option<Arc<crate::revocation::Revocations>>,
    /// Body size, body time and connection limits.
    pub limits: crate::config::RequestLimits,
}

/// A running server: its bound address and the handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    pub server: Server,
}

/// Listeners bound in advance by the process that embeds the systems (the tests), by port.
static HANDED_OVER: std::sync::Mutex<Vec<TcpListener>> = std::sync::Mutex::new(Vec::new());

/// Hands a bound listener to the next server of this process started on its port. A process
/// that runs several systems (the tests) reserves ports by binding them (port 0) and keeping the
/// listener, so no other process can take a port between choosing it and serving on it.
pub fn hand_over_listener(listener: TcpListener) {
    HANDED_OVER
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(listener);
}

/// The handed-over listener for `port`, else a fresh bind of `address:port`. Systems bind before
/// they touch shared state, so a second instance on a taken port stops without changing anything.
pub fn bind(address: &str, port: u16) -> std::io::Result<TcpListener> {
    if port != 0 {
        let mut held = HANDED_OVER.lock().unwrap_or_else(|p| p.into_inner());
        let found = held
            .iter()
            .position(|l| l.local_addr().is_ok_and(|a| a.port() == port));
        if let Some(i) = found {
            return Ok(held.swap_remove(i));
        }
    }
    TcpListener::bind((address, port))
}

/// Where every system serves its OpenAPI document.
const OPENAPI_URL: &str = "/api-docs/openapi.json";

/// The Swagger page's title: the document's (`Arrowhead Service Registry`, ...).
struct SwaggerTitle(String);

/// The Swagger UI settings: our document, and no validator badge (it would send the document
/// to swagger.io, which an offline cloud cannot reach and a private one should not).
fn swagger_config() -> utoipa_swagger_ui::Config<'static> {
    utoipa_swagger_ui::Config::new([OPENAPI_URL]).validator_url("none")
}

async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, HeaderValue::from_static("/swagger-ui/")))
        .finish()
}

/// Swagger UI's page with the system's name as its title, so several open tabs can be told apart.
async fn swagger_page(title: web::Data<SwaggerTitle>) -> HttpResponse {
    let page = utoipa_swagger_ui::serve("index.html", Arc::new(swagger_config()))
        .ok()
        .flatten()
        .filter(|f| !f.gzpipped)
        .and_then(|f| String::from_utf8(f.bytes.into_owned()).ok());
    match page {
        Some(html) => {
            let escaped = title.0.replace('&', "&amp;").replace('<', "&lt;");
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(html.replace(
                    "<title>Swagger UI</title>",
                    &format!("<title>{escaped}</title>"),
                ))
        }
        None => HttpResponse::NotFound().finish(),
    }
}

/// Binds and starts the server (the returned `Server` future must be awaited or spawned).
pub fn start<F>(spec: ServerSpec<F>) -> std::io::Result<Running>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = bind(&spec.address, spec.port)?;
    start_on(listener, spec)
}

/// Starts the server on a listener bound earlier with [`bind`] (`spec.address`/`port` unused).
pub fn start_on<F>(listener: TcpListener, spec: ServerSpec<F>) -> std::io::Result<Running>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let own_cloud_cn = spec.tls.as_ref().map(|t| t.identity.cloud_cn());
    if spec.tls.is_none() {
        tracing::warn!("INSECURE MODE: server.ssl.enabled=false — plain HTTP, no client certificates, no access control");
    }
    let info = web::Data::new(ServerInfo {
        own_cloud_cn,
        revocations: spec.revocations.clone(),
    });
    let configure = spec.configure;
    let openapi = spec.openapi;
    let limits = spec.limits;
    let addr = listener.local_addr()?;
    let factory = move || {
        let configure = configure.clone();
        App::new()
            .app_data(info.clone())
            .app_data(json_config(limits.max_body_bytes))
            .app_data(query_config())
            .app_data(path_config())
            .wrap(ErrorHandlers::new().default_handler(ensure_json_errors))
            .wrap_fn(move |mut req, srv| {
                use actix_web::dev::Service;
                let started = Instant::now();
                trim_trailing_slash(&mut req);
                body_deadline(&mut req, limits.body_timeout);
                let method = req.method().clone();
                let path = req.path().to_owned();
                // Who asked, for the request's log line: the verified name, or what was refused.
                let caller = match req.conn_data::<PeerIdentity>().map(|p| &p.0) {
                    Some(Ok(id)) => id.cn(),
                    Some(Err(refusal)) => format!("refused({refusal})"),
                    None => "-".to_owned(),
                };
                // HEAD is answered wherever GET is (health checks use it): served as GET, sent
                // without the body.
                let head = method == Method::HEAD;
                if head {
                    req.head_mut().method = Method::GET;
                }
                // A revoked certificate gets nothing, whatever the endpoint (see
                // crate::revocation), on new and kept-alive connections alike.
                let refusal = revoked(&req).or_else(|| payload_check(&req));
                let outcome = match refusal {
                    None => Ok(srv.call(req)),
                    Some(err) => Err((req.into_parts().0, err)),
                };
                async move {
                    let res: ServiceResponse<EitherBody<_, BoxBody>> = match outcome {
                        Ok(f) => f.await?.map_into_left_body(),
                        Err((r, err)) => {
                            ServiceResponse::new(r, actix_web::ResponseError::error_response(&err)).map_into_right_body()
                        }
                    };
                    let status = res.status().as_u16();
                    let micros = started.elapsed().as_micros() as u64;
                    match res.response().error() {
                        Some(error) if status >= 400 => {
                            tracing::info!(%method, %path, status, %caller, %error, micros, "request")
                        }
                        _ => tracing::info!(%method, %path, status, %caller, micros, "request"),
                    }
                    let res = if head {
                        res.map_body(|_, _| EitherBody::right(BoxBody::new(())))
                    } else {
                        res
                    };
                    Ok::<_, actix_web::Error>(res)
                }
            })
            .configure(|cfg| configure(cfg))
            // The page itself, titled with the system (the UI's own files are served below).
            .route("/swagger-ui/", web::get().to(swagger_page))
            .route("/swagger-ui/index.html", web::get().to(swagger_page))
            .service(
                SwaggerUi::new("/swagger-ui/{_:.*}")
                    .url(OPENAPI_URL, openapi.clone())
                    .config(swagger_config()),
            )
            .app_data(web::Data::new(SwaggerTitle(openapi.info.title.clone())))
            // Java's addresses of the page: `/` and springfox's `/swagger-ui.html`.
            .route("/", web::get().to(to_swagger_ui))
            .route("/swagger-ui.html", web::get().to(to_swagger_ui))
    };
    let server = match &spec.tls {
        Some(tls) => {
            let acceptor = tls
                .acceptor()
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .build();
            let anchors = Arc::new(
                Anchors::new(&tls.trust).map_err(|e| std::io::Error::other(e.to_string()))?,
            );
            serve_tls(listener, acceptor, anchors, spec.workers, limits, factory)?
        }
        None => {
            let mut server = HttpServer::new(factory).shutdown_timeout(10);
            if let Some(w) = spec.workers {
                server = server.workers(w);
            }
            server = server.max_connections(per_worker(limits.max_connections, spec.workers));
            server.listen(listener)?.run()
        }
    };
    Ok(Running { addr, server })
}

/// The connection limit of each worker (actix counts per worker) for `total` over all of them.
fn per_worker(total: usize, workers: Option<usize>) -> usize {
    let n = workers
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    total.div_ceil(n).max(1)
}

/// Puts a deadline on receiving the request body: a client that trickles its body (slowloris)
/// is answered 408 once `limit` has passed since the request head arrived, instead of holding
/// the connection for as long as it likes. (The head itself has actix's 5 s request timeout.)
fn body_deadline(req: &mut ServiceRequest, limit: Duration) {
    use futures_util::StreamExt;
    let m = req.method();
    if m != Method::POST && m != Method::PUT && m != Method::PATCH {
        return;
    }
    let payload = actix_web::HttpMessage::take_payload(req);
    let deadline = tokio::time::Instant::now() + limit;
    let stream = futures_util::stream::unfold(Some(payload), move |state| async move {
        let mut payload = state?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(item)) => Some((item, Some(payload))),
            Ok(None) => None,
            Err(_) => Some((
                Err(actix_web::error::PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "The request body did not arrive within {} s.",
                        limit.as_secs()
                    ),
                ))),
                None,
            )),
        }
    });
    let boxed: actix_http::BoxedPayloadStream = Box::pin(stream);
    req.set_payload(actix_web::dev::Payload::from(boxed));
}

/// The TLS server: [`crate::listener::handshake`] in front of actix-web's HTTP/1 service (see
/// that module for why not `HttpServer::listen_openssl`), each connection's [`PeerIdentity`]
/// judged once from its verified chain.
fn serve_tls<F, A, B>(
    listener: TcpListener,
    acceptor: openssl::ssl::SslAcceptor,
    anchors: Arc<Anchors>,
    workers: Option<usize>,
    limits: crate::config::RequestLimits,
    factory: F,
) -> std::io::Result<Server>
where
    F: Fn() -> App<A> + Send + Clone + 'static,
    A: actix_service::ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    use crate::listener;
    use actix_service::{fn_service, map_config, ServiceFactoryExt};
    let addr = listener.local_addr()?;
    let mut builder = actix_server::Server::build()
        .shutdown_timeout(10)
        .max_concurrent_connections(per_worker(limits.max_connections, workers));
    if let Some(w) = workers {
        builder = builder.workers(w);
    }
    Ok(builder
        .listen("arrowhead-https", listener, move || {
            let acceptor = acceptor.clone();
            let anchors = anchors.clone();
            let http = actix_http::HttpService::<
                tokio_openssl::SslStream<tokio::net::TcpStream>,
                _,
                _,
            >::build()
            .keep_alive(listener::KEEP_ALIVE)
            .client_request_timeout(listener::CLIENT_REQUEST_TIMEOUT)
            .client_disconnect_timeout(listener::CLIENT_DISCONNECT_TIMEOUT)
            .local_addr(addr)
            .on_connect_ext(
                move |io: &tokio_openssl::SslStream<tokio::net::TcpStream>, ext| {
                    ext.insert(peer_identity(io.ssl(), &anchors));
                    let serial = io
                        .ssl()
                        .peer_certificate()
                        .and_then(|c| crate::revocation::serial_of(&c));
                    ext.insert(PeerSerial(serial));
                },
            )
            // The scheme and host of request URLs come from ServerInfo and the Host header.
            .h1(map_config(factory(), |_| {
                actix_web::dev::AppConfig::default()
            }))
            .map_err(|_| ())
            .map_init_err(|_| ());
            fn_service(move |tcp: tokio::net::TcpStream| {
                let acceptor = acceptor.clone();
                async move { listener::handshake(&acceptor, tcp).await.map_err(|_| ()) }
            })
            .and_then(http)
        })?
        .run())
}

/// Logging set up from `RUST_LOG` (default `info`), to standard output, or to a size-bounded
/// file when the configuration names one (`logging.file.name`, `logging.file.max-size`).
pub fn init_logging(config: Option<&std::path::Path>) -> Result<(), String> {
    // The same file the settings come from (./application.properties when none is given).
    let default = std::path::Path::new("application.properties");
    let config = config.or_else(|| default.exists().then_some(default));
    let props = crate::config::Properties::load(config).ok();
    let Some(path) = props.as_ref().and_then(|p| p.path("logging.file.name")) else {
        install_logging(None, true);
        return Ok(());
    };
    let max = match props.as_ref().and_then(|p| p.get("logging.file.max-size")) {
        None => crate::logfile::DEFAULT_MAX_BYTES,
        Some(v) => crate::logfile::parse_size(&v).ok_or_else(|| {
            format!("logging.file.max-size: '{v}' is not a size (e.g. 10MB, 512KB)")
        })?,
    };
    let file = crate::logfile::RotatingFile::open(&path, max)
        .map_err(|e| format!("logging.file.name: cannot write {}: {e}", path.display()))?;
    file.install();
    install_logging(Some(file), true);
    Ok(())
}

/// Logging set up from `RUST_LOG` (default `info`), to standard output (the examples and tools;
/// core systems use [`init_logging`]).
pub fn init_tracing() {
    install_logging(None, false);
}

/// The process's logging: to `file` or standard output, and with `logs_table` also WARN and
/// ERROR records into the database's `logs` table (see [`crate::dblog`]).
fn install_logging(file: Option<crate::logfile::RotatingFile>, logs_table: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let output = match file {
        Some(file) => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(false)
            .with_writer(file)
            .boxed(),
        // Colour codes only on a terminal: redirected output stays plain text.
        None => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
    };
    let table = logs_table.then(crate::dblog::layer);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(table)
        .try_init();
}

/// Logging for tests: captured by the test harness, `RUST_LOG` or warnings only.
pub fn init_test_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run, with `--config <file>` if given.
    Run(Option<std::path::PathBuf>),
    /// Print this text (usage or version) and exit successfully.
    Print(String),
    /// Print the system's OpenAPI document (JSON) and exit: for validators, client generators
    /// and reading the API without starting the system.
    OpenApi,
    /// Ask the running system (this configuration's port) for `/echo` over mutual TLS with its
    /// own certificate and exit 0 when it answers: a container health check that needs no curl.
    Health(Option<std::path::PathBuf>),
}

/// The binary's own name, as it was invoked.
fn binary_name() -> String {
    std::env::args()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "arrowhead".into())
}

/// Reads the command line: `--config <file>` (the only setting), `--help`, `--version`,
/// `--openapi`.
pub fn parse_args(binary: &str, args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let usage = format!(
        "usage: {binary} [--config <application.properties>] [--health] | --openapi | --version | --help\n\
         Without --config, ./application.properties is read when it exists; every key can also be\n\
         set in the environment (server.port as SERVER_PORT). --openapi prints the OpenAPI\n\
         document the system serves at /api-docs/openapi.json. --health asks the running system\n\
         (the configuration's port) for /echo with its own certificate; exit status 0 if it answers."
    );
    let mut args = args.into_iter();
    let mut config = None;
    let mut health = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => config = Some(args.next().ok_or("--config needs a file")?.into()),
            s if s.starts_with("--config=") => {
                config = Some(s.trim_start_matches("--config=").into())
            }
            "--help" | "-h" => return Ok(Command::Print(usage)),
            "--openapi" => return Ok(Command::OpenApi),
            "--health" => health = true,
            "--version" | "-V" => {
                return Ok(Command::Print(format!(
                    "{binary} {}",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            other => return Err(format!("unknown argument '{other}'\n{usage}")),
        }
    }
    Ok(if health {
        Command::Health(config)
    } else {
        Command::Run(config)
    })
}

/// `--config <file>` from the command line; `--help`, `--version` and `--openapi` print and
/// exit.
pub fn config_arg(
    openapi: fn() -> utoipa::openapi::OpenApi,
) -> Result<Option<std::path::PathBuf>, String> {
    match parse_args(&binary_name(), std::env::args().skip(1))? {
        Command::Run(config) => Ok(config),
        Command::Health(config) => {
            let name = binary_name();
            // Its own thread and runtime: this runs inside the caller's runtime.
            let checked = {
                let name = name.clone();
                std::thread::spawn(move || health_check(&name, config.as_deref()))
                    .join()
                    .unwrap_or_else(|_| Err("the health check failed".into()))
            };
            let code = match checked {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("{name}: {e}");
                    1
                }
            };
            std::process::exit(code);
        }
        Command::Print(text) => {
            println!("{text}");
            std::process::exit(0);
        }
        Command::OpenApi => {
            let json = openapi().to_pretty_json().map_err(|e| e.to_string())?;
            println!("{json}");
            std::process::exit(0);
        }
    }
}

/// The core system a binary runs (`certificate-authority`, `onboarding` and the plain names).
fn system_of_binary(binary: &str) -> Option<crate::identity::CoreSystem> {
    use crate::identity::CoreSystem;
    match binary {
        "onboarding" => Some(CoreSystem::OnboardingController),
        other => CoreSystem::from_system_name(&other.replace('-', "")),
    }
}

/// `--health`: `/echo` of the system this configuration describes, as the system itself.
fn health_check(binary: &str, config: Option<&std::path::Path>) -> Result<(), String> {
    use crate::https::{Expect, HttpsClient, Limits};
    let system = system_of_binary(binary).ok_or_else(|| format!("{binary} is no core system"))?;
    let settings = crate::config::CoreSettings::load(system, config).map_err(|e| e.to_string())?;
    let tls = settings
        .ssl
        .as_ref()
        .map(crate::tls::TlsContext::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut limits = Limits::new(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(3),
    );
    // The peer is identified by its certificate's name (Expect::System), whatever address
    // the certificate lists.
    limits.accept_invalid_hostnames = true;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!(
        "{scheme}://127.0.0.1:{}/{binary}/echo",
        settings.server_port
    );
    let client = HttpsClient::new(tls.as_ref(), Expect::System(system.name().into()), limits)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = runtime
        .block_on(client.call(hyper::Method::GET, &url, None))
        .map_err(|e| format!("{url}: {e}"))?;
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", answer.status))
    }
}

/// Everything a system's `main` does: logging, `--config`, settings (exit code 2 when they are
/// wrong), start, serve until SIGTERM/SIGINT stops the server gracefully, then remove the
/// system's services from the Service Registry if it registered any.
pub async fn run_main<S, Fut>(
    name: &str,
    openapi: fn() -> utoipa::openapi::OpenApi,
    load: impl FnOnce(Option<&std::path::Path>) -> Result<S, String>,
    start: impl FnOnce(S) -> Fut,
) -> std::process::ExitCode
where
    Fut: std::future::Future<
        Output = Result<(Running, Option<crate::registration::Registrar>), String>,
    >,
{
    use std::process::ExitCode;
    let settings = match config_arg(openapi).and_then(|config| {
        init_logging(config.as_deref())?;
        load(config.as_deref())
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let (running, registrar) = match start(settings).await {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = running.server.await;
    if let Some(r) = registrar {
        r.unregister_all().await;
    }
    tracing::info!("stopped");
    crate::logfile::flush();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let parse = |args: &[&str]| parse_args("orchestrator", args.iter().map(|s| s.to_string()));
        assert_eq!(parse(&[]), Ok(Command::Run(None)));
        assert_eq!(
            parse(&["--config", "a.properties"]),
            Ok(Command::Run(Some("a.properties".into())))
        );
        assert_eq!(parse(&["--config=b"]), Ok(Command::Run(Some("b".into()))));
        assert!(
            matches!(parse(&["--help"]), Ok(Command::Print(t)) if t.starts_with("usage: orchestrator "))
        );
        assert_eq!(
            parse(&["--version"]),
            Ok(Command::Print(format!(
                "orchestrator {}",
                env!("CARGO_PKG_VERSION")
            )))
        );
        assert_eq!(parse(&["--openapi"]), Ok(Command::OpenApi));
        assert_eq!(
            parse(&["--health", "--config", "x"]),
            Ok(Command::Health(Some("x".into())))
        );
        assert_eq!(
            system_of_binary("certificate-authority"),
            Some(crate::identity::CoreSystem::CertificateAuthority)
        );
        assert_eq!(
            system_of_binary("onboarding"),
            Some(crate::identity::CoreSystem::OnboardingController)
        );
        assert!(parse(&["--config"]).is_err());
        assert!(parse(&["--bogus"])
            .unwrap_err()
            .contains("unknown argument '--bogus'"));
    }
}
