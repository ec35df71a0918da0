//! A TCP proxy a test can cut: the worker talks to PostgreSQL through it, and the test
//! takes the database away from that worker (every connection dropped, new ones
//! refused) and gives it back, as a PostgreSQL outage would, without stopping the
//! server other tests share.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
pub struct Proxy {
    pub port: u16,
    down: Arc<AtomicBool>,
    /// Bumped on every cut, so connections made before it end.
    epoch: Arc<AtomicU64>,
}

impl Proxy {
    /// Listens on a free local port and forwards to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Proxy {
            port: listener.local_addr().expect("addr").port(),
            down: Arc::default(),
            epoch: Arc::default(),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if p.down.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused, in effect
                }
                let (p, target) = (p.clone(), target.clone());
                tokio::spawn(async move { p.pipe(client, &target).await });
            }
        });
        proxy
    }

    /// Drops every connection and refuses new ones until [`Proxy::restore`]; returns
    /// once the open connections are closed.
    pub async fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    async fn pipe(&self, mut client: TcpStream, target: &str) {
        let Ok(mut server) = TcpStream::connect(target).await else {
            return;
        };
        let epoch = self.epoch.load(Ordering::SeqCst);
        let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
        let cut = async {
            while self.epoch.load(Ordering::SeqCst) == epoch {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            _ = copy => {}
            _ = cut => {}
        }
    }
}

/// `url` (`scheme://user@host:port/db?…`) with `host:port` replaced by the local
/// `port`, and the `host:port` it named.
pub fn through(url: &str, port: u16) -> (String, String) {
    let at = url.find('@').expect("a user in the URL") + 1;
    let end = at + url[at..].find('/').expect("a database in the URL");
    let target = url[at..end].to_owned();
    (
        format!("{}127.0.0.1:{port}{}", &url[..at], &url[end..]),
        target,
    )
}
