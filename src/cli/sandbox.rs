//! The `--sandbox*` flags as one [`SandboxConfig`] (feature `tools`).

use super::Cli;
use crate::tools::sandbox::SandboxConfig;

impl Cli {
    /// The shell sandbox the `--sandbox*` flags ask for: `Ok(None)` without
    /// `--sandbox`, an error when a `--sandbox-*` flag comes without it. The
    /// helper is the running binary (`std::env::current_exe`), which must
    /// call [`crate::tools::sandbox::run_helper_if_requested`] first thing in
    /// `main`, as lmcp's does.
    pub fn sandbox_config(&self) -> Result<Option<SandboxConfig>, String> {
        let Some(mode) = &self.sandbox else {
            let extra = !self.sandbox_allow_read.is_empty()
                || !self.sandbox_allow_write.is_empty()
                || self.sandbox_net.is_some()
                || self.sandbox_limits.is_some();
            if extra {
                return Err("the --sandbox-* flags need --sandbox".into());
            }
            return Ok(None);
        };
        let helper = std::env::current_exe()
            .map_err(|e| format!("--sandbox: cannot find lmcp's own binary for the helper: {e}"))?;
        Ok(Some(SandboxConfig {
            mode: mode.parse()?,
            allow_read: self.sandbox_allow_read.clone(),
            allow_write: self.sandbox_allow_write.clone(),
            net: self.sandbox_net.clone().unwrap_or_default(),
            limits: self.sandbox_limits.unwrap_or_default(),
            helper,
            runtime_dir: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::sandbox::{Limits, Net, SandboxMode};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Option<SandboxConfig>, String> {
        let argv = std::iter::once("lmcp").chain(args.iter().copied());
        Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .sandbox_config()
    }

    #[test]
    fn sandbox_flags_make_one_config() {
        assert!(parse(&[]).unwrap().is_none());
        let c = parse(&["--sandbox", "--root", "/tmp"]).unwrap().unwrap();
        assert_eq!(c.mode, SandboxMode::Enforce);
        assert_eq!((c.net, c.limits), (Net::All, Limits::default()));
        assert_eq!(c.helper, std::env::current_exe().unwrap());
        let c = parse(&[
            "--sandbox",
            "best-effort",
            "--sandbox-net",
            "none",
            "--sandbox-limits",
            "nproc=8",
            "--sandbox-allow-read",
            "/opt/x",
            "--sandbox-allow-write",
            "/srv/y",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.mode, SandboxMode::BestEffort);
        assert_eq!(c.net, Net::None);
        assert_eq!(c.limits.processes, Some(8));
        assert_eq!(c.allow_read, [std::path::PathBuf::from("/opt/x")]);
        assert_eq!(c.allow_write, [std::path::PathBuf::from("/srv/y")]);
    }

    #[test]
    fn sandbox_subflags_need_sandbox() {
        for args in [
            &["--sandbox-net", "none"][..],
            &["--sandbox-limits", "nproc=8"],
            &["--sandbox-allow-read", "/usr"],
            &["--sandbox-allow-write", "/tmp"],
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.contains("need --sandbox"), "{args:?}: {e}");
        }
        assert!(parse(&["--sandbox", "off"]).is_err());
        assert!(parse(&["--sandbox", "--sandbox-net", "http"]).is_err());
    }
}
