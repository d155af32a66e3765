//! The accept loop: HTTP/1.1 over hyper with a deadline for the request
//! head, which `axum::serve` cannot set.
//!
//! Without one, a client that opens a connection and sends a request line a
//! byte at a time (slowloris), or nothing at all, holds a connection and a
//! task forever. hyper's header read timeout closes the connection when the
//! head (request line and headers) has not arrived in time; it also runs
//! while a kept-alive connection waits for its next request, so idle
//! connections end after the same time. The body is read inside the
//! handler, so the request timeout of `http::router` bounds it too.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::{Service, ServiceExt};

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (each bounded by the timeouts) and returns once
/// every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    // Connections hold a receiver each: once all are dropped, all are done.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, a connection reset before
                    // accept: wait a moment rather than spin.
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(service) = make_service.call(remote).await;
        let service = service.map_request(|request: Request<Incoming>| request.map(Body::new));
        let mut stop = stop_rx.clone();
        // The make-service of a router never fails.
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut connection = pin!(connection);
            let ended = tokio::select! {
                result = connection.as_mut() => result,
                // Shutting down: finish the request in flight, then close.
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(error) = ended {
                // A client gone, or too slow with its request head.
                tracing::debug!(%error, "connection ended");
            }
            drop(stop);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Every connection task holds a receiver until it ends.
    stop_tx.closed().await;
}
