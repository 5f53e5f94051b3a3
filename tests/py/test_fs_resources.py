"""Files under the roots as MCP resources, through the official Python SDK
against the real `lmcp` binary over stdio and Streamable HTTP, in both eras:
paginated list, the file:///{path} template, text and blob reads, refusals
outside the roots, and change notifications for subscribed files (legacy
resources/subscribe, modern subscriptions/listen)."""
import base64
import warnings

import anyio
import pytest
from fs_support import PNG, lmcp, tree  # noqa: F401 (fixtures)
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


@pytest.mark.parametrize("mode", MODES)
async def test_list_templates_and_read(lmcp, tree, mode):
    many = tree.root / "many"
    many.mkdir()
    for i in range(250):  # more than one page (200)
        (many / f"f{i:03}.txt").write_text(f"file {i}\n")
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        assert c.server_capabilities.resources is not None
        names, cursor, pages = [], None, 0
        while True:
            page = await c.list_resources(cursor=cursor)
            pages += 1
            names += [r.name for r in page.resources]
            cursor = page.next_cursor
            if not cursor:
                break
        assert pages >= 2
        assert len(names) == len(set(names)) == 250 + 5, names[:10]
        assert {"a.txt", "src/lib.rs", "src/notes.md", "pixel.png", "blob.bin"} <= set(names)
        assert not {".hidden", "ignored.log", "link_file", "inner_link"} & set(names), "hidden, ignored and symlinks are left out"
        first = (await c.list_resources()).resources
        a = next(r for r in first if r.name == "a.txt")
        assert a.uri == (tree.root / "a.txt").as_uri() and a.mime_type == "text/plain"

        templates = (await c.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["file:///{path}"]

        r = await c.read_resource((tree.root / "a.txt").as_uri())
        assert r.contents[0].text == "alpha\nbeta\ngamma\n" and r.contents[0].mime_type == "text/plain"
        r = await c.read_resource((tree.root / "pixel.png").as_uri())
        assert r.contents[0].mime_type == "image/png" and base64.b64decode(r.contents[0].blob) == PNG
        r = await c.read_resource((tree.root / "blob.bin").as_uri())
        assert r.contents[0].mime_type == "application/octet-stream"
        assert base64.b64decode(r.contents[0].blob) == (tree.root / "blob.bin").read_bytes()
        # A name that needs percent-encoding.
        (tree.root / "with space é.md").write_text("# hi\n")
        r = await c.read_resource((tree.root / "with space é.md").as_uri())
        assert r.contents[0].text == "# hi\n" and r.contents[0].mime_type == "text/markdown"


@pytest.mark.parametrize("mode", MODES)
async def test_reads_outside_the_roots_are_refused(lmcp, tree, mode):
    async with lmcp.connect(mode, "--root", str(tree.root)) as c:
        for uri in [
            (tree.outside / "secret.txt").as_uri(),
            (tree.root / "link_file").as_uri(),
            (tree.root / "link_dir").as_uri() + "/secret.txt",
            (tree.root).as_uri() + "/../outside/secret.txt",
            "file:///etc/passwd",
        ]:
            with pytest.raises(MCPError) as e:
                await c.read_resource(uri, cache_mode="bypass")
            assert "outside the allowed roots" in str(e.value) and "top secret" not in str(e.value), (uri, e.value)
        with pytest.raises(MCPError, match="Resource not found"):
            await c.read_resource((tree.root / "missing.txt").as_uri())
        with pytest.raises(MCPError):
            await c.read_resource("file:///tmp/a%00b")


async def _change_until(path, got, seen):
    """Append to `path` until `seen()` holds: a subscription registered just
    before may need a moment to be in force (liveness bound by the caller)."""
    n = 0
    while not seen():
        n += 1
        with open(path, "a") as f:
            f.write(f"change {n}\n")
        with anyio.move_on_after(0.5):
            await got.wait()


@pytest.mark.parametrize("transport_mode", ["legacy"])
async def test_legacy_subscribe_gets_updated_notifications(lmcp, tree, transport_mode):
    from mcp.types import ResourceUpdatedNotification

    uri = (tree.root / "a.txt").as_uri()
    updates = []
    got = anyio.Event()

    async def on_message(message):
        if isinstance(message, ResourceUpdatedNotification) or getattr(getattr(message, "root", None), "method", None) == "notifications/resources/updated":
            m = getattr(message, "root", message)
            updates.append(str(m.params.uri))
            got.set()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        async with lmcp.connect("legacy", "--root", str(tree.root), message_handler=on_message) as c:
            assert c.server_capabilities.resources.subscribe is True
            await c.subscribe_resource(uri)
            with anyio.fail_after(30):
                await _change_until(tree.root / "a.txt", got, lambda: updates)
            assert set(updates) == {uri}
            # write_file replaces the file by rename: still watched.
            updates.clear()
            got = anyio.Event()
            r = await c.call_tool("write_file", {"path": "a.txt", "content": "new\n"})
            assert not r.is_error
            with anyio.fail_after(30):
                await got.wait()
            assert set(updates) == {uri}
            await c.unsubscribe_resource(uri)
            # Outside the roots: subscribing is accepted but nothing is watched or leaked.
            await c.subscribe_resource((tree.outside / "secret.txt").as_uri())
            r = await c.read_resource(uri, cache_mode="bypass")
            assert r.contents[0].text == "new\n"


async def test_modern_listen_gets_updated_notifications(lmcp, tree):
    from mcp.shared.subscriptions import ResourceUpdated

    uri = (tree.root / "src/notes.md").as_uri()
    other = (tree.root / "a.txt").as_uri()
    async with lmcp.connect("auto", "--root", str(tree.root)) as c:
        assert c.protocol_version == "2026-07-28"
        async with c.listen(resource_subscriptions=[uri]) as sub:
            assert list(sub.honored.resource_subscriptions or []) == [uri]
            events = []

            async def collect():
                async for ev in sub:
                    events.append(ev)
                    return

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(collect)
                    n = 0
                    while not events:
                        n += 1
                        (tree.root / "a.txt").write_text(f"not watched {n}\n")  # another file: no event
                        with open(tree.root / "src/notes.md", "a") as f:
                            f.write(f"more {n}\n")
                        await anyio.sleep(0.2)
            assert events and all(isinstance(e, ResourceUpdated) and e.uri == uri for e in events), events
            assert other != uri
        r = await c.read_resource(uri, cache_mode="bypass")
        assert "more 1" in r.contents[0].text
