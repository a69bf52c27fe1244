//! Local emulators of Loket.nl and Personio, so that every test, the demo and anyone without an account
//! can run the whole product over real sockets.
//!
//! Both are axum routers seeded from the scenario format (`crates/scenario`): `loket::LoketEmulator` from a
//! `loket` section, `personio::PersonioEmulator` from a `personio` section. Each serves admin endpoints on its
//! own port: `GET`/`PUT /_emulator/state`, `GET /_emulator/requests`, `PUT /_emulator/faults`.

#![recursion_limit = "256"]

pub mod faults;
pub mod log;
pub mod loket;
pub mod personio;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::Faults;
pub use log::{LoggedRequest, RequestLog};
pub use loket::LoketEmulator;
pub use personio::PersonioEmulator;

/// The key requests are counted under: method and route template, with the `/v2` prefix once
/// (`GET /v2/providers/employers/{employer_id}/employees/employments`).
pub(crate) fn route_key(method: &str, matched: Option<&str>, path: &str) -> String {
    let route = matched.unwrap_or(path);
    if route.starts_with("/v2") { format!("{method} {route}") } else { format!("{method} /v2{route}") }
}

/// A server running in the background of this process.
pub struct Running {
    pub address: SocketAddr,
    handle: JoinHandle<()>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Serves a router on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// Binds a loopback port chosen by the OS and serves the router on it in the background.
pub async fn start(router: Router) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    start_on(listener, router)
}

/// Serves the router on a listener the caller bound, in the background.
pub fn start_on(listener: TcpListener, router: Router) -> std::io::Result<Running> {
    let address = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Running { address, handle })
}
