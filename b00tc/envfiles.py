"""``b00tc env``: the environment files that systemd units read (EnvironmentFile=), with
every host variable resolved. The build writes no value of a host variable into a unit;
this is the one place where they are resolved, from the environment, --env-file and --set,
with the shell semantics of ``b00tc.backends._values`` (E0401, E0402)."""

from __future__ import annotations

from typing import Optional

from b00tc.backends._context import Context
from b00tc.backends._envfile import env_line
from b00tc.backends.systemd import resolved_text
from b00tc.diagnostics import Diagnostics


def resolve(env_files: list, host_env: dict[str, str], diags: Diagnostics) -> Optional[str]:
    """The text of every environment file (``EnvFile``), each starting with a
    ``# <path>`` line, in order, once per path; None (and the errors in ``diags``) when a
    value cannot be resolved or carried."""
    files = resolve_files(env_files, host_env, diags)
    return None if files is None else "\n".join(files.values())


def resolve_files(env_files: list, host_env: dict[str, str], diags: Diagnostics) -> Optional[dict[str, str]]:
    """Each environment file's text by its path (see ``resolve``)."""

    ctx = Context(target="systemd", env=host_env)
    blocks: dict[str, str] = {}
    for env in env_files:
        if env.path in blocks:
            continue
        lines = [f"# {env.path}", f"# for {env.unit}.service; install with mode 0600"]
        for e in env.entries:
            text = resolved_text(e.value, ctx, e.file, e.refs)
            if e.program and ("=" in text or text.startswith("-")):
                ctx.error(
                    "E0601",
                    f"the command {text!r} cannot be run by target systemd: it is not an "
                    "absolute path, and /usr/bin/env would read it as "
                    + ("an assignment" if "=" in text else "an option"),
                    e.file,
                    e.value.path,
                    help="give the command as an absolute path",
                )
            lines.append(env_line(e.name, text))
        blocks[env.path] = "\n".join(lines) + "\n"
    diags.extend(ctx.diagnostics)
    if ctx.diagnostics and any(d.is_error for d in ctx.diagnostics):
        return None
    return blocks
