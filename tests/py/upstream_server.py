"""A small MCP server written with the official Python SDK (MCPServer), used
as a third-party upstream behind the lmcp hub.

    python upstream_server.py stdio
    python upstream_server.py http PORT      (Streamable HTTP at /mcp)

Tools: add (a result), fail (a tool error), slow (progress, then waits until
cancelled, writing the file `cancelled` into UPSTREAM_MARK_DIR; or dies),
ask (elicits a name), sample (asks the client's LLM: sampling/createMessage), roots (asks the
client's roots/list), grow (adds a tool at run time, so the tool list changes), touch (announces
a resource update). Prompts: greet, welcome
(asks a name first). Resources: note://hello, note://items/{item}, note://ask/{topic} (asks a name
first). `add` and note://hello carry a title, annotations, icons and `_meta` (an MCP Apps `ui` entry),
note://items/{item} a title, greet an icon.

UPSTREAM_EXTRA_TOOL / UPSTREAM_EXTRA_PROMPT name one more tool / prompt (echoing its text), for
tests of exported names that collide across upstreams.
"""
import os
import sys
from pathlib import Path

import anyio
from typing import Annotated

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, ListRoots, MCPServer, Resolve, Sample
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import (
    Annotations,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    Icon,
    InputRequiredResult,
    ListRootsResult,
    SamplingMessage,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel

app = MCPServer("py-upstream")

ICON = Icon(src="data:image/png;base64,iVBORw0KGgo=", mime_type="image/png", sizes=["16x16"])


@app.tool(
    title="Addition",
    annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    icons=[ICON],
    meta={"ui": {"resourceUri": "ui://add/view.html"}},
)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def fail(why: str) -> str:
    """Always fails with the given reason."""
    raise ToolError(f"failed on purpose: {why}")


@app.tool()
async def slow(ctx: Context, steps: int = 3, hang: bool = False, die: bool = False) -> str:
    """Report progress for each step; with hang, wait until cancelled; with
    die, exit the whole server process mid-call."""
    for i in range(steps):
        await ctx.report_progress(i + 1, steps, f"step {i + 1}")
        await anyio.sleep(0.05)
    if die:
        os._exit(3)
    if hang:
        try:
            await anyio.sleep(3600)
        except anyio.get_cancelled_exc_class():
            mark = os.environ.get("UPSTREAM_MARK_DIR")
            if mark:
                Path(mark, "cancelled").write_text("slow")
            raise
    return f"done {steps}"


@app.resource(
    "note://hello",
    mime_type="text/plain",
    title="Hello note",
    icons=[ICON],
    annotations=Annotations(audience=["user"], priority=0.5),
    meta={"ui": {"prefersBorder": True}},
)
def hello() -> str:
    """A fixed note."""
    return "Hello from the Python upstream"


@app.resource("note://items/{item}", title="Item note")
def item(item: str) -> str:
    """A note per item."""
    return f"item {item}"


@app.prompt(icons=[ICON])
def greet(name: str) -> str:
    """Greet someone."""
    return f"Please greet {name} warmly."


class Name(BaseModel):
    name: str


def ask_name() -> Elicit[Name]:
    return Elicit("Your name?", Name)


@app.tool()
async def ask(who: Annotated[ElicitationResult[Name], Resolve(ask_name)]) -> str:
    """Ask the user's name (elicitation; an MRTR round in the modern era)."""
    return f"hello {who.data.name}" if who.action == "accept" else f"no answer ({who.action})"


def ask_llm() -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text="Say hi"))], max_tokens=20)


@app.tool()
async def sample(answer: Annotated[CreateMessageResult, Resolve(ask_llm)]) -> str:
    """Ask the client's LLM (sampling/createMessage; an MRTR round in the modern era)."""
    return f"the model said: {answer.content.text}"


def ask_roots() -> ListRoots:
    return ListRoots()


@app.tool()
async def roots(got: Annotated[ListRootsResult, Resolve(ask_roots)]) -> str:
    """List the client's roots (roots/list; an MRTR round in the modern era)."""
    return "roots: " + " ".join(str(r.uri) for r in got.roots)


@app.tool()
async def grow(ctx: Context, name: str) -> str:
    """Add a tool called NAME (echoing its input) and announce the change."""

    def extra(text: str) -> str:
        return text

    app.add_tool(extra, name=name, description="Added at run time by grow.")
    await ctx.notify_tools_changed()  # modern: subscriptions/listen streams
    try:
        await ctx.session.send_tool_list_changed()  # legacy sessions
    except Exception:  # not available on a modern request
        pass
    return f"added {name}"


@app.tool()
async def touch(ctx: Context, uri: str) -> str:
    """Announce that resource URI changed (notifications/resources/updated)."""
    await ctx.notify_resource_updated(uri)  # modern: subscriptions/listen streams
    try:
        await ctx.session.send_resource_updated(uri)  # legacy sessions
    except Exception:  # not available on a modern request
        pass
    return f"touched {uri}"


NAME_INPUT = {"name": ElicitRequest(params=ElicitRequestFormParams(
    message="Your name?",
    requested_schema={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
))}


def answered_name(ctx):
    """The name from the retry's input responses (None on the first round)."""
    r = (ctx.input_responses or {}).get("name")
    if r is None:
        return None
    return r.content["name"] if r.action == "accept" and r.content else f"({r.action})"


@app.prompt()
async def welcome(ctx: Context) -> str | InputRequiredResult:
    """Asks the user's name first (an MRTR input round), then welcomes them."""
    name = answered_name(ctx)
    if name is None:
        return InputRequiredResult(input_requests=NAME_INPUT)
    return f"Welcome {name}."


@app.resource("note://ask/{topic}")
async def ask_note(topic: str, ctx: Context) -> str | InputRequiredResult:
    """A note signed with the reader's name, asked for first (MRTR)."""
    name = answered_name(ctx)
    if name is None:
        return InputRequiredResult(input_requests=NAME_INPUT)
    return f"note on {topic} for {name}"


def echo_text(text: str) -> str:
    return text


if os.environ.get("UPSTREAM_EXTRA_TOOL"):
    app.add_tool(echo_text, name=os.environ["UPSTREAM_EXTRA_TOOL"], description="An extra tool.")
if os.environ.get("UPSTREAM_EXTRA_PROMPT"):
    app.prompt(name=os.environ["UPSTREAM_EXTRA_PROMPT"], description="An extra prompt.")(echo_text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        app.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
