"""The deploy-time values resolved: ``b00tc env`` prints the environment files that systemd
units read (EnvironmentFile=), deploy fills k8s Secrets and Nomad Variables
(``resolve_store``). The build writes no value of a host variable into a unit, a k8s or a
Nomad file; this is the one place where they are resolved, from the environment,
--env-file and --set, with the shell semantics of ``b00tc.backends._values`` (E0401,
E0402)."""

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


def resolve_store(store, host_env: dict[str, str], diags: Diagnostics) -> Optional[dict[str, str]]:
    """A k8s Secret's or a Nomad Variable's entries (``EnvFile`` of that kind), each name
    with its resolved text, in order; None (and the errors in ``diags``) when a value
    cannot be resolved or carried (E0401, E0402, a NUL: E0601)."""
    from b00tc.backends._values import text_of

    ctx = Context(target=store.kind, env=host_env)
    out = {e.name: text_of(e.value, ctx, e.file, e.refs) for e in store.entries}
    diags.extend(ctx.diagnostics)
    if any(d.is_error for d in ctx.diagnostics):
        return None
    return out


def resolve_files(env_files: list, host_env: dict[str, str], diags: Diagnostics) -> Optional[dict[str, str]]:
    """Each systemd environment file's text by its path (see ``resolve``); the stores of
    other kinds are left out."""

    ctx = Context(target="systemd", env=host_env)
    blocks: dict[str, str] = {}
    for env in env_files:
        if env.kind != "systemd" or env.path in blocks:
            continue
        lines = [f"# {env.path}", f"# for {env.unit}.service; install with mode 0600"]
        for e in env.entries:
            text = resolved_text(e.value, ctx, e.file, e.refs)
            if e.program and "=" in text:
                ctx.error(
                    "E0601",
                    f"the command {text!r} cannot be run by target systemd: it is not an "
                    "absolute path, and /usr/bin/env would read it as an assignment",
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
