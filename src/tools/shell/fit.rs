//! Keeping a `shell` answer within the output budget: its text block and
//! its structured content together, stdout, stderr and notes included.
//!
//! The per-stream head-and-tail cut ([`crate::tools::process::output::HeadTail`])
//! bounds what is kept while the command runs; this second cut, at the end,
//! makes the whole answer fit the budget (`--max-result-bytes`), however the
//! text grows when escapes are made visible or serialised as JSON.

use super::{render_text, ShellOutput};
use serde_json::Value;

/// Most rounds of measuring and cutting (each cuts by the measured excess).
const MAX_ROUNDS: usize = 8;

/// `s` with its middle cut so that at most about `keep` bytes of it remain,
/// and a marker saying how much was cut; `s` itself when it fits.
fn cut_middle(s: &str, keep: usize) -> String {
    if s.len() <= keep {
        return s.to_owned();
    }
    let mut head = keep / 2;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - (keep - keep / 2);
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes cut to fit the output budget ...]\n{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

/// The two streams within `keep` bytes together: each gets half, and what
/// one does not need goes to the other.
fn share(out: &str, err: &str, keep: usize) -> (String, String) {
    let half = keep / 2;
    let (o, e) = if out.len() <= half {
        (out.len(), keep - out.len())
    } else if err.len() <= half {
        (keep - err.len(), err.len())
    } else {
        (half, keep - half)
    };
    (cut_middle(out, o), cut_middle(err, e))
}

/// The text block and structured content of `o`, together at most `budget`
/// bytes (as far as the status line and notes leave room for output).
pub(crate) fn fit(mut o: ShellOutput, budget: usize) -> Result<(String, Value), serde_json::Error> {
    let (out, err) = (std::mem::take(&mut o.stdout), std::mem::take(&mut o.stderr));
    let truncated = o.truncated;
    let measure = |o: &ShellOutput| -> Result<(String, Value, usize), serde_json::Error> {
        let text = render_text(o);
        let value = serde_json::to_value(o)?;
        let size = text.len() + value.to_string().len();
        Ok((text, value, size))
    };
    // What the answer costs without any output, markers included.
    o.stdout = cut_middle("", 0);
    let (_, _, fixed) = measure(&o)?;
    let fixed = fixed + 2 * 64;
    let mut keep = out.len() + err.len();
    for round in 0..=MAX_ROUNDS {
        let (so, se) = share(&out, &err, keep);
        o.truncated = truncated || so.len() != out.len() || se.len() != err.len();
        o.stdout = so;
        o.stderr = se;
        let (text, value, size) = measure(&o)?;
        if size <= budget || keep == 0 {
            return Ok((text, value));
        }
        // Output costs (size - fixed) for `keep` bytes kept: scale down.
        keep =
            crate::tools::budget::shrink_kept(keep, size, fixed, budget, round + 1 == MAX_ROUNDS);
    }
    let (text, value, _) = measure(&o)?;
    Ok((text, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(stdout: String, stderr: String) -> ShellOutput {
        ShellOutput {
            exit_code: Some(0),
            signal: None,
            stdout_bytes: stdout.len() as u64,
            stderr_bytes: stderr.len() as u64,
            stdout,
            stderr,
            duration_ms: 5,
            timed_out: false,
            truncated: false,
            state: None,
            job: None,
            note: None,
        }
    }

    fn size(text: &str, value: &Value) -> usize {
        text.len() + value.to_string().len()
    }

    #[test]
    fn small_answers_are_left_alone() {
        let o = output("hi\n".into(), "".into());
        let (text, value) = fit(o, 4096).unwrap();
        assert!(text.ends_with("--- stdout ---\nhi\n"), "{text}");
        assert_eq!(
            (value["stdout"].as_str(), value["truncated"].as_bool()),
            (Some("hi\n"), Some(false))
        );
    }

    #[test]
    fn text_and_structured_content_together_fit_the_budget() {
        for budget in [256usize, 1000, 4096, 65536] {
            let o = output("a".repeat(200_000) + "END", "b".repeat(50_000) + "FIN");
            let (text, value) = fit(o, budget).unwrap();
            assert!(
                size(&text, &value) <= budget.max(600),
                "{budget}: {}",
                size(&text, &value)
            );
            assert_eq!(value["truncated"], true);
            if budget >= 4096 {
                // Head and tail of both streams, and the cut said.
                assert!(
                    text.contains("aaa") && text.contains("END") && text.contains("FIN"),
                    "{text}"
                );
                assert!(
                    text.contains("bytes cut to fit the output budget"),
                    "{text}"
                );
                assert!(
                    size(&text, &value) > budget * 3 / 4,
                    "room left unused: {budget}"
                );
            }
        }
    }

    #[test]
    fn escapes_that_grow_when_shown_still_fit() {
        // Each ESC becomes 4 bytes in the text and 6 in JSON.
        let o = output("\x1b".repeat(30_000), "é".repeat(10_000));
        let (text, value) = fit(o, 8192).unwrap();
        assert!(size(&text, &value) <= 8192, "{}", size(&text, &value));
        assert!(text.contains("\\x1b") && text.contains('é'));
    }
}
