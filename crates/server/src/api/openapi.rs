//! The OpenAPI document: its frame (title, security scheme, tags) here, its paths from the
//! handlers' `#[utoipa::path]` attributes. Served at `/api/v1/openapi.json` with Swagger UI
//! at `/api/docs`; the committed copy (docs/openapi.json) is checked against it in tests.

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi as _};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Optralis API",
        description = "Self-hosted infrastructure monitoring. Authenticate with `Authorization: Bearer <token>`: \
an access token from `POST /api/v1/auth/login` or an API token (`oat_…`). Users in several organisations \
pick one with the `X-Optralis-Org: <id>` header. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`.",
        license(name = "AGPL-3.0-only"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "me", description = "The signed-in user's own account"),
        (name = "orgs", description = "Organisations"),
        (name = "users", description = "Members of the current organisation"),
        (name = "credentials", description = "API tokens and agent enrollment keys"),
        (name = "audit", description = "Who did what, when, from where"),
        (name = "machines", description = "The fleet and its metrics"),
        (name = "fleet", description = "Groups, labels, status, live updates"),
        (name = "events", description = "System events: journald, Windows Event Log"),
        (name = "alerts", description = "Alert rules, alerts, silences, notification channels and deliveries"),
        (name = "updates", description = "Signed agent releases and their rollout"),
        (name = "agent", description = "Routes the agent calls"),
        (name = "meta", description = "Health and catalog"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut OpenApi) {
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The document before the routes add their paths.
pub fn base() -> OpenApi {
    let mut api = ApiDoc::openapi();
    // The version is the server's, so the committed copy changes with releases.
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// The whole document, for tools (`optralis openapi`) and the drift test.
pub fn spec() -> OpenApi {
    super::router_and_spec(0).1
}

/// `/api/v1/openapi.json` and the Swagger UI page that reads it.
pub fn docs(spec: OpenApi) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", spec))
}
