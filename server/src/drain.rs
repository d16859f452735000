//! Serving with a graceful shutdown that drops no accepted request. On the stop signal the
//! server accepts what the kernel already queued for it (the listen backlog), closes the
//! listener, lets every connection that has not sent its first request yet do so (up to a
//! second), answers every request in flight, and only then closes the connections
//! (`graceful_shutdown`: keep-alive connections close after their current answer).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How long a connection accepted before the stop may take to send its first request.
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    connections.spawn(connection(stream, addr, router.clone(), stop_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // The kernel completed these handshakes before the stop: they are ours to answer. Asked
    // of the socket itself (the runtime may not have seen them yet), until it has none left.
    let mut drained = 0usize;
    let listener = listener.into_std()?;
    loop {
        match listener.accept() {
            Ok((stream, addr)) => {
                stream.set_nonblocking(true)?;
                let stream = TcpStream::from_std(stream)?;
                connections.spawn(connection(stream, addr, router.clone(), stop_rx.clone()));
                drained += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed while stopping");
                break;
            }
        }
    }
    drop(listener);
    tracing::info!(
        connections = connections.len(),
        drained,
        "stopping: answering requests in flight"
    );
    let _ = stopping.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    stream: TcpStream,
    addr: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    // Pages are streamed in several writes: without TCP_NODELAY, Nagle's algorithm holds each
    // small write back until the previous one is acknowledged, and the client's delayed ACK
    // makes that a 40 ms stall.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    let served = Arc::new(AtomicBool::new(false));
    let seen = served.clone();
    let service = router.map_request(move |req: http::Request<hyper::body::Incoming>| {
        seen.store(true, Ordering::Relaxed);
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(addr));
        req
    });
    let conn = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|s| *s) => {}
    }
    // Stopping: a connection that has not sent its first request gets a moment to do so.
    let deadline = tokio::time::Instant::now() + FIRST_REQUEST_GRACE;
    while !served.load(Ordering::Relaxed) && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}
