//! Whitespace-flexible matching for `edit_file`: `old_text` matches whole
//! lines of the file that equal its lines once leading and trailing spaces
//! are ignored, and the replacement is re-indented by the difference between
//! the file's indentation and `old_text`'s.

/// One flexible match: `count` whole lines from `first_line` (0-based).
#[derive(Debug, Clone)]
pub(crate) struct Match {
    /// The first matched line (0-based).
    pub first_line: usize,
    /// How many lines matched.
    pub count: usize,
    /// The indentation of the file's first non-blank matched line.
    file_indent: String,
    /// The indentation of old_text's first non-blank line.
    old_indent: String,
}

fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// `old`'s lines (one final newline dropped).
fn lines_of(old: &str) -> Vec<&str> {
    old.strip_suffix('\n').unwrap_or(old).split('\n').collect()
}

/// Every non-overlapping place in `text` where `old` matches line by line,
/// ignoring indentation and trailing spaces. None when `old` has no
/// non-blank line.
pub(crate) fn find(text: &str, old: &str) -> Vec<Match> {
    let want = lines_of(old);
    let Some(anchor) = want.iter().position(|l| !l.trim().is_empty()) else {
        return Vec::new();
    };
    let have: Vec<&str> = text
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect();
    let mut out = Vec::new();
    let k = want.len();
    let mut start = 0;
    while start + k <= have.len() {
        let hit = (0..k).all(|j| have[start + j].trim() == want[j].trim());
        if hit {
            out.push(Match {
                first_line: start,
                count: k,
                file_indent: indent(have[start + anchor]).to_owned(),
                old_indent: indent(want[anchor]).to_owned(),
            });
            start += k;
        } else {
            start += 1;
        }
    }
    out
}

/// `new` re-indented for `m`: the indentation `old_text` had is swapped for
/// the file's.
fn reindent(new: &str, m: &Match) -> String {
    let lines: Vec<String> = lines_of(new)
        .into_iter()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else if let Some(rest) = l.strip_prefix(m.old_indent.as_str()) {
                format!("{}{rest}", m.file_indent)
            } else {
                format!("{}{}", m.file_indent, l.trim_start())
            }
        })
        .collect();
    lines.join("\n")
}

/// `text` with each of `matches` (from [`find`]) replaced by `new`,
/// re-indented.
pub(crate) fn replace(text: &str, new: &str, matches: &[Match]) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len() + new.len() * matches.len());
    let mut i = 0;
    let mut next = matches.iter().peekable();
    while i < lines.len() {
        match next.peek() {
            Some(m) if m.first_line == i => {
                let last = lines[i + m.count - 1];
                if !new.is_empty() {
                    out.push_str(&reindent(new, m));
                    if last.ends_with('\n') {
                        out.push('\n');
                    }
                }
                i += m.count;
                next.next();
            }
            _ => {
                out.push_str(lines[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_other_indentation_and_reindents() {
        let text = "fn a() {\n        if x {\n            y();   \n        }\n}\n";
        let old = "if x {\n    y();\n}\n";
        let m = find(text, old);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].first_line, 1);
        let out = replace(text, "if x {\n    z();\n    w();\n}\n", &m);
        assert_eq!(
            out,
            "fn a() {\n        if x {\n            z();\n            w();\n        }\n}\n"
        );
    }

    #[test]
    fn two_places_two_matches_and_blank_old_none() {
        let text = "  a\n  b\nx\n\ta\n\tb\n";
        assert_eq!(find(text, "a\nb").len(), 2);
        assert!(find(text, "\n  \n").is_empty());
        // Without a final newline in the file.
        let m = find("q\n  a", "a");
        assert_eq!(replace("q\n  a", "b", &m), "q\n  b");
    }
}
