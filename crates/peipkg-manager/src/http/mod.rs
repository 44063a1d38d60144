//! The HTTP server: `/healthz`, `/readyz`, `/status` (JSON), `/metrics` (Prometheus),
//! `/` (a dashboard), `/builds/<id>/log`, and `POST /webhooks/github`
//! (also `/webhooks/gitea` and `/webhooks/gitlab`).
//!
//! A webhook's poll is handed to the scheduler and runs on the farm's own
//! threads; the reference started it on the request's context, which was
//! cancelled as soon as the response was sent, so webhooks never built
//! anything.
//!
//! hyper on a small tokio runtime (one I/O thread, a few blocking threads
//! for the database-backed pages): a connection costs a task, not a
//! thread; at most `[http].max_connections` are served at once (the rest
//! wait in the kernel's accept queue); a client gets `[http].read_timeout`
//! to send its headers and then its body. `/healthz` is answered on the
//! I/O thread without touching the database, so it keeps answering while
//! slow clients hold connections or a page waits on SQLite. Every body is
//! passed through [`crate::redact`] before it leaves.

pub(crate) mod dashboard;
pub(crate) mod metrics;
pub(crate) mod status;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::farm::Farm;
use crate::log::s;
use crate::watch::webhook::{route, route_gitlab, Forge, Payload, Route};

const MAX_BODY: usize = 16 << 20;

/// Threads for pages that read the database or files: enough to overlap a
/// few, few enough that a flood of `/status` requests queues instead of
/// multiplying threads.
const BLOCKING_THREADS: usize = 4;

pub(crate) struct HttpHandle {
    stop: Arc<tokio::sync::Notify>,
    thread: std::thread::JoinHandle<()>,
}

impl HttpHandle {
    pub(crate) fn stop(self) {
        self.stop.notify_one();
        let _ = self.thread.join();
    }
}

/// Starts the server if `[http].addr` is set. A bind failure is an error:
/// an operator who configured monitoring wants to know at once.
pub(crate) fn start(farm: &Arc<Farm>) -> Result<Option<HttpHandle>> {
    let cfg = farm.settings().cfg().http.clone();
    let Some(addr) = cfg.addr.clone() else {
        return Ok(None);
    };
    let bound = std::net::TcpListener::bind(&addr).and_then(|l| {
        l.set_nonblocking(true)?;
        Ok(l)
    });
    let listener = match bound {
        Ok(l) => l,
        Err(e) => {
            // The reference's message (it carried on without a server;
            // an operator who configured monitoring wants a failed start).
            farm.log().error(
                "webhook server error",
                &[("err", s(format!("listen on {addr}: {e}")))],
            );
            return Err(anyhow!("listen on {addr}: {e}"));
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("peipkg-http")
        .build()
        .map_err(|e| anyhow!("start the HTTP runtime: {e}"))?;
    farm.log()
        .info("webhook server listening", &[("addr", s(&addr))]);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_rx = Arc::clone(&stop);
    let f = Arc::clone(farm);
    let thread = std::thread::Builder::new()
        .name("peipkg-http".into())
        .spawn(move || {
            runtime.block_on(serve(f, listener, cfg, stop_rx));
            // In-flight requests get a moment to finish, not forever.
            runtime.shutdown_timeout(Duration::from_secs(2));
        })?;
    Ok(Some(HttpHandle { stop, thread }))
}

/// The accept loop: a permit per connection, released when it closes.
async fn serve(
    farm: Arc<Farm>,
    listener: std::net::TcpListener,
    cfg: crate::config::HttpConfig,
    stop: Arc<tokio::sync::Notify>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            farm.log().error("webhook server error", &[("err", s(e))]);
            return;
        }
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections));
    let read_timeout = cfg.read_timeout;
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.notified() => return,
        };
        let (stream, remote) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    farm.log().warn("http accept failed", &[("err", s(e))]);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.notified() => return,
        };
        // Small responses go out at once: with Nagle on, a response
        // written in two pieces waits for the client's delayed ACK
        // (about 40 ms on Linux).
        let _ = stream.set_nodelay(true);
        let f = Arc::clone(&farm);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let f = Arc::clone(&f);
                async move {
                    Ok::<_, std::convert::Infallible>(handle(f, req, remote, read_timeout).await)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(read_timeout)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            let _ = conn.await;
            drop(permit);
        });
    }
}

/// One response, before redaction and framing.
struct Reply {
    status: u16,
    content_type: &'static str,
    nosniff: bool,
    body: Vec<u8>,
    /// Sent as it is rendered (already redacted), instead of `body`.
    streamed: Option<stream::Pieces>,
}

const TEXT: &str = "text/plain; charset=utf-8";

fn text(status: u16, body: &str) -> Reply {
    Reply {
        status,
        content_type: TEXT,
        nosniff: true,
        body: body.as_bytes().to_vec(),
        streamed: None,
    }
}

fn typed(content_type: &'static str, body: String) -> Reply {
    Reply {
        status: 200,
        content_type,
        nosniff: false,
        body: body.into_bytes(),
        streamed: None,
    }
}

async fn handle(
    farm: Arc<Farm>,
    req: Request<Incoming>,
    remote: SocketAddr,
    read_timeout: Duration,
) -> Response<Either<Full<Bytes>, stream::Pieces>> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let mut reply = match (&method, path.as_str()) {
        // Cheap and on the I/O thread: liveness must not queue behind
        // the database.
        (_, "/healthz") => text(200, "ok\n"),
        (&Method::POST, p) if Forge::from_path(p).is_some() => {
            let forge = Forge::from_path(p).unwrap_or(Forge::GitHub);
            let (parts, body) = req.into_parts();
            let limited = Limited::new(body, MAX_BODY);
            match tokio::time::timeout(read_timeout, limited.collect()).await {
                Err(_) => text(408, "request body timed out\n"),
                Ok(Err(e))
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    text(413, "payload too large\n")
                }
                Ok(Err(_)) => text(400, "read body\n"),
                Ok(Ok(collected)) => {
                    let body = collected.to_bytes();
                    let f = Arc::clone(&farm);
                    blocking(move || webhook(&f, forge, &parts.headers, &body, remote)).await
                }
            }
        }
        _ => {
            let f = Arc::clone(&farm);
            let p = path.clone();
            let m = method.clone();
            blocking(move || route_get(&f, &m, &p, read_timeout)).await
        }
    };
    farm.log().debug(
        "http request",
        &[
            ("method", s(method.as_str())),
            ("path", s(&path)),
            ("status", crate::log::n(reply.status)),
        ],
    );
    // Most bodies have nothing to redact: send them as they are rather
    // than copy them.
    let body = match reply.streamed.take() {
        Some(pieces) => Either::Right(pieces),
        None => Either::Left(Full::new(Bytes::from(
            match crate::redact::redact_bytes(&reply.body) {
                std::borrow::Cow::Owned(v) => v,
                std::borrow::Cow::Borrowed(_) => std::mem::take(&mut reply.body),
            },
        ))),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if reply.nosniff {
        h.insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
    }
    resp
}

/// Runs a page that may block (database, files) off the I/O thread.
async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> Reply {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| text(500, "internal error\n"))
}

fn route_get(farm: &Farm, method: &Method, path: &str, read_timeout: Duration) -> Reply {
    let get = *method == Method::GET || *method == Method::HEAD;
    match path {
        "/readyz" => match ready(farm) {
            Ok(()) => text(200, "ready\n"),
            Err(why) => text(503, &format!("not ready: {why}\n")),
        },
        "/status" if get => match status::status(farm) {
            Ok(st) => streamed_json(st, read_timeout),
            Err(e) => text(500, &format!("status: {e}\n")),
        },
        "/metrics" if get => match metrics::metrics(farm) {
            Ok(body) => typed("text/plain; version=0.0.4; charset=utf-8", body),
            Err(e) => text(500, &format!("metrics: {e}\n")),
        },
        "/" if get => large_page(match dashboard::page(farm) {
            Ok(body) => typed("text/html; charset=utf-8", body),
            Err(e) => text(500, &format!("dashboard: {e}\n")),
        }),
        p if get && p.starts_with("/builds/") && p.ends_with("/log") => build_log(farm, p),
        p if Forge::from_path(p).is_some() => text(405, "method not allowed\n"),
        _ => text(404, "404 page not found\n"),
    }
}

/// A JSON document sent while it is rendered (see [`stream`]), from a
/// thread of its own so that a slow reader holds no page thread; a reader
/// that takes no piece for `read_timeout` is dropped.
fn streamed_json(st: status::Status, read_timeout: Duration) -> Reply {
    let len = match stream::length(&st) {
        Ok(n) => n,
        Err(e) => return text(500, &format!("status: {e}\n")),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let rt = tokio::runtime::Handle::current();
    let sent = std::thread::Builder::new()
        .name("http-stream".into())
        .spawn(move || {
            stream::send(&st, &|piece| {
                // The timer is made inside block_on, in the runtime's
                // context (outside it, tokio has no timer to register with).
                rt.block_on(async { tokio::time::timeout(read_timeout, tx.send(piece)).await })
                    .map_err(|_| ())
                    .and_then(|r| r.map_err(|_| ()))
            });
            drop(st);
            peipkg_os::memory::release_free_memory();
        });
    if let Err(e) = sent {
        return text(500, &format!("status: {e}\n"));
    }
    Reply {
        status: 200,
        content_type: "application/json; charset=utf-8",
        nosniff: false,
        body: Vec::new(),
        streamed: Some(stream::Pieces::new(rx, len)),
    }
}

/// A page whose rendering allocated in proportion to the farm (megabytes at
/// thousands of recipes): what it freed goes back to the system now, so
/// the daemon's size does not keep the high-water mark of every page.
fn large_page(reply: Reply) -> Reply {
    peipkg_os::memory::release_free_memory();
    reply
}

/// Readiness, for load balancers and orchestrators: the repository exists
/// and the farm is not shutting down. (`/healthz` stays the reference's
/// plain liveness answer.)
fn ready(farm: &Farm) -> Result<(), String> {
    if farm.shutdown().is_stopping() {
        return Err("shutting down".into());
    }
    if !farm.repo().layout().repo.join("repo.json").is_file() {
        return Err("the repository is not initialised".into());
    }
    farm.queue()
        .store()
        .upload_status()
        .map_err(|e| format!("database: {e}"))?;
    Ok(())
}

fn build_log(farm: &Farm, path: &str) -> Reply {
    let id = path
        .trim_start_matches("/builds/")
        .trim_end_matches("/log")
        .parse::<i64>();
    let Ok(id) = id else {
        return text(404, "404 page not found\n");
    };
    let row = farm.queue().store().build(id);
    let Ok(Some(b)) = row else {
        return text(404, "no such build\n");
    };
    let Some(p) = b.log_path else {
        return text(404, "this build has no log yet\n");
    };
    // Only files the manager itself named, under its own logs directory.
    let p = std::path::PathBuf::from(p);
    if !p.starts_with(farm.dirs().logs()) {
        return text(404, "no such log\n");
    }
    match std::fs::read(&p) {
        Ok(bytes) => Reply {
            status: 200,
            content_type: TEXT,
            nosniff: true,
            body: bytes,
            streamed: None,
        },
        Err(_) => text(404, "log file is gone\n"),
    }
}

fn webhook(
    farm: &Farm,
    forge: Forge,
    headers: &HeaderMap,
    body: &[u8],
    remote: SocketAddr,
) -> Reply {
    let remote = remote.to_string();
    let find = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let Some(secret) = farm.settings().webhook_secret() else {
        farm.log().warn(
            "webhook refused: no [http].webhook_secret_file configured",
            &[("remote", s(&remote))],
        );
        return text(403, "webhooks are disabled: no secret configured\n");
    };
    if !forge.authentic(&secret, body, find) {
        farm.log()
            .warn("webhook signature invalid", &[("remote", s(&remote))]);
        return text(401, "invalid signature\n");
    }
    let payload: Payload = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(_) => return text(400, "parse json\n"),
    };
    // GitHub redelivers (and operators press "Redeliver"): one event,
    // one poll.
    if let Some(id) = find(forge.delivery_header()).filter(|d| !d.is_empty()) {
        if !farm.schedule().first_delivery(&id) {
            farm.log().info(
                "webhook delivery already handled; ignored",
                &[("delivery", s(&id))],
            );
            return text(200, "duplicate delivery\n");
        }
    }
    let event = find(forge.event_header());
    let roster = farm.settings().roster();
    let routed = match forge {
        Forge::GitLab => route_gitlab(&roster, event.as_deref(), &payload),
        _ => route(&roster, event.as_deref(), &payload),
    };
    match routed {
        Route::Pong => text(200, "pong\n"),
        Route::Ignored(why) => {
            farm.log().debug("webhook ignored", &[("reason", s(&why))]);
            text(200, "")
        }
        Route::Unrecognised(url) => {
            farm.log().info(
                "webhook for unrecognised or opted-out repo",
                &[("html_url", s(url))],
            );
            text(200, "")
        }
        Route::Poll(ids) => {
            for id in &ids {
                farm.log().info(
                    "webhook accepted, triggering immediate poll",
                    &[("recipe", s(id))],
                );
            }
            farm.schedule().ask(ids);
            farm.wakes().scheduler.notify();
            text(200, "")
        }
    }
}
