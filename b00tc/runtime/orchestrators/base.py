"""What every orchestrator is: the interface the plan, deploy and day-two code use, and the
behaviour most orchestrators share (a subclass overrides what it does differently)."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Callable, ClassVar, Optional

from b00tc.exitcodes import OK
from b00tc.runtime.model import (
    AdapterOutput, Availability, CallOptions, Command, DeployError, Deployed, Manifest, McpCommand, Options, Profile,
    Status,
)
from b00tc.runtime.process import Runner, run_captured, run_each

if TYPE_CHECKING:
    from b00tc.runtime.mcp_client import ToolOutcome

Echo = Callable[[str], None]


class Orchestrator:
    #: the name users give (``--orchestrator``), the config's and the plan's
    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    #: the backend that compiles for it
    target: ClassVar[str]
    #: the file its target writes for a root datum NAME: NAME + suffix
    suffix: ClassVar[str]
    #: the seed's file-name tag and extension: <datum>-<short>.<ext> (job to-manifest)
    short: ClassVar[str]
    ext: ClassVar[str]
    how_to_get: ClassVar[str]

    # -- capabilities -------------------------------------------------------------------
    #: day two needs the compiled file again (docker compose -f FILE, a stack's script)
    DAY_TWO_NEEDS_FILE: ClassVar[bool] = False
    #: day two on the orchestrator's CLI first checks that it is available
    PROBED_BEFORE_DAY_TWO: ClassVar[bool] = True
    #: when set, deploy keeps its temporary folder (and says so with this, ``{folder}``
    #: filled in): the orchestrator needs the files to take the datum down again
    KEPT_FOLDER_NOTE: ClassVar[Optional[str]] = None
    #: the MCP profile used when neither --mcp-profile, the config nor an MCP datum names
    #: one; None: no MCP server fits, the shell commands are the way
    DEFAULT_MCP_PROFILE: ClassVar[Optional[str]] = None
    #: the MCP datums searched for its server (<name>.mcp.toml), in order
    MCP_DATUMS: ClassVar[tuple[str, ...]] = ()
    #: the MCP datum shipped with b00tc (b00tc/runtime/data), used when none is found
    BUNDLED_MCP_DATUM: ClassVar[Optional[str]] = None
    #: the tools of its MCP server whose errors are answers b00tc reads ("no such job")
    MCP_ANSWERS: ClassVar[frozenset[str]] = frozenset()

    # -- detection ------------------------------------------------------------------------

    def available(self) -> Availability:  # pragma: no cover
        """Is it usable here? Judged by the exit status and output of probes, each with a
        timeout (b00tc.runtime.process.probe)."""
        raise NotImplementedError

    def unavailable(self, avail: Availability) -> DeployError:
        """The error that says it cannot be used here (``avail``), and how to get it."""
        return DeployError(f"{self.name} is not available here ({avail.reason}); to use it, {self.how_to_get}")

    def installed_mcp_server(self) -> tuple[Optional[tuple[str, ...]], str]:
        """Without a config entry or an MCP datum: (the command of its MCP server where it
        is installed here, or None; where it was found, or how to install it). (None, "")
        where b00tc knows no such server."""
        return None, ""

    def cli_command(self, avail: Availability) -> Optional[list[str]]:
        """How detection found it is run, where that varies (compose); None: the default."""
        return None

    # -- the plan -------------------------------------------------------------------------

    def profile(self, name: Optional[str]) -> Optional[Profile]:
        """The MCP profile the plan's tool calls are for: ``name`` (--mcp-profile, the
        server's), else DEFAULT_MCP_PROFILE; None when no MCP server fits."""
        from b00tc.runtime.profiles import for_orchestrator

        return for_orchestrator(self.name, name, self.DEFAULT_MCP_PROFILE)

    def prerequisites(self, deployed: list[Deployed]) -> list[str]:
        """What the orchestrator must have for these datums beyond itself (said by plan,
        checked by ``check_prerequisites``); [] for none."""
        return []

    def check_prerequisites(self, plan: AdapterOutput, o: Options, run: Runner = run_captured) -> None:
        """Before deploy applies anything: a DeployError when ``plan.requires`` is not met."""

    def deploy_commands(self, m: Manifest, path: str, o: Options) -> list[Command]:  # pragma: no cover
        """The shell commands that deploy ``m``, written at ``path``."""
        raise NotImplementedError

    def deploy_mcp_calls(self, m: Manifest, path: str, o: Options, profile: Profile,
                         dry_run: bool = False) -> list[McpCommand]:
        """The same as tool calls of the profile's server."""
        opts = CallOptions(namespace=o.namespace or "default", context=o.context, dry_run=dry_run,
                           file_path=path, project=m.datum)
        return [McpCommand(profile.server, profile.tool, args) for args in profile.arguments(m.content, opts)]

    def value_commands(self, stores: list, values: list[dict[str, str]], o: Options) -> list[Command]:
        """The commands that create or update the deploy-time values of the target's stores
        (``EnvFile`` of the orchestrator's target kind; ``values[i]``: ``stores[i]``'s
        entries resolved) before the manifests are applied. The values travel on the
        command's stdin, never on its command line; [] where the target has none."""
        return []

    def value_mcp_calls(self, stores: list, values: list[dict[str, str]], o: Options,
                        profile: Profile) -> list[McpCommand]:
        """The same as tool calls of the profile's server ([] where it has none)."""
        return []

    def commands(self, d: Deployed, op: str, o: Options) -> list[Command]:  # pragma: no cover
        """The commands day-two ``op`` runs for ``d`` (a shell form where one takes the
        answer of another: those lines are shown, b00tc runs them step by step)."""
        raise NotImplementedError

    def mcp_calls(self, d: Deployed, op: str, o: Options, profile: Optional[Profile]) -> list[McpCommand]:
        """Day-two ``op`` as tool calls of the profile's server; [] when b00tc knows no
        such tools. The calls made from earlier answers come last, with ``after`` set and
        placeholder arguments (what a plan shows); ``mcp_next`` makes them."""
        return []

    def mcp_next(self, d: Deployed, op: str, o: Options, profile: Optional[Profile],
                 answered: list[tuple[McpCommand, "ToolOutcome"]], echo: Echo) -> list[McpCommand]:
        """The calls day-two ``op`` makes next for ``d`` from the answers of its last calls
        (``answered``); [] when it is done. A LifecycleError to refuse going on."""
        return []

    def mcp_printed(self, c: McpCommand, text: str) -> str:
        """What day two prints of the answer ``text`` to ``c`` (a printed call)."""
        return text

    # -- deploy ---------------------------------------------------------------------------

    def run_command(self, c: Command, env: Optional[dict] = None) -> int:
        """Run one of the plan's commands in the foreground; its exit code."""
        return subprocess.run(c.runnable(), env=env, input=c.stdin).returncode

    def deploy(self, plan: AdapterOutput, echo: Echo, env: Optional[dict] = None) -> int:
        """Run the plan's commands (the manifests are written). The exit code is the
        deployed job's where the orchestrator gives it back, else the last command's."""
        code = OK
        for c in plan.commands:
            echo(f"+ {c.text()}")
            try:
                code = self.run_command(c, env)
            except OSError as e:
                raise DeployError(f"cannot run {c.runnable()[0]}: {e.strerror or e}; {self.how_to_get}")
            if code != 0 and not c.is_job:
                echo(f"b00tc: `{c.text()}` exited {code}; stopping")
                return code
            if c.is_job and code != 0:
                return code
        return code

    # -- day two --------------------------------------------------------------------------

    def status(self, d: Deployed, o: Options, run: Runner = run_captured) -> Status:  # pragma: no cover
        raise NotImplementedError

    def status_from_mcp(self, d: Deployed, profile: Optional[str], outcomes: list["ToolOutcome"]) -> Optional[Status]:
        """The status read from the answers of the profile's status tools; None where
        b00tc cannot read them (they are then printed as they are)."""
        return None

    def logs(self, d: Deployed, o: Options) -> int:
        return run_each(self.commands(d, "logs", o))

    def down_checks(self, d: Deployed) -> list[str]:
        """What down checks before it takes anything down (said by ``down --dry-run``)."""
        return []

    def check_down(self, d: Deployed, o: Options, echo: Echo, run: Runner) -> bool:
        """Before down: False when there is nothing to take down (said on ``echo``); a
        LifecycleError when the orchestrator holds something of that name that b00tc did
        not create."""
        return True

    def down(self, d: Deployed, o: Options, echo: Echo, dry_run: bool = False, run: Runner = run_captured) -> int:
        """Take down what b00tc deployed for ``d``; refuse (exit 1) where the orchestrator
        holds something of that name that b00tc did not create."""
        if dry_run:  # ask nothing, change nothing: say what would be checked and run
            for line in self.down_checks(d):
                echo(line)
            for c in self.commands(d, "down", o):
                echo(f"would run: {c.text()}")
            return OK
        if not self.check_down(d, o, echo, run):
            return OK
        return run_each(self.commands(d, "down", o), echo)

