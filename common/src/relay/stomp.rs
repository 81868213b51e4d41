//! STOMP 1.2 (<https://stomp.github.io/stomp-specification-1.2.html>) as the relay's ActiveMQ
//! broker and Java's OpenWire relay clients need it: frames, header escaping, heart-beats,
//! receipts. Written by hand because no crate fits (`reference/activemq-relay-notes.md`): the
//! maintained ones either force `content-length` on every frame (ActiveMQ then delivers a
//! BytesMessage, which Java's relay clients drop), cannot present a client certificate chain
//! through OpenSSL, or carry an incompatible licence. It runs over any async byte stream;
//! [`crate::relay`] gives it mutual TLS.
//!
//! The rules Java interop needs: no `content-length` unless the body contains a NUL (then
//! ActiveMQ would cut it), `persistent:true` on SEND (JMS's default), text bodies only.

use bytes::{Buf, BytesMut};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// The largest frame accepted from the broker (a relay message is a few kilobytes; the
/// Gateway's data envelopes stay far below this).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StompError {
    #[error("malformed STOMP frame: {0}")]
    Malformed(String),
    #[error("STOMP frame larger than {MAX_FRAME} bytes")]
    TooLarge,
    #[error("the broker answered ERROR: {0}")]
    Broker(String),
    #[error("the broker connection is closed: {0}")]
    Closed(String),
    #[error("the broker did not answer within {0:?}")]
    Timeout(Duration),
}

/// One frame: command, headers in order (the first of a repeated header counts), body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    pub command: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Frame {
    pub fn new(command: &str) -> Self {
        Self {
            command: command.to_owned(),
            ..Default::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The value of `name` (the first one, as STOMP 1.2 says).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (relay messages are ASCII: JWE, base64, JSON).
    pub fn text(&self) -> Result<&str, StompError> {
        std::str::from_utf8(&self.body)
            .map_err(|_| StompError::Malformed("body is not UTF-8".into()))
    }

    /// The frame's bytes. Header values are escaped except in CONNECT and CONNECTED (1.2).
    pub fn encode(&self) -> Vec<u8> {
        let escape = self.command != "CONNECT" && self.command != "CONNECTED";
        let mut out = Vec::with_capacity(self.body.len() + 64);
        out.extend_from_slice(self.command.as_bytes());
        out.push(b'\n');
        for (k, v) in &self.headers {
            if escape {
                push_escaped(&mut out, k);
                out.push(b':');
                push_escaped(&mut out, v);
            } else {
                out.extend_from_slice(k.as_bytes());
                out.push(b':');
                out.extend_from_slice(v.as_bytes());
            }
            out.push(b'\n');
        }
        if self.body.contains(&0) && self.get("content-length").is_none() {
            out.extend_from_slice(format!("content-length:{}\n", self.body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
        out
    }
}

fn push_escaped(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b':' => out.extend_from_slice(b"\\c"),
            _ => out.push(b),
        }
    }
}

fn unescape(raw: &[u8], escaped: bool) -> Result<String, StompError> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| StompError::Malformed("header is not UTF-8".into()))?;
    if !escaped || !text.contains('\\') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(':'),
            other => {
                return Err(StompError::Malformed(format!(
                    "undefined escape \\{}",
                    other.map(String::from).unwrap_or_default()
                )))
            }
        }
    }
    Ok(out)
}

/// What the broker sent: a frame, or a heart-beat (an end of line between frames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Frame(Frame),
    HeartBeat,
}

/// Takes one item off the front of `buf` when it is complete; `None` when more bytes are
/// needed.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Incoming>, StompError> {
    if buf.first() == Some(&b'\n') {
        buf.advance(1);
        return Ok(Some(Incoming::HeartBeat));
    }
    if buf.starts_with(b"\r\n") {
        buf.advance(2);
        return Ok(Some(Incoming::HeartBeat));
    }
    if buf.len() == 1 && buf[0] == b'\r' {
        return Ok(None);
    }
    if buf.first() == Some(&0) {
        return Err(StompError::Malformed("NUL where a command belongs".into()));
    }
    // The header block ends at the first empty line.
    let mut lines = Vec::new();
    let mut start = 0;
    let header_end = loop {
        let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') else {
            if buf.len() > MAX_FRAME {
                return Err(StompError::TooLarge);
            }
            return Ok(None);
        };
        let end = start + nl;
        let line = if end > start && buf[end - 1] == b'\r' {
            start..end - 1
        } else {
            start..end
        };
        start = end + 1;
        if line.is_empty() {
            break start;
        }
        lines.push(line);
    };
    let Some(command_line) = lines.first() else {
        return Err(StompError::Malformed("no command".into()));
    };
    let command = unescape(&buf[command_line.clone()], false)?;
    let escaped = command != "CONNECTED" && command != "CONNECT";
    let mut headers = Vec::with_capacity(lines.len().saturating_sub(1));
    for line in &lines[1..] {
        let raw = &buf[line.clone()];
        let colon = raw
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| StompError::Malformed("header without ':'".into()))?;
        headers.push((
            unescape(&raw[..colon], escaped)?,
            unescape(&raw[colon + 1..], escaped)?,
        ));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.trim().parse::<usize>())
        .transpose()
        .map_err(|_| StompError::Malformed("bad content-length".into()))?;
    let body_end = match length {
        Some(n) => {
            if n > MAX_FRAME {
                return Err(StompError::TooLarge);
            }
            if buf.len() < header_end + n + 1 {
                return Ok(None);
            }
            if buf[header_end + n] != 0 {
                return Err(StompError::Malformed(
                    "no NUL after content-length bytes".into(),
                ));
            }
            header_end + n
        }
        None => match buf[header_end..].iter().position(|b| *b == 0) {
            Some(p) => header_end + p,
            None if buf.len() > MAX_FRAME => return Err(StompError::TooLarge),
            None => return Ok(None),
        },
    };
    let body = buf[header_end..body_end].to_vec();
    buf.advance(body_end + 1);
    Ok(Some(Incoming::Frame(Frame {
        command,
        headers,
        body,
    })))
}

/// Heart-beat intervals agreed with the broker (`None`: off in that direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beats {
    pub send_every: Option<Duration>,
    /// Silence longer than three of these means the broker is gone.
    pub expect_every: Option<Duration>,
}

/// STOMP 1.2 heart-beat negotiation: we offer `(cx, cy)` ms, the broker answers `sx,sy`.
pub fn negotiate(ours: (u32, u32), theirs: Option<&str>) -> Beats {
    let (sx, sy) = theirs
        .and_then(|h| h.split_once(','))
        .and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)))
        .unwrap_or((0, 0));
    let pick =
        |a: u32, b: u32| (a != 0 && b != 0).then(|| Duration::from_millis(u64::from(a.max(b))));
    Beats {
        send_every: pick(ours.0, sy),
        expect_every: pick(ours.1, sx),
    }
}

enum Command {
    Send(Frame, Option<oneshot::Sender<Result<(), StompError>>>),
}

/// A STOMP session with the broker, run by its own task: frames go out in order, MESSAGE
/// frames come in through [`Session::next_message`], receipts are awaited, heart-beats are
/// sent and watched. When the broker goes away the session ends (the caller reconnects).
pub struct Session {
    commands: mpsc::Sender<Command>,
    messages: Option<mpsc::Receiver<Frame>>,
    ended: tokio::sync::watch::Receiver<Option<StompError>>,
    next_receipt: std::sync::atomic::AtomicU64,
    pub beats: Beats,
}

impl Session {
    /// CONNECT (STOMP 1.2, `host`, heart-beats `(send, expect)` ms) over `io`, within `limit`.
    pub async fn connect<S>(
        mut io: S,
        host: &str,
        heart_beat: (u32, u32),
        limit: Duration,
    ) -> Result<Self, StompError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let connect = Frame::new("CONNECT")
            .header("accept-version", "1.2")
            .header("host", host)
            .header("heart-beat", &format!("{},{}", heart_beat.0, heart_beat.1));
        let mut buf = BytesMut::with_capacity(8192);
        let connected = tokio::time::timeout(limit, async {
            io.write_all(&connect.encode()).await.map_err(closed)?;
            loop {
                if let Some(item) = decode(&mut buf)? {
                    match item {
                        Incoming::HeartBeat => continue,
                        Incoming::Frame(f) if f.command == "CONNECTED" => return Ok(f),
                        Incoming::Frame(f) if f.command == "ERROR" => return Err(broker_error(&f)),
                        Incoming::Frame(f) => {
                            return Err(StompError::Malformed(format!(
                                "{} before CONNECTED",
                                f.command
                            )))
                        }
                    }
                }
                if io.read_buf(&mut buf).await.map_err(closed)? == 0 {
                    return Err(StompError::Closed("closed during CONNECT".into()));
                }
            }
        })
        .await
        .map_err(|_| StompError::Timeout(limit))??;
        let beats = negotiate(heart_beat, connected.get("heart-beat"));
        let (commands, queue) = mpsc::channel(1024);
        let (deliver, messages) = mpsc::channel(1024);
        let (end, ended) = tokio::sync::watch::channel(None);
        tokio::spawn(run(io, buf, queue, deliver, end, beats));
        Ok(Self {
            commands,
            messages: Some(messages),
            ended,
            next_receipt: std::sync::atomic::AtomicU64::new(1),
            beats,
        })
    }

    async fn submit(&self, frame: Frame, receipt: bool) -> Result<(), StompError> {
        let (tx, rx) = if receipt {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.commands
            .send(Command::Send(frame, tx))
            .await
            .map_err(|_| self.end_reason())?;
        match rx {
            Some(rx) => rx.await.map_err(|_| self.end_reason())?,
            None => Ok(()),
        }
    }

    fn end_reason(&self) -> StompError {
        self.ended
            .borrow()
            .clone()
            .unwrap_or_else(|| StompError::Closed("session ended".into()))
    }

    fn receipt_id(&self) -> String {
        format!(
            "r-{}",
            self.next_receipt
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
    }

    /// Subscribes `id` to `destination` (auto acknowledgement) and waits for the broker's
    /// receipt, so messages sent afterwards reach it.
    pub async fn subscribe(&self, destination: &str, id: &str) -> Result<(), StompError> {
        let frame = Frame::new("SUBSCRIBE")
            .header("id", id)
            .header("destination", destination)
            .header("ack", "auto")
            .header("receipt", &self.receipt_id());
        self.submit(frame, true).await
    }

    /// Ends subscription `id` (no receipt awaited: messages already on their way may still come
    /// and are dropped by the caller's routing).
    pub async fn unsubscribe(&self, id: &str) -> Result<(), StompError> {
        self.submit(Frame::new("UNSUBSCRIBE").header("id", id), false)
            .await
    }

    /// Queues a persistent text message for sending, in order with everything queued before;
    /// with `confirm`, the returned receiver says when the broker has it (the caller may wait
    /// for it elsewhere, so the next frames are not held up).
    pub async fn enqueue_send(
        &self,
        destination: &str,
        text: &str,
        confirm: bool,
    ) -> Result<Option<oneshot::Receiver<Result<(), StompError>>>, StompError> {
        let mut frame = Frame::new("SEND")
            .header("destination", destination)
            .header("persistent", "true");
        let (tx, rx) = if confirm {
            frame = frame.header("receipt", &self.receipt_id());
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.commands
            .send(Command::Send(frame.body(text), tx))
            .await
            .map_err(|_| self.end_reason())?;
        Ok(rx)
    }

    /// Sends a persistent text message to `destination` with `headers`; with `confirm`, waits
    /// until the broker has it.
    pub async fn send(
        &self,
        destination: &str,
        text: &str,
        headers: &[(&str, &str)],
        confirm: bool,
    ) -> Result<(), StompError> {
        let mut frame = Frame::new("SEND")
            .header("destination", destination)
            .header("persistent", "true");
        for (k, v) in headers {
            frame = frame.header(k, v);
        }
        if confirm {
            frame = frame.header("receipt", &self.receipt_id());
        }
        self.submit(frame.body(text), confirm).await
    }

    /// The next MESSAGE frame; `None` once the session has ended.
    pub async fn next_message(&mut self) -> Option<Frame> {
        self.messages.as_mut()?.recv().await
    }

    /// The incoming MESSAGE frames as a channel of their own, so a caller can wait for them
    /// and send at the same time (afterwards [`Session::next_message`] returns `None`).
    pub fn take_messages(&mut self) -> Option<mpsc::Receiver<Frame>> {
        self.messages.take()
    }

    /// Why the session ended, once it has.
    pub fn ended(&self) -> Option<StompError> {
        self.ended.borrow().clone()
    }

    /// DISCONNECT with a receipt (so everything sent before is with the broker).
    pub async fn disconnect(self) -> Result<(), StompError> {
        let frame = Frame::new("DISCONNECT").header("receipt", &self.receipt_id());
        self.submit(frame, true).await
    }
}

fn closed(e: std::io::Error) -> StompError {
    StompError::Closed(e.to_string())
}

fn broker_error(f: &Frame) -> StompError {
    let detail = String::from_utf8_lossy(&f.body);
    StompError::Broker(
        format!("{} {}", f.get("message").unwrap_or_default(), detail.trim())
            .trim()
            .to_owned(),
    )
}

async fn run<S>(
    io: S,
    mut buf: BytesMut,
    mut queue: mpsc::Receiver<Command>,
    deliver: mpsc::Sender<Frame>,
    end: tokio::sync::watch::Sender<Option<StompError>>,
    beats: Beats,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    let mut pending: HashMap<String, oneshot::Sender<Result<(), StompError>>> = HashMap::new();
    let far_future = Duration::from_secs(365 * 24 * 3600);
    let send_every = beats.send_every.unwrap_or(far_future);
    let silence_limit = beats.expect_every.map(|d| d * 3).unwrap_or(far_future);
    let mut beat = tokio::time::interval(send_every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = tokio::time::Instant::now();
    let outcome: StompError = 'session: loop {
        // Everything already received is handled before waiting again.
        loop {
            match decode(&mut buf) {
                Ok(Some(Incoming::HeartBeat)) => {}
                Ok(Some(Incoming::Frame(f))) => match f.command.as_str() {
                    "MESSAGE" => match deliver.send(f).await {
                        Ok(()) => {}
                        Err(_) => {
                            break 'session StompError::Closed("the session was dropped".into())
                        }
                    },
                    "RECEIPT" => {
                        if let Some(tx) = f.get("receipt-id").and_then(|id| pending.remove(id)) {
                            let _ = tx.send(Ok(()));
                        }
                    }
                    "ERROR" => break 'session broker_error(&f),
                    _ => {}
                },
                Ok(None) => break,
                Err(e) => break 'session e,
            }
        }
        tokio::select! {
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) => break StompError::Closed("the broker closed the connection".into()),
                Ok(_) => last_heard = tokio::time::Instant::now(),
                Err(e) => break closed(e),
            },
            cmd = queue.recv() => match cmd {
                Some(Command::Send(frame, reply)) => {
                    if let (Some(id), Some(tx)) = (frame.get("receipt"), reply) {
                        pending.insert(id.to_owned(), tx);
                    }
                    if let Err(e) = writer.write_all(&frame.encode()).await {
                        break closed(e);
                    }
                }
                None => break StompError::Closed("the session was dropped".into()),
            },
            _ = beat.tick() => {
                if beats.send_every.is_some() {
                    if let Err(e) = writer.write_all(b"\n").await {
                        break closed(e);
                    }
                }
                if last_heard.elapsed() > silence_limit {
                    break StompError::Closed(format!("no heart-beat from the broker for {silence_limit:?}"));
                }
            }
            _ = tokio::time::sleep_until(last_heard + silence_limit) => {
                break StompError::Closed(format!("no heart-beat from the broker for {silence_limit:?}"));
            }
        }
    };
    let _ = end.send(Some(outcome.clone()));
    for (_, tx) in pending.drain() {
        let _ = tx.send(Err(outcome.clone()));
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Incoming>, StompError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(item) = decode(&mut buf)? {
            out.push(item);
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        Ok(out)
    }

    #[test]
    fn round_trip_with_escaping() {
        let f = Frame::new("SEND")
            .header("destination", "/queue/REQ-a:b\\c\nd\re")
            .header("persistent", "true")
            .body("{\"x\":1}\nü€");
        let bytes = f.encode();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("content-length"),
            "no content-length for text"
        );
        assert!(bytes.starts_with(b"SEND\ndestination:/queue/REQ-a\\cb\\\\c\\nd\\re\n"));
        assert_eq!(decode_all(&bytes).unwrap(), vec![Incoming::Frame(f)]);
    }

    #[test]
    fn connect_frames_are_not_escaped() {
        let f = Frame::new("CONNECT").header("host", "a:b");
        assert!(f.encode().starts_with(b"CONNECT\nhost:a:b\n"));
        let got =
            decode_all(b"CONNECTED\nversion:1.2\nserver:ActiveMQ/5.17.2\nsession:ID\\c1\n\n\0")
                .unwrap();
        let Incoming::Frame(f) = &got[0] else {
            panic!()
        };
        assert_eq!(
            f.get("session"),
            Some("ID\\c1"),
            "CONNECTED is not unescaped"
        );
    }

    #[test]
    fn heart_beats_crlf_and_several_frames() {
        let got = decode_all(b"\n\r\nMESSAGE\r\ndestination:/queue/x\r\nmessage-id:ID\\c1\r\n\r\nhello\0\nRECEIPT\nreceipt-id:r-1\n\n\0").unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], Incoming::HeartBeat);
        assert_eq!(got[1], Incoming::HeartBeat);
        let Incoming::Frame(m) = &got[2] else {
            panic!()
        };
        assert_eq!(
            (m.command.as_str(), m.get("message-id"), m.body.as_slice()),
            ("MESSAGE", Some("ID:1"), &b"hello"[..])
        );
        assert_eq!(got[3], Incoming::HeartBeat);
        let Incoming::Frame(r) = &got[4] else {
            panic!()
        };
        assert_eq!(r.get("receipt-id"), Some("r-1"));
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let whole = Frame::new("MESSAGE")
            .header("destination", "/topic/t")
            .body("abc")
            .encode();
        for cut in 1..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(decode(&mut buf).unwrap(), None, "cut at {cut}");
            buf.extend_from_slice(&whole[cut..]);
            assert!(matches!(
                decode(&mut buf).unwrap(),
                Some(Incoming::Frame(_))
            ));
        }
    }

    #[test]
    fn content_length_bodies_may_hold_nul() {
        let f = Frame::new("SEND")
            .header("destination", "/queue/q")
            .body(vec![1, 0, 2]);
        let bytes = f.encode();
        assert!(String::from_utf8_lossy(&bytes).contains("content-length:3"));
        let got = decode_all(&bytes).unwrap();
        let Incoming::Frame(g) = &got[0] else {
            panic!()
        };
        assert_eq!(g.body, vec![1, 0, 2]);
        assert!(matches!(
            decode_all(b"MESSAGE\ncontent-length:2\n\nabc\0"),
            Err(StompError::Malformed(_))
        ));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &b"SEND\nno-colon\n\n\0"[..],
            b"SEND\nbad:\\x\n\n\0",
            b"\n\n\n\nSEND\ncontent-length:zz\n\n\0",
            b"\n\n\0",
        ] {
            let mut buf = BytesMut::from(bad);
            let mut result = Ok(None);
            for _ in 0..8 {
                result = decode(&mut buf);
                if !matches!(result, Ok(Some(Incoming::HeartBeat))) {
                    break;
                }
            }
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut huge = BytesMut::from(&b"SEND\n\n"[..]);
        huge.resize(MAX_FRAME + 10, b'a');
        assert_eq!(decode(&mut huge), Err(StompError::TooLarge));
    }

    #[test]
    fn heart_beat_negotiation() {
        let b = negotiate((10_000, 10_000), Some("2000,5000"));
        assert_eq!(b.send_every, Some(Duration::from_secs(10)));
        assert_eq!(b.expect_every, Some(Duration::from_secs(10)));
        let b = negotiate((1000, 3000), Some("5000,0"));
        assert_eq!(
            (b.send_every, b.expect_every),
            (None, Some(Duration::from_secs(5)))
        );
        assert_eq!(
            negotiate((1000, 1000), None),
            Beats {
                send_every: None,
                expect_every: None
            }
        );
    }

    /// A broker stand-in on an in-memory pipe: CONNECTED, then receipts and a MESSAGE.
    #[tokio::test]
    async fn session_over_a_pipe() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let broker = tokio::spawn(async move {
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            loop {
                while let Some(item) = decode(&mut buf).unwrap() {
                    if let Incoming::Frame(f) = item {
                        let reply = match f.command.as_str() {
                            "CONNECT" => Some(
                                Frame::new("CONNECTED")
                                    .header("version", "1.2")
                                    .header("heart-beat", "0,0"),
                            ),
                            _ => f
                                .get("receipt")
                                .map(|r| Frame::new("RECEIPT").header("receipt-id", r)),
                        };
                        if f.command == "SEND" {
                            let m = Frame::new("MESSAGE")
                                .header("destination", f.get("destination").unwrap())
                                .header("message-id", "ID:1")
                                .body(f.body.clone());
                            server.write_all(&m.encode()).await.unwrap();
                        }
                        if let Some(r) = reply {
                            server.write_all(&r.encode()).await.unwrap();
                        }
                        let disconnect = f.command == "DISCONNECT";
                        frames.push(f);
                        if disconnect {
                            return frames;
                        }
                    }
                }
                if server.read_buf(&mut buf).await.unwrap() == 0 {
                    return frames;
                }
            }
        });
        let mut s = Session::connect(client, "localhost", (0, 0), Duration::from_secs(5))
            .await
            .unwrap();
        s.subscribe("/queue/q", "sub-1").await.unwrap();
        s.send("/queue/q", "payload", &[("x-h", "v")], true)
            .await
            .unwrap();
        let m = s.next_message().await.unwrap();
        assert_eq!(
            (m.get("destination"), m.text().unwrap()),
            (Some("/queue/q"), "payload")
        );
        s.disconnect().await.unwrap();
        let frames = broker.await.unwrap();
        let commands: Vec<&str> = frames.iter().map(|f| f.command.as_str()).collect();
        assert_eq!(commands, ["CONNECT", "SUBSCRIBE", "SEND", "DISCONNECT"]);
        assert_eq!(frames[2].get("persistent"), Some("true"));
        assert_eq!(frames[2].get("x-h"), Some("v"));
        assert_eq!(frames[2].get("content-length"), None);
    }

    /// A broker that answers CONNECTED with heart-beats and then falls silent is declared gone.
    #[tokio::test]
    async fn a_silent_broker_ends_the_session() {
        let (client, mut server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = server.read(&mut buf).await;
            let c = Frame::new("CONNECTED")
                .header("version", "1.2")
                .header("heart-beat", "100,100");
            server.write_all(&c.encode()).await.unwrap();
            // Reads (so the client's beats do not block) but never writes again.
            while server.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {}
        });
        let mut s = Session::connect(client, "localhost", (100, 100), Duration::from_secs(5))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        assert_eq!(s.next_message().await, None);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(s.ended(), Some(StompError::Closed(m)) if m.contains("heart-beat")));
    }
}
