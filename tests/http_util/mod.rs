//! A small HTTP/1.1 client over raw TCP for the HTTP tests: every byte the
//! server sends is visible (`Connection: close`, the end of a stream, a
//! refused connection), which a pooling client would hide.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use graceful::http::{Served, Server};
use graceful::{Context, Runtime, TaskHandle};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::common::{Proc, example, start};

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// When the last byte of the body arrived.
    pub at: Instant,
}

impl Response {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server announced that it closes the connection.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// One keep-alive HTTP/1.1 connection, over TCP unless said otherwise.
pub struct Client<S = TcpStream> {
    io: BufReader<S>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> io::Result<Client> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        Ok(Client::over(tcp))
    }

    /// The TCP stream, for socket options.
    pub fn tcp(&self) -> &TcpStream {
        self.io.get_ref()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// A client over a connected stream.
    pub fn over(stream: S) -> Client<S> {
        Client {
            io: BufReader::new(stream),
        }
    }

    /// Reads what has arrived, at most `buf.len()` bytes; 0 at the end.
    pub async fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        tokio::io::AsyncReadExt::read(&mut self.io, buf).await
    }

    /// Writes raw bytes: part of a request, say.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.io.get_mut().write_all(bytes).await
    }

    /// Writes one request (keep-alive, the HTTP/1.1 default).
    pub async fn send(&mut self, method: &str, path: &str, body: &str) -> io::Result<()> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.io.get_mut().write_all(head.as_bytes()).await
    }

    /// Reads one response: head, then a body framed by `content-length` or
    /// chunked encoding.
    pub async fn response(&mut self) -> io::Result<Response> {
        let mut line = String::new();
        if self.io.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            if self.io.read_line(&mut line).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((n, v)) = l.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let find = |n: &str| {
            headers
                .iter()
                .find(|(h, _)| h == n)
                .map(|(_, v): &(String, String)| v.clone())
        };
        let mut body = Vec::new();
        if find("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                line.clear();
                if self.io.read_line(&mut line).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
                let mut chunk = vec![0; size + 2];
                self.io.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            let len: usize = find("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            body.resize(len, 0);
            self.io.read_exact(&mut body).await?;
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        })
    }

    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> io::Result<Response> {
        self.send(method, path, body).await?;
        self.response().await
    }

    /// Reads a line of a streamed body's raw bytes (chunk framing included).
    pub async fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        Ok(line)
    }

    /// Whether the server closed the connection (EOF) within `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(limit, self.io.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    /// What the server sends until it closes the connection, if it does
    /// within `limit`.
    pub async fn last_words_within(&mut self, limit: Duration) -> Option<String> {
        let mut words = Vec::new();
        match tokio::time::timeout(limit, self.io.read_to_end(&mut words)).await {
            Ok(_) => Some(String::from_utf8_lossy(&words).into_owned()),
            Err(_) => None,
        }
    }
}

/// `GET path` on a new connection.
pub async fn get(addr: SocketAddr, path: &str) -> io::Result<Response> {
    Client::connect(addr).await?.request("GET", path, "").await
}

/// Whether a TCP connection to `addr` is refused.
pub async fn refused(addr: SocketAddr) -> bool {
    matches!(TcpStream::connect(addr).await, Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

/// Polls `probe` until it returns `Some`, or panics after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The address in a `listening on http://IP:PORT` line.
pub fn listening_addr(line: &str) -> SocketAddr {
    line.trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"))
        .parse()
        .expect("an IP:PORT address")
}

/// A multi-threaded tokio runtime for the test's clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts the `http_server` example on 127.0.0.1:0 with `envs`, and returns
/// it with the address it listens on.
pub fn http_server(envs: &[(&str, &str)]) -> (Proc, SocketAddr) {
    listening_example("http_server", envs)
}

/// Starts example `name` with `ADDR=127.0.0.1:0` and `envs`, and returns it
/// with the address of its first line, `listening on http://IP:PORT`.
pub fn listening_example(name: &str, envs: &[(&str, &str)]) -> (Proc, SocketAddr) {
    let mut cmd = example(name);
    cmd.env("ADDR", "127.0.0.1:0");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut p = start(cmd);
    let addr = listening_addr(&p.wait_for("listening on http://"));
    (p, addr)
}

/// A router that answers `GET /` with `hi`.
pub fn hi() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "hi" }))
}

/// Runs `body` with `server` on 127.0.0.1:0, in a runtime without signal
/// handlers, and asserts that the run ends with exit code 0: a failure shows
/// the whole report (a failed assertion in `body`, a stuck task).
#[track_caller]
pub fn with_server<F, Fut>(server: Server, body: F)
where
    F: FnOnce(Context, SocketAddr, TaskHandle<Served>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let report = Runtime::new()
        .signals([])
        .timeout(Duration::from_secs(20))
        .block_on(|ctx: Context| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = server.serve(&ctx, listener);
            // As a service does: `main` sets up and returns (the service is
            // then ready), the test runs as a task.
            ctx.spawn("test", body(ctx.clone(), addr, server));
        });
    assert_eq!(report.exit_code(), 0, "{report}");
}

/// Sends `n` requests `GET /work?ms=MS` to the `http_server` example at
/// `addr`, each on its own connection, and returns once all of them are in
/// their handler (the example's `/stats` says so).
pub fn work_in_flight(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    n: usize,
    ms: u64,
) -> Vec<tokio::task::JoinHandle<io::Result<Response>>> {
    let clients = (0..n)
        .map(|_| {
            rt.spawn(async move {
                let mut c = Client::connect(addr).await?;
                c.request("GET", &format!("/work?ms={ms}"), "").await
            })
        })
        .collect();
    rt.block_on(eventually(
        Duration::from_secs(20),
        &format!("{n} requests in flight"),
        || async {
            let stats = get(addr, "/stats").await.ok()?;
            (stats.body.trim() == format!("in flight: {n}")).then_some(())
        },
    ));
    clients
}

/// Waits until `/ready` answers 503 (within 5 s); returns when it first did
/// and that answer.
pub async fn not_ready(addr: SocketAddr) -> (Instant, Response) {
    eventually(Duration::from_secs(5), "503 from /ready", || async {
        let r = get(addr, "/ready").await.ok()?;
        (r.status == 503).then(|| (Instant::now(), r))
    })
    .await
}

/// One HTTP/2 frame as received.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;

    /// Whether it ends its stream.
    pub fn ends_stream(&self) -> bool {
        matches!(self.kind, Frame::DATA | Frame::HEADERS) && self.flags & Frame::END_STREAM != 0
    }
}

/// An HTTP/2 (prior knowledge) connection that shows every frame the server
/// sends (`GOAWAY`, which a pooling client hides), and sends `GET`s.
pub struct H2 {
    tcp: TcpStream,
}

impl H2 {
    /// Connects, and sends the preface and empty settings.
    pub async fn connect(addr: SocketAddr) -> io::Result<H2> {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
        let mut h2 = H2 { tcp };
        h2.send(Frame::SETTINGS, 0, 0, &[]).await?;
        Ok(h2)
    }

    async fn send(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> io::Result<()> {
        let len = payload.len() as u32;
        let mut frame = len.to_be_bytes()[1..].to_vec();
        frame.extend([kind, flags]);
        frame.extend(stream.to_be_bytes());
        frame.extend(payload);
        self.tcp.write_all(&frame).await
    }

    /// Sends `GET path` on stream `stream` (odd, increasing).
    pub async fn get(&mut self, stream: u32, path: &str) -> io::Result<()> {
        // HPACK: `:method: GET`, `:scheme: http` (static table, indexed),
        // then `:path` and `:authority` as literals without indexing.
        let mut block = vec![0x82, 0x86, 0x04, path.len() as u8];
        block.extend(path.as_bytes());
        block.extend([0x01, 4]);
        block.extend(b"test");
        // END_HEADERS | END_STREAM
        self.send(Frame::HEADERS, 0x4 | 0x1, stream, &block).await
    }

    /// The next frame, its settings and pings acknowledged; `None` at the
    /// end of the connection.
    pub async fn frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let mut head = [0u8; 9];
            match self.tcp.read_exact(&mut head).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0; len];
            self.tcp.read_exact(&mut payload).await?;
            let frame = Frame {
                kind: head[3],
                flags: head[4],
                stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
                payload,
            };
            match (frame.kind, frame.flags & Frame::ACK) {
                (Frame::SETTINGS, 0) => self.send(Frame::SETTINGS, Frame::ACK, 0, &[]).await?,
                (Frame::PING, 0) => {
                    self.send(Frame::PING, Frame::ACK, 0, &frame.payload)
                        .await?
                }
                (Frame::SETTINGS | Frame::PING, _) => {}
                _ => return Ok(Some(frame)),
            }
        }
    }

    /// Reads frames until stream `stream` ends; returns whether it began
    /// with `:status: 200`, its body, and the frames of other kinds or
    /// streams read meanwhile.
    pub async fn response(&mut self, stream: u32) -> io::Result<(bool, String, Vec<Frame>)> {
        let (mut ok, mut body, mut others) = (false, Vec::new(), Vec::new());
        loop {
            let Some(frame) = self.frame().await? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("stream {stream} did not end; read {others:?}"),
                ));
            };
            if frame.stream != stream {
                others.push(frame);
                continue;
            }
            let ends = frame.ends_stream();
            match frame.kind {
                // HPACK's static entry 8 is `:status: 200`.
                Frame::HEADERS => ok = frame.payload.first() == Some(&0x88),
                Frame::DATA => body.extend(&frame.payload),
                _ => others.push(frame),
            }
            if ends {
                return Ok((ok, String::from_utf8_lossy(&body).into_owned(), others));
            }
        }
    }
}
