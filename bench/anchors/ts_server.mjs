// Benchmark anchor: echo and sleep on the official MCP TypeScript SDK, over
// stdio, or with `--http HOST:PORT` over the SDK's Streamable HTTP transport
// with sessions (answers to POSTs as event streams, the SDK's default).
import http from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

function echoServer() {
  const server = new McpServer({ name: "ts-echo", version: "1.0.0" });
  server.tool("echo", "Return the text", { text: z.string() }, async ({ text }) => ({ content: [{ type: "text", text }] }));
  server.tool("sleep", "Sleep ms milliseconds", { ms: z.number() }, async ({ ms }) => {
    await new Promise((r) => setTimeout(r, ms));
    return { content: [{ type: "text", text: `slept ${ms} ms` }] };
  });
  return server;
}

const at = process.argv.indexOf("--http");
if (at < 0) {
  await echoServer().connect(new StdioServerTransport());
} else {
  const [host, port] = process.argv[at + 1].split(":");
  const sessions = new Map();
  const listener = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      res.writeHead(400).end();
      return;
    }
    let transport = sessions.get(req.headers["mcp-session-id"]);
    if (!transport) {
      if (req.method !== "POST" || !body || !isInitializeRequest(body)) {
        res.writeHead(req.headers["mcp-session-id"] ? 404 : 400).end();
        return;
      }
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, t),
      });
      await echoServer().connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  });
  listener.keepAliveTimeout = 60000;
  listener.listen(Number(port), host, () => {
    console.error(`ts-echo: listening on http://${host}:${listener.address().port}/mcp`);
  });
}
