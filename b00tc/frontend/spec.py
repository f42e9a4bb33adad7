"""What a datum may contain: every key of both shapes, its type, and where a legacy key
lands in the canonical shape. One table drives key checking, type checking and
normalisation, so the canonical and the legacy shape cannot drift apart."""

from __future__ import annotations

from typing import Optional, Union

import msgspec

# leaf kinds
STR = "a string"
STRLIST = "an array of strings"
ARGV = "a string or an array of strings"
INT = "an integer"
NUM = "a number"
BOOL = "a boolean"
QTY = "a number or a string"  # cpu, memory
STRMAP = "a table of strings"


class Leaf(msgspec.Struct, frozen=True):
    kind: str
    to: Optional[tuple] = None  # canonical path (relative to [b00t]); None: same as source
    required: bool = False
    choices: tuple = ()


class Table(msgspec.Struct, frozen=True):
    keys: dict
    to: Optional[tuple] = None  # canonical prefix; None: same as source
    #: keys accepted and ignored in this table (beside the global informational ones)
    ignored: frozenset = frozenset()


class Services(msgspec.Struct, frozen=True):
    """[b00t.services]: name -> { port, protocol }."""

    to: Optional[tuple] = None


class EnvMap(msgspec.Struct, frozen=True):
    to: Optional[tuple] = None


Spec = Union[Leaf, Table, Services, EnvMap]

#: b00t's informational keys: accepted anywhere in a datum and ignored (datum-language.md).
INFORMATIONAL = frozenset(
    {
        "usage",
        "learn",
        "desires",
        "lfmf_category",
        "depends_on",
        "k8s_compatible",
        "pod_template_source",
        "gpu_epoch",
        "version",
        "parent",
        "trigger_words",
        "references",
        "entangled_cli",
        "tags",
        "default_budget",
        "budget_currency",
        "gpu_enabled",
        "budget_tracking",
        "gpu_sharing",
        "time_slicing",
        "webhook_url",
    }
)

SCHEDULE_TYPES = (
    "queue_based",
    "gpu_affinity",
    "budget_aware",
    "time_based",
    "resource_based",
    "monitoring",
)

RESOURCES = Table(
    {
        "cpu": Leaf(QTY),
        "memory": Leaf(QTY),
        "gpu_count": Leaf(INT),
        "gpu_type": Leaf(STR),
        "gpu_shared": Leaf(BOOL),
        "gpu_memory": Leaf(QTY),
    }
)

ORCHESTRATION = Table(
    {
        "schedule_type": Leaf(STR, choices=SCHEDULE_TYPES),
        "queue_name": Leaf(STR),
        "batch_group": Leaf(STR),
        "gpu_affinity": Leaf(STR),
        "budget_daily_limit": Leaf(NUM),
        "budget_cost_per_job": Leaf(NUM),
        "on_budget_exceeded": Leaf(STR),
        # legacy shape
        "requires_stacks": Leaf(STRLIST, to=("dependencies", "requires_stacks")),
        "wait_for_services": Leaf(STRLIST, to=("dependencies", "wait_for_services")),
        "gpu_batch_group": Leaf(STR, to=("orchestration", "gpu_affinity")),
        "resource_requirements": Table(
            {
                "cpu": Leaf(QTY, to=("resources", "cpu")),
                "memory": Leaf(QTY, to=("resources", "memory")),
            },
            to=("resources",),
            ignored=frozenset({"gpu"}),  # n8n.docker.toml: gpu = "optional"
        ),
        "gpu_requirements": Table(
            {
                "count": Leaf(INT, to=("resources", "gpu_count")),
                "gpu_type": Leaf(STR, to=("resources", "gpu_type")),
                "shared": Leaf(BOOL, to=("resources", "gpu_shared")),
                "memory": Leaf(QTY, to=("resources", "gpu_memory")),
            },
            to=("resources",),
        ),
        "budget_constraint": Table(
            {
                "daily_limit": Leaf(NUM, to=("orchestration", "budget_daily_limit")),
                "cost_per_job": Leaf(NUM, to=("orchestration", "budget_cost_per_job")),
                "on_budget_exceeded": Leaf(STR, to=("orchestration", "on_budget_exceeded")),
            },
            to=("orchestration",),
        ),
    }
)

DEPENDENCIES = Table({"requires_stacks": Leaf(STRLIST), "wait_for_services": Leaf(STRLIST)})

CONTAINER = Table({"image": Leaf(STR, required=True), "command": Leaf(ARGV), "args": Leaf(STRLIST)})

_COMMON = {"name": Leaf(STR, required=True), "type": Leaf(STR, required=True), "hint": Leaf(STR)}

JOB = Table(
    {
        **_COMMON,
        "container": CONTAINER,
        "env": EnvMap(),
        "dependencies": DEPENDENCIES,
        "resources": RESOURCES,
        "orchestration": ORCHESTRATION,
        # legacy shape
        "image": Leaf(STR, to=("container", "image")),
        "command": Leaf(ARGV, to=("container", "command")),
        "args": Leaf(STRLIST, to=("container", "args")),
    }
)

STACK = Table(
    {
        **_COMMON,
        "members": Leaf(STRLIST),
        "env": EnvMap(),
        "dependencies": DEPENDENCIES,
        "resources": RESOURCES,
        "orchestration": ORCHESTRATION,
        "services": Services(),
    }
)

DOCKER = Table(
    {
        **_COMMON,
        "image": Leaf(STR),
        "docker_args": Leaf(STRLIST),
        "command": Leaf(ARGV),
        "args": Leaf(STRLIST),
        "env": EnvMap(),
        "resources": RESOURCES,
        "orchestration": ORCHESTRATION,
        # the canonical container table, accepted on members too
        "container": Table(
            {
                "image": Leaf(STR, to=("image",)),
                "command": Leaf(ARGV, to=("command",)),
                "args": Leaf(STRLIST, to=("args",)),
            },
            to=(),
        ),
    }
)

BY_TYPE = {"job": JOB, "stack": STACK, "docker": DOCKER}

#: where the legacy top-level [env] lands
TOP_LEVEL_ENV = ("env",)
