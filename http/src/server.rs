//! [`Server`]: what a server serves and how, and where it runs.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;

use super::settings::Settings;
use super::source::{self, Dispatch, Source};
use super::{Served, engine};
use gracefully_runtime::{Context, Policy, TaskHandle};

/// A server's options: built with [`Server::new`] and its setters, started
/// with [`Server::serve`]. [`serve`](super::serve) is
/// `Server::new(router).serve(ctx, listener)`.
///
/// | option | default | what it bounds |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | [10 s](Self::DEFAULT_HEADER_READ_TIMEOUT) | a request head that is slow to arrive (slowloris) |
/// | [`idle_timeout`](Self::idle_timeout) | [2 min](Self::DEFAULT_IDLE_TIMEOUT) | a connection with no request in flight |
/// | [`body_read_timeout`](Self::body_read_timeout) | [30 s](Self::DEFAULT_BODY_READ_TIMEOUT) | a request body that stops arriving; at shutdown, the [grace](Self::grace) for the rest of a body |
/// | [`grace`](Self::grace) | [1 s](Self::DEFAULT_GRACE) | at shutdown, the wait for a request from a connection that is not mid-request, and for the rest of a request body |
/// | [`max_connections`](Self::max_connections) | [10 000](Self::DEFAULT_MAX_CONNECTIONS) | open connections; past it, new ones wait in the listen queue |
/// | [`http2_keep_alive`](Self::http2_keep_alive) | off | an HTTP/2 peer that stopped answering |
/// | [`connect_info`](Self::connect_info) | off | (whether handlers can extract the peer's address) |
/// | [`list_requests`](Self::list_requests) | on | (whether reports list the requests in flight, or only count them) |
///
/// **Request bodies** are limited by axum's extractors (`String`, `Bytes`,
/// `Json`, `Form`: 2 MB by default); change the limit with
/// [`axum::extract::DefaultBodyLimit`], and bound bodies read as streams
/// with tower-http's `RequestBodyLimitLayer`. A body that stops arriving
/// fails after the [body read timeout](Self::body_read_timeout), and once
/// the drain began a body has the [grace](Self::grace) to arrive in full:
/// no client can hold the drain by trickling a body.
///
/// **TLS** is best terminated in front of the process (a load balancer, an
/// ingress, a sidecar). To terminate it in the process, pass a listener
/// that implements [`axum::serve::Listener`] and completes the handshake
/// (tokio-rustls); it is drained like any other.
///
/// ```
/// use axum::{Router, extract::DefaultBodyLimit, routing::post};
/// use graceful::Context;
/// use graceful::http::Server;
/// use std::time::Duration;
///
/// async fn start(ctx: &Context) -> std::io::Result<()> {
///     let app = Router::new()
///         .route("/upload", post(|body: axum::body::Bytes| async move { body.len().to_string() }))
///         .layer(DefaultBodyLimit::max(16 << 20)); // 16 MiB
///     let listener = graceful::http::bind("0.0.0.0:8080").await?;
///     Server::new(app)
///         .header_read_timeout(Duration::from_secs(10))
///         .idle_timeout(Duration::from_secs(75))
///         .max_connections(2_000)
///         .serve(ctx, listener);
///     Ok(())
/// }
/// ```
pub struct Server {
    router: Router,
    settings: Settings,
}

impl Server {
    /// A server of `router`, with the defaults in the table above.
    ///
    /// ```
    /// let server = graceful::http::Server::new(axum::Router::new());
    /// ```
    pub fn new(router: Router) -> Server {
        Server {
            router,
            settings: Settings::default(),
        }
    }

    /// How long a client may take to send a request head ([10 s by
    /// default](Self::DEFAULT_HEADER_READ_TIMEOUT)); then the connection is
    /// closed. `None` turns the limit off.
    ///
    /// It counts from the first byte of the head, and for a connection's
    /// first request from the accept (a client that connects and sends
    /// nothing is closed too), as Go's `ReadHeaderTimeout` does; the wait
    /// between two keep-alive requests is the [idle
    /// timeout](Self::idle_timeout)'s. It is checked every quarter of the
    /// shorter of the two timeouts, at no cost per request, so a slow head
    /// may last up to a quarter longer.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = graceful::http::Server::new(axum::Router::new())
    ///     .header_read_timeout(Duration::from_secs(10));
    /// ```
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Server {
        self.settings.header_read_timeout = timeout.into();
        self
    }

    /// How long a connection may stay open with no request in flight
    /// ([2 minutes by default](Self::DEFAULT_IDLE_TIMEOUT)); then it is closed
    /// gracefully (HTTP/2: `GOAWAY`). `None` turns the limit off. Like the
    /// [header read timeout](Self::header_read_timeout), it is checked
    /// every quarter of the shorter of the two, so a connection may stay
    /// idle up to a quarter longer. Behind a load balancer, keep it above
    /// the balancer's own idle timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = graceful::http::Server::new(axum::Router::new())
    ///     .idle_timeout(Duration::from_secs(75));
    /// ```
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Server {
        self.settings.idle_timeout = timeout.into();
        self
    }

    /// At shutdown, how long a connection that is not in the middle of a
    /// request (just accepted, idle between two keep-alive requests, or
    /// part-way through a request head) may still take to send a request
    /// ([1 s by default](Self::DEFAULT_GRACE)). A request that arrives in time is
    /// served and answered with `Connection: close`; then, or when the
    /// grace ends, the connection is closed. This closes the race in which
    /// a keep-alive client sends its next request just as the server closes
    /// the idle connection, and it bounds how long a partial request head
    /// can hold the drain. A connection that had been quiet for the grace
    /// already when the drain began is closed at once, as Go's `Shutdown`
    /// closes idle connections: a pool's spare connections do not hold the
    /// exit. (Quiet is as the connection's watchdog saw it: it looks every
    /// quarter of the shorter of the [header read](Self::header_read_timeout)
    /// and [idle](Self::idle_timeout) timeouts, 2.5 s by default, so a
    /// connection counts as quiet after 2.5 to 5 s without a request; with
    /// neither timeout, every connection gets the grace.) A request body
    /// still arriving has the grace to complete, and a client that reads
    /// none of its response for five
    /// graces is closed: no client can hold the drain, while one that reads
    /// slowly gets its whole response.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = graceful::http::Server::new(axum::Router::new())
    ///     .grace(Duration::from_millis(500));
    /// ```
    pub fn grace(mut self, grace: Duration) -> Server {
        self.settings.grace = grace;
        self
    }

    /// How long a request body may go without sending a byte ([30 s by
    /// default](Self::DEFAULT_BODY_READ_TIMEOUT), as nginx's
    /// `client_body_timeout`); `None` turns the limit off. Past it, reading
    /// the body fails: the handler gets the error (axum's body extractors
    /// answer `400 Bad Request`) and the connection is closed after the
    /// response.
    ///
    /// Whatever this says, once the drain began a request body has at most
    /// the [grace](Self::grace) to arrive in full: an upload still under
    /// way then fails rather than holding the shutdown, and the client
    /// gets an answer saying so.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = graceful::http::Server::new(axum::Router::new())
    ///     .body_read_timeout(Duration::from_secs(60));
    /// ```
    pub fn body_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Server {
        self.settings.body_read_timeout = timeout.into();
        self
    }

    /// How many connections the server holds open at most ([10 000 by
    /// default](Self::DEFAULT_MAX_CONNECTIONS)). At the maximum the server stops
    /// accepting: the next clients wait in the kernel's listen queue (see
    /// [`BACKLOG`](super::BACKLOG)) until a connection closes, rather than
    /// being dropped. Keep it below the process's file descriptor limit
    /// (`ulimit -n`).
    ///
    /// # Panics
    ///
    /// If `max` is 0.
    ///
    /// ```
    /// let server = graceful::http::Server::new(axum::Router::new()).max_connections(512);
    /// ```
    pub fn max_connections(mut self, max: usize) -> Server {
        assert!(max > 0, "`max_connections` must be at least 1");
        self.settings.max_connections = max.min(tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// Sends an HTTP/2 `PING` after `interval` without a frame from the
    /// peer, and closes the connection if no answer comes within `timeout`
    /// (off by default). It finds peers that vanished (a closed laptop, a
    /// NAT that forgot the connection) on long-lived connections.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = graceful::http::Server::new(axum::Router::new())
    ///     .http2_keep_alive(Duration::from_secs(30), Duration::from_secs(10));
    /// ```
    pub fn http2_keep_alive(mut self, interval: Duration, timeout: Duration) -> Server {
        self.settings.http2_keep_alive = Some((interval, timeout));
        self
    }

    /// Whether every request carries axum's
    /// [`ConnectInfo`](axum::extract::ConnectInfo) of the peer's address,
    /// of the listener's address type (`ConnectInfo<SocketAddr>` over TCP,
    /// `ConnectInfo<tokio::net::unix::SocketAddr>` over a Unix socket): off
    /// by default, as in `axum::serve` (where
    /// `into_make_service_with_connect_info` turns it on). A handler that
    /// extracts `ConnectInfo` from a server without it is answered `500`.
    ///
    /// It costs an allocation per request (the boxed address; the
    /// request's extension map has room for it): about 300 instructions,
    /// 2 % more work in user space for a small handler.
    ///
    /// ```
    /// use axum::{Router, extract::ConnectInfo, routing::get};
    /// use std::net::SocketAddr;
    ///
    /// let app = Router::new().route(
    ///     "/",
    ///     get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    /// );
    /// let server = graceful::http::Server::new(app).connect_info(true);
    /// ```
    pub fn connect_info(mut self, on: bool) -> Server {
        self.settings.connect_info = on;
        self
    }

    /// Whether the requests in flight are listed, each with its method, path
    /// (without the query string), peer and age, in the report of a
    /// deadline and in the task dump (on by default). Off, they are only
    /// counted there: for paths that carry what must not reach a log
    /// (`/users/alice@example.com`). The drain is the same either way.
    ///
    /// Listing costs per request a lock of the connection's own list, a
    /// copy of the method and path (a reference count) and a clock read:
    /// about 300 instructions, 2 % more work in user space for a small
    /// handler (about 1 % of its throughput, system time included).
    ///
    /// ```
    /// let server = graceful::http::Server::new(axum::Router::new()).list_requests(false);
    /// ```
    pub fn list_requests(mut self, on: bool) -> Server {
        self.settings.list_requests = on;
        self
    }

    /// Serves on `listener` as a task of a new child scope of `ctx`, named
    /// `http`, and returns the task's handle at once: see
    /// [`serve`](super::serve), which this is with options.
    ///
    /// ```
    /// # async fn start(ctx: &graceful::Context) -> std::io::Result<()> {
    /// let listener = graceful::http::bind("127.0.0.1:0").await?;
    /// graceful::http::Server::new(axum::Router::new()).serve(ctx, listener);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn serve<L>(self, ctx: &Context, listener: L) -> TaskHandle<Served>
    where
        L: axum::serve::Listener,
        L::Addr: Clone + fmt::Debug + Sync + 'static,
    {
        self.serve_in(&ctx.scope("http"), listener)
    }

    /// Like [`serve`](Self::serve), but as a task of `scope` itself rather
    /// than of a new child scope. The child scopes of `scope` then drain
    /// *before* the server stops accepting: put there what must stop while
    /// the server still serves, such as a client of this same server (the
    /// `http_client` example).
    ///
    /// `scope` becomes the requests' scope: its default [`Policy`] becomes
    /// [`Isolated`](Policy::Isolated), for the tasks it starts from then on
    /// and for the child scopes it creates from then on (see
    /// [`RequestContext`](super::RequestContext)). Give it a scope of its
    /// own, not `main`'s.
    ///
    /// ```
    /// use graceful::Context;
    ///
    /// async fn start(ctx: &Context) -> std::io::Result<()> {
    ///     let http = ctx.scope("http");
    ///     let client = http.scope("client"); // drains before the server does
    ///     let listener = graceful::http::bind("127.0.0.1:0").await?;
    ///     graceful::http::Server::new(axum::Router::new()).serve_in(&http, listener);
    ///     let done = client.clone();
    ///     client.spawn("poll the server", async move { done.cancelled().await });
    ///     Ok(())
    /// }
    /// ```
    #[track_caller]
    pub fn serve_in<L>(self, scope: &Context, listener: L) -> TaskHandle<Served>
    where
        L: axum::serve::Listener,
        L::Addr: Clone + fmt::Debug + Sync + 'static,
    {
        let scope = scope.clone().default_policy(Policy::Isolated);
        let (name, run) = source::dispatch(
            listener,
            Start {
                server: self,
                scope: scope.clone(),
            },
        );
        // The server's own task is critical: if it fails, the process stops.
        scope.spawn_with(Policy::Critical, format!("serve {name}"), run)
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("header_read_timeout", &self.settings.header_read_timeout)
            .field("idle_timeout", &self.settings.idle_timeout)
            .field("grace", &self.settings.grace)
            .field("max_connections", &self.settings.max_connections)
            .field("http2_keep_alive", &self.settings.http2_keep_alive)
            .field("connect_info", &self.settings.connect_info)
            .field("list_requests", &self.settings.list_requests)
            .finish_non_exhaustive()
    }
}

type ServerTask = Pin<Box<dyn Future<Output = io::Result<Served>> + Send>>;

/// Builds the server's task for the listener's [`Source`].
struct Start {
    server: Server,
    scope: Context,
}

impl Dispatch<(String, ServerTask)> for Start {
    fn with<S: Source>(self, source: S) -> (String, ServerTask) {
        let name = source.name();
        let Server { router, settings } = self.server;
        let run = engine::run(self.scope, router, settings, source);
        (name, Box::pin(run))
    }
}
