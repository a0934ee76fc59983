//! [`Settings`]: what the engine and the connections read of a
//! [`Server`](super::Server), as its setters left it.

use std::time::Duration;

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
