//! `robots.txt` (RFC 9309) for `fetch --fetch-respect-robots`: a small
//! parser and a per-origin cache.
//!
//! - Parsing: the groups naming our product token (the user agent up to the
//!   first `/` or space, case-insensitive) or else the `*` groups; the
//!   longest matching `Allow`/`Disallow` pattern wins, `Allow` on a tie;
//!   `*` and a trailing `$` are understood. `/robots.txt` itself is always
//!   allowed.
//! - Fetching (done by the caller through the guarded client, so every hop
//!   is checked like any fetch): a 2xx body is parsed (at most
//!   [`MAX_BYTES`]); a 4xx, or more redirects than allowed, means no
//!   restrictions; a 5xx or an unreachable server means everything is
//!   disallowed.
//! - Caching: one [`Policy`] per origin, kept for the configured time to
//!   live (failures for at most [`FAILURE_TTL`], so a site that was briefly
//!   down is asked again soon), at most [`MAX_ENTRIES`] origins and
//!   [`MAX_CACHE_BYTES`] of rules; the oldest entries go first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most bytes of a robots.txt read (RFC 9309 asks for at least 500 KiB).
pub const MAX_BYTES: usize = 512 * 1024;
/// The most redirects followed to reach a robots.txt (RFC 9309: at least five).
pub const MAX_REDIRECTS: usize = 5;
/// The most origins cached.
pub const MAX_ENTRIES: usize = 256;
/// The most bytes of rules cached, over all origins.
pub const MAX_CACHE_BYTES: usize = 1024 * 1024;
/// How long an unreachable or failing robots.txt is remembered.
pub const FAILURE_TTL: Duration = Duration::from_secs(60);

/// One `Allow` or `Disallow` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `Allow` (true) or `Disallow`.
    pub allow: bool,
    /// The path pattern.
    pub pattern: String,
}

/// The rules of one site that apply to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The user agent of the group the rules come from (`*` or our token);
    /// `None` when no group applies.
    pub group: Option<String>,
    /// Its rules, in file order.
    pub rules: Vec<Rule>,
}

/// What the robots.txt of one origin says, as cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// A robots.txt was read: judge each path by its rules.
    Rules(Rules),
    /// No robots.txt (4xx, or too many redirects): everything allowed.
    AllowAll(String),
    /// robots.txt could not be read (5xx, network error): everything
    /// disallowed. The string says what happened.
    DisallowAll(String),
}

/// The verdict on one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The path may be fetched.
    Allowed,
    /// The path may not be fetched; the string names the rule.
    Disallowed(String),
}

impl Policy {
    /// Judge `path` (with its query).
    pub fn judge(&self, path: &str) -> Verdict {
        match self {
            Policy::AllowAll(_) => Verdict::Allowed,
            Policy::DisallowAll(why) => Verdict::Disallowed(format!(
                "{why}, which RFC 9309 treats as disallowing everything"
            )),
            Policy::Rules(r) => r.judge(path),
        }
    }

    /// Rough heap size, for the cache's byte cap.
    fn size(&self) -> usize {
        64 + match self {
            Policy::Rules(r) => r.rules.iter().map(|x| x.pattern.len() + 32).sum(),
            Policy::AllowAll(s) | Policy::DisallowAll(s) => s.len(),
        }
    }
}

/// The product token of a user agent: up to the first `/` or space, lower case.
fn product_token(agent: &str) -> String {
    agent
        .split(['/', ' '])
        .next()
        .unwrap_or(agent)
        .trim()
        .to_ascii_lowercase()
}

/// Parse `robots` and keep the rules that apply to `agent`.
pub fn parse(robots: &str, agent: &str) -> Rules {
    let token = product_token(agent);
    let mut ours: Vec<Rule> = Vec::new();
    let mut star: Vec<Rule> = Vec::new();
    let mut named_us = false;
    let mut named_star = false;
    let mut group_agents: Vec<String> = Vec::new();
    let mut in_rules = false;
    for line in robots.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        match key.as_str() {
            "user-agent" => {
                if in_rules {
                    group_agents.clear();
                    in_rules = false;
                }
                let a = value.to_ascii_lowercase();
                named_us |= !token.is_empty() && a == token;
                named_star |= a == "*";
                group_agents.push(a);
            }
            "allow" | "disallow" => {
                in_rules = true;
                if value.is_empty() {
                    continue; // "Disallow:" with nothing allows everything
                }
                let rule = Rule {
                    allow: key == "allow",
                    pattern: value.to_string(),
                };
                if group_agents.contains(&token) {
                    ours.push(rule);
                } else if group_agents.iter().any(|a| a == "*") {
                    star.push(rule);
                }
            }
            _ => {}
        }
    }
    let (group, rules) = if named_us {
        (Some(token), ours)
    } else if named_star {
        (Some("*".to_string()), star)
    } else {
        (None, Vec::new())
    };
    Rules { group, rules }
}

impl Rules {
    /// Judge `path` (with its query): the longest matching pattern wins,
    /// `Allow` on a tie; no match allows.
    pub fn judge(&self, path: &str) -> Verdict {
        if path == "/robots.txt" {
            return Verdict::Allowed;
        }
        let mut best: Option<&Rule> = None;
        for rule in &self.rules {
            if !matches(&rule.pattern, path) {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    rule.pattern.len() > b.pattern.len()
                        || (rule.pattern.len() == b.pattern.len() && rule.allow && !b.allow)
                }
            };
            if better {
                best = Some(rule);
            }
        }
        match best {
            Some(r) if !r.allow => Verdict::Disallowed(format!(
                "rule \"Disallow: {}\" in the group for user-agent \"{}\"",
                r.pattern,
                self.group.as_deref().unwrap_or("*")
            )),
            _ => Verdict::Allowed,
        }
    }
}

/// Whether `path` may be fetched by `agent` under the robots.txt text `robots`.
#[cfg(test)]
pub fn allowed(robots: &str, agent: &str, path: &str) -> bool {
    parse(robots, agent).judge(path) == Verdict::Allowed
}

/// Match a robots pattern (`*` any run, trailing `$` end anchor) against the
/// start of `path`.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !path.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 && anchored {
            return path.len() >= pos + part.len() && path.ends_with(part);
        } else {
            match path[pos..].find(part) {
                Some(at) => pos += at + part.len(),
                None => return false,
            }
        }
    }
    !anchored || pos == path.len()
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    ttl: Duration,
    size: usize,
    policy: Arc<Policy>,
}

/// The robots.txt policies of recently asked origins.
#[derive(Debug)]
pub struct Cache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Cache {
    /// An empty cache keeping read robots.txt files for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Cache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached policy of `origin`, if still fresh.
    pub fn get(&self, origin: &str) -> Option<Arc<Policy>> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = map.get(origin).map(|e| e.at.elapsed() < e.ttl)?;
        if fresh {
            map.get(origin).map(|e| e.policy.clone())
        } else {
            map.remove(origin);
            None
        }
    }

    /// Remember `policy` for `origin`; failures are kept for at most
    /// [`FAILURE_TTL`]. Stale and then the oldest entries make room.
    pub fn put(&self, origin: &str, policy: Policy) -> Arc<Policy> {
        let ttl = match policy {
            Policy::DisallowAll(_) => self.ttl.min(FAILURE_TTL),
            _ => self.ttl,
        };
        let size = policy.size();
        let policy = Arc::new(policy);
        if size > MAX_CACHE_BYTES || ttl.is_zero() {
            return policy;
        }
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(origin);
        map.retain(|_, e| e.at.elapsed() < e.ttl);
        let mut total: usize = map.values().map(|e| e.size).sum();
        while !map.is_empty() && (map.len() >= MAX_ENTRIES || total + size > MAX_CACHE_BYTES) {
            let oldest = map
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(k, _)| k.clone())
                .expect("map is not empty");
            if let Some(e) = map.remove(&oldest) {
                total -= e.size;
            }
        }
        map.insert(
            origin.to_string(),
            Entry {
                at: Instant::now(),
                ttl,
                size,
                policy: policy.clone(),
            },
        );
        policy
    }

    /// Number of origins cached.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROBOTS: &str = "\
# comment
User-agent: *
Disallow: /private/
Allow: /private/open.html
Disallow: /*.pdf$

User-agent: lmcp
User-agent: other
Disallow: /no-bots
";

    #[test]
    fn star_group_rules() {
        assert!(allowed(ROBOTS, "somebot/1.0", "/index.html"));
        assert!(!allowed(ROBOTS, "somebot/1.0", "/private/x"));
        assert!(allowed(ROBOTS, "somebot/1.0", "/private/open.html"));
        assert!(!allowed(ROBOTS, "somebot/1.0", "/docs/a.pdf"));
        assert!(allowed(ROBOTS, "somebot/1.0", "/docs/a.pdf?x=1"));
    }

    #[test]
    fn own_group_replaces_star() {
        assert!(!allowed(ROBOTS, "lmcp/0.1 (MCP fetch tool)", "/no-bots"));
        assert!(allowed(ROBOTS, "lmcp/0.1", "/private/x"));
    }

    #[test]
    fn refusal_names_the_rule() {
        let r = parse(ROBOTS, "somebot/1.0");
        assert_eq!(r.group.as_deref(), Some("*"));
        match r.judge("/private/x") {
            Verdict::Disallowed(why) => assert_eq!(
                why,
                "rule \"Disallow: /private/\" in the group for user-agent \"*\""
            ),
            v => panic!("{v:?}"),
        }
        match parse(ROBOTS, "LMCP/0.1").judge("/no-bots") {
            Verdict::Disallowed(why) => assert!(why.contains("\"lmcp\""), "{why}"),
            v => panic!("{v:?}"),
        }
        // The product token must equal the group's agent, not merely contain it.
        assert!(allowed("User-agent: lm\nDisallow: /\n", "lmcp/0.1", "/a"));
        // robots.txt itself is always allowed; no group at all allows.
        assert!(allowed("User-agent: *\nDisallow: /\n", "x", "/robots.txt"));
        assert!(allowed("Disallow: /\n", "x", "/a"));
    }

    #[test]
    fn failure_policies() {
        assert_eq!(Policy::AllowAll("404".into()).judge("/x"), Verdict::Allowed);
        match Policy::DisallowAll("robots.txt answered HTTP 503".into()).judge("/x") {
            Verdict::Disallowed(why) => {
                assert!(why.contains("HTTP 503") && why.contains("RFC 9309"))
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn cache_ttl_and_caps() {
        let c = Cache::new(Duration::from_secs(3600));
        c.put("http://a", Policy::AllowAll("x".into()));
        assert!(c.get("http://a").is_some());
        assert!(c.get("http://b").is_none());
        // Entries expire after the TTL; failures after at most FAILURE_TTL.
        let short = Cache::new(Duration::from_millis(30));
        short.put("http://a", Policy::AllowAll("x".into()));
        std::thread::sleep(Duration::from_millis(40));
        assert!(short.get("http://a").is_none());
        c.put("http://down", Policy::DisallowAll("HTTP 503".into()));
        assert_eq!(c.entries.lock().unwrap()["http://down"].ttl, FAILURE_TTL);
        // The entry cap: the oldest origin goes.
        for i in 0..MAX_ENTRIES + 10 {
            c.put(&format!("http://h{i}"), Policy::AllowAll(String::new()));
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        assert!(c.get("http://a").is_none());
        assert!(c.get(&format!("http://h{}", MAX_ENTRIES + 9)).is_some());
        // The byte cap: big rule sets push older ones out.
        let big = |n: usize| {
            Policy::Rules(Rules {
                group: Some("*".into()),
                rules: (0..n)
                    .map(|i| Rule {
                        allow: false,
                        pattern: format!("/{i:0>1000}"),
                    })
                    .collect(),
            })
        };
        let c = Cache::new(Duration::from_secs(3600));
        c.put("http://one", big(400));
        c.put("http://two", big(400));
        c.put("http://three", big(400));
        assert!(c.get("http://one").is_none());
        assert!(c.get("http://three").is_some());
        let total: usize = c.entries.lock().unwrap().values().map(|e| e.size).sum();
        assert!(total <= MAX_CACHE_BYTES);
        // A set larger than the whole cap is used but not kept.
        c.put("http://huge", big(2000));
        assert!(c.get("http://huge").is_none());
    }

    #[test]
    fn empty_disallow_allows() {
        assert!(allowed("User-agent: *\nDisallow:\n", "x", "/a"));
        assert!(!allowed("User-agent: *\nDisallow: /\n", "x", "/a"));
    }
}
