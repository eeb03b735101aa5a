//! Label selectors with Kubernetes semantics:
//! `env=prod,role!=db,tier in (web,api),tier notin (cache),gpu,!deprecated`.
//! Requirements are ANDed. `key=value` (or `==`) needs the label with that value; `!=` and
//! `notin` match machines without the label too; a bare key needs the label, `!key` its
//! absence. A malformed selector is an error that names its position (0-based, in characters).

use super::labels::{Labels, check_key, check_value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector error at position {position}: {message}")]
pub struct SelectorError {
    pub position: usize,
    pub message: String,
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    _src: &'a str,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

impl Parser<'_> {
    fn error<T>(&self, at: usize, message: impl Into<String>) -> Result<T, SelectorError> {
        Err(SelectorError {
            position: at,
            message: message.into(),
        })
    }

    fn skip_spaces(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> (usize, String) {
        let start = self.pos;
        while self.peek().is_some_and(is_word) {
            self.pos += 1;
        }
        (start, self.chars[start..self.pos].iter().collect())
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        self.skip_spaces();
        let (start, key) = self.word();
        if key.is_empty() {
            return match self.peek() {
                Some(c) => self.error(start, format!("expected a label key, found {c:?}")),
                None => self.error(start, "expected a label key, found the end"),
            };
        }
        check_key(&key).map_err(|e| SelectorError {
            position: start,
            message: e.0,
        })?;
        Ok(key)
    }

    fn value(&mut self, key: &str) -> Result<String, SelectorError> {
        self.skip_spaces();
        let (start, value) = self.word();
        check_value(key, &value).map_err(|e| SelectorError {
            position: start,
            message: e.0,
        })?;
        Ok(value)
    }

    fn set(&mut self, key: &str) -> Result<Vec<String>, SelectorError> {
        self.skip_spaces();
        if !self.eat("(") {
            return self.error(self.pos, "expected '(' after in/notin");
        }
        let mut values = Vec::new();
        loop {
            values.push(self.value(key)?);
            self.skip_spaces();
            if self.eat(")") {
                return Ok(values);
            }
            if !self.eat(",") {
                return self.error(self.pos, "expected ',' or ')' in the value list");
            }
        }
    }

    /// Whether the next word is `op` as a whole word (so a key like `index` is not `in`).
    fn keyword(&mut self, op: &str) -> bool {
        let save = self.pos;
        if self.eat(op) && !self.peek().is_some_and(is_word) {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        self.skip_spaces();
        if self.eat("!") {
            return Ok(Requirement::NotExists(self.key()?));
        }
        let key = self.key()?;
        self.skip_spaces();
        if self.eat("!=") {
            let v = self.value(&key)?;
            return Ok(Requirement::NotEquals(key, v));
        }
        if self.eat("==") || self.eat("=") {
            let v = self.value(&key)?;
            return Ok(Requirement::Equals(key, v));
        }
        if self.keyword("notin") {
            let vs = self.set(&key)?;
            return Ok(Requirement::NotIn(key, vs));
        }
        if self.keyword("in") {
            let vs = self.set(&key)?;
            return Ok(Requirement::In(key, vs));
        }
        match self.peek() {
            None | Some(',') => Ok(Requirement::Exists(key)),
            Some(c) => self.error(
                self.pos,
                format!("expected =, ==, !=, in, notin, ',' or the end after {key:?}, found {c:?}"),
            ),
        }
    }
}

/// Longest selector accepted, in characters, and most requirements in one: a selector is
/// matched against every machine at every evaluation, so its size is everyone's cost.
pub const MAX_CHARS: usize = 1024;
pub const MAX_REQUIREMENTS: usize = 32;

/// Parses a selector; the empty string selects everything.
pub fn parse(src: &str) -> Result<Selector, SelectorError> {
    if src.chars().count() > MAX_CHARS {
        return Err(SelectorError {
            position: MAX_CHARS,
            message: format!("longer than {MAX_CHARS} characters"),
        });
    }
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
        _src: src,
    };
    let mut reqs = Vec::new();
    p.skip_spaces();
    if p.peek().is_none() {
        return Ok(Selector(reqs));
    }
    loop {
        if reqs.len() == MAX_REQUIREMENTS {
            return p.error(p.pos, format!("more than {MAX_REQUIREMENTS} requirements"));
        }
        reqs.push(p.requirement()?);
        p.skip_spaces();
        match p.peek() {
            None => return Ok(Selector(reqs)),
            Some(',') => p.pos += 1,
            Some(c) => return p.error(p.pos, format!("expected ',' or the end, found {c:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Requirement::*;
    use super::*;

    fn s(v: &str) -> String {
        v.to_owned()
    }

    #[test]
    fn parses_every_form() {
        let cases: &[(&str, Vec<Requirement>)] = &[
            ("", vec![]),
            ("env=prod", vec![Equals(s("env"), s("prod"))]),
            ("env==prod", vec![Equals(s("env"), s("prod"))]),
            (
                "env = prod , role!=db",
                vec![Equals(s("env"), s("prod")), NotEquals(s("role"), s("db"))],
            ),
            (
                "tier in (web,api)",
                vec![In(s("tier"), vec![s("web"), s("api")])],
            ),
            (
                "tier notin ( web , api )",
                vec![NotIn(s("tier"), vec![s("web"), s("api")])],
            ),
            (
                "gpu,!deprecated",
                vec![Exists(s("gpu")), NotExists(s("deprecated"))],
            ),
            (
                "index=1,inx in (a)",
                vec![Equals(s("index"), s("1")), In(s("inx"), vec![s("a")])],
            ),
            (
                "example.com/team=ops",
                vec![Equals(s("example.com/team"), s("ops"))],
            ),
            ("env=", vec![Equals(s("env"), s(""))]),
        ];
        for (src, want) in cases {
            assert_eq!(parse(src).map(|s| s.0), Ok(want.clone()), "{src:?}");
        }
    }

    #[test]
    fn oversized_selectors_are_refused() {
        let many = (0..MAX_REQUIREMENTS + 1)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse(&many).unwrap_err().message.contains("requirements"));
        let long = format!("k in ({})", vec!["v"; 600].join(","));
        assert!(parse(&long).unwrap_err().message.contains("longer"));
        let fits = (0..MAX_REQUIREMENTS)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse(&fits).is_ok());
    }

    #[test]
    fn errors_name_the_position() {
        let cases: &[(&str, usize, &str)] = &[
            ("env=prod,", 9, "label key"),
            (",env", 0, "label key"),
            ("env prod", 4, "expected"),
            ("tier in web", 8, "'('"),
            ("tier in (web", 12, "',' or ')'"),
            ("tier in (web;api)", 12, "',' or ')'"),
            ("env=pr od", 7, "expected ','"),
            ("-env=prod", 0, "label key"),
            ("env=-prod", 4, "value"),
            ("env=prod)", 8, "expected ','"),
            ("!", 1, "label key"),
        ];
        for (src, position, text) in cases {
            let e = parse(src).unwrap_err();
            assert_eq!(e.position, *position, "{src:?}: {e}");
            assert!(e.message.contains(text), "{src:?}: {e}");
        }
    }

    #[test]
    fn semantics_follow_kubernetes() {
        let labels: Labels = [("env", "prod"), ("tier", "web"), ("gpu", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let none = Labels::new();
        let cases: &[(&str, bool, bool)] = &[
            // selector, matches `labels`, matches a machine without labels
            ("", true, true),
            ("env=prod", true, false),
            ("env=dev", false, false),
            ("env!=dev", true, true),
            ("env!=prod", false, true),
            ("tier in (web,api)", true, false),
            ("tier in (api)", false, false),
            ("tier notin (api)", true, true),
            ("tier notin (web)", false, true),
            ("gpu", true, false),
            ("!gpu", false, true),
            ("gpu=", true, false),
            ("env=prod,tier in (web),!deprecated", true, false),
            ("env=prod,deprecated", false, false),
        ];
        for (src, with, without) in cases {
            let sel = parse(src).unwrap();
            assert_eq!(sel.matches(&labels), *with, "{src:?} on labels");
            assert_eq!(sel.matches(&none), *without, "{src:?} on none");
        }
    }
}
