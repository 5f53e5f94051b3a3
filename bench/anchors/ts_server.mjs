// Benchmark anchor: echo and sleep on the official MCP TypeScript SDK, stdio.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "ts-echo", version: "1.0.0" });
server.tool("echo", "Return the text", { text: z.string() }, async ({ text }) => ({ content: [{ type: "text", text }] }));
server.tool("sleep", "Sleep ms milliseconds", { ms: z.number() }, async ({ ms }) => {
  await new Promise((r) => setTimeout(r, ms));
  return { content: [{ type: "text", text: `slept ${ms} ms` }] };
});
await server.connect(new StdioServerTransport());
