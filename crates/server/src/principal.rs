//! Who is calling: an actor (a signed-in user or an API token) with a role in one
//! organisation. The API's extractors establish a [`Principal`]; handlers pass its `OrgId`
//! to every store call on tenant data.

pub use optralis_proto::identity::Role;

use crate::ids::{OrgId, SessionId, UserId};

/// Who is acting: a signed-in user or an API token.
#[derive(Debug, Clone)]
pub enum Actor {
    User {
        id: UserId,
        email: String,
        session: SessionId,
    },
    Token {
        id: String,
        name: String,
    },
}

impl Actor {
    /// How the audit log names this actor.
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => format!("user:{email}"),
            Actor::Token { name, id } => format!("token:{name} ({id})"),
        }
    }
}

/// Who is calling the API within one organisation, as established from their credentials.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: OrgId,
    pub role: Role,
    pub actor: Actor,
    /// Operators of the whole server (users only; never an API token).
    pub platform_admin: bool,
    /// The client's address, for the audit log (set by the API's extractors).
    pub ip: Option<String>,
}
