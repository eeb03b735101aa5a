//! Identifiers. An [`OrgId`] can only be obtained from the store (an authenticated principal,
//! an enrollment, a CLI lookup), which is what makes tenant scoping a property of the types.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub(crate) fn new_random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }
            /// Wraps an id read back from the database.
            pub(crate) fn from_db(s: String) -> Self {
                Self(s)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An organisation (tenant). Only the store hands these out.
    OrgId
);
id_type!(
    /// A machine, always paired with the [`OrgId`] that owns it in store calls.
    MachineId
);

id_type!(
    /// A user account. Users belong to organisations through memberships.
    UserId
);
id_type!(
    /// A login session (one refresh-token family).
    SessionId
);

id_type!(
    /// A rollout of an agent release, always paired with its organisation's [`OrgId`].
    RolloutId
);

macro_rules! from_path {
    ($($name:ident),*) => {$(
        impl $name {
            /// An id taken from a request path or token. It means nothing until a store call
            /// pairs it with the caller's organisation (or checks it).
            pub fn from_path(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    )*};
}
from_path!(MachineId, UserId, SessionId, RolloutId);
