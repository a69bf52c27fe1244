//! The loopback redirect of `connect loket`: a one-shot HTTP server on `127.0.0.1:<redirect_port>` that takes
//! Loket's redirect to `/callback`, checks its `state` and hands back the authorization code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
    #[error("no approval arrived within {0} s; run `loket-sync connect loket` again")]
    Timeout(u64),
    #[error(
        "the redirect does not belong to this login (state mismatch); nothing was stored. Run `loket-sync connect loket` again"
    )]
    StateMismatch,
    #[error("Loket sent no code: {0}")]
    NoCode(String),
}

/// A `state` for the authorization request: 128 bits from the operating system's CSPRNG, as hex. A
/// redirect that does not carry it back is refused, so a forged redirect cannot plant someone else's code.
pub fn new_state() -> Result<String, RedirectError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(RedirectError::Random)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Serves `/callback` on `listener` until one redirect arrives (or `timeout` passes) and returns its code,
/// if its `state` is `expected_state`.
pub async fn wait_for_code(
    listener: TcpListener,
    expected_state: &str,
    timeout: Duration,
) -> Result<String, RedirectError> {
    let (sender, receiver) = tokio::sync::oneshot::channel::<HashMap<String, String>>();
    let sender = Arc::new(Mutex::new(Some(sender)));
    let router = axum::Router::new().route(
        "/callback",
        axum::routing::get(move |axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>| {
            let sender = Arc::clone(&sender);
            async move {
                if let Some(sender) = sender.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take() {
                    let _ = sender.send(query);
                }
                "loket-sync received the approval; you can close this window."
            }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let answer = tokio::time::timeout(timeout, receiver).await;
    server.abort();
    let Ok(Ok(query)) = answer else { return Err(RedirectError::Timeout(timeout.as_secs())) };
    if query.get("state").map(String::as_str) != Some(expected_state) {
        return Err(RedirectError::StateMismatch);
    }
    query.get("code").cloned().ok_or_else(|| {
        RedirectError::NoCode(query.get("error").cloned().unwrap_or_else(|| "unknown error".to_string()))
    })
}
