//! [`RequestContext`], the extractor through which a handler reaches its
//! request's [`Context`], and [`MissingContext`], its rejection; and the
//! extensions a server gives every request, which carry it.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};

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
/// The server puts it in the extensions of every request, so it reaches
/// the handler through any layer, one that moves the request to a task of
/// its own (tower's `Buffer`, a middleware that spawns) included; a tower
/// middleware finds it there too (`req.extensions().get::<RequestContext>()`),
/// and so does a tonic handler, in its `tonic::Request`'s extensions (see
/// [gRPC](crate#grpc)).
/// Extraction fails with `500` ([`MissingContext`]) if the request did not
/// come through [`serve`](super::serve) (a router called directly, as in a
/// unit test: insert a `RequestContext` there yourself).
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

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or(MissingContext)
    }
}

/// The rejection of [`RequestContext`] when the request did not come
/// through [`serve`](super::serve): answered `500 Internal Server Error`.
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
        f.write_str("no request context: this request was not served by `graceful::http::serve`")
    }
}

impl std::error::Error for MissingContext {}

impl IntoResponse for MissingContext {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// The extensions every request of a server in the scope `ctx` starts
/// with: its [`RequestContext`], in a map with room for what the router and
/// the server add to it.
///
/// A request's map is allocated with its first extension, with room for
/// three; axum's router inserts three (`UrlParams`, `MatchedPath`,
/// `OriginalUri`), so a fourth would allocate a second table and move the
/// others into it. Cloned from this one, whose table was grown to room for
/// seven, the map costs a request the allocations axum's first insert
/// would have made, and one more: the boxed context. `bench/http-instructions`
/// counts 13 610 instructions a request so, 13 990 with the context
/// inserted into a fresh map (13 410 when a thread-local held it, which a
/// layer that spawns loses).
pub(super) fn first_extensions(ctx: &Context) -> Extensions {
    /// Placeholders that grow the table; a zero-sized value is not boxed.
    #[derive(Clone)]
    struct Spare<const N: u8>;
    let mut extensions = Extensions::new();
    extensions.insert(RequestContext(ctx.clone()));
    extensions.insert(Spare::<1>);
    extensions.insert(Spare::<2>);
    extensions.insert(Spare::<3>);
    // A map never shrinks when values leave it, and a clone keeps the size
    // of the table.
    extensions.remove::<Spare<1>>();
    extensions.remove::<Spare<2>>();
    extensions.remove::<Spare<3>>();
    extensions
}
