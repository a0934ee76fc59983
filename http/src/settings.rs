//! [`Settings`]: what the engine and the connections read of a
//! [`Server`](super::Server), as its setters left it.

use std::time::Duration;

use super::Server;

/// A server's settings; each field is the one of the setter of the same
/// name, where it is documented.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    pub(super) header_read_timeout: Option<Duration>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) grace: Duration,
    pub(super) body_read_timeout: Option<Duration>,
    pub(super) max_connections: usize,
    pub(super) http2_keep_alive: Option<(Duration, Duration)>,
    pub(super) connect_info: bool,
    pub(super) list_requests: bool,
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
