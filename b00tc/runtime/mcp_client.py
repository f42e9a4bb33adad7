"""Calling MCP tools over stdio with the ``mcp`` SDK (2.x): start the server, list its
tools, check each call's arguments against the tool's ``input_schema``, call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from b00tc.runtime.model import UserError


class McpCallError(RuntimeError):
    pass


class McpSdkMissing(UserError):
    pass


def need_sdk() -> None:
    """McpSdkMissing unless the ``mcp`` SDK can be imported."""
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        raise McpSdkMissing("the MCP SDK is not installed: pip install 'b00tc[mcp]' (PyPI mcp 2.x)")


@dataclass
class ToolOutcome:
    tool: str
    ok: bool
    text: str


def _params(command: list[str], env: Optional[dict[str, str]] = None):
    from mcp import StdioServerParameters

    # the SDK passes only a few variables (HOME, PATH, ...) unless told: a Kubernetes or
    # Docker server needs KUBECONFIG, DOCKER_HOST and the like from this environment
    return StdioServerParameters(command=command[0], args=list(command[1:]), env={**os.environ, **(env or {})})


def _text(result) -> str:
    parts = []
    for block in result.content or []:
        t = getattr(block, "text", None)
        if t:
            parts.append(t)
    return "\n".join(parts)


async def _list(command, env):
    from mcp import Client

    async with Client(_params(command, env)) as client:
        return (await client.list_tools()).tools


def list_tools(command: list[str], env: Optional[dict[str, str]] = None, timeout: float = 60):
    """The tools the server reports (``mcp.types.Tool``: name, description, input_schema)."""
    import anyio

    async def main():
        with anyio.fail_after(timeout):
            return await _list(command, env)

    return anyio.run(main)


def call_tools(
    command: list[str],
    calls: list[tuple[str, dict]],
    env: Optional[dict[str, str]] = None,
    timeout: float = 300,
    on_result=None,
    then=None,
    answers: frozenset[str] = frozenset(),
) -> list[ToolOutcome]:
    """Call each (tool, arguments) in order on one server session; stop at the first call
    the server reports as an error, unless its tool is one of ``answers`` (whose errors
    answer a question: "no such job"). Arguments are validated against the server's
    schemas first: nothing is called when one does not fit.

    ``then(outcomes)``: after the calls, the next calls, made from their answers (every
    outcome so far, in order); called again after those, until it gives none. Its calls
    are validated the same way before any of them is made."""
    import anyio
    import jsonschema
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    async def main() -> list[ToolOutcome]:
        outcomes: list[ToolOutcome] = []
        with anyio.fail_after(timeout):
            async with Client(_params(command, env)) as client:
                tools = {t.name: t for t in (await client.list_tools()).tools}
                batch = list(calls)
                while batch:
                    check(tools, batch)
                    if not await call(client, batch, outcomes):
                        break
                    try:
                        batch = list(then(outcomes)) if then is not None else []
                    except Exception as e:  # noqa: BLE001 - the caller's own error, raised as it is
                        refused.append(e)
                        break
        return outcomes

    refused: list[Exception] = []

    def check(tools: dict, batch: list[tuple[str, dict]]) -> None:
        for name, args in batch:
            if name not in tools:
                raise McpCallError(
                    f"the server `{' '.join(command)}` has no tool {name!r} (it has: "
                    f"{', '.join(sorted(tools)) or 'none'}); choose the --mcp-profile that matches it"
                )
            try:
                jsonschema.validate(args, tools[name].input_schema or {"type": "object"})
            except jsonschema.ValidationError as e:
                raise McpCallError(f"arguments for {name} do not fit the server's input schema: {e.message}") from None

    async def call(client, batch: list[tuple[str, dict]], outcomes: list[ToolOutcome]) -> bool:
        """Make the calls of ``batch``; False when one failed (and is no answer)."""
        for name, args in batch:
            try:
                result = await client.call_tool(name, args)
                outcome = ToolOutcome(name, not result.is_error, _text(result))
            except MCPError as e:  # the server answered the call with a JSON-RPC error
                outcome = ToolOutcome(name, False, str(e))
            outcomes.append(outcome)
            if on_result is not None:
                on_result(outcome)
            if not outcome.ok and name not in answers:
                return False
        return True

    try:
        done = anyio.run(main)
    except McpCallError:
        raise
    except TimeoutError:
        raise McpCallError(f"the MCP server `{' '.join(command)}` did not answer within {timeout:g} s") from None
    except OSError as e:
        raise McpCallError(f"cannot start the MCP server `{' '.join(command)}`: {e.strerror or e}") from None
    except Exception as e:  # the SDK's connection errors (a server that exits, speaks garbage)
        import builtins

        while isinstance(e, getattr(builtins, "BaseExceptionGroup", ())) and len(e.exceptions) == 1:
            e = e.exceptions[0]  # anyio's task groups wrap the one error that happened
        hint = ""
        if os.path.basename(command[0]) == "npx" and "Connection closed" in str(e):
            hint = " (npx runs a package that is installed, or asks before installing one: install it, or set npm_config_yes=true)"
        raise McpCallError(f"the MCP server `{' '.join(command)}` failed: {type(e).__name__}: {e}{hint}") from None
    if refused:  # ``then`` refused to go on (it was raised once the session had ended)
        raise refused[0]
    return done
