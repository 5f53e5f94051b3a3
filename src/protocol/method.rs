//! The request methods lmcp serves, parsed once from their names.
//!
//! Everything the dispatcher and the transports need to know about a method
//! (which era has it, whether its result is cacheable, whether it may stream,
//! whether it takes an in-flight slot) is a property of [`Method`], so adding
//! a method means adding a variant and the compiler points at every `match`.

use std::fmt;

/// A client-to-server request method of either protocol era.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `initialize` (legacy handshake).
    Initialize,
    /// `ping` (legacy).
    Ping,
    /// `server/discover` (modern).
    Discover,
    /// `tools/list`.
    ToolsList,
    /// `tools/call`.
    ToolsCall,
    /// `resources/list`.
    ResourcesList,
    /// `resources/templates/list`.
    ResourceTemplatesList,
    /// `resources/read`.
    ResourcesRead,
    /// `resources/subscribe` (legacy).
    ResourcesSubscribe,
    /// `resources/unsubscribe` (legacy).
    ResourcesUnsubscribe,
    /// `prompts/list`.
    PromptsList,
    /// `prompts/get`.
    PromptsGet,
    /// `completion/complete`.
    Complete,
    /// `logging/setLevel` (legacy).
    SetLogLevel,
    /// `subscriptions/listen` (modern).
    Listen,
    /// `tasks/get` (modern Tasks extension; legacy 2025-11-25 tasks).
    TasksGet,
    /// `tasks/update` (modern, Tasks extension).
    TasksUpdate,
    /// `tasks/cancel` (modern Tasks extension; legacy 2025-11-25 tasks).
    TasksCancel,
    /// `tasks/result` (legacy 2025-11-25 tasks).
    TasksResult,
    /// `tasks/list` (legacy 2025-11-25 tasks).
    TasksList,
}

/// Every method with its wire name, the one place names are mapped.
const NAMES: &[(Method, &str)] = &[
    (Method::Initialize, "initialize"),
    (Method::Ping, "ping"),
    (Method::Discover, "server/discover"),
    (Method::ToolsList, "tools/list"),
    (Method::ToolsCall, "tools/call"),
    (Method::ResourcesList, "resources/list"),
    (Method::ResourceTemplatesList, "resources/templates/list"),
    (Method::ResourcesRead, "resources/read"),
    (Method::ResourcesSubscribe, "resources/subscribe"),
    (Method::ResourcesUnsubscribe, "resources/unsubscribe"),
    (Method::PromptsList, "prompts/list"),
    (Method::PromptsGet, "prompts/get"),
    (Method::Complete, "completion/complete"),
    (Method::SetLogLevel, "logging/setLevel"),
    (Method::Listen, "subscriptions/listen"),
    (Method::TasksGet, "tasks/get"),
    (Method::TasksUpdate, "tasks/update"),
    (Method::TasksCancel, "tasks/cancel"),
    (Method::TasksResult, "tasks/result"),
    (Method::TasksList, "tasks/list"),
];

impl Method {
    /// The method named `name`, if lmcp serves it in some era.
    pub fn parse(name: &str) -> Option<Method> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(m, _)| *m == self)
            .map(|(_, n)| *n)
            .unwrap_or("")
    }

    /// Whether the modern, stateless revision (2026-07-28) has it.
    pub fn in_modern(self) -> bool {
        use Method::*;
        !matches!(
            self,
            Initialize
                | Ping
                | ResourcesSubscribe
                | ResourcesUnsubscribe
                | SetLogLevel
                | TasksResult
                | TasksList
        )
    }

    /// Whether the legacy, handshake-based revisions have it.
    pub fn in_legacy(self) -> bool {
        !matches!(
            self,
            Method::Discover | Method::Listen | Method::TasksUpdate
        )
    }

    /// Whether it is one of the Tasks extension's methods (`tasks/...`).
    pub fn is_task(self) -> bool {
        matches!(
            self,
            Method::TasksGet
                | Method::TasksUpdate
                | Method::TasksCancel
                | Method::TasksResult
                | Method::TasksList
        )
    }

    /// Whether a complete modern result carries caching hints (`ttlMs`,
    /// `cacheScope`).
    pub fn is_cacheable(self) -> bool {
        self.is_list() || matches!(self, Method::Discover | Method::ResourcesRead)
    }

    /// Whether it pages through one of the server's lists.
    pub fn is_list(self) -> bool {
        use Method::*;
        matches!(
            self,
            ToolsList | ResourcesList | ResourceTemplatesList | PromptsList
        )
    }

    /// Whether it shows the server's lists (or capabilities derived from
    /// them), so that the list hook refreshes them first; a refresh may
    /// announce list changes.
    pub fn reads_lists(self) -> bool {
        self.is_list() || self == Method::Discover
    }

    /// Whether it runs a registered handler that may send progress or log
    /// notifications, so that a legacy HTTP client accepting SSE gets a stream.
    pub fn may_stream(self) -> bool {
        matches!(
            self,
            Method::ToolsCall | Method::PromptsGet | Method::ResourcesRead
        )
    }

    /// Whether its answer is always a stream (a subscription).
    pub fn always_streams(self) -> bool {
        self == Method::Listen
    }

    /// Whether it holds one of the bounded in-flight slots while it runs
    /// (a subscription lives as long as the client wants and does not).
    pub fn takes_slot(self) -> bool {
        self != Method::Listen
    }

    /// The parameter that names its target (mirrored by the modern
    /// `Mcp-Name` header): `name` of a tool or prompt, `uri` of a resource.
    pub fn name_param(self) -> Option<&'static str> {
        match self {
            Method::ToolsCall | Method::PromptsGet => Some("name"),
            Method::ResourcesRead => Some("uri"),
            Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => Some("taskId"),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (m, n) in NAMES {
            assert_eq!(Method::parse(n), Some(*m));
            assert_eq!(m.as_str(), *n);
        }
        assert_eq!(Method::parse("tools/nope"), None);
    }

    #[test]
    fn eras_and_properties() {
        let modern: Vec<_> = NAMES
            .iter()
            .filter(|(m, _)| m.in_modern())
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(
            modern,
            [
                "server/discover",
                "tools/list",
                "tools/call",
                "resources/list",
                "resources/templates/list",
                "resources/read",
                "prompts/list",
                "prompts/get",
                "completion/complete",
                "subscriptions/listen",
                "tasks/get",
                "tasks/update",
                "tasks/cancel"
            ]
        );
        let legacy: Vec<_> = NAMES
            .iter()
            .filter(|(m, _)| m.in_legacy())
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(legacy.len(), 17);
        assert!(legacy.contains(&"tasks/result") && !legacy.contains(&"tasks/update"));
        assert!(!legacy.contains(&"server/discover"));
        assert!(Method::ResourcesRead.is_cacheable() && !Method::ResourcesRead.is_list());
        assert!(!Method::ToolsCall.is_cacheable());
        assert!(!Method::Listen.takes_slot() && Method::Listen.always_streams());
    }
}
