//! The agent's one-line install: `GET /install.sh` and `GET /install.ps1` (the scripts,
//! naming this server and the SHA-256 of what they fetch) and `GET /downloads/{name}` (the
//! files of `--dist-dir`). Public, like the
//! enrollment they lead to: the enrollment key is what admits a machine.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::downloads::Downloads;

fn not_here(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{what}: this server has no agent files (start it with --dist-dir, which `cargo xtask dist` fills)\n"),
    )
        .into_response()
}

/// Where clients reach this server: its public URL, else the address this request used.
fn server_url(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.settings.public_url {
        return Some(url.clone());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

pub async fn install_script(State(state): State<AppState>, headers: HeaderMap) -> Response {
    script(
        &state,
        &headers,
        Script {
            name: "install.sh (no optralis-agent-…-linux-x86_64 or -aarch64 binary)",
            content_type: "text/x-shellscript; charset=utf-8",
            render: Downloads::install_script,
        },
    )
}

pub async fn powershell_script(State(state): State<AppState>, headers: HeaderMap) -> Response {
    script(
        &state,
        &headers,
        Script {
            name: "install.ps1 (no optralis-agent-…-windows-x86_64-setup.exe installer)",
            content_type: "text/plain; charset=utf-8",
            render: Downloads::powershell_script,
        },
    )
}

/// One install script: what it is called when it cannot be made, and how it is made.
struct Script {
    name: &'static str,
    content_type: &'static str,
    render: fn(&Downloads, &str) -> Option<String>,
}

fn script(state: &AppState, headers: &HeaderMap, s: Script) -> Response {
    let Some(downloads) = &state.settings.downloads else {
        return not_here(s.name);
    };
    let Some(url) = server_url(state, headers) else {
        return (StatusCode::BAD_REQUEST, "no Host header\n").into_response();
    };
    match (s.render)(downloads, &url) {
        Some(text) => (
            [
                (header::CONTENT_TYPE, s.content_type),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        None => not_here(s.name),
    }
}

pub async fn file(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let Some(artefact) = state
        .settings
        .downloads
        .as_ref()
        .and_then(|d| d.find(&name))
    else {
        return not_here(&name);
    };
    match tokio::fs::read(&artefact.path).await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if let Ok(v) = HeaderValue::from_str(&artefact.sha256) {
                h.insert("x-checksum-sha256", v);
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, file = %artefact.path.display(), "cannot read an agent file");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n").into_response()
        }
    }
}
