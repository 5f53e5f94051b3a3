#!/usr/bin/env python3
"""A stdio tap: the MCP client launches this instead of the server.

    tap.py LOGFILE -- SERVER_CMD...

It starts the server, copies the client's lines to it and the server's lines
back, and validates every line the server writes against the official schema
of its era (modern 2026-07-28 when the request it answers carried
`_meta["io.modelcontextprotocol/protocolVersion"]`, else 2025-11-25). Each
server line is appended to LOGFILE as JSON: {"line", "errors", "era"}; the
tests fail on any error. Client lines are logged too ({"client": line}).
"""
import json
import os
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "spec"))
MODERN = "2026-07-28"
LEGACY = "2025-11-25"

RESULT_DEFS = {
    "initialize": "InitializeResult",
    "server/discover": "DiscoverResult",
    "tools/list": "ListToolsResult",
    "tools/call": "CallToolResult",
    "resources/list": "ListResourcesResult",
    "resources/templates/list": "ListResourceTemplatesResult",
    "resources/read": "ReadResourceResult",
    "prompts/list": "ListPromptsResult",
    "prompts/get": "GetPromptResult",
    "completion/complete": "CompleteResult",
    "ping": "EmptyResult",
    "logging/setLevel": "EmptyResult",
}
NOTIFICATION_DEFS = {
    "notifications/progress": "ProgressNotification",
    "notifications/message": "LoggingMessageNotification",
    "notifications/tools/list_changed": "ToolListChangedNotification",
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
        schema = {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": "#/$defs/" + name}
        _validators[key] = jsonschema.Draft202012Validator(schema)
    return _validators[key]


def errors_for(rev, name, value):
    return [f"{name}: {'/'.join(map(str, e.path))}: {e.message}" for e in validator(rev, name).iter_errors(value)]


def main():
    log_path = sys.argv[1]
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    sent = {}  # id (json) -> (method, era)
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)

    def record(entry):
        with lock:
            log.write(json.dumps(entry) + "\n")

    def pump_in():
        for raw in sys.stdin.buffer:
            try:
                msg = json.loads(raw)
                if isinstance(msg, dict) and "id" in msg and "method" in msg:
                    modern = "io.modelcontextprotocol/protocolVersion" in ((msg.get("params") or {}).get("_meta") or {})
                    sent[json.dumps(msg["id"])] = (msg["method"], MODERN if modern else LEGACY)
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

    def check(line):
        msg = json.loads(line)
        era = LEGACY
        errs = []
        if "method" in msg and "id" not in msg:
            era = MODERN if any(m[1] == MODERN for m in sent.values()) and not any(m[0] == "initialize" for m in sent.values()) else LEGACY
            errs += errors_for(era, "JSONRPCMessage", msg)
            d = NOTIFICATION_DEFS.get(msg["method"])
            if d:
                errs += errors_for(era, d, msg)
        elif "method" in msg:
            errs += errors_for(LEGACY, "JSONRPCRequest", msg)
        else:
            method, era = sent.get(json.dumps(msg.get("id")), ("", LEGACY))
            errs += errors_for(era, "JSONRPCMessage", msg)
            if "result" in msg:
                if msg["result"].get("resultType") == "input_required":
                    d = "InputRequiredResult"
                else:
                    d = RESULT_DEFS.get(method)
                if d:
                    errs += errors_for(era, d, msg["result"])
        return era, errs

    t = threading.Thread(target=pump_in, daemon=True)
    t.start()
    out = sys.stdout.buffer
    for line in proc.stdout:
        text = line.decode("utf-8", "replace").rstrip("\n")
        try:
            era, errs = check(text)
        except Exception as e:  # not JSON, or validation crashed
            era, errs = "?", [f"invalid line: {e}"]
        record({"line": text, "era": era, "errors": errs})
        try:
            out.write(line)
            out.flush()
        except BrokenPipeError:
            break
    sys.exit(proc.wait())


if __name__ == "__main__":
    main()
