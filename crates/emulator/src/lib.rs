//! Local emulators of Loket.nl and Personio, so that every test, the demo and anyone without an account
//! can run the whole product over real sockets.
//!
//! Both are axum routers seeded from the scenario format (`crates/scenario`): `loket::LoketEmulator` from a
//! `loket` section, `personio::PersonioEmulator` from a `personio` section. Each serves admin endpoints on its
//! own port: `GET`/`PUT /_emulator/state`, `GET /_emulator/requests`, `PUT /_emulator/faults` (written once, in
//! `admin`, for both). What else both share (the demo credentials, the lock, JSON responses, the bearer
//! token, the fault knobs' decision on a request) is written once in `common`.

#![recursion_limit = "256"]

mod admin;
mod common;
pub mod faults;
pub mod log;
pub mod loket;
pub mod personio;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::{Faults, FaultsError};
pub use log::{LoggedRequest, RequestLog};
pub use loket::LoketEmulator;
pub use personio::PersonioEmulator;

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
