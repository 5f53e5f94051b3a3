//! The task store of the Tasks extension (`io.modelcontextprotocol/tasks`):
//! the state of task-augmented requests, kept for the client that made them.
//!
//! - Task ids are 128 random bits (the OS generator), tagged `ID.` with the
//!   server's `--instance-id`, so a third party cannot guess them, and every task is bound to the identity of the
//!   client that created it: a lookup with another identity finds nothing,
//!   exactly as an unknown id.
//! - A task lives for its TTL from creation; expired tasks are purged on
//!   every access (their work is cancelled if it is still running).
//! - The store is bounded in count and in the bytes of the results it keeps:
//!   a new task first evicts expired ones, then the oldest finished ones; a
//!   result that does not fit even then is replaced by an error.

use super::ids::InstanceId;
use crate::jsonrpc::ErrorObject;
use crate::sync::MutexExt;
use crate::time::rfc3339;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{broadcast, oneshot, Notify};
use tokio_util::sync::CancellationToken;

/// How long tasks live and how much the store keeps.
#[derive(Debug, Clone)]
pub struct TaskLimits {
    /// Time to live of a task from its creation (`ttlMs`).
    pub ttl: Duration,
    /// Suggested polling interval (`pollIntervalMs`).
    pub poll_interval: Duration,
    /// At most this many tasks at once (all identities together).
    pub max_tasks: usize,
    /// At most this many bytes of stored results and errors.
    pub max_bytes: usize,
}

impl Default for TaskLimits {
    fn default() -> Self {
        TaskLimits {
            ttl: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(500),
            max_tasks: 1024,
            max_bytes: 64 << 20,
        }
    }
}

/// Where a task is in its life (the `status` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// The work is running.
    Working,
    /// The work waits for the client's answers (`inputRequests`, answered
    /// with `tasks/update`).
    InputRequired,
    /// The work finished with a result (`result`).
    Completed,
    /// The work ended with a JSON-RPC error (`error`).
    Failed,
    /// The client cancelled it before it finished.
    Cancelled,
}

impl TaskStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Working => "working",
            TaskStatus::InputRequired => "input_required",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the status can no longer change.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskStatus::Working | TaskStatus::InputRequired)
    }

    /// Every status: the two a running task moves between, then the three
    /// ends, of which a task reaches exactly one.
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Working,
        TaskStatus::InputRequired,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    /// The status of a task in wire form (as [`TaskStore::get`] returns it).
    pub fn of(task: &Value) -> Option<TaskStatus> {
        let name = task.get("status")?.as_str()?;
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether a task in wire form may still change (`working` or
    /// `input_required`).
    pub fn still_running(task: &Value) -> bool {
        Self::of(task).is_some_and(|s| !s.is_terminal())
    }
}

/// How the work of a task ended.
#[derive(Debug, Clone)]
pub enum TaskOutcome {
    /// The result the request would have returned (for `tools/call`, a
    /// `CallToolResult`, tool errors included).
    Result(Value),
    /// The JSON-RPC error the request would have returned.
    Error(ErrorObject),
}

struct Entry {
    owner: String,
    status: TaskStatus,
    status_message: Option<String>,
    created: SystemTime,
    born: Instant,
    updated: SystemTime,
    /// `result` or `error`, once terminal.
    payload: Option<(&'static str, Value)>,
    bytes: usize,
    cancel: CancellationToken,
    /// While `input_required`: what the work waits for.
    waiting: Option<Waiting>,
}

/// The input a task waits for.
struct Waiting {
    /// `inputRequests`, by key.
    requests: Map<String, Value>,
    /// Answers received so far (a partial `tasks/update`).
    answers: Map<String, Value>,
    /// Hands the answers to the work once every request has one.
    resume: oneshot::Sender<Map<String, Value>>,
}

#[derive(Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    bytes: usize,
}

/// The tasks of one server, shared by all its sessions.
pub struct TaskStore {
    limits: TaskLimits,
    inner: Mutex<Inner>,
    /// Woken whenever a task ends (finished, cancelled, expired).
    ended: Notify,
    /// The tag of the task ids it mints.
    instance: Option<InstanceId>,
    /// The id of every task whose status changed, for `notifications/tasks`
    /// (`subscriptions/listen`); made by the first watcher, so a server
    /// nobody listens to pays nothing.
    changed: OnceLock<broadcast::Sender<String>>,
}

/// How many status changes a slow watcher may fall behind before it is
/// told it lagged (it then looks at all its tasks again).
const WATCH_BACKLOG: usize = 64;

impl TaskStore {
    /// An empty store with these limits.
    pub fn new(limits: TaskLimits) -> Self {
        TaskStore {
            limits,
            inner: Mutex::default(),
            ended: Notify::new(),
            instance: None,
            changed: OnceLock::new(),
        }
    }

    /// The store, minting task ids tagged `instance.` (`--instance-id`).
    pub fn with_instance(mut self, instance: Option<InstanceId>) -> Self {
        self.instance = instance;
        self
    }

    /// The limits it applies.
    pub fn limits(&self) -> &TaskLimits {
        &self.limits
    }

    /// A receiver of the id of every task whose status changes from now on
    /// (input required, working again, completed, failed, cancelled, or
    /// expired: then [`TaskStore::get`] finds nothing). A
    /// receiver that falls behind gets `Lagged` and should look at the
    /// tasks it follows again with [`TaskStore::get`].
    pub fn watch(&self) -> broadcast::Receiver<String> {
        self.changed
            .get_or_init(|| broadcast::channel(WATCH_BACKLOG).0)
            .subscribe()
    }

    /// Tells the watchers, if any, that task `id` changed status.
    fn tell(&self, id: &str) {
        if let Some(tx) = self.changed.get() {
            if tx.receiver_count() > 0 {
                let _ = tx.send(id.to_string());
            }
        }
    }

    /// A new `working` task owned by `owner`, whose work stops when `cancel`
    /// fires; returns its wire form (a `Task`). Fails when the OS random
    /// generator fails or the store is full of unfinished tasks.
    pub fn create(&self, owner: &str, cancel: CancellationToken) -> Result<Value, ErrorObject> {
        let id = new_id(self.instance.as_ref())?;
        let mut inner = self.inner.lock_unpoisoned();
        self.purge(&mut inner);
        while inner.tasks.len() >= self.limits.max_tasks.max(1) {
            if !evict_oldest_finished(&mut inner) {
                return Err(ErrorObject::internal(
                    "too many tasks in progress: try again when some have finished",
                ));
            }
        }
        let now = SystemTime::now();
        let entry = Entry {
            owner: owner.to_string(),
            status: TaskStatus::Working,
            status_message: None,
            created: now,
            born: Instant::now(),
            updated: now,
            payload: None,
            bytes: 0,
            cancel,
            waiting: None,
        };
        let wire = self.wire(&id, &entry, false);
        inner.tasks.insert(id, entry);
        Ok(wire)
    }

    /// The task `id` of `owner` in its detailed wire form (with `result` or
    /// `error` once terminal), or `None` when there is no such task for this
    /// owner (unknown, expired, or another identity's).
    pub fn get(&self, owner: &str, id: &str) -> Option<Value> {
        let mut inner = self.inner.lock_unpoisoned();
        self.purge(&mut inner);
        let e = inner.tasks.get(id).filter(|e| e.owner == owner)?;
        Some(self.wire(id, e, true))
    }

    /// Records how the work of task `id` ended. A task already terminal
    /// (cancelled, expired) keeps its state; returns whether it changed.
    pub fn finish(&self, id: &str, outcome: TaskOutcome) -> bool {
        let (key, value, message) = match outcome {
            TaskOutcome::Result(v) => ("result", v, None),
            TaskOutcome::Error(e) => {
                let msg = e.message.clone();
                (
                    "error",
                    serde_json::to_value(&e).unwrap_or_else(|_| json!({})),
                    Some(msg),
                )
            }
        };
        let size = serde_json::to_string(&value).map(|s| s.len()).unwrap_or(0);
        let mut inner = self.inner.lock_unpoisoned();
        match inner.tasks.get(id) {
            Some(e) if !e.status.is_terminal() => {}
            _ => return false,
        }
        while inner.bytes + size > self.limits.max_bytes && evict_oldest_finished(&mut inner) {}
        let fits = inner.bytes + size <= self.limits.max_bytes;
        let Some(e) = inner.tasks.get_mut(id) else {
            return false;
        };
        if fits {
            e.status = if key == "result" {
                TaskStatus::Completed
            } else {
                TaskStatus::Failed
            };
            e.status_message = message;
            e.payload = Some((key, value));
            e.bytes = size;
        } else {
            let err = ErrorObject::internal(format!(
                "the task's result ({size} bytes) is larger than the server keeps"
            ));
            e.status = TaskStatus::Failed;
            e.status_message = Some(err.message.clone());
            e.payload = Some(("error", serde_json::to_value(&err).unwrap_or_default()));
            e.bytes = 0;
        }
        e.waiting = None;
        e.updated = SystemTime::now();
        let added = e.bytes;
        inner.bytes += added;
        self.ended.notify_waiters();
        self.tell(id);
        true
    }

    /// Task `id` waits for the client's answers to `requests` (its status
    /// becomes `input_required`); the receiver gets them all once
    /// `tasks/update` has supplied every one. `None` when the task is
    /// gone or already terminal.
    pub fn await_input(
        &self,
        id: &str,
        requests: Map<String, Value>,
    ) -> Option<oneshot::Receiver<Map<String, Value>>> {
        let mut inner = self.inner.lock_unpoisoned();
        let e = inner
            .tasks
            .get_mut(id)
            .filter(|e| !e.status.is_terminal())?;
        let (resume, rx) = oneshot::channel();
        e.status = TaskStatus::InputRequired;
        e.status_message = Some("waiting for the client's input".into());
        e.updated = SystemTime::now();
        e.waiting = Some(Waiting {
            requests,
            answers: Map::new(),
            resume,
        });
        self.tell(id);
        Some(rx)
    }

    /// `tasks/update` of task `id` by `owner`: keeps the answers to requests
    /// still outstanding (others are ignored); once all are answered the
    /// work resumes and the task is `working` again. `None` when there is
    /// no such task for this owner.
    pub fn give_input(&self, owner: &str, id: &str, responses: Map<String, Value>) -> Option<()> {
        let mut inner = self.inner.lock_unpoisoned();
        self.purge(&mut inner);
        let e = inner.tasks.get_mut(id).filter(|e| e.owner == owner)?;
        let Some(w) = e.waiting.as_mut() else {
            return Some(());
        };
        for (k, v) in responses {
            if w.requests.contains_key(&k) {
                w.answers.insert(k, v);
            }
        }
        if w.answers.len() == w.requests.len() {
            if let Some(w) = e.waiting.take() {
                // The work may be gone (cancelled): nothing to resume then.
                let _ = w.resume.send(w.answers);
            }
            e.status = TaskStatus::Working;
            e.status_message = None;
            e.updated = SystemTime::now();
            self.tell(id);
        }
        Some(())
    }

    /// Cancels task `id` of `owner`: its work is stopped and it becomes
    /// `cancelled` unless it already ended. Returns whether it was still
    /// running, or `None` when there is no such task for this owner.
    pub fn cancel(&self, owner: &str, id: &str) -> Option<bool> {
        let mut inner = self.inner.lock_unpoisoned();
        self.purge(&mut inner);
        let e = inner.tasks.get_mut(id).filter(|e| e.owner == owner)?;
        if e.status.is_terminal() {
            return Some(false);
        }
        e.cancel.cancel();
        e.waiting = None;
        e.status = TaskStatus::Cancelled;
        e.status_message = Some("cancelled by the client".into());
        e.updated = SystemTime::now();
        self.ended.notify_waiters();
        self.tell(id);
        Some(true)
    }

    /// The tasks of `owner` (wire form, without results), oldest first.
    pub fn list(&self, owner: &str) -> Vec<Value> {
        let mut inner = self.inner.lock_unpoisoned();
        self.purge(&mut inner);
        let mut mine: Vec<(&String, &Entry)> = inner
            .tasks
            .iter()
            .filter(|(_, e)| e.owner == owner)
            .collect();
        mine.sort_by_key(|(k, e)| (e.born, *k));
        mine.iter().map(|(k, e)| self.wire(k, e, false)).collect()
    }

    /// Waits until task `id` of `owner` is terminal and returns it (detailed
    /// wire form), or `None` when there is no such task (or it expired
    /// meanwhile).
    pub async fn wait_terminal(&self, owner: &str, id: &str) -> Option<Value> {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let t = self.get(owner, id)?;
            if !TaskStatus::still_running(&t) {
                return Some(t);
            }
            // Expiry is noticed on access: look again at least this often.
            let _ = tokio::time::timeout(self.limits.poll_interval, ended).await;
        }
    }

    /// How many tasks and result bytes it holds now.
    pub fn usage(&self) -> (usize, usize) {
        let mut inner = self.inner.lock_unpoisoned();
        self.purge(&mut inner);
        (inner.tasks.len(), inner.bytes)
    }

    fn purge(&self, inner: &mut Inner) {
        let ttl = self.limits.ttl;
        let expired: Vec<String> = inner
            .tasks
            .iter()
            .filter(|(_, e)| e.born.elapsed() >= ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some(e) = inner.tasks.remove(&k) {
                e.cancel.cancel();
                inner.bytes -= e.bytes;
                self.ended.notify_waiters();
                // Watchers find it gone and stop following it.
                self.tell(&k);
            }
        }
    }

    fn wire(&self, id: &str, e: &Entry, detailed: bool) -> Value {
        let mut m = Map::new();
        m.insert("taskId".into(), json!(id));
        m.insert("status".into(), json!(e.status.as_str()));
        if let Some(msg) = &e.status_message {
            m.insert("statusMessage".into(), json!(msg));
        }
        m.insert("createdAt".into(), json!(rfc3339(e.created)));
        m.insert("lastUpdatedAt".into(), json!(rfc3339(e.updated)));
        m.insert("ttlMs".into(), json!(millis(self.limits.ttl)));
        m.insert(
            "pollIntervalMs".into(),
            json!(millis(self.limits.poll_interval)),
        );
        if detailed {
            if let Some((k, v)) = &e.payload {
                m.insert((*k).into(), v.clone());
            }
            if let Some(w) = &e.waiting {
                let open: Map<String, Value> = w
                    .requests
                    .iter()
                    .filter(|(k, _)| !w.answers.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                m.insert("inputRequests".into(), Value::Object(open));
            }
        }
        Value::Object(m)
    }
}

/// Removes the finished task created first; false when none is finished.
fn evict_oldest_finished(inner: &mut Inner) -> bool {
    let oldest = inner
        .tasks
        .iter()
        .filter(|(_, e)| e.status.is_terminal())
        .min_by_key(|(_, e)| e.born)
        .map(|(k, _)| k.clone());
    match oldest.and_then(|k| inner.tasks.remove(&k)) {
        Some(e) => {
            inner.bytes -= e.bytes;
            true
        }
        None => false,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn new_id(instance: Option<&InstanceId>) -> Result<String, ErrorObject> {
    super::ids::mint(instance)
        .map_err(|e| ErrorObject::internal(format!("cannot create a task id: {e}")))
}

#[cfg(test)]
#[path = "task_store_tests.rs"]
mod tests;
