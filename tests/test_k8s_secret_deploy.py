"""Deploy's side of the k8s Secrets: ``Kubernetes.value_commands`` and ``value_mcp_calls``
turn the build's k8s stores (``EnvFile`` kind k8s), resolved by ``resolve_store``, into
``kubectl apply -f -`` with the Secret on stdin, or the profile's apply tool. The values
travel base64 in ``data``, exact bytes, and never on a command line or in what is shown."""

from __future__ import annotations

import base64
import json

import kubernetes_validate
import pytest
import yaml

from b00tc.backends._envfile import EnvFile
from b00tc.diagnostics import Diagnostics
from b00tc.envfiles import resolve_store
from b00tc.runtime.model import Deployed, Options
from b00tc.runtime.orchestrators.kubernetes import Kubernetes
from b00tc.runtime.profiles import PROFILES
from tests.helpers import compile_, files, rendered

HOST_VARS = "tests/cases/host-vars.job.toml"
HOSTILE = {
    "GREETING": "hi \"there\" 'x' $(HOME) $$ \\ back\nnew line  ünïcødé ☃",
    "REQUIRED_TOKEN": "tok=en;--set X=1 `id`",
    "MAYBE": "",
    "CHECKED": "staging\t\u2028",
}


def stores_and_values(paths, host_env, includes=()):
    result = compile_(paths, targets=["k8s"], env={}, includes=includes)
    assert result.ok, rendered(result)
    stores = [s for s in result.env_files if s.kind == "k8s"]
    diags = Diagnostics()
    values = [resolve_store(s, host_env, diags) for s in stores]
    assert all(v is not None for v in values), [d.message for d in diags]
    return result, stores, values


def decoded(data: dict) -> dict:
    return {k: base64.b64decode(v).decode("utf-8") for k, v in data.items()}


def test_one_kubectl_apply_per_secret_with_the_secret_on_stdin():
    result, stores, values = stores_and_values([HOST_VARS], HOSTILE)
    (store,), (vals,) = stores, values
    assert vals["GREETING"] == HOSTILE["GREETING"] and vals["GREETING.2"] == HOSTILE["GREETING"]
    assert vals["MAYBE"] == "" and vals["CHECKED"] == HOSTILE["CHECKED"]
    (cmd,) = Kubernetes().value_commands(stores, values, Options())
    assert cmd.argv == ["kubectl", "apply", "-f", "-"]
    assert cmd.stdin_what == "Secret host-vars: 5 keys"
    secret = json.loads(cmd.stdin)
    assert secret["apiVersion"] == "v1" and secret["kind"] == "Secret" and secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == "host-vars"
    assert decoded(secret["data"]) == vals
    assert list(secret["data"]) == ["GREETING", "REQUIRED_TOKEN", "MAYBE", "CHECKED", "GREETING.2"]
    for version in ("1.25", "1.33"):
        kubernetes_validate.validate(secret, version, strict=True)
    shown = " ".join(cmd.argv) + cmd.stdin_what + cmd.text() + repr(cmd)
    for value in HOSTILE.values():
        assert not value or value not in shown
    assert cmd.text() == "kubectl apply -f - < (Secret host-vars: 5 keys)"


def test_the_secret_carries_the_labels_down_selects_by():
    """A job's Secret its Job's labels (``b00t.io/datum=<job>.job``); a member's its
    Deployment's (``part-of=<stack>``)."""
    result, stores, values = stores_and_values([HOST_VARS], HOSTILE)
    (cmd,) = Kubernetes().value_commands(stores, values, Options())
    labels = json.loads(cmd.stdin)["metadata"]["labels"]
    (job,) = [d for d in yaml.safe_load_all(files(result, "k8s")["host-vars.yaml"]) if d]
    assert labels == job["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "b00tc" and labels["b00t.io/datum"] == "host-vars.job"

    store = EnvFile("web", "web", [], kind="k8s", labels=(("app.kubernetes.io/part-of", "shop"),))
    (cmd,) = Kubernetes().value_commands([store], [{"K": "v"}], Options())
    assert json.loads(cmd.stdin)["metadata"]["labels"] == {
        "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "b00tc"}


def test_context_namespace_and_other_kinds_of_store():
    store = EnvFile("s", "s", [], kind="k8s")
    other = EnvFile("/etc/b00t/s.env", "s", [], kind="systemd")
    cmds = Kubernetes().value_commands([other, store], [{"A": "1"}, {"B": "2"}], Options(namespace="ns", context="c"))
    assert [c.argv for c in cmds] == [["kubectl", "--context", "c", "apply", "-f", "-", "--namespace", "ns"]]
    assert cmds[0].stdin_what == "Secret s: 1 key"
    assert decoded(json.loads(cmds[0].stdin)["data"]) == {"B": "2"}
    assert Kubernetes().value_commands([], [], Options()) == []


def test_bytes_are_exact():
    """base64 carries what YAML or a shell would change: a NUL-free but otherwise any text."""
    text = "\r\n \x7f\u00a0\ufeff\U0001F642 '\"$$(X)"
    (cmd,) = Kubernetes().value_commands([EnvFile("s", "s", [], kind="k8s")], [{"K": text}], Options())
    assert base64.b64decode(json.loads(cmd.stdin)["data"]["K"]) == text.encode("utf-8")


@pytest.mark.parametrize("profile", ["kubernetes-mcp", "kubernetes-mcp-server", "kubectl-mcp-server",
                                     "mcp-server-kubernetes"])
def test_value_mcp_calls_give_the_secret_to_the_apply_tool(profile):
    p = PROFILES[profile]
    _, stores, values = stores_and_values([HOST_VARS], HOSTILE)
    (call,) = Kubernetes().value_mcp_calls(stores, values, Options(namespace="ns", context="c"), p)
    assert (call.server, call.tool) == (p.server, p.tool)
    manifest = call.arguments.get("manifest", call.arguments.get("resource"))
    secret = yaml.safe_load(manifest)
    assert secret["kind"] == "Secret" and decoded(secret["data"]) == values[0]
    if "namespace" in call.arguments:
        assert call.arguments["namespace"] == "ns"
    assert Kubernetes().value_mcp_calls(stores, values, Options(), None) == []


def test_members_have_a_secret_each(tmp_path):
    (tmp_path / "a.docker.toml").write_text(
        '[b00t]\nname = "a"\ntype = "docker"\nimage = "busybox"\n[b00t.env]\nP = "${PW}"\nQ = "x-${PW:-d}"\n')
    (tmp_path / "b.docker.toml").write_text(
        '[b00t]\nname = "b"\ntype = "docker"\nimage = "busybox"\ncommand = ["echo", "${PW}"]\n')
    (tmp_path / "s.stack.toml").write_text('[b00t]\nname = "s"\ntype = "stack"\nmembers = ["a.docker", "b.docker"]\n')
    _, stores, values = stores_and_values([str(tmp_path / "s.stack.toml")], {"PW": "pw"})
    cmds = Kubernetes().value_commands(stores, values, Options())
    secrets = [json.loads(c.stdin) for c in cmds]
    assert [(s["metadata"]["name"], decoded(s["data"])) for s in secrets] == [
        ("a", {"PW": "pw", "PW.2": "pw"}), ("b", {"PW": "pw"})]
    assert all(s["metadata"]["labels"]["app.kubernetes.io/part-of"] == "s" for s in secrets)
    assert [c.stdin_what for c in cmds] == ["Secret a: 2 keys", "Secret b: 1 key"]


def test_down_deletes_the_secrets_too():
    k = Kubernetes()
    (down,) = k.commands(Deployed("host-vars", "job"), "down", Options())
    assert "secrets" in down.argv[2].split(",")
    calls = k.mcp_calls(Deployed("host-vars", "job"), "down", Options(), PROFILES["mcp-server-kubernetes"])
    assert "secrets" in [c.arguments["resourceType"] for c in calls]
    (status,) = k.commands(Deployed("host-vars", "job"), "status", Options())
    assert "secrets" not in status.argv[2]  # `get -o json` would print their data
