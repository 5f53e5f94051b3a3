//! lmcp's own secrets in the environment, kept away from child processes.
//!
//! `LMCP_AUTH_TOKEN` (the HTTP bearer token), `LMCP_STATE_KEY` (the MRTR
//! state key) and `BRAVE_API_KEY` (the `web_search` key, feature `web`) are
//! read from lmcp's environment. The binary removes the first two from its
//! own environment at start-up; `BRAVE_API_KEY` stays (web_search reads it
//! per call), and programs embedding the library may keep any of them. So
//! every child lmcp starts (`shell`, `shell_bg` jobs, hub upstreams) gets them
//! removed here too, and a command like `env` cannot put them into a model's
//! context.
//! This guards against accidental disclosure only: a shell command runs with
//! lmcp's own user and can still read `/proc/<lmcp pid>/environ` or the token
//! file (see SECURITY.md).

/// Environment variables that carry lmcp secrets.
pub const SECRET_ENV_VARS: &[&str] = &["LMCP_AUTH_TOKEN", "LMCP_STATE_KEY", "BRAVE_API_KEY"];

/// Remove lmcp's secrets from the environment `cmd` will pass to its child.
/// Variables the caller sets explicitly afterwards (e.g. a tool's `env`
/// argument) are kept.
pub fn scrub(cmd: &mut tokio::process::Command) {
    for var in SECRET_ENV_VARS {
        cmd.env_remove(var);
    }
}
