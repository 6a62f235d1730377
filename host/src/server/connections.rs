//! The accept loop (HTTP/1.1): every connection the server holds is bounded. At most `max_connections` are
//! served at once (more wait in the kernel's backlog); a connection that has not sent a whole
//! request head within `header_read_timeout` (the first one, or the next one on a keep-alive
//! connection) is closed; after `max_requests_per_connection` answers a keep-alive connection is
//! closed (`Connection: close` on the last answer). Each request learns its peer address
//! ([`axum::extract::ConnectInfo`]).

use std::{
    future::Future,
    io,
    net::SocketAddr,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderValue, header::CONNECTION},
    response::Response,
};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt as _;

/// The bounds of every connection (from [`crate::config::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Longest wait for a whole request head, idle time before it included.
    pub header_read_timeout: Duration,
    /// Requests answered on one connection before it is closed.
    pub max_requests_per_connection: NonZeroU32,
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then waits for the
/// connections in flight to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Only a latency hint: a socket that refuses it is served all the same.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(connection_service(router.clone(), peer, limits));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The router as one connection sees it: the peer address in every request, and
/// `Connection: close` on the answer that reaches the connection's request limit.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
) -> impl tower::Service<Request<Incoming>, Response = Response, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let answered = Arc::new(AtomicU32::new(0));
    router
        .map_request(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        })
        .map_response(move |mut response: Response| {
            if answered.fetch_add(1, Ordering::Relaxed).saturating_add(1) >= limits.max_requests_per_connection.get() {
                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            }
            response
        })
}

/// An accept error about one connection (the peer hung up first) is nothing; running out of file
/// descriptors or memory is waited out, so the loop does not spin.
async fn wait_after_accept_error(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(%error, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
