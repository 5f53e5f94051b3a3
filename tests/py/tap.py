#!/usr/bin/env python3
"""A stdio tap: the MCP client launches this instead of the server.

    tap.py LOGFILE -- SERVER_CMD...

It starts the server, copies the client's lines to it and the server's lines
back, and validates every line the server writes against the official schema
of its era: modern 2026-07-28 when the request it answers carried
`_meta["io.modelcontextprotocol/protocolVersion"]`, else legacy 2025-11-25.
Notifications take the era of the request whose progress token they carry,
else of the conversation (legacy once `initialize` was sent).

Beyond the schema it checks the JSON-RPC bookkeeping a schema cannot see:
a response must answer a request the client sent, only once; a
server-to-client request needs a legacy session (modern has none: MRTR).

Each server line is appended to LOGFILE as JSON
{"line", "era", "errors", "cancelled"?}; client lines as {"client": line}.
The tests fail on any entry with errors.
"""
import json
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.environ.get("LMCP_SPEC_DIR") or os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "spec"))
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"

RESULT_DEFS = {
    "initialize": "InitializeResult",
    "server/discover": "DiscoverResult",
    "tools/list": "ListToolsResult",
    "tools/call": "CallToolResult",
    "resources/list": "ListResourcesResult",
    "resources/templates/list": "ListResourceTemplatesResult",
    "resources/read": "ReadResourceResult",
    "resources/subscribe": "EmptyResult",
    "resources/unsubscribe": "EmptyResult",
    "subscriptions/listen": "SubscriptionsListenResult",
    "prompts/list": "ListPromptsResult",
    "prompts/get": "GetPromptResult",
    "completion/complete": "CompleteResult",
    "ping": "EmptyResult",
    "logging/setLevel": "EmptyResult",
}
# The 2025-11-25 experimental tasks.
LEGACY_TASK_DEFS = {
    "tasks/get": "GetTaskResult",
    "tasks/cancel": "CancelTaskResult",
    "tasks/list": "ListTasksResult",
    "tasks/result": "GetTaskPayloadResult",
}
NOTIFICATION_DEFS = {
    "notifications/progress": "ProgressNotification",
    "notifications/message": "LoggingMessageNotification",
    "notifications/cancelled": "CancelledNotification",
    "notifications/tools/list_changed": "ToolListChangedNotification",
    "notifications/prompts/list_changed": "PromptListChangedNotification",
    "notifications/resources/list_changed": "ResourceListChangedNotification",
    "notifications/resources/updated": "ResourceUpdatedNotification",
    "notifications/subscriptions/acknowledged": "SubscriptionsAcknowledgedNotification",
}

_validators = {}


def validator(rev, name):
    key = (rev, name)
    if key not in _validators:
        import jsonschema

        with open(os.path.join(SPEC, rev, "schema.json")) as f:
            root = json.load(f)
        if name not in root["$defs"]:
            _validators[key] = None
        else:
            schema = {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": "#/$defs/" + name}
            _validators[key] = jsonschema.Draft202012Validator(schema)
    return _validators[key]


def errors_for(rev, name, value):
    v = validator(rev, name)
    if v is None:
        return [f"{name} does not exist in the {rev} schema"]
    return [f"{rev} {name}: /{'/'.join(map(str, e.path))}: {e.message}" for e in v.iter_errors(value)]


class Conversation:
    """What the client has sent so far, as far as the checks need it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}  # json(id) -> {"method", "era", "answered", "cancelled"}
        self.progress = {}  # json(progressToken) -> era
        self.legacy_session = False
        self.modern_seen = False

    def client_line(self, msg):
        if not isinstance(msg, dict):
            return
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
        with self.lock:
            if "method" in msg and "id" in msg:
                era = MODERN if VERSION_KEY in meta else LEGACY
                self.requests[json.dumps(msg["id"])] = {"method": msg["method"], "era": era, "answered": False, "cancelled": False}
                if "progressToken" in meta:
                    self.progress[json.dumps(meta["progressToken"])] = era
                if msg["method"] == "initialize":
                    self.legacy_session = True
                if era == MODERN:
                    self.modern_seen = True
            elif msg.get("method") == "notifications/cancelled":
                req = self.requests.get(json.dumps(params.get("requestId")))
                if req:
                    req["cancelled"] = True

    def check(self, msg):
        """Returns (era, errors, extra log fields) for one server message."""
        if not isinstance(msg, dict):
            return "?", ["not a JSON-RPC object (batches are client-to-server only, and only in 2025-03-26)"], {}
        with self.lock:
            if "method" in msg and "id" not in msg:
                return self._notification(msg)
            if "method" in msg:
                return self._server_request(msg)
            return self._response(msg)

    def _notification(self, msg):
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        token = params.get("progressToken")
        if token is not None and json.dumps(token) in self.progress:
            era = self.progress[json.dumps(token)]
        elif self.legacy_session or not self.modern_seen:
            era = LEGACY
        else:
            era = MODERN
        errs = errors_for(era, "JSONRPCNotification", msg) + errors_for(era, "ServerNotification", msg)
        d = NOTIFICATION_DEFS.get(msg.get("method"))
        if d:
            errs += errors_for(era, d, msg)
        if msg.get("method") == "notifications/progress" and token is not None and json.dumps(token) not in self.progress:
            errs.append(f"progress for token {token!r}, which no request carried")
        return era, errs, {}

    def _server_request(self, msg):
        errs = errors_for(LEGACY, "JSONRPCRequest", msg) + errors_for(LEGACY, "ServerRequest", msg)
        if not self.legacy_session:
            errs.append(f"server-to-client request {msg.get('method')!r} outside a legacy session (2026-07-28 uses MRTR instead)")
        return LEGACY, errs, {}

    def _response(self, msg):
        key = json.dumps(msg.get("id"))
        req = self.requests.get(key)
        errs = []
        if req is None:
            if not ("error" in msg and msg.get("id") is None):
                errs.append(f"response to id {msg.get('id')!r}, which the client never sent")
            era, method = (MODERN if self.modern_seen and not self.legacy_session else LEGACY), ""
        else:
            era, method = req["era"], req["method"]
            if req["answered"]:
                errs.append(f"second response to id {msg.get('id')!r}")
            req["answered"] = True
        errs += errors_for(era, "JSONRPCMessage", msg)
        if "result" in msg and "error" not in msg:
            errs += errors_for(era, "JSONRPCResultResponse", msg)
            result = msg["result"]
            if isinstance(result, dict) and result.get("resultType") == "input_required":
                d = "InputRequiredResult"
                if era != MODERN:
                    errs.append("input_required result in a legacy conversation")
            elif era == MODERN and (method.startswith("tasks/") or (isinstance(result, dict) and result.get("resultType") == "task")):
                # The Tasks extension's shapes are not in the core schema:
                # checked field by field by tests/py/test_tasks.py.
                d = "Result"
            elif era == LEGACY and method == "tools/call" and isinstance(result, dict) and "task" in result:
                d = "CreateTaskResult"
            else:
                d = RESULT_DEFS.get(method, LEGACY_TASK_DEFS.get(method, "Result") if era == LEGACY else "Result")
            errs += errors_for(era, d, result)
        elif "error" in msg:
            errs += errors_for(era, "JSONRPCErrorResponse", msg)
        return era, errs, ({"cancelled": True} if req and req["cancelled"] else {})


def main():
    log_path = sys.argv[1]
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    conv = Conversation()
    log_lock = threading.Lock()
    log = open(log_path, "a", buffering=1)

    def record(entry):
        with log_lock:
            log.write(json.dumps(entry) + "\n")

    def pump_in():
        for raw in sys.stdin.buffer:
            try:
                conv.client_line(json.loads(raw))
            except ValueError:
                pass
            record({"client": raw.decode("utf-8", "replace").rstrip("\n")})
            try:
                proc.stdin.write(raw)
                proc.stdin.flush()
            except BrokenPipeError:
                break
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass

    t = threading.Thread(target=pump_in, daemon=True)
    t.start()
    out = sys.stdout.buffer
    for line in proc.stdout:
        text = line.decode("utf-8", "replace").rstrip("\n")
        extra = {}
        try:
            if not line.endswith(b"\n"):
                raise ValueError("line not terminated by a newline")
            era, errs, extra = conv.check(json.loads(text))
        except Exception as e:  # not JSON, or validation crashed
            era, errs = "?", [f"invalid line: {e}"]
        record({"line": text, "era": era, "errors": errs, **extra})
        try:
            out.write(line)
            out.flush()
        except BrokenPipeError:
            break
    sys.exit(proc.wait())


if __name__ == "__main__":
    main()
