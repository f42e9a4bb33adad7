"""Run a plan: write the manifests, then run the shell commands or the MCP tool calls.

The exit code is the deployed job's where the orchestrator gives it back (direct, compose),
else the last command's (0 when everything was accepted).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Callable, Optional

from b00tc.exitcodes import UNAVAILABLE  # noqa: F401 (cli.py's, until it goes)
from b00tc.runtime.model import AdapterOutput, Availability, DeployError
from b00tc.runtime.orchestrators import BY_NAME


def unavailable(avail: Availability) -> DeployError:
    o = BY_NAME[avail.name]
    return DeployError(f"{o.name} is not available here ({avail.reason}); to use it, {o.how_to_get}")


def write_manifests(plan: AdapterOutput, workdir: str) -> list[str]:
    from b00tc.output import write_if_changed

    written = []
    for m in plan.manifests:
        dest = os.path.join(workdir, m.path)
        write_if_changed(dest, m.content)
        os.chmod(dest, m.mode)
        written.append(dest)
    return written


def mcp_server_for(plan: AdapterOutput, server) -> tuple[list[str], dict[str, str]]:
    """The command and environment of ``server`` (mcp_datums.Server: from the config or
    an MCP datum) for the plan; DeployError when there is none or its tools are unknown."""
    if plan.profile is None:
        raise DeployError(
            f"no MCP server fits {plan.orchestrator}: deploy it with --via cli", code=2
        )
    if server is None:
        example = " ".join(f'"{c}"' for c in plan.profile.command)
        raise DeployError(
            f"no MCP server is configured for {plan.orchestrator}: add an MCP datum "
            f"{plan.orchestrator}.mcp.toml on the search path, or to the config file\n"
            f"  [mcp.{plan.orchestrator}]\n  profile = \"{plan.profile.name}\"\n"
            f"  command = [{example.replace(' ', ', ')}]\n"
            "or deploy with --via cli"
        )
    return list(server.command), dict(server.env)


def describe(plan: AdapterOutput, via: str, workdir: str, server, echo: Callable[[str], None]) -> None:
    """What deploy would do, changing nothing (--dry-run)."""
    echo(f"would deploy to {plan.orchestrator} via {via}")
    for m in plan.manifests:
        echo(f"would write {os.path.join(workdir, m.path)}")
    if via == "mcp":
        if server is not None:
            echo(f"would start the MCP server: {' '.join(server.command)} ({server.source})")
        else:
            example = " ".join(plan.profile.command) if plan.profile else "none"
            echo(f"would start the MCP server: (none: {plan.mcp_server or f'not configured, e.g. {example}'})")
        import json

        for c in plan.mcp_commands:
            shown = {k: (f"<{len(v.splitlines())} lines>" if isinstance(v, str) and "\n" in v else v) for k, v in c.arguments.items()}
            echo(f"would call {c.server} {c.tool} {json.dumps(shown)}")
    else:
        for c in plan.commands:
            echo(f"would run: {c.text()}")


def run_cli(plan: AdapterOutput, echo: Callable[[str], None], env: Optional[dict] = None) -> int:
    code = 0
    for c in plan.commands:
        echo(f"+ {c.text()}")
        argv = ["bash", "-c", c.argv[0]] if c.shell else c.argv
        try:
            if plan.orchestrator == "direct" and c.is_job and c.datum:
                from b00tc.runtime.state import supervise

                code = supervise(argv, c.datum, env=env)  # recorded for status, logs, down
            else:
                code = subprocess.run(argv, env=env).returncode
        except OSError as e:
            raise DeployError(f"cannot run {argv[0]}: {e.strerror or e}; {BY_NAME[plan.orchestrator].how_to_get}")
        if code != 0 and not c.is_job:
            echo(f"b00tc: `{c.text()}` exited {code}; stopping")
            return code
        if c.is_job and code != 0:
            return code
    return code


def run_mcp(plan: AdapterOutput, server, echo: Callable[[str], None]) -> int:
    from b00tc.runtime.mcp_client import McpCallError, call_tools

    command, env = mcp_server_for(plan, server)

    def show(outcome):
        status = "ok" if outcome.ok else "error"
        echo(f"{plan.profile.server} {outcome.tool}: {status}" + (f"\n{outcome.text}" if outcome.text else ""))

    try:
        outcomes = call_tools(command, [(c.tool, c.arguments) for c in plan.mcp_commands], env=env, on_result=show)
    except McpCallError as e:
        raise DeployError(str(e)) from None
    return 0 if all(o.ok for o in outcomes) else 1


def execute(
    plan: AdapterOutput,
    *,
    via: str,
    workdir: str,
    server=None,
    echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> int:
    write_manifests(plan, workdir)
    if via == "mcp":
        return run_mcp(plan, server, echo)
    return run_cli(plan, echo)
