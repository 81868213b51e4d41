//! The TLS side of every secured server: our own handshake step in front of actix-web's HTTP/1
//! service, because actix-web's built-in OpenSSL listener ends refused handshakes in a way
//! clients misreport.
//!
//! Under TLS 1.3 a client considers the handshake done, and sends its request, *before* the
//! server has judged its certificate. When the server then refuses it, OpenSSL writes the alert
//! ("certificate required", "unknown ca") and actix-web closes the socket at once, with the
//! client's request still unread, which makes the kernel send a reset. Depending on timing the
//! client then reports the alert or "Transport endpoint is not connected" / "connection reset"
//! (a third of the attempts with curl here). This step instead closes its sending side after the
//! alert and reads what the client still sends (for at most [`LINGER`]), so the alert is always
//! what the client reads.
//!
//! It also answers plain HTTP sent to the TLS port with a 400 error JSON saying to use
//! `https://` and a client certificate, instead of a dropped connection.

use openssl::ssl::{Ssl, SslAcceptor};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// A client must complete its handshake within this time (actix-tls's default too).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// After refusing a client, read (and drop) what it still sends for at most this long.
pub const LINGER: Duration = Duration::from_secs(2);
/// ... and at most this much.
const LINGER_BYTES: usize = 256 * 1024;

/// The answer to plain HTTP on the TLS port.
const PLAIN_HTTP_ANSWER: &str = r#"{"errorMessage":"This port serves HTTPS only: use https:// with a client certificate of this local cloud.","errorCode":400,"exceptionType":"BAD_PAYLOAD"}"#;

/// Keep-alive and request timeouts, as actix-web's `HttpServer` sets them by default.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
pub const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How one accepted connection ended before HTTP.
#[derive(Debug)]
pub enum Refused {
    /// Plain HTTP: answered with the hint.
    PlainHttp,
    /// The TLS handshake failed (its alert was sent) or timed out.
    Handshake,
}

/// Handshakes `tcp` with `acceptor`: the TLS stream and the peer's address, or the reason the
/// connection ended (answered and lingered as described in the module documentation).
pub async fn handshake(
    acceptor: &SslAcceptor,
    tcp: TcpStream,
) -> Result<(SslStream<TcpStream>, Option<SocketAddr>), Refused> {
    let peer = tcp.peer_addr().ok();
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tcp.peek(&mut first)).await {
        Ok(Ok(1)) if first[0].is_ascii_uppercase() => {
            // A TLS record starts with 0x16; an HTTP request with its method's capital letter.
            answer_plain_http(tcp).await;
            return Err(Refused::PlainHttp);
        }
        Ok(Ok(_)) => {}
        Ok(Err(_)) | Err(_) => return Err(Refused::Handshake),
    }
    let ssl = Ssl::new(acceptor.context()).map_err(|_| Refused::Handshake)?;
    let mut stream = SslStream::new(ssl, tcp).map_err(|_| Refused::Handshake)?;
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, Pin::new(&mut stream).accept()).await {
        Ok(Ok(())) => Ok((stream, peer)),
        Ok(Err(_)) => {
            // The alert is written; let the client read it instead of a reset.
            linger(stream.get_mut()).await;
            Err(Refused::Handshake)
        }
        Err(_) => Err(Refused::Handshake),
    }
}

async fn answer_plain_http(mut tcp: TcpStream) {
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        PLAIN_HTTP_ANSWER.len(),
        PLAIN_HTTP_ANSWER
    );
    tracing::debug!(peer = ?tcp.peer_addr().ok(), "plain HTTP on the TLS port");
    // Read the request first, so closing after the answer sends no reset.
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)).await;
    if tcp.write_all(answer.as_bytes()).await.is_ok() {
        linger(&mut tcp).await;
    }
}

/// Ends our side (FIN) and drains what the peer still sends, so the socket closes without a
/// reset that could overtake the data we sent last.
async fn linger(tcp: &mut TcpStream) {
    let _ = tcp.shutdown().await;
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
