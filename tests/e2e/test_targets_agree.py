"""One observation across targets: the conformance job's exit code, the page it fetched
through its resolved endpoint, and the environment it saw, from the compose run (Docker
engine), the k8s run (podman kube play; env as kubelet would give it, see
test_k8s_podman.py) and the bash run (on this host, against the stack started by the
stack script, once it serves: see test_bash.py for the wait that does not hold the job
back). The endpoint, host and port are the one intended difference between targets
(README, "How each intent lands on each target"); with them replaced by placeholders,
everything must be equal.

The table is printed (``print``) and also written at the end of the run by
conftest.pytest_terminal_summary, so it shows with or without ``-s``.
"""

from __future__ import annotations

from tests.e2e import machine
from tests.e2e.probe import EXIT_CODE, PAGE, env_mismatches, expected_env, normalized, table


def test_targets_agree(compose_run, k8s_run, bash_runs):
    obs = {"compose": compose_run.obs, "k8s": k8s_run.obs, "bash": bash_runs.ready}
    late = {"compose": compose_run.obs, "k8s": k8s_run.obs, "bash": bash_runs.late}
    n = len(expected_env("compose"))

    def exact(o):
        bad = env_mismatches(o.env, expected_env(o.target))
        return f"{n - len(bad)}/{n} exact" if bad else f"{n}/{n} exact"

    def waited(o):
        return "yes" if o.waited else "NO (b00tc bug: see test_bash.py)" if o.target == "bash" else "NO"

    base = normalized(obs["compose"].env, "compose")
    rows = [
        ("observation", "compose (docker-compose v1)", "k8s (podman kube play)", "bash (direct, this host)"),
        ("exit code", *(str(o.exit_code) for o in obs.values())),
        ("endpoint seen", *(o.endpoint for o in obs.values())),
        ("page fetched via endpoint", *(repr(o.page) for o in obs.values())),
        ("env values (datum's)", *(exact(o) for o in obs.values())),
        ("env equal to compose's*", *("yes" if normalized(o.env, o.target) == base else "NO" for o in obs.values())),
        ("job held back by late service", *(waited(o) for o in late.values())),
        ("seconds, job launch to exit", *(f"{o.seconds:.1f}" for o in obs.values())),
    ]
    text = table(rows) + "\n* with each target's endpoint, host and port replaced by placeholders"
    print("\n" + text)
    machine.SUMMARY.append(("b00tc e2e: the conformance job on each target", text))

    assert {o.exit_code for o in obs.values()} == {EXIT_CODE}
    assert {o.page for o in obs.values()} == {PAGE}
    for o in obs.values():
        assert not env_mismatches(o.env, expected_env(o.target)), o.target
        assert normalized(o.env, o.target) == base, o.target
