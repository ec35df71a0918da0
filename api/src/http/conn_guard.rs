//! A connection's socket as the server reads it, watched for three limits that hyper
//! alone does not give: when a byte last moved either way (the idle timeout), how long
//! the request head being read has taken (the head timeout, counted from its first
//! byte, or from the connection's start for the first one, so a kept-alive connection
//! may wait quietly for its next request), and the size of the first head, which may
//! not exceed [`MAX_HEAD_BYTES`]: hyper answers an oversized head itself only past its
//! ~400 KiB buffer and with an empty 431; this answers sooner, with the documented JSON
//! error, and closes the connection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest first request head (request line and headers) a connection may send.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// No head is being read.
const NO_HEAD: u64 = u64::MAX;

/// A connection's clock, shared by its socket and the task that serves it: times in
/// milliseconds since it was opened.
#[derive(Clone)]
pub struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
    head_since_ms: Arc<AtomicU64>,
    /// Since its head arrived, until its answer starts: a request in hand.
    request_since_ms: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Activity {
        Activity::new()
    }
}

impl Activity {
    /// A new connection: silent, and its first head due from now.
    pub fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
            head_since_ms: Arc::new(AtomicU64::new(0)),
            request_since_ms: Arc::new(AtomicU64::new(NO_HEAD)),
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn touch(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// How long the connection has been silent.
    pub fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    /// How long the head being read has taken so far, if one is.
    pub fn head_for(&self) -> Option<Duration> {
        self.since(&self.head_since_ms)
    }

    /// How long the request in hand (body and handling) has taken so far, if one is.
    pub fn request_for(&self) -> Option<Duration> {
        self.since(&self.request_since_ms)
    }

    fn since(&self, mark: &AtomicU64) -> Option<Duration> {
        match mark.load(Ordering::Relaxed) {
            NO_HEAD => None,
            since => Some(Duration::from_millis(self.now_ms().saturating_sub(since))),
        }
    }
}

enum Head {
    /// Waiting for a request head or reading one: its size so far, its last four bytes,
    /// and whether it is the connection's first.
    Reading {
        size: usize,
        last4: u32,
        first: bool,
    },
    /// The head arrived: the request is being handled, its body read.
    Done,
    /// Too large: this answer is being written, then what the client still sends is
    /// read and dropped (up to [`DRAIN_BYTES`]) so that closing does not reset the
    /// connection before the client read the answer; then the connection ends.
    Refusing {
        answer: Vec<u8>,
        written: usize,
        drained: usize,
    },
}

pub struct Guarded<T> {
    inner: T,
    activity: Activity,
    head: Head,
}

impl<T> Guarded<T> {
    pub fn new(inner: T, activity: Activity) -> Guarded<T> {
        Guarded {
            inner,
            activity,
            head: Head::Reading {
                size: 0,
                last4: 0,
                first: true,
            },
        }
    }

    /// Follows the head being read through newly read bytes.
    fn watch(&mut self, bytes: &[u8]) {
        let Head::Reading { size, last4, first } = &mut self.head else {
            return;
        };
        if *size == 0 && !*first {
            self.activity
                .head_since_ms
                .store(self.activity.now_ms(), Ordering::Relaxed);
        }
        for &b in bytes {
            *size += 1;
            *last4 = (*last4 << 8) | u32::from(b);
            // hyper also takes a bare `\n\n` or `\n\r\n` as the end of a head.
            let end = *last4 == u32::from_be_bytes(*b"\r\n\r\n")
                || *last4 & 0xffff == 0x0a0a
                || *last4 & 0xff_ffff == 0x0a_0d0a;
            if end {
                self.head = Head::Done;
                let a = &self.activity;
                a.head_since_ms.store(NO_HEAD, Ordering::Relaxed);
                a.request_since_ms.store(a.now_ms(), Ordering::Relaxed);
                return;
            }
            if *first && *size > MAX_HEAD_BYTES {
                self.head = Head::Refusing {
                    answer: too_large_answer(),
                    written: 0,
                    drained: 0,
                };
                return;
            }
        }
    }

    /// A final response (not `100 Continue`) starts: the next bytes are a new head.
    fn written(&mut self, data: &[u8]) {
        let final_status = data.len() > 9 && data.starts_with(b"HTTP/1.1 ") && data[9] != b'1';
        if final_status && matches!(self.head, Head::Done) {
            let a = &self.activity;
            a.request_since_ms.store(NO_HEAD, Ordering::Relaxed);
            self.head = Head::Reading {
                size: 0,
                last4: 0,
                first: false,
            };
        }
    }
}

/// How much a refused client may still send before the connection is closed anyway.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

impl<T: AsyncRead + AsyncWrite + Unpin> Guarded<T> {
    /// Writes the 431, half-closes, drains the rest, then reports the end of input.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Head::Refusing {
            answer,
            written,
            drained,
        } = &mut self.head
        else {
            return Poll::Ready(Ok(()));
        };
        while *written < answer.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Pending => return Poll::Pending,
            }
        }
        if Pin::new(&mut self.inner).poll_shutdown(cx).is_pending() {
            return Poll::Pending;
        }
        let mut scratch = [0u8; 8192];
        while *drained < DRAIN_BYTES {
            let mut sink = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut sink) {
                Poll::Ready(Ok(())) if !sink.filled().is_empty() => {
                    *drained += sink.filled().len();
                    self.activity.touch();
                }
                Poll::Ready(_) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// `431` with the JSON error body every failure has.
fn too_large_answer() -> Vec<u8> {
    let body = serde_json::json!({
        "error": "request_header_fields_too_large",
        "message": format!("Request headers are larger than {MAX_HEAD_BYTES} bytes"),
        "request_id": uuid::Uuid::new_v4().to_string(),
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
    .to_string();
    format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json; \
         charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Head::Refusing { .. } = this.head {
            return this.poll_refuse(cx);
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
            this.watch(&buf.filled()[before..]);
            if matches!(this.head, Head::Refusing { .. }) {
                // Nothing of the oversized head reaches hyper.
                buf.set_filled(before);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
            this.written(data);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
