"""Benchmark anchor: echo and sleep on the official MCP Python SDK (MCPServer), stdio."""
import anyio
from mcp.server import MCPServer

app = MCPServer("py-echo")


@app.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


@app.tool()
async def sleep(ms: int) -> str:
    """Sleep ms milliseconds."""
    await anyio.sleep(ms / 1000)
    return f"slept {ms} ms"


if __name__ == "__main__":
    app.run("stdio")
