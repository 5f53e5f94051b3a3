//! A small `robots.txt` reader (RFC 9309): the group for our user agent (or
//! `*`), then the longest matching `Allow`/`Disallow` rule wins, `Allow` on
//! a tie. `*` and `$` patterns are supported.

/// Whether `path` (with its query) may be fetched by `agent` under `robots`.
pub fn allowed(robots: &str, agent: &str, path: &str) -> bool {
    let agent = agent
        .split(['/', ' '])
        .next()
        .unwrap_or(agent)
        .to_ascii_lowercase();
    // Collect the rules of the groups naming us, else of the `*` groups.
    let mut ours: Vec<(bool, String)> = Vec::new();
    let mut star: Vec<(bool, String)> = Vec::new();
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
                group_agents.push(value.to_ascii_lowercase());
            }
            "allow" | "disallow" => {
                in_rules = true;
                if value.is_empty() {
                    continue; // "Disallow:" with nothing allows everything
                }
                let rule = (key == "allow", value.to_string());
                if group_agents
                    .iter()
                    .any(|a| !a.is_empty() && agent.contains(a.as_str()))
                {
                    ours.push(rule);
                } else if group_agents.iter().any(|a| a == "*") {
                    star.push(rule);
                }
            }
            _ => {}
        }
    }
    let rules = if ours.is_empty() { star } else { ours };
    let mut best: Option<(usize, bool)> = None;
    for (allow, pattern) in &rules {
        if matches(pattern, path) {
            let len = pattern.len();
            best = match best {
                Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                _ => Some((len, *allow)),
            };
        }
    }
    best.is_none_or(|(_, allow)| allow)
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
    fn empty_disallow_allows() {
        assert!(allowed("User-agent: *\nDisallow:\n", "x", "/a"));
        assert!(!allowed("User-agent: *\nDisallow: /\n", "x", "/a"));
    }
}
