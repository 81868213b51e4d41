//! Reachability of a provider: the "ping" of the Java registries, a TCP connection within a
//! time limit (no request is sent).

use std::time::Duration;

/// TCP reachability of a provider (the Java "ping").
pub async fn reachable(address: String, port: i32, timeout: Duration) -> bool {
    let Ok(port) = u16::try_from(port) else {
        return false;
    };
    matches!(
        tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((address.as_str(), port))
        )
        .await,
        Ok(Ok(_))
    )
}
