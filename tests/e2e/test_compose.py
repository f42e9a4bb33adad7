"""compose, for real: b00tc's docker-compose file for the conformance job, run by
docker-compose v1 on the private Docker engine (conftest.py).

``docker-compose -p S -f e2e.compose.yaml up -d`` brings the stack up in its own project
(its members page and side, on the network b00t-e2e); then ``docker-compose -p P -f
probe.compose.yaml up -d probe`` runs the ``wait-for-page`` helper (which joins b00t-e2e,
``service_completed_successfully``), then the job on that network; ``docker wait`` gives
its exit code and ``docker logs`` what it printed (tests/e2e/runs.py, ``run_compose``).
"""

from __future__ import annotations

from tests.e2e.probe import EXIT_CODE, LATE, MEMBER_ENV, PAGE, PAGE_PORT, env_mismatches, expected_env


def test_job_starts_only_once_its_late_service_answers(compose_run):
    """page's httpd listens LATE seconds after its container starts; the job fetches once,
    without retrying. Its fetch succeeded, it started at least LATE seconds after page did,
    and the wait helper saw the port come up and exited 0."""
    r = compose_run
    assert r.obs.page == PAGE, r.obs.page
    assert r.probe_started - r.page_started >= LATE - 0.5, (r.page_started, r.probe_started)
    assert r.wait_exit == 0
    assert f"b00tc: page:{PAGE_PORT} is up" in r.wait_logs, r.wait_logs
    assert r.obs.waited


def test_job_reaches_the_service_through_its_endpoint(compose_run):
    assert compose_run.obs.endpoint == f"http://page:{PAGE_PORT}"
    assert compose_run.obs.page == PAGE


def test_job_sees_every_env_value_exactly(compose_run):
    assert compose_run.obs.env.keys() == expected_env("compose").keys()
    assert not env_mismatches(compose_run.obs.env, expected_env("compose"))


def test_job_exit_code_comes_back(compose_run):
    assert compose_run.obs.exit_code == EXIT_CODE


def test_stack_members_run_with_their_env(compose_run):
    """The stack's members, in the stack's project: page with the stack's env and its own,
    serving on its published port; side running."""
    r = compose_run
    assert {k: r.page_env.get(k) for k in MEMBER_ENV} == MEMBER_ENV
    assert r.side_running
    assert r.host_page == PAGE


def test_cpu_and_memory_limits_reach_the_container(compose_run):
    """limits.job.toml (cpu = 0.5, memory = "64Mi") -> deploy.resources.limits, which
    docker-compose 1.29 applies: visible in docker inspect."""
    r = compose_run
    assert r.limits_exit == 0 and r.limits_logs == "limited\n"
    assert r.limits_host_config["NanoCpus"] == 500_000_000
    assert r.limits_host_config["Memory"] == 64 * 1024 * 1024
