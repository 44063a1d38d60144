//! The HTTP server: `/healthz`, `/readyz`, `/status` (JSON), `/metrics` (Prometheus),
//! `/` (a dashboard), `/builds/<id>/log`, and `POST /webhooks/github`
//! (also `/webhooks/gitea` and `/webhooks/gitlab`).
//!
//! A webhook's poll is handed to the scheduler and runs on the farm's own
//! threads; the reference started it on the request's context, which was
//! cancelled as soon as the response was sent, so webhooks never built
//! anything.

pub mod dashboard;
pub mod metrics;
pub mod status;

use std::io::Read;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::farm::Farm;
use crate::log::s;
use crate::watch::webhook::{route, route_gitlab, Forge, Payload, Route};

const MAX_BODY: u64 = 16 << 20;

pub struct HttpHandle {
    server: Arc<Server>,
    thread: std::thread::JoinHandle<()>,
}

impl HttpHandle {
    pub fn stop(self) {
        self.server.unblock();
        let _ = self.thread.join();
    }

    pub fn addr(&self) -> Option<std::net::SocketAddr> {
        self.server.server_addr().to_ip()
    }
}

/// Starts the server if `[http].addr` is set. A bind failure is an error:
/// an operator who configured monitoring wants to know at once.
pub fn start(farm: &Arc<Farm>) -> Result<Option<HttpHandle>> {
    let Some(addr) = farm.cfg().http.addr.clone() else {
        return Ok(None);
    };
    let server = match Server::http(&addr) {
        Ok(s) => s,
        Err(e) => {
            // The reference's message (it carried on without a server;
            // an operator who configured monitoring wants a failed start).
            farm.log.error(
                "webhook server error",
                &[("err", s(format!("listen on {addr}: {e}")))],
            );
            return Err(anyhow!("listen on {addr}: {e}"));
        }
    };
    let server = Arc::new(server);
    farm.log
        .info("webhook server listening", &[("addr", s(&addr))]);
    let srv = Arc::clone(&server);
    let f = Arc::clone(farm);
    let thread = std::thread::spawn(move || {
        while let Ok(req) = srv.recv() {
            let f = Arc::clone(&f);
            std::thread::spawn(move || handle(&f, req));
        }
    });
    Ok(Some(HttpHandle { server, thread }))
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap_or_else(|_| {
        Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).expect("static header")
    })
}

fn text(code: u16, body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(code)
        .with_header(header("Content-Type", "text/plain; charset=utf-8"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
}

fn handle(farm: &Farm, mut req: Request) {
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let method = req.method().clone();
    let resp = match (&method, path.as_str()) {
        (_, "/healthz") => text(200, "ok\n"),
        (_, "/readyz") => match ready(farm) {
            Ok(()) => text(200, "ready\n"),
            Err(why) => text(503, &format!("not ready: {why}\n")),
        },
        (Method::Get | Method::Head, "/status") => match status::status(farm)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::to_string_pretty(&s).map_err(|e| e.to_string()))
        {
            Ok(mut body) => {
                body.push('\n');
                Response::from_string(body)
                    .with_header(header("Content-Type", "application/json; charset=utf-8"))
            }
            Err(e) => text(500, &format!("status: {e}\n")),
        },
        (Method::Get | Method::Head, "/metrics") => match metrics::metrics(farm) {
            Ok(body) => Response::from_string(body).with_header(header(
                "Content-Type",
                "text/plain; version=0.0.4; charset=utf-8",
            )),
            Err(e) => text(500, &format!("metrics: {e}\n")),
        },
        (Method::Get | Method::Head, "/") => match dashboard::page(farm) {
            Ok(body) => Response::from_string(body)
                .with_header(header("Content-Type", "text/html; charset=utf-8")),
            Err(e) => text(500, &format!("dashboard: {e}\n")),
        },
        (Method::Get | Method::Head, p) if p.starts_with("/builds/") && p.ends_with("/log") => {
            build_log(farm, p)
        }
        (Method::Post, p) if Forge::from_path(p).is_some() => {
            let forge = Forge::from_path(p).unwrap_or(Forge::GitHub);
            webhook(farm, forge, &mut req)
        }
        (_, p) if Forge::from_path(p).is_some() => text(405, "method not allowed\n"),
        _ => text(404, "404 page not found\n"),
    };
    farm.log.debug(
        "http request",
        &[
            ("method", s(method.as_str())),
            ("path", s(&path)),
            ("status", crate::log::n(resp.status_code().0)),
        ],
    );
    let _ = req.respond(resp);
}

/// Readiness, for load balancers and orchestrators: the repository exists
/// and the farm is not shutting down. (`/healthz` stays the reference's
/// plain liveness answer.)
fn ready(farm: &Farm) -> Result<(), String> {
    if farm.is_stopping() {
        return Err("shutting down".into());
    }
    if !farm.layout.repo.join("repo.json").is_file() {
        return Err("the repository is not initialised".into());
    }
    farm.store()
        .upload_status()
        .map_err(|e| format!("database: {e}"))?;
    Ok(())
}

/// Remembers a delivery id; false if it was seen already.
fn first_delivery(farm: &Farm, id: &str) -> bool {
    const KEEP: usize = 1000;
    let Ok(mut seen) = farm.deliveries.lock() else {
        return true;
    };
    if seen.iter().any(|d| d == id) {
        return false;
    }
    if seen.len() >= KEEP {
        seen.pop_front();
    }
    seen.push_back(id.to_string());
    true
}

fn build_log(farm: &Farm, path: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let id = path
        .trim_start_matches("/builds/")
        .trim_end_matches("/log")
        .parse::<i64>();
    let Ok(id) = id else {
        return text(404, "404 page not found\n");
    };
    let row = farm.store().build(id);
    let Ok(Some(b)) = row else {
        return text(404, "no such build\n");
    };
    let Some(p) = b.log_path else {
        return text(404, "this build has no log yet\n");
    };
    // Only files the manager itself named, under its own logs directory.
    let p = std::path::PathBuf::from(p);
    if !p.starts_with(farm.logs_dir()) {
        return text(404, "no such log\n");
    }
    match std::fs::read(&p) {
        Ok(bytes) => Response::from_data(bytes)
            .with_header(header("Content-Type", "text/plain; charset=utf-8"))
            .with_header(header("X-Content-Type-Options", "nosniff")),
        Err(_) => text(404, "log file is gone\n"),
    }
}

fn webhook(farm: &Farm, forge: Forge, req: &mut Request) -> Response<std::io::Cursor<Vec<u8>>> {
    let remote = req.remote_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut body = Vec::new();
    if req
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .is_err()
    {
        return text(400, "read body\n");
    }
    if body.len() as u64 > MAX_BODY {
        return text(413, "payload too large\n");
    }
    let find = |name: &str| {
        req.headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    };
    let Some(secret) = farm.webhook_secret() else {
        farm.log.warn(
            "webhook refused: no [http].webhook_secret_file configured",
            &[("remote", s(&remote))],
        );
        return text(403, "webhooks are disabled: no secret configured\n");
    };
    if !forge.authentic(&secret, &body, find) {
        farm.log
            .warn("webhook signature invalid", &[("remote", s(&remote))]);
        return text(401, "invalid signature\n");
    }
    let payload: Payload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(_) => return text(400, "parse json\n"),
    };
    // GitHub redelivers (and operators press "Redeliver"): one event,
    // one poll.
    if let Some(id) = find(forge.delivery_header()).filter(|d| !d.is_empty()) {
        if !first_delivery(farm, &id) {
            farm.log.info(
                "webhook delivery already handled; ignored",
                &[("delivery", s(&id))],
            );
            return text(200, "duplicate delivery\n");
        }
    }
    let event = find(forge.event_header());
    let roster = farm.roster();
    let routed = match forge {
        Forge::GitLab => route_gitlab(&roster, event.as_deref(), &payload),
        _ => route(&roster, event.as_deref(), &payload),
    };
    match routed {
        Route::Pong => text(200, "pong\n"),
        Route::Ignored(why) => {
            farm.log.debug("webhook ignored", &[("reason", s(&why))]);
            text(200, "")
        }
        Route::Unrecognised(url) => {
            farm.log.info(
                "webhook for unrecognised or opted-out repo",
                &[("html_url", s(url))],
            );
            text(200, "")
        }
        Route::Poll(ids) => {
            for id in &ids {
                farm.log.info(
                    "webhook accepted, triggering immediate poll",
                    &[("recipe", s(id))],
                );
            }
            if let Ok(mut p) = farm.poll_now.lock() {
                p.extend(ids);
            }
            farm.wake_scheduler.notify();
            text(200, "")
        }
    }
}
