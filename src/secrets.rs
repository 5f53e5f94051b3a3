//! lmcp's own secrets in the environment, kept away from child processes.
//!
//! `LMCP_AUTH_TOKEN` (the HTTP bearer token) and `BRAVE_API_KEY` (the
//! `web_search` key, feature `web`) are read from lmcp's environment. Every
//! child lmcp starts (`shell`, `shell_bg` jobs, hub upstreams) gets them
//! removed, so a command like `env` cannot put them into a model's context.
//! This guards against accidental disclosure only: a shell command runs with
//! lmcp's own user and can still read `/proc/<lmcp pid>/environ` or the token
//! file (see SECURITY.md).

/// Environment variables that carry lmcp secrets.
pub const SECRET_ENV_VARS: &[&str] = &["LMCP_AUTH_TOKEN", "BRAVE_API_KEY"];

/// Remove lmcp's secrets from the environment `cmd` will pass to its child.
/// Variables the caller sets explicitly afterwards (e.g. a tool's `env`
/// argument) are kept.
pub fn scrub(cmd: &mut tokio::process::Command) {
    for var in SECRET_ENV_VARS {
        cmd.env_remove(var);
    }
}
