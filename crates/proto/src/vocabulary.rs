//! The shared vocabulary: names that travel as fixed strings (in JSON, in the database, in
//! query parameters) are enums here, so a missing case is a compile error in the server and,
//! through the OpenAPI document, in the dashboard.
//!
//! `names!` writes each one with its strings stated once: serde uses them, `as_str` and
//! `parse` give them back, `ALL` lists the variants in order.

/// A string that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What the name was for, e.g. `rule kind`.
    pub what: &'static str,
    pub got: String,
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown {} {:?}: expected one of {}",
            self.what,
            self.got,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

/// For `#[serde(deserialize_with)]` on a list of names: an unknown one fails the whole
/// field (its path, `alert_kinds`, not `alert_kinds[2]`), with the names it may take.
pub fn name_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err = UnknownName>,
{
    let names: Vec<String> = serde::Deserialize::deserialize(d)?;
    names
        .iter()
        .map(|n| n.parse().map_err(serde::de::Error::custom))
        .collect()
}

/// [`name_list`] for an optional field.
pub fn optional_name_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err = UnknownName>,
{
    let names: Option<Vec<String>> = serde::Deserialize::deserialize(d)?;
    names
        .map(|names| {
            names
                .iter()
                .map(|n| n.parse().map_err(serde::de::Error::custom))
                .collect()
        })
        .transpose()
}

/// `names! { /// doc \n pub enum Kind("what it is") { Variant = "text", … } }`.
macro_rules! names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:tt) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        // Lets code and tests compare with the wire name: `status == "online"`.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::vocabulary::UnknownName {
                    what: $what,
                    got: s.to_owned(),
                    expected: Self::NAMES,
                })
            }
        }
    };
}

names! {
    /// The language of an organisation's notifications and server mail.
    #[derive(Default)]
    pub enum Language("language") {
        #[default]
        En = "en",
        Fr = "fr",
    }
}

names! {
    /// Whether a machine's agent reads a source (S.M.A.R.T., system events): `unknown` until
    /// the agent has said.
    pub enum SourceState("source state") {
        Available = "available",
        Unavailable = "unavailable",
        Unknown = "unknown",
    }
}

impl SourceState {
    /// From when the agent last said (`None`: never) and why it could not read (`None`: it
    /// could).
    pub fn of<T, R>(said: Option<T>, unavailable: Option<R>) -> Self {
        match (said, unavailable) {
            (None, _) => SourceState::Unknown,
            (Some(_), Some(_)) => SourceState::Unavailable,
            (Some(_), None) => SourceState::Available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for l in Language::ALL {
            let json = serde_json::to_string(l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.as_str()));
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), *l);
            assert_eq!(l.as_str().parse::<Language>().unwrap(), *l);
        }
        let err = "de".parse::<Language>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown language \"de\": expected one of en, fr"
        );
    }
}
