"""What a datum may contain: every key of both shapes, its type, and where a legacy key
lands in the canonical shape. One table drives key checking, type checking and
normalisation, so the canonical and the legacy shape cannot drift apart.

Beside b00tc's keys, the keys b00t's own reader knows (``B00T_KEYS``, from
b00t-keys.md): b00t ignores a key it does not know, so a datum b00t runs compiles here
too. A ``Table`` with ``b00t`` set is one of b00t's tables (unknown key: W0105); one
without is a table b00tc defines (unknown key: E0101)."""

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
    #: None: a table b00tc defines (b00t has no such table), where an unknown key can only
    #: be a typo: error E0101. Else a table of b00t's reader, which ignores what it does
    #: not know: here are the keys it knows and b00tc ignores (a value of ``B00T_KEYS``'
    #: shape), and a key neither knows is warning W0105 (b00t-keys.md).
    b00t: Optional[dict] = None


class Known(msgspec.Struct, frozen=True):
    """A table b00t's reader knows and b00tc ignores: the keys b00t reads in it (None:
    any key), or in each of its tables when ``many`` (an array of tables)."""

    keys: Optional[frozenset] = None
    many: bool = False


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

#: b00t-keys.md: the keys of [b00t] that b00t's reader knows. None: a value b00tc does not
#: look into; Known: a table whose keys b00t reads (an unknown one in it is W0105).
OPEN = Known()
B00T_KEYS: dict = {
    **dict.fromkeys(
        "name type hint desires status enabled status_msg replacement auto_install skills "
        "compliance version update version_regex requires_sudo uninstall hook_detect "
        "hook_install hook_update hook_learn hook_uninstall require command args vsix_id "
        "script image docker_args oci_uri resource_path chart_path namespace values_file dsn "
        "keywords package_name aliases url branch clone_path entangled_agents entangled_cli "
        "entangled_mcp entangled_ai_models entangled_apis entangled_docker entangled_k8s "
        "channel_prefix depends_on members lfmf_category protocol implements".split()
    ),
    "git_attributes": OPEN,
    "install": Known(frozenset({"requires"})),  # or a string
    "gate": Known(frozenset("command file env rhai knowledge_backend hint".split()), many=True),
    "requirements": Known(
        frozenset("name capability kind command file pattern datum service host port solve hint".split()),
        many=True,
    ),
    "ansible": OPEN,
    "justfile": OPEN,
    "mcp": Known(frozenset({"stdio", "httpstream"})),
    "k0mmand3r": Known(frozenset({"slash", "hidden", "description"})),
    "learn": Known(frozenset({"topic", "inline", "auto_digest"})),
    "usage": Known(frozenset({"description", "command", "output"}), many=True),
    "references": Known(frozenset({"name", "label", "url"}), many=True),
    "provides": Known(frozenset({"capability"})),
    "env": OPEN,
    # open tables: b00t keeps them as untyped JSON
    "stack": OPEN,
    "job": OPEN,
    "skill": OPEN,
}

#: [b00t.orchestration], b00t's OrchestrationConfig (every key b00tc reads too)
ORCHESTRATION_KEYS: dict = {
    **dict.fromkeys("budget_currency schedule_type gpu_batch_group requires_stacks queue_name".split()),
    "budget_constraint": Known(frozenset({"daily_limit", "cost_per_job", "on_budget_exceeded"})),
    "resource_requirements": OPEN,
    "gpu_requirements": Known(frozenset({"count", "memory", "gpu_type"})),
}

#: the top level of a datum file, beside [b00t] (b00t ignores any other table there)
TOP_LEVEL_KEYS: dict = {"b00t": None, "env": OPEN, "sections": OPEN}

#: schedule_type values b00tc knows: queue_based (a queue label where the target has
#: one), gpu_affinity (legacy: with gpu_batch_group), and the hints b00t's n8n.docker.toml
#: names, recorded. b00t takes any string: another value (b00t-keys.md's example is
#: "monitoring") is W0106, recorded and otherwise ignored.
SCHEDULE_TYPES = (
    "queue_based",
    "gpu_affinity",
    "budget_aware",
    "time_based",
    "resource_based",
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
            b00t={},  # b00t: a table of strings; b00tc reads cpu and memory
        ),
        "gpu_requirements": Table(
            {
                "count": Leaf(INT, to=("resources", "gpu_count")),
                "gpu_type": Leaf(STR, to=("resources", "gpu_type")),
                "shared": Leaf(BOOL, to=("resources", "gpu_shared")),
                "memory": Leaf(QTY, to=("resources", "gpu_memory")),
            },
            to=("resources",),
            b00t={},
        ),
        "budget_constraint": Table(
            {
                "daily_limit": Leaf(NUM, to=("orchestration", "budget_daily_limit")),
                "cost_per_job": Leaf(NUM, to=("orchestration", "budget_cost_per_job")),
                "on_budget_exceeded": Leaf(STR, to=("orchestration", "on_budget_exceeded")),
            },
            to=("orchestration",),
            b00t={},
        ),
    },
    b00t=ORCHESTRATION_KEYS,
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
    },
    b00t=B00T_KEYS,
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
    },
    b00t=B00T_KEYS,
)

DOCKER = Table(
    {
        **_COMMON,
        "image": Leaf(STR),
        "docker_args": Leaf(STRLIST),
        "oci_uri": Leaf(STR),  # an image reference: the image when there is no `image`
        "resource_path": Leaf(STR),  # a Dockerfile or compose folder: named, not built
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
    },
    b00t=B00T_KEYS,
)

BY_TYPE = {"job": JOB, "stack": STACK, "docker": DOCKER}

#: which datum types read each key of [b00t] (for the warning on another type's key)
READ_BY: dict = {}
for _kind, _table in BY_TYPE.items():
    for _key in _table.keys:
        READ_BY.setdefault(_key, []).append(_kind)

#: where the legacy top-level [env] lands
TOP_LEVEL_ENV = ("env",)

#: a ``*.k8s`` stack member: b00tc deploys the Helm chart it names (``chart_path``) on
#: Kubernetes (b00t-keys.md "Helm chart datums"). Not a root datum type: not in BY_TYPE.
#: Its [b00t.orchestration] hints are b00t's own (budget webhooks, GPU sharing): not read.
K8S = Table(
    {
        **_COMMON,
        "chart_path": Leaf(STR),
        "namespace": Leaf(STR),
        "values_file": Leaf(STR),
        "url": Leaf(STR),
    },
    ignored=frozenset({"orchestration"}),
    b00t=B00T_KEYS,
)

#: member datum types read with their own table when a stack names them
MEMBER_TYPES = {"k8s": K8S}
