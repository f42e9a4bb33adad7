"""Checked keys (``Raw``) -> surface IR nodes, strings parsed into typed parts."""

from __future__ import annotations

from typing import Any, Optional

import msgspec

from b00tc.diagnostics import Diagnostic, Diagnostics, Severity, join
from b00tc.frontend.dockerargs import parse_docker_args
from b00tc.frontend.read import Raw
from b00tc.frontend.refs import RefError, parse_value
from b00tc.ir import (
    Health,
    Budget,
    Container,
    EnvVar,
    Gpu,
    Job,
    Member,
    Name,
    Orchestration,
    Resources,
    ServiceDecl,
    Stack,
    Value,
)


def value(raw: Raw, text: str, path: str, diags: Diagnostics) -> Value:
    if "\x00" in text:
        diags.error(
            "E0601",
            "the value contains a NUL character, which no target can carry "
            "(argv and environment strings end at NUL)",
            raw.file,
            path,
        )
        return Value(path=path)
    try:
        return parse_value(text, path)
    except RefError as e:
        diags.append(
            Diagnostic(
                Severity.ERROR,
                "E0301",
                e.message,
                file=raw.file,
                path=path,
                help=e.help,
                offset=(e.start, e.end),
                value=text,
            )
        )
        return Value(path=path)


def env_vars(raw: Raw, diags: Diagnostics) -> tuple[EnvVar, ...]:
    out = []
    for name, text in raw.get("env", default={}).items():
        path = raw.origin[("env", name)]
        out.append(EnvVar(name=name, value=value(raw, text, path, diags), path=path))
    return tuple(out)


def _qty(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    return str(v)


def resources(raw: Raw) -> Resources:
    gpu = None
    count = raw.get("resources", "gpu_count")
    gtype = raw.get("resources", "gpu_type")
    if count is not None or gtype is not None or raw.get("resources", "gpu_memory") is not None:
        gpu = Gpu(
            # a GPU type or GPU memory without a count asks for one GPU
            count=count if count is not None else (1 if gtype or raw.get("resources", "gpu_memory") is not None else 0),
            type=gtype or "",
            shared=bool(raw.get("resources", "gpu_shared", default=False)),
            memory=_qty(raw.get("resources", "gpu_memory")),
            path=raw.path("resources", "gpu_count")
            if count is not None
            else raw.path("resources", "gpu_type"),
            type_path=raw.path("resources", "gpu_type"),
            memory_path=raw.path("resources", "gpu_memory"),
        )
    return Resources(
        cpu=_qty(raw.get("resources", "cpu")),
        memory=_qty(raw.get("resources", "memory")),
        cpu_path=raw.path("resources", "cpu"),
        memory_path=raw.path("resources", "memory"),
        gpu=gpu,
        path=raw.path("resources", "cpu"),
    )


def orchestration(raw: Raw) -> Orchestration:
    limit = raw.get("orchestration", "budget_daily_limit")
    cost = raw.get("orchestration", "budget_cost_per_job")
    on = raw.get("orchestration", "on_budget_exceeded")
    budget = None
    if limit is not None or cost is not None or on is not None:
        budget = Budget(
            daily_limit=float(limit) if limit is not None else None,
            cost_per_job=float(cost) if cost is not None else None,
            on_exceeded=on or "",
            path=raw.path("orchestration", "budget_cost_per_job")
            if cost is not None
            else raw.path("orchestration", "budget_daily_limit"),
        )
    schedule = raw.get("orchestration", "schedule_type", default="")
    affinity = raw.get("orchestration", "gpu_affinity", default="")
    if schedule == "gpu_affinity":
        # legacy: schedule_type = "gpu_affinity" + gpu_batch_group = G is gpu_affinity = G
        schedule = ""
    return Orchestration(
        schedule_type=schedule,
        queue_name=raw.get("orchestration", "queue_name", default=""),
        batch_group=raw.get("orchestration", "batch_group", default=""),
        gpu_affinity=affinity,
        budget=budget,
        path=raw.path("orchestration", "schedule_type"),
        queue_path=raw.path("orchestration", "queue_name")
        if ("orchestration", "queue_name") in raw.origin
        else raw.path("orchestration", "schedule_type"),
        gpu_affinity_path=raw.path("orchestration", "gpu_affinity"),
    )


def names(raw: Raw, key: tuple, diags: Diagnostics) -> tuple[Name, ...]:
    out = []
    base = raw.path(*key)
    for i, v in enumerate(raw.get(*key, default=[])):
        out.append(Name(value=v, path=join(base, i)))
    return tuple(out)


def build_job(raw: Raw, diags: Diagnostics) -> Optional[Job]:
    image = raw.get("container", "image")
    if image is None:
        diags.error(
            "E0103",
            f"job {raw.name} has no container image",
            raw.file,
            "$.b00t",
            key=True,
            help='add [b00t.container] image = "registry/name:tag"',
        )
        return None
    apath = raw.path("container", "args")
    container = Container(
        image=value(raw, image, raw.path("container", "image"), diags),
        command=tuple(
            value(raw, a, raw.elem_path(("container", "command"), i), diags)
            for i, a in enumerate(raw.get("container", "command", default=[]))
        ),
        args=tuple(
            value(raw, a, join(apath, i), diags)
            for i, a in enumerate(raw.get("container", "args", default=[]))
        ),
        path=raw.path("container", "image"),
    )
    return Job(
        name=raw.name,
        file=raw.file,
        hint=raw.get("hint", default=""),
        container=container,
        env=env_vars(raw, diags),
        requires_stacks=names(raw, ("dependencies", "requires_stacks"), diags),
        wait_for_services=names(raw, ("dependencies", "wait_for_services"), diags),
        resources=resources(raw),
        orchestration=orchestration(raw),
    )


def build_stack(raw: Raw, diags: Diagnostics) -> Stack:
    services = []
    for name, (port, proto) in raw.get("services", default={}).items():
        services.append(
            ServiceDecl(name=name, port=port, protocol=proto, path=raw.origin[("services", name)])
        )
    return Stack(
        name=raw.name,
        file=raw.file,
        hint=raw.get("hint", default=""),
        member_names=names(raw, ("members",), diags),
        requires_stacks=names(raw, ("dependencies", "requires_stacks"), diags),
        services=tuple(services),
        env=env_vars(raw, diags),
        resources=resources(raw),
        orchestration=orchestration(raw),
    )


def member_image(raw: Raw) -> tuple[Optional[str], str]:
    """A docker datum's image and where it is written: ``image``, else ``oci_uri`` (an
    image reference, b00t-keys.md); (None, "") when it has neither."""
    for key in ("image", "oci_uri"):
        if raw.get(key) is not None:
            return raw.get(key), raw.path(key)
    return None, ""


def no_image_help(raw: Raw) -> str:
    where = raw.get("resource_path")
    built = (
        f"resource_path = {where!r} is a Dockerfile or compose folder, which b00tc does not "
        "build: build and push the image, then " if where is not None else ""
    )
    return built + 'add image = "registry/name:tag" under [b00t] (or an oci_uri)'


def build_member(raw: Raw, diags: Diagnostics) -> Optional[Member]:
    image, image_path = member_image(raw)
    if image is None:
        has_path = raw.get("resource_path") is not None
        diags.error(
            "E0103",
            f"docker datum {raw.name} has no image"
            + (" (it has a resource_path, which b00tc does not build)" if has_path else ""),
            raw.file,
            raw.path("resource_path") if has_path else "$.b00t",
            key=True,
            help=no_image_help(raw),
        )
        return None
    apath = raw.path("args")
    args = parse_docker_args(raw, raw.get("docker_args", default=[]), raw.path("docker_args"), diags)
    env = env_vars(raw, diags) + tuple(
        EnvVar(name=n, value=value(raw, v, p, diags), path=p) for n, v, p in args.env
    )
    res = resources(raw)
    if args.gpus and raw.get("resources", "gpu_count") is None:
        # --gpus N is the count; gpu_type/gpu_memory/gpu_shared (which alone imply one
        # GPU) still describe those GPUs. An explicit gpu_count wins over --gpus.
        gpu = res.gpu or Gpu(count=0, shared=bool(raw.get("resources", "gpu_shared", default=False)))
        res = msgspec.structs.replace(
            res,
            gpu=msgspec.structs.replace(gpu, count=args.gpus, path=args.gpus_path),
        )
    return Member(
        name=raw.name,
        datum=f"{raw.name}.docker",
        file=raw.file,
        hint=raw.get("hint", default=""),
        container=Container(
            image=value(raw, image, image_path, diags),
            command=tuple(
                value(raw, a, raw.elem_path(("command",), i), diags)
                for i, a in enumerate(raw.get("command", default=[]))
            ),
            args=tuple(
                value(raw, a, join(apath, i), diags)
                for i, a in enumerate(raw.get("args", default=[]))
            ),
            path=image_path,
        ),
        env=env,
        ports=args.ports,
        mounts=args.mounts,
        restart=args.restart,
        health=_health(args.health),
        container_name=args.name,
        restart_path=args.restart_path,
        container_name_path=args.name_path,
        resources=res,
        orchestration=orchestration(raw),
    )


def _health(flags: dict) -> "Health | None":
    """The Health of ``--health-*`` flags (parse_docker_args read and checked them)."""
    if "cmd" not in flags:
        return None
    cmd, path = flags["cmd"]
    timing = {f"{k.replace('-', '_')}_ms" if k != "retries" else k: v for k, (v, _) in flags.items() if k != "cmd"}
    return Health(cmd=cmd, path=path, **timing)
