//! Ids a load balancer can route on: the optional instance tag
//! (`--instance-id`) and the random ids this process mints with it.
//!
//! With an [`InstanceId`] `i2`, a legacy HTTP session id is `i2.<hex>`, a
//! job handle `job_i2.<hex>` and a task id `i2.<hex>`; a balancer maps the
//! part before the first `.` to the instance that minted the id. Without
//! one, ids are the bare 128 random bits in hex, as before.

use std::fmt;
use std::str::FromStr;

/// Longest accepted instance id, in bytes.
pub const MAX_INSTANCE_ID_LEN: usize = 63;

/// The tag of one instance among several behind a load balancer: 1–63 of
/// lowercase ASCII letters, digits and `-`, not starting or ending with `-`
/// (a DNS label, such as a Kubernetes pod name, and an nginx upstream name as is).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceId(String);

/// Why a string is not an [`InstanceId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceIdError {
    /// The string is empty.
    Empty,
    /// It is longer than [`MAX_INSTANCE_ID_LEN`].
    TooLong(usize),
    /// It holds a character other than `a-z`, `0-9` and `-`.
    BadChar(char),
    /// It starts or ends with `-`.
    EdgeDash,
}

impl fmt::Display for InstanceIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HINT: &str = "use 1-63 lowercase letters, digits and '-', e.g. `i1` or `mcp-2`";
        match self {
            InstanceIdError::Empty => write!(f, "the instance id is empty: {HINT}"),
            InstanceIdError::TooLong(n) => write!(f, "the instance id has {n} bytes: {HINT}"),
            InstanceIdError::BadChar(c) => {
                write!(f, "the instance id may not contain {c:?}: {HINT}")
            }
            InstanceIdError::EdgeDash => {
                write!(f, "the instance id may not start or end with '-': {HINT}")
            }
        }
    }
}

impl std::error::Error for InstanceIdError {}

impl FromStr for InstanceId {
    type Err = InstanceIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(InstanceIdError::Empty);
        }
        if s.len() > MAX_INSTANCE_ID_LEN {
            return Err(InstanceIdError::TooLong(s.len()));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(InstanceIdError::BadChar(c));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(InstanceIdError::EdgeDash);
        }
        Ok(InstanceId(s.to_owned()))
    }
}

impl InstanceId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 128 random bits from the OS generator in hex, tagged `ID.` when this
/// process has an instance id; the generator's error when it fails (a
/// guessable id is never handed out).
pub fn mint(instance: Option<&InstanceId>) -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(match instance {
        Some(i) => format!("{i}.{hex}"),
        None => hex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_ids() {
        for ok in ["i1", "a", "mcp-2", "0", &"x".repeat(63)] {
            assert_eq!(ok.parse::<InstanceId>().unwrap().as_str(), ok);
        }
        let bad = [
            ("", InstanceIdError::Empty),
            ("I1", InstanceIdError::BadChar('I')),
            ("a.b", InstanceIdError::BadChar('.')),
            ("a_b", InstanceIdError::BadChar('_')),
            ("-a", InstanceIdError::EdgeDash),
            ("a-", InstanceIdError::EdgeDash),
        ];
        for (s, e) in bad {
            assert_eq!(s.parse::<InstanceId>().unwrap_err(), e, "{s:?}");
        }
        assert_eq!(
            "y".repeat(64).parse::<InstanceId>().unwrap_err(),
            InstanceIdError::TooLong(64)
        );
        assert!(InstanceIdError::BadChar('.')
            .to_string()
            .contains("lowercase"));
    }

    #[test]
    fn minted_ids_carry_the_tag() {
        let bare = mint(None).unwrap();
        assert_eq!(bare.len(), 32);
        assert!(bare.chars().all(|c| c.is_ascii_hexdigit()));
        let i: InstanceId = "i2".parse().unwrap();
        let tagged = mint(Some(&i)).unwrap();
        let (tag, rest) = tagged.split_once('.').unwrap();
        assert_eq!((tag, rest.len()), ("i2", 32));
        assert_ne!(mint(Some(&i)).unwrap(), tagged);
    }
}
