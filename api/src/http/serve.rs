//! The API's HTTP/1.1 server: the poem application served by hyper directly, because
//! poem's own server bounds neither how long a request head may take nor how many
//! connections are open (stalled sockets stayed open for minutes, thousands of them).
//! TLS and HTTP/2 belong to the load balancer in front.
//!
//! - A request head must arrive within `header_read_timeout` of its first byte (of the
//!   connection's start, for the first one).
//! - A request's body and handling must be done within `request_timeout` of its head
//!   (a body trickled in byte by byte holds no connection longer).
//! - Between requests, a connection silent both ways for `idle_timeout` (a kept-alive
//!   connection with no next request, a client that stopped reading) is closed.
//! - At most `max_connections` are open; one more is answered `503` and closed.
//! - A first request head over 64 KiB is answered `431` (`conn_guard`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use poem::endpoint::BoxEndpoint;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::conn_guard::{Activity, Guarded};

/// `API_HEADER_READ_TIMEOUT_SECS`, `API_REQUEST_TIMEOUT_SECS`, `API_IDLE_TIMEOUT_SECS`,
/// `API_MAX_CONNECTIONS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            // Above the 60 s idle timeout of common load balancers, which reuse their
            // connections to us: we must not close one they are about to use.
            idle_timeout: Duration::from_secs(75),
            max_connections: 1024,
        }
    }
}

impl Limits {
    /// Whether a connection has outstayed a limit: a head too slow, a request (body
    /// and handling) too long, or, between requests, silence too long.
    fn overdue(&self, a: &Activity) -> bool {
        let head = a.head_for();
        let request = a.request_for();
        head.is_some_and(|t| t >= self.header_read_timeout)
            || request.is_some_and(|t| t >= self.request_timeout)
            || (head.is_none() && request.is_none() && a.silent_for() >= self.idle_timeout)
    }
}

/// How often a connection's timeouts are checked.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// How long connections in hand may finish their requests after the stop.
const GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown`, then lets requests in hand finish.
pub async fn serve<E>(
    listener: TcpListener,
    app: E,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let app: Arc<BoxEndpoint<'static, Response>> =
        Arc::new(app.into_endpoint().map_to_response().boxed());
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(64));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Answered by a few tasks at most; beyond them, just closed.
            if let Ok(refusing) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse_busy(stream).await;
                    drop(refusing);
                });
            }
            continue;
        };
        let conn = Conn {
            app: app.clone(),
            limits,
            local,
            peer,
            stop: stop_rx.clone(),
        };
        tokio::spawn(async move {
            conn.run(stream).await;
            drop(slot);
        });
    }
    // New connections are refused at once from here, not left in the backlog.
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection gives its slot back when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(GRACE, slots.acquire_many(all)).await;
    Ok(())
}

/// One more connection than allowed: a short `503`, then closed, after reading what
/// the client sent meanwhile (closing on unread bytes would reset the connection
/// before the client read the answer).
async fn refuse_busy(mut stream: tokio::net::TcpStream) {
    tracing::warn!("connection refused: API_MAX_CONNECTIONS are open");
    let body = r#"{"error":"service_unavailable","message":"Too many open connections; try again shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer_then_drain = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 8192];
        let mut drained = 0;
        while drained < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), answer_then_drain).await;
}

struct Conn {
    app: Arc<BoxEndpoint<'static, Response>>,
    limits: Limits,
    local: SocketAddr,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
}

impl Conn {
    async fn run(mut self, stream: tokio::net::TcpStream) {
        let activity = Activity::new();
        let io = TokioIo::new(Guarded::new(stream, activity.clone()));
        let (app, local, peer) = (self.app.clone(), self.local, self.peer);
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            async move {
                let req: poem::Request = (
                    req,
                    poem::web::LocalAddr(poem::Addr::SocketAddr(local)),
                    poem::web::RemoteAddr(poem::Addr::SocketAddr(peer)),
                    poem::http::uri::Scheme::HTTP,
                )
                    .into();
                let resp = app.get_response(req).await;
                Ok::<_, Infallible>(hyper::Response::from(resp))
            }
        });
        let mut builder = http1::Builder::new();
        // The head timeout is `conn_guard`'s: hyper's also runs while a kept-alive
        // connection waits for its next request.
        builder.header_read_timeout(None).keep_alive(true);
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        loop {
            tokio::select! {
                _ = conn.as_mut() => return,
                () = tokio::time::sleep(CHECK_EVERY) => {
                    if self.limits.overdue(&activity) {
                        return; // dropping the connection closes it
                    }
                }
                _ = self.stop.wait_for(|s| *s) => break,
            }
        }
        conn.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(GRACE, conn).await;
    }
}
