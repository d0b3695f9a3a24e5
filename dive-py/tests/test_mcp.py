"""`dive-rs mcp` through a real MCP client: the official Python SDK's stdio client and
session, talking to the wheel's own `dive-rs` console script and to the cargo-built one."""

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from conftest import ROOT, cli_json

DEMO = ROOT / "testdata" / "demo" / "ml-service.tar"


def serve(command: str, root: Path, *flags: str) -> StdioServerParameters:
    return StdioServerParameters(command=command, args=["mcp", "--root", str(root), *flags])


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def every(session: ClientSession, tool: str, **arguments: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = await call(session, tool, **arguments)
        items.extend(page["items"])
        if page.get("next_cursor") is None:
            return items
        arguments["cursor"] = page["next_cursor"]


def run(command: str, root: Path, flags: tuple[str, ...], body: Any) -> Any:
    async def session_of() -> Any:
        async with stdio_client(serve(command, root, *flags)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)

    return asyncio.run(session_of())


@pytest.fixture(scope="module")
def console_script() -> str:
    """The wheel's `dive-rs`, installed beside this interpreter."""
    script = shutil.which("dive-rs", path=str(Path(sys.executable).parent))
    assert script, "the wheel installs a dive-rs console script"
    return script


def test_the_wheel_serves_typed_tools_and_pages_every_file(console_script: str, cli: Path) -> None:
    analysis = cli_json(cli, DEMO, "--json")

    async def body(session: ClientSession) -> None:
        tools = (await session.list_tools()).tools
        names = {tool.name for tool in tools}
        assert {"open_image", "list_files", "list_findings", "read_file"} <= names
        for tool in tools:
            assert tool.output_schema is not None and tool.output_schema["type"] == "object"
            assert tool.annotations is not None and tool.annotations.read_only_hint
        opened = await call(session, "open_image", source=DEMO.name)
        assert opened["image_id"] == analysis["image"]["config_digest"]
        files = await every(session, "list_files", image_id=opened["image_id"], limit=9)
        real = [f for f in files if not f["hardlink"]]
        assert len(real) == analysis["image"]["final_files"]
        assert sum(f["bytes"] for f in files) == analysis["image"]["final_bytes"]
        assert len({f["path"] for f in files}) == len(files)
        findings = await every(session, "list_findings", image_id=opened["image_id"])
        assert findings and all(f["saving"] >= 0 for f in findings)
        # A forged cursor is invalid params.
        with pytest.raises(MCPError) as forged:
            await session.call_tool(
                "list_files", {"image_id": opened["image_id"], "cursor": "MTAw"}
            )
        assert forged.value.code == -32602

    run(console_script, DEMO.parent, (), body)


def test_opening_tells_its_progress(cli: Path, forms: Path) -> None:
    """The layers' bytes as they are read, against their total, when the client asks."""
    image = forms / "oci-gzip"
    told: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        told.append((done, total))

    async def body(session: ClientSession) -> None:
        result = await session.call_tool(
            "open_image", {"source": image.name}, progress_callback=progress
        )
        assert not result.is_error

    run(str(cli), image.parent, (), body)
    assert told, "no progress was told"
    assert all(total and 0 < done <= total for done, total in told), told


def test_reading_needs_allow_read_and_stays_below_the_root(cli: Path) -> None:
    async def closed(session: ClientSession) -> None:
        opened = await call(session, "open_image", source=DEMO.name)
        with pytest.raises(MCPError) as refused:
            await session.call_tool(
                "read_file", {"image_id": opened["image_id"], "path": "/etc/os-release"}
            )
        assert "--allow-read" in refused.value.message
        with pytest.raises(MCPError):
            await session.call_tool("open_image", {"source": "/etc/passwd"})

    async def opened(session: ClientSession) -> None:
        image = await call(session, "open_image", source=DEMO.name)
        read = await call(
            session, "read_file", image_id=image["image_id"], path="/etc/os-release"
        )
        assert read["text"] and read["offset"] == 0

    run(str(cli), DEMO.parent, (), closed)
    run(str(cli), DEMO.parent, ("--allow-read",), opened)


def test_a_transcript_for_the_closing_note(cli: Path, tmp_path: Path) -> None:
    """tools/list, open_image and list_findings as an agent sees them, written to a file
    the run keeps (target/py-test/mcp-transcript.json) with each reply's size."""

    async def body(session: ClientSession) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        tools = await session.list_tools()
        lines.append({"tools/list": [tool.name for tool in tools.tools]})
        for tool, arguments in [
            ("open_image", {"source": DEMO.name}),
            ("list_findings", {"limit": 3}),
        ]:
            if "image_id" in lines[-1].get("reply", {}):
                arguments["image_id"] = lines[-1]["reply"]["image_id"]
            result = await session.call_tool(tool, arguments)
            reply = result.structured_content or {}
            text = getattr(result.content[0], "text", "") if result.content else ""
            size = len(json.dumps(reply, separators=(",", ":"))) + len(text)
            lines.append({"call": tool, "arguments": arguments, "text": text, "bytes": size,
                          "reply": reply})
        return lines

    lines = run(str(cli), DEMO.parent, (), body)
    assert all(line.get("bytes", 0) <= 256 * 1024 for line in lines)
    out = Path(str(cli)).parents[1] / "py-test" / "mcp-transcript.json"
    if out.parent.is_dir():
        out.write_text(json.dumps(lines, indent=1))
