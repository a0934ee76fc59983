//! [`RequestContext`], the extractor through which a handler reaches its
//! request's [`Context`], and [`MissingContext`], its rejection.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::request;
use gracefully_runtime::Context;

/// The [`Context`] of the request being handled: an axum extractor.
///
/// It is the context of the server's `http` scope, cancelled when the drain
/// begins (Go's `BaseContext`): a streaming, long-poll or WebSocket handler
/// selects on [`Context::cancelled`] and ends promptly, letting its
/// connection close. Tasks it spawns belong to the `http` scope and are
/// awaited before the server's parent scope is drained.
///
/// Those tasks are **isolated** by default ([`Policy::Isolated`](gracefully_runtime::Policy::Isolated),
/// the `http` scope's default): when one fails (a WebSocket whose client
/// reset the connection), the failure is logged and counted in the final
/// report, and the process goes on, so no client can stop the server.
/// Start a task with [`Context::spawn_with`] and
/// [`Policy::Critical`](gracefully_runtime::Policy::Critical) if its failure must stop
/// the process.
///
/// Extraction fails with `500` ([`MissingContext`]) if the router is not
/// served by [`serve`](super::serve), or if it runs outside the task in which the server
/// runs the request (its connection's, or an HTTP/2 stream's): the context
/// is found there, not in the request's extensions (which would cost every
/// request an allocation). A layer that hands requests to a task of its
/// own (tower's `Buffer`) loses it; extract it in front of such a layer
/// and pass it on as an extension.
///
/// ```
/// use axum::{Router, routing::get};
/// use graceful::http::RequestContext;
/// use std::time::Duration;
///
/// /// Waits up to 30 s for news, but answers at once when the server drains.
/// async fn long_poll(RequestContext(ctx): RequestContext) -> &'static str {
///     match ctx.run_until_cancelled(tokio::time::sleep(Duration::from_secs(30))).await {
///         Some(()) => "nothing new",
///         None => "shutting down, poll again elsewhere",
///     }
/// }
///
/// let app: Router = Router::new().route("/poll", get(long_poll));
/// ```
///
/// A WebSocket session runs after its connection has left the server: spawn
/// it on the request's context so that the drain cancels it and awaits it,
/// and close with code 1001 ("going away") when the context is cancelled.
/// If the client vanishes, the session's error is an isolated failure. The
/// `http_server` example does exactly that:
///
/// ```
/// use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
/// use axum::response::Response;
/// use graceful::Context;
/// use graceful::http::RequestContext;
/// use std::time::Duration;
///
/// async fn ws(RequestContext(ctx): RequestContext, upgrade: WebSocketUpgrade) -> Response {
///     upgrade.on_upgrade(move |socket| async move {
///         let _ = ctx.spawn("websocket", session(ctx.clone(), socket)).await;
///     })
/// }
///
/// async fn session(ctx: Context, mut socket: WebSocket) -> Result<(), axum::Error> {
///     let mut every = tokio::time::interval(Duration::from_millis(100));
///     while ctx.run_until_cancelled(every.tick()).await.is_some() {
///         socket.send(Message::Text("tick".into())).await?;
///     }
///     let away = CloseFrame { code: close_code::AWAY, reason: "server shutting down".into() };
///     socket.send(Message::Close(Some(away))).await
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RequestContext(pub Context);

impl std::ops::Deref for RequestContext {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = MissingContext;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        request::request_context()
            .map(RequestContext)
            .ok_or(MissingContext)
    }
}

/// The rejection of [`RequestContext`] when the router is not served by
/// [`serve`](super::serve): answered `500 Internal Server Error`.
///
/// ```
/// use axum::response::IntoResponse;
/// let response = graceful::http::MissingContext.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MissingContext;

impl fmt::Display for MissingContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no request context: this router is not served by `graceful::http::serve`, \
             or the request left the task the server runs it in (a `Buffer` layer)",
        )
    }
}

impl std::error::Error for MissingContext {}

impl IntoResponse for MissingContext {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
