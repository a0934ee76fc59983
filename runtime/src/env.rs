//! The environment variables the runtime reads, each at the start of the
//! program (before the runtime starts a thread) and never written.
//!
//! | variable | what it does |
//! |---|---|
//! | [`TIMEOUT`] | overrides the shutdown deadline ([`Runtime::timeout`](crate::Runtime::timeout)) |
//! | [`LAME_DUCK`] | overrides the lame duck ([`Runtime::lame_duck`](crate::Runtime::lame_duck)) |
//! | [`UPGRADE_TIMEOUT`] | overrides how long the new process of an upgrade has to become ready |
//! | [`UPGRADE_BINARY`] | overrides the binary an upgrade starts |
//! | [`NOTIFY_SOCKET`] | systemd's notification socket: `READY=1`, `STOPPING=1`, `STATUS=`, `WATCHDOG=1` go there |
//! | `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES` | the sockets handed down (feature `upgrade`: `graceful::sockets`), for the process `LISTEN_PID` only |
//! | `GRACEFUL_UPGRADE_NOTIFY` | set by an upgrade for the new process: where it says it is ready |
//!
//! A value that is not a duration, or a zero deadline, is a start-up error
//! naming the variable ([`ConfigError`](crate::ConfigError)).

/// The environment variable that overrides the shutdown deadline.
///
/// ```
/// assert_eq!(graceful::env::TIMEOUT, "GRACEFUL_TIMEOUT"); // GRACEFUL_TIMEOUT=25s ./service
/// ```
pub const TIMEOUT: &str = "GRACEFUL_TIMEOUT";

/// The environment variable that overrides the lame-duck delay
/// ([`Runtime::lame_duck`](crate::Runtime::lame_duck)): from the shutdown's
/// trigger, for that long, the process reports "not ready" and keeps
/// serving, with nothing cancelled; `graceful::http` servers still accept
/// and answer, and tell their clients to leave (HTTP/1 `Connection: close`,
/// HTTP/2 `GOAWAY`). `0s` means none.
///
/// Size it to the proxy in front (the README's "Behind a proxy", measured in
/// `deploy/rolling-restart` and `deploy/proxy-pool-race`):
///
/// - behind one that reads `/ready` (HAProxy, Caddy with active health
///   checks, a Kubernetes readiness probe), longer than its checks need to
///   take the instance out (HAProxy at 200 ms × 2 failures: 1s);
/// - behind one that pools keep-alive connections and never reads `/ready`
///   (nginx OSS), longer than the proxy's idle timeout for upstream
///   connections (nginx's upstream `keepalive_timeout 1s`: 2s), so that the
///   proxy has closed every connection left idle since the trigger before
///   the drain closes any;
/// - in both cases, the server's idle timeout above the proxy's
///   (`graceful::http`'s 2 min is above nginx's 60 s).
///
/// Without a lame duck, a close can always meet a request the proxy sends
/// at that instant: HTTP/1.1 gives a server no other way to retire an idle
/// connection.
///
/// ```
/// assert_eq!(graceful::env::LAME_DUCK, "GRACEFUL_LAME_DUCK"); // GRACEFUL_LAME_DUCK=5s ./service
/// ```
pub const LAME_DUCK: &str = "GRACEFUL_LAME_DUCK";

/// How long the new process of an upgrade has to become ready; overrides
/// `Runtime::upgrade_timeout` (feature `upgrade`).
///
/// ```
/// assert_eq!(graceful::env::UPGRADE_TIMEOUT, "GRACEFUL_UPGRADE_TIMEOUT");
/// ```
pub const UPGRADE_TIMEOUT: &str = "GRACEFUL_UPGRADE_TIMEOUT";

/// The binary an upgrade starts; overrides `Runtime::upgrade_binary`
/// (feature `upgrade`).
///
/// ```
/// assert_eq!(graceful::env::UPGRADE_BINARY, "GRACEFUL_UPGRADE_BINARY");
/// ```
pub const UPGRADE_BINARY: &str = "GRACEFUL_UPGRADE_BINARY";

/// The environment variable that names systemd's notification socket.
///
/// ```
/// // Set by systemd for a unit with `Type=notify`; the runtime then sends
/// // READY=1, STOPPING=1, STATUS= and WATCHDOG=1 to it.
/// assert_eq!(graceful::env::NOTIFY_SOCKET, "NOTIFY_SOCKET");
/// ```
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
