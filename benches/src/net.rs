//! Loopback HTTP pieces: a canned-answer server, a hello-world server, a raw hyper client and a
//! closed-loop load generator (N connections, each sending its next request when the last one answered).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// The caller XUID of request `i` (distinct per connection).
pub fn xuid(i: usize) -> u64 {
    2_533_274_790_000_000 + i as u64
}

/// `Authorization` as the emulator expects it for `xuid`.
pub fn authorization(xuid: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("XBL3.0 x=-;{xuid}")).unwrap_or(HeaderValue::from_static(""))
}

/// Serves `answer` (status, headers, body) to every request on an ephemeral loopback port, after
/// reading the request body. Runs on the current runtime until the process ends.
pub async fn serve_fixed(
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let headers = Arc::new(headers);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (headers, body) = (Arc::clone(&headers), body.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let (headers, body) = (Arc::clone(&headers), body.clone());
                    async move {
                        // Read the request like a real server would.
                        let _ = request.into_body().collect().await;
                        let mut response = Response::new(Full::new(body));
                        *response.status_mut() = status;
                        for (name, value) in headers.iter() {
                            response.headers_mut().insert(name.clone(), value.clone());
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The hello-world baseline: `200 Hello, world!` (text/plain) to everything.
pub async fn serve_hello() -> anyhow::Result<SocketAddr> {
    serve_fixed(
        StatusCode::OK,
        vec![(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        Bytes::from_static(b"Hello, world!"),
    )
    .await
}

/// One HTTP/1.1 keep-alive connection (raw hyper client).
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Conn {
    /// Connects to `addr`.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    /// Sends `spec`; the status and the whole body.
    pub async fn send(&mut self, spec: &RequestSpec) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut request = Request::new(Full::new(spec.body.clone()));
        *request.method_mut() = spec.method.clone();
        *request.uri_mut() = spec.path.parse()?;
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        for (name, value) in &spec.headers {
            headers.insert(name.clone(), value.clone());
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// A request the load generator repeats.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Headers besides `Host`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body.
    pub body: Bytes,
}

impl RequestSpec {
    /// An MPSD request (contract 107) as `xuid`, with a JSON body when `body` is given.
    pub fn mpsd(method: Method, path: String, xuid: u64, body: Option<&serde_json::Value>) -> Self {
        let mut headers = vec![
            (AUTHORIZATION, authorization(xuid)),
            (
                HeaderName::from_static("x-xbl-contract-version"),
                HeaderValue::from_static("107"),
            ),
        ];
        let body = match body {
            Some(value) => {
                headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
                Bytes::from(value.to_string())
            }
            None => Bytes::new(),
        };
        Self {
            method,
            path,
            headers,
            body,
        }
    }
}

/// What one load run measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Answers with a 2xx status.
    pub ok: u64,
    /// Other answers and transport errors.
    pub failed: u64,
    /// Latency of every answered request, microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl LoadResult {
    /// 2xx answers per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Closed-loop load: one connection per spec, each repeating its request until `duration` is over.
pub async fn load(
    addr: SocketAddr,
    specs: &[RequestSpec],
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let mut conns = Vec::with_capacity(specs.len());
    for _ in specs {
        conns.push(
            Conn::open(addr)
                .await
                .context("connecting the load generator")?,
        );
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(specs.len());
    for (mut conn, spec) in conns.into_iter().zip(specs.iter().cloned()) {
        tasks.push(tokio::spawn(async move {
            let mut result = LoadResult::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                match conn.send(&spec).await {
                    Ok((status, _)) if status.is_success() => {
                        result.ok += 1;
                        let micros = sent.elapsed().as_micros();
                        result
                            .latencies_us
                            .push(u32::try_from(micros).unwrap_or(u32::MAX));
                    }
                    Ok(_) => result.failed += 1,
                    Err(_) => {
                        result.failed += 1;
                        break;
                    }
                }
            }
            result
        }));
    }
    let mut total = LoadResult::default();
    for task in tasks {
        let part = task.await?;
        total.ok += part.ok;
        total.failed += part.failed;
        total.latencies_us.extend(part.latencies_us);
    }
    total.elapsed = start.elapsed();
    total.latencies_us.sort_unstable();
    Ok(total)
}
