"""Value handling every backend shares: host variables baked at build time, references
rendered to text for a given host."""

from __future__ import annotations

from typing import Callable, Iterable

from b00tc.backends._context import Context
from b00tc.ir import HostVar, Lit, Part, Ref, Value


def ref_text(ref: Ref, host: str, port: int) -> str:
    if ref.field == "endpoint":
        return f"{ref.protocol}://{host}:{port}"
    if ref.field == "host":
        return host
    if ref.field == "port":
        return str(port)
    return ref.protocol


def warn_resolved(value: Value, ctx: Context, file: str, code: str, where: str, why: str, help: str = "") -> None:
    """One warning ``code`` per host variable of ``value`` that a target resolves at build
    time, its value then written into the output: W0302 (systemd, a value that reaches a
    unit anyway), W0303 (a k8s image), W0304 (a Nomad image)."""
    for var in value.host_vars:
        ctx.warn(code, f"host variable {var.name} in {where} is resolved at build time: {why}", file, value.path,
                 **({"help": help} if help else {}))


def bake(value: Value, ctx: Context, file: str) -> tuple[Part, ...]:
    """Resolve host variables from ``ctx.env`` with shell semantics; Lit and Ref remain.

    An unset variable without a default is an error (E0401), ``${VAR:?msg}`` reports its
    message (E0402); the part then becomes empty text so rendering can continue and every
    error is collected.
    """
    out: list[Part] = []
    for part in value.parts:
        if type(part) is HostVar:
            text = _host_var(part, ctx, file, value.path)
            if text:
                out.append(Lit(text=text))
        else:
            out.append(part)
    return _merge(out)


def _host_var(var: HostVar, ctx: Context, file: str, path: str) -> str:
    """The variable's text. What is wrong with it (unset, its message, a NUL) is a finding
    about the datum's value, the same for every target that resolves it at build time:
    reported once per build."""
    with ctx.reporting_once(("host variable", file, path, var.name, var.op, var.arg)):
        return _checked_host_var(var, ctx, file, path)


def _checked_host_var(var: HostVar, ctx: Context, file: str, path: str) -> str:
    text = _host_var_value(var, ctx, file, path)
    if "\x00" in text:
        ctx.error(
            "E0601",
            f"host variable {var.name} holds a NUL character, which no target can carry",
            file,
            path,
        )
        return text.replace("\x00", "")
    return text


def _host_var_value(var: HostVar, ctx: Context, file: str, path: str) -> str:
    env = ctx.env
    is_set = var.name in env
    val = env.get(var.name, "")
    if var.op == "":
        if is_set:
            return val
        ctx.error(
            "E0401",
            f"host variable {var.name} is not set and has no default",
            file,
            path,
            help=("b00tc env resolves the host variables of target systemd's environment files"
                  if ctx.target == "systemd" else
                  f"target {ctx.target} resolves host variables at build time")
            + f": pass --set {var.name}=VALUE or --env-file FILE, or write ${{{var.name}:-default}}",
        )
        return ""
    if var.op in (":-", "-"):
        usable = bool(val) if var.op == ":-" else is_set
        return val if usable else var.arg
    usable = bool(val) if var.op == ":?" else is_set
    if usable:
        return val
    ctx.error(
        "E0402",
        f"host variable {var.name}: {var.arg or 'not set'}",
        file,
        path,
        help=f"pass --set {var.name}=VALUE or --env-file FILE",
    )
    return ""


def _merge(parts: Iterable[Part]) -> tuple[Part, ...]:
    out: list[Part] = []
    for p in parts:
        if type(p) is Lit and out and type(out[-1]) is Lit:
            out[-1] = Lit(text=out[-1].text + p.text)  # type: ignore[union-attr]
        elif type(p) is not Lit or p.text:
            out.append(p)
    return tuple(out)


def text_of(
    value: Value, ctx: Context, file: str, endpoint: Callable[[Ref], str]
) -> str:
    """The value as plain text for a target that resolves everything at build time.
    ``endpoint(ref)`` gives the text of a reference on that target."""
    return "".join(
        p.text if type(p) is Lit else endpoint(p)  # type: ignore[union-attr,arg-type]
        for p in bake(value, ctx, file)
    )
