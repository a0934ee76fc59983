//! Readiness and liveness handlers, and the routes that serve them.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use super::RequestContext;
use gracefully_runtime::State;

/// Readiness handler: `200 ready` while the process runs, `503` before:
/// until `main`'s body returned (`not ready: starting`), while the program
/// says it is not ready ([`Context::set_ready`](gracefully_runtime::Context::set_ready)),
/// and from the moment shutdown is requested (the lame duck included), so
/// that a load balancer or Kubernetes stops sending traffic before
/// anything is cancelled.
///
/// ```
/// use axum::{Router, routing::get};
/// let app: Router = Router::new().route("/ready", get(graceful::http::ready));
/// ```
pub async fn ready(RequestContext(ctx): RequestContext) -> (StatusCode, &'static str) {
    match ctx.state() {
        State::Running => (StatusCode::OK, "ready\n"),
        State::Starting => (StatusCode::SERVICE_UNAVAILABLE, "not ready: starting\n"),
        State::NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        State::LameDuck => (StatusCode::SERVICE_UNAVAILABLE, "not ready: lame duck\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "not ready: draining\n"),
    }
}

/// Liveness handler: `200 alive` for as long as the process can answer,
/// shutdown included (restarting a process that is draining would only
/// lose its work).
///
/// ```
/// use axum::{Router, routing::get};
/// let app: Router = Router::new().route("/live", get(graceful::http::live));
/// ```
pub async fn live() -> (StatusCode, &'static str) {
    (StatusCode::OK, "alive\n")
}

/// `GET /ready` ([`ready`]) and `GET /live` ([`live`]), to merge into an
/// application's router, whatever its state type.
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// let app: Router = Router::new()
///     .route("/", get(|State(name): State<&'static str>| async move { name }))
///     .merge(graceful::http::health_routes())
///     .with_state("hello");
/// ```
pub fn health_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ready", get(ready))
        .route("/live", get(live))
}
