//! The Gateway's sessions: a byte pipe between a consumer in one cloud and a provider in another,
//! carried through a relay in `raw` envelopes (signed by the sending Gateway, encrypted to the
//! receiving one), as Java's Gateways exchange them.
//!
//! - Provider side (`connect_provider`): consumes `REQ-<own CN>-<queue id>` (+ `-CONTROL`),
//!   writes what arrives to a TLS connection to the provider opened at once with the Gateway's
//!   certificate, and sends what the provider answers to `RESP-…`.
//! - Consumer side (`connect_consumer`): a TLS listener (client certificate required) on a port
//!   from `min_port..=max_port` for one consumer connection; its bytes go to `REQ-<peer>-<queue
//!   id>`, the `RESP-…` messages back to it.
//!
//! Differences from Java (same messages): bytes are forwarded as read, up to 256 KiB per message
//! instead of 1024-byte reads and HTTP re-assembly, so any protocol and any body size passes;
//! a session lives as long as the consumer's connection does (no idle clean-up kills a quiet
//! session; the subscriptions keep the broker from collecting its queues; a provider closing an
//! idle connection is reconnected on the next request, as in Java); when the consumer or the
//! session ends, the other Gateway is told (`CLOSE <queue id>` on its control queue) instead of
//! waiting for a timeout; a freed port goes back to the pool once.

use common::dto::gateway::ActiveSession;
use common::relay::envelope::{raw_bytes, Cryptographer};
use common::relay::router::{RelayAddress, Relays, Routed};
use common::relay::stomp::Frame;
use common::tls::TlsContext;
use common::ArrowheadError;
use openssl::pkey::{PKey, Public};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

type Tls = tokio_openssl::SslStream<tokio::net::TcpStream>;
type Halves = (tokio::io::ReadHalf<Tls>, tokio::io::WriteHalf<Tls>);

/// Reads what the connection has (waiting for the first bytes, then taking whatever else is
/// already there: TLS hands over one 16 KiB record per read, and fewer, larger messages are
/// each sealed once); waits forever while there is no connection.
async fn read_some(halves: &mut Option<Halves>, buf: &mut [u8]) -> std::io::Result<usize> {
    let Some((rd, _)) = halves.as_mut() else {
        return std::future::pending().await;
    };
    let mut n = rd.read(buf).await?;
    while n > 0 && n < buf.len() {
        match futures_util::FutureExt::now_or_never(rd.read(&mut buf[n..])) {
            Some(Ok(m)) if m > 0 => n += m,
            _ => break,
        }
    }
    Ok(n)
}

/// Largest payload of one relay message.
const CHUNK: usize = 256 * 1024;
/// After a `CLOSE`, data still in flight on the data queue is delivered for this long.
const DRAIN: Duration = Duration::from_millis(300);

struct Entry {
    info: ActiveSession,
    close: watch::Sender<bool>,
}

pub struct Bridge {
    relays: Relays,
    crypto: Cryptographer,
    tls: TlsContext,
    own_cn: String,
    pub public_key: String,
    pub min_port: u16,
    pub max_port: u16,
    ports: Mutex<VecDeque<u16>>,
    sessions: Mutex<BTreeMap<String, Entry>>,
    bind_address: String,
    socket_timeout: Duration,
    relay_timeout: Duration,
}

/// Where a session's messages go, seen from one side.
#[derive(Clone)]
struct Queues {
    /// Data we send / receive.
    send: String,
    receive: String,
    /// Control queue we listen on, and the peer's.
    own_control: String,
    peer_control: String,
}

fn queue_names(peer: &str, queue_id: &str) -> (String, String, String, String) {
    (
        format!("REQ-{peer}-{queue_id}"),
        format!("REQ-{peer}-{queue_id}-CONTROL"),
        format!("RESP-{peer}-{queue_id}"),
        format!("RESP-{peer}-{queue_id}-CONTROL"),
    )
}

fn q(name: &str) -> String {
    format!("/queue/{name}")
}

impl Bridge {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tls: TlsContext,
        anchors: Vec<openssl::x509::X509>,
        min_port: u16,
        max_port: u16,
        bind_address: String,
        socket_timeout: Duration,
        relay_timeout: Duration,
    ) -> Result<Self, String> {
        let identity = Arc::new(tls.keystore.clone());
        let own_cn = identity
            .common_name()
            .ok_or("the keystore's certificate has no common name")?
            .to_lowercase();
        let public_key = identity.public_key_base64().map_err(|e| e.to_string())?;
        let crypto = Cryptographer::new(&identity.key).map_err(|e| e.to_string())?;
        Ok(Self {
            relays: Relays::new(identity, anchors, None),
            crypto,
            tls,
            own_cn,
            public_key,
            min_port,
            max_port,
            ports: Mutex::new((min_port..=max_port).collect()),
            sessions: Mutex::default(),
            bind_address,
            socket_timeout,
            relay_timeout,
        })
    }

    pub fn own_cn(&self) -> &str {
        &self.own_cn
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The active sessions, oldest first.
    pub fn sessions(&self) -> Vec<ActiveSession> {
        let mut all: Vec<ActiveSession> = self
            .lock_sessions()
            .values()
            .map(|e| e.info.clone())
            .collect();
        all.sort_by(|a, b| a.session_started_at.cmp(&b.session_started_at));
        all
    }

    pub fn session_on_port(&self, port: u16) -> Option<ActiveSession> {
        self.lock_sessions()
            .values()
            .find(|e| e.info.consumer_server_socket_port == Some(i64::from(port)))
            .map(|e| e.info.clone())
    }

    /// Closes a session: ours ends, and both Gateways' control queues get `CLOSE <queue id>`
    /// (Java's management close).
    pub async fn close(&self, info: &ActiveSession, relay: &RelayAddress) {
        let queue_id = info.queue_id.clone().unwrap_or_default();
        if let Some(e) = self.lock_sessions().get(&queue_id) {
            let _ = e.close.send(true);
        }
        let conn = self.relays.get(relay);
        for control in [&info.request_control_queue, &info.response_control_queue]
            .into_iter()
            .flatten()
        {
            let sent = tokio::time::timeout(
                self.relay_timeout,
                conn.send(&q(control), &format!("CLOSE {queue_id}")),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::warn!(queue = %control, "cannot send CLOSE");
            }
        }
    }

    fn take_port(&self) -> Option<u16> {
        self.ports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    fn release_port(&self, port: u16) {
        let mut ports = self.ports.lock().unwrap_or_else(|p| p.into_inner());
        if !ports.contains(&port) {
            ports.push_back(port);
        }
    }

    async fn open_routes(
        &self,
        relay: &RelayAddress,
        data: &str,
        control: &str,
    ) -> Result<(Arc<Routed>, mpsc::Receiver<Frame>, mpsc::Receiver<Frame>), ArrowheadError> {
        let conn = self.relays.get(relay);
        let failed = || {
            ArrowheadError::internal(format!(
                "Error while trying to connect relay at {}:{}",
                relay.host, relay.port
            ))
        };
        let opened = tokio::time::timeout(self.relay_timeout, async {
            let d = conn.open_route(&q(data)).await?;
            let c = conn.open_route(&q(control)).await?;
            Ok::<_, common::relay::stomp::StompError>((d, c))
        })
        .await;
        match opened {
            Ok(Ok((d, c))) => Ok((conn, d, c)),
            _ => {
                conn.close_route(&q(data)).await;
                conn.close_route(&q(control)).await;
                Err(failed())
            }
        }
    }

    /// `connect_provider`: opens the provider connection and the relay session; answers the
    /// queue id.
    pub async fn connect_provider(
        self: &Arc<Self>,
        mut info: ActiveSession,
        relay: RelayAddress,
        provider: (String, u16),
        consumer_gateway: PKey<Public>,
    ) -> Result<String, ArrowheadError> {
        let queue_id = common::relay::session_id();
        let (request, request_control, response, response_control) =
            queue_names(&self.own_cn, &queue_id);
        let anchors = self.provider_anchors();
        let stream = common::relay::connect_tls(
            &provider.0,
            provider.1,
            &self.tls.keystore,
            &anchors,
            self.socket_timeout,
        )
        .await
        .map_err(|e| {
            tracing::warn!(provider = %format!("{}:{}", provider.0, provider.1), error = %e, "cannot reach the provider");
            ArrowheadError::new(
                common::ExceptionType::Arrowhead,
                "Error occured when initialize relay communication.",
            )
            .with_code(502)
        })?;
        let (conn, data, control) = self.open_routes(&relay, &request, &request_control).await?;
        info.queue_id = Some(queue_id.clone());
        info.peer_name = Some(self.own_cn.clone());
        info.request_queue = Some(request.clone());
        info.request_control_queue = Some(request_control.clone());
        info.response_queue = Some(response.clone());
        info.response_control_queue = Some(response_control.clone());
        let queues = Queues {
            send: q(&response),
            receive: q(&request),
            own_control: q(&request_control),
            peer_control: q(&response_control),
        };
        let closed = self.record(info);
        let this = self.clone();
        let id = queue_id.clone();
        tokio::spawn(async move {
            this.pipe(
                stream,
                Some(provider),
                conn,
                data,
                control,
                queues,
                consumer_gateway,
                closed,
                &id,
            )
            .await;
            this.lock_sessions().remove(&id);
        });
        Ok(queue_id)
    }

    /// `connect_consumer`: a listener on a free port for the consumer, and the relay session
    /// with the provider's Gateway (`peer`); answers the port.
    pub async fn connect_consumer(
        self: &Arc<Self>,
        mut info: ActiveSession,
        relay: RelayAddress,
        peer: String,
        queue_id: String,
        provider_gateway: PKey<Public>,
    ) -> Result<u16, ArrowheadError> {
        let port = self.take_port().ok_or_else(|| {
            ArrowheadError::unavailable("No available gateway port.").with_code(503)
        })?;
        let listener = match tokio::net::TcpListener::bind((self.bind_address.as_str(), port)).await
        {
            Ok(l) => l,
            Err(e) => {
                self.release_port(port);
                return Err(ArrowheadError::new(
                    common::ExceptionType::Arrowhead,
                    format!("Problem occurs in initializing gateway communication: {e}"),
                )
                .with_code(502));
            }
        };
        let (request, request_control, response, response_control) = queue_names(&peer, &queue_id);
        let (conn, data, control) =
            match self.open_routes(&relay, &response, &response_control).await {
                Ok(r) => r,
                Err(e) => {
                    self.release_port(port);
                    return Err(e);
                }
            };
        info.queue_id = Some(queue_id.clone());
        info.peer_name = Some(peer);
        info.request_queue = Some(request.clone());
        info.request_control_queue = Some(request_control.clone());
        info.response_queue = Some(response.clone());
        info.response_control_queue = Some(response_control.clone());
        info.consumer_server_socket_port = Some(i64::from(port));
        let queues = Queues {
            send: q(&request),
            receive: q(&response),
            own_control: q(&response_control),
            peer_control: q(&request_control),
        };
        let mut closed = self.record(info);
        let this = self.clone();
        tokio::spawn(async move {
            let accepted = tokio::select! {
                a = tokio::time::timeout(this.socket_timeout, this.accept(&listener)) => a.ok().flatten(),
                _ = closed.changed() => None,
            };
            drop(listener);
            match accepted {
                Some(stream) => {
                    this.pipe(
                        stream,
                        None,
                        conn,
                        data,
                        control,
                        queues,
                        provider_gateway,
                        closed,
                        &queue_id,
                    )
                    .await
                }
                None => {
                    tracing::info!(port, "no consumer connected in time; session closed");
                    let _ = conn
                        .send(&queues.peer_control, &format!("CLOSE {queue_id}"))
                        .await;
                    conn.close_route(&queues.receive).await;
                    conn.close_route(&queues.own_control).await;
                }
            }
            this.lock_sessions().remove(&queue_id);
            this.release_port(port);
        });
        Ok(port)
    }

    /// The consumer's connection: TLS with a client certificate the trust store accepts.
    async fn accept(
        &self,
        listener: &tokio::net::TcpListener,
    ) -> Option<tokio_openssl::SslStream<tokio::net::TcpStream>> {
        let acceptor = self.tls.acceptor().ok()?.build();
        loop {
            let (tcp, from) = listener.accept().await.ok()?;
            let _ = tcp.set_nodelay(true);
            let ssl = openssl::ssl::Ssl::new(acceptor.context()).ok()?;
            let mut stream = tokio_openssl::SslStream::new(ssl, tcp).ok()?;
            match std::pin::Pin::new(&mut stream).accept().await {
                Ok(()) => return Some(stream),
                Err(e) => tracing::warn!(%from, error = %e, "consumer handshake refused"),
            }
        }
    }

    fn open_raw(&self, frame: &Frame, peer: &PKey<Public>) -> Option<Vec<u8>> {
        let text = frame.text().ok()?;
        match self.crypto.open(text, peer) {
            Ok(m) if m.message_type.as_deref() == Some(common::relay::envelope::RAW) => {
                raw_bytes(&m).ok()
            }
            Ok(_) => {
                tracing::warn!("Unauthorized message on queue.");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "unreadable gateway message dropped");
                None
            }
        }
    }

    /// Moves bytes both ways until the consumer's end closes or the session is closed. On the
    /// provider side (`reopen` names the provider) a provider closing its connection (an idle
    /// keep-alive ending, say) does not end the session: the next bytes from the consumer open a
    /// new connection to it, as Java's provider side does.
    #[allow(clippy::too_many_arguments)]
    async fn pipe(
        &self,
        stream: Tls,
        reopen: Option<(String, u16)>,
        conn: Arc<Routed>,
        mut data: mpsc::Receiver<Frame>,
        mut control: mpsc::Receiver<Frame>,
        queues: Queues,
        peer: PKey<Public>,
        mut closed: watch::Receiver<bool>,
        queue_id: &str,
    ) {
        let mut halves = Some(tokio::io::split(stream));
        let mut buf = vec![0u8; CHUNK];
        let close_text = format!("CLOSE {queue_id}");
        let mut tell_peer = true;
        loop {
            tokio::select! {
                n = read_some(&mut halves, &mut buf) => match n {
                    Ok(0) | Err(_) => {
                        if reopen.is_some() {
                            halves = None; // reopened when the consumer sends again
                            continue;
                        }
                        break;
                    }
                    Ok(n) => {
                        let sealed = match self.crypto.seal_bytes(&buf[..n], &peer) {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot seal gateway data");
                                break;
                            }
                        };
                        if conn.send(&queues.send, &sealed).await.is_err() {
                            break;
                        }
                    }
                },
                f = data.recv() => match f {
                    Some(f) => {
                        let Some(bytes) = self.open_raw(&f, &peer) else {
                            continue;
                        };
                        if halves.is_none() {
                            let Some((host, port)) = &reopen else { break };
                            match common::relay::connect_tls(
                                host,
                                *port,
                                &self.tls.keystore,
                                &self.provider_anchors(),
                                self.socket_timeout,
                            )
                            .await
                            {
                                Ok(s) => halves = Some(tokio::io::split(s)),
                                Err(e) => {
                                    tracing::warn!(provider = %format!("{host}:{port}"), error = %e, "cannot reach the provider again; session closed");
                                    break;
                                }
                            }
                        }
                        let Some((_, wr)) = halves.as_mut() else { break };
                        if wr.write_all(&bytes).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                c = control.recv() => match c {
                    Some(f) if f.text().is_ok_and(|t| t.trim() == close_text) => {
                        // What the peer sent before closing may still be on its way.
                        while let Ok(Some(f)) = tokio::time::timeout(DRAIN, data.recv()).await {
                            if let (Some(bytes), Some((_, wr))) =
                                (self.open_raw(&f, &peer), halves.as_mut())
                            {
                                if wr.write_all(&bytes).await.is_err() {
                                    break;
                                }
                            }
                        }
                        tell_peer = false;
                        break;
                    }
                    Some(_) => tracing::warn!("unexpected control message ignored"),
                    None => break,
                },
                _ = closed.changed() => {
                    tell_peer = false; // the management close tells both sides itself
                    break;
                }
            }
        }
        if tell_peer {
            let _ = tokio::time::timeout(
                self.relay_timeout,
                conn.send(&queues.peer_control, &close_text),
            )
            .await;
        }
        if let Some((_, mut wr)) = halves {
            let _ = wr.shutdown().await;
        }
        conn.close_route(&queues.receive).await;
        conn.close_route(&queues.own_control).await;
    }

    fn provider_anchors(&self) -> Vec<openssl::x509::X509> {
        self.tls.trust.clone()
    }

    fn record(&self, mut info: ActiveSession) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        info.session_started_at =
            Some(common::dto::format_instant(&chrono::Utc::now().naive_utc()));
        let id = info.queue_id.clone().unwrap_or_default();
        self.lock_sessions().insert(id, Entry { info, close: tx });
        rx
    }
}
