//! The defaults of a [`Server`](super::Server)'s options: safe on the open
//! internet, each one changeable with its setter: `Server::DEFAULT_*`, and
//! the [`Settings`] a new `Server` starts from.

use std::time::Duration;

use super::Server;
use super::settings::Settings;

impl Server {
    /// How long a client may take to send a request head, by default: 10 s
    /// from its first byte, as Go servers commonly set `ReadHeaderTimeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(graceful::http::Server::DEFAULT_HEADER_READ_TIMEOUT, Duration::from_secs(10));
    /// ```
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

    /// How long a connection may stay without a request in flight, by default:
    /// 2 minutes, longer than the idle timeout of common load balancers (AWS
    /// ALB: 60 s), so that the balancer, not the server, closes an idle
    /// connection (a server that closes first races the balancer's next
    /// request).
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(graceful::http::Server::DEFAULT_IDLE_TIMEOUT, Duration::from_secs(120));
    /// ```
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

    /// How long, at shutdown, a connection that is not in the middle of a
    /// request may still take to send one, by default (Go waits up to 5 s for a
    /// new connection's first request; a client that is already sending needs
    /// far less).
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(graceful::http::Server::DEFAULT_GRACE, Duration::from_secs(1));
    /// ```
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(1);

    /// How long a request body may go without sending a byte, by default: 30 s,
    /// as nginx's `client_body_timeout` (60 s) halved.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(graceful::http::Server::DEFAULT_BODY_READ_TIMEOUT, Duration::from_secs(30));
    /// ```
    pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

    /// How many connections a server holds open at most, by default.
    ///
    /// ```
    /// assert_eq!(graceful::http::Server::DEFAULT_MAX_CONNECTIONS, 10_000);
    /// // Fewer for a small container:
    /// let server = graceful::http::Server::new(axum::Router::new()).max_connections(1_000);
    /// ```
    pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
}

impl Default for Settings {
    /// The defaults of the table in [`Server`](super::Server)'s docs.
    fn default() -> Settings {
        Settings {
            header_read_timeout: Some(Server::DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(Server::DEFAULT_IDLE_TIMEOUT),
            grace: Server::DEFAULT_GRACE,
            body_read_timeout: Some(Server::DEFAULT_BODY_READ_TIMEOUT),
            max_connections: Server::DEFAULT_MAX_CONNECTIONS,
            http2_keep_alive: None,
            connect_info: false,
            list_requests: true,
        }
    }
}
