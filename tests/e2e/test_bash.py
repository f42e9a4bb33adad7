"""bash (direct), for real: the stack script ``e2e.sh up|status|down`` starts and removes
the members on the private Docker engine (``B00T_CONTAINER_RUNTIME=docker``, ``DOCKER_HOST``
set), and the job script ``probe.sh`` runs the job ON THIS HOST (``busybox sh -c ...``,
``busybox wget``: /bin/busybox is busybox-static) against the published port
``localhost:28080``, after its bounded ``/dev/tcp`` wait (tests/e2e/runs.py, ``run_bash``).

The job runs in a small known environment (PATH, HOME, LC_ALL), not the test runner's.
"""

from __future__ import annotations


from tests.e2e.probe import EXIT_CODE, HOST_PORT, LATE, MEMBER_ENV, PAGE, env_mismatches, expected_env


def test_stack_script_up_status_down(bash_runs):
    r = bash_runs
    assert "e2e-page" in r.status and "e2e-side" in r.status, r.status
    assert {k: r.page_env.get(k) for k in MEMBER_ENV} == MEMBER_ENV
    assert r.left_after_down == "", f"left after down: {r.left_after_down!r}"


def test_job_starts_only_once_its_late_service_answers(bash_runs):
    """``e2e.sh up``, then at once ``probe.sh``: page's httpd listens LATE seconds after its
    container starts, so the job's one fetch succeeds only if the wait held it back.
    docker-proxy accepts on the published port before httpd listens (then closes the
    connection): this test found that a bare connect was not enough, and the wait now
    counts a connection closed at once as not ready."""
    late = bash_runs.late
    assert late.exit_code == EXIT_CODE
    assert late.page == PAGE, (
        f"the job ran {late.seconds:.1f} s after start (page listens after {LATE} s) and fetched "
        f"{late.page!r}; the script said {bash_runs.late_run.stderr!r}"
    )


def test_job_reaches_the_ready_service_through_its_endpoint(bash_runs):
    """The stack up and serving (the test waited for the page itself), then ``probe.sh``."""
    assert bash_runs.ready.endpoint == f"http://localhost:{HOST_PORT}"
    assert bash_runs.ready.page == PAGE
    assert f"b00tc: waiting for page (localhost:{HOST_PORT})" in bash_runs.ready_run.stderr


def test_job_sees_every_env_value_exactly(bash_runs):
    assert bash_runs.ready.env.keys() == expected_env("bash").keys()
    assert not env_mismatches(bash_runs.ready.env, expected_env("bash"))


def test_job_exit_code_comes_back(bash_runs):
    assert bash_runs.ready.exit_code == EXIT_CODE


def test_wait_gives_up_after_its_timeout(bash_runs):
    """Nothing listens on the port, B00T_WAIT_TIMEOUT=2: the script says so and exits 1,
    without running the job."""
    t = bash_runs.timeout_run
    assert t.code == 1, (t.code, t.stderr)
    assert f"b00tc: timed out after 2 s waiting for page at localhost:{HOST_PORT}" in t.stderr, t.stderr
    assert b"=== page" not in t.stdout
    assert 2 <= t.seconds < 15, t.seconds


def test_wait_rejects_a_timeout_that_is_not_a_number(bash_runs):
    t = bash_runs.bad_timeout_run
    assert t.code == 2, (t.code, t.stderr)
    assert "B00T_WAIT_TIMEOUT must be a whole number of seconds, not 'soon'" in t.stderr
    assert b"=== page" not in t.stdout


def test_limits_are_a_warning_and_the_job_runs(bash_runs):
    """README: cpu / memory on bash is "comment + warning" (W0301); the job still runs."""
    assert "warning[W0301]: target bash cannot express cpu 0.5 and memory 64Mi limits" in bash_runs.limits_warnings
    assert bash_runs.limits_run.code == 0 and bash_runs.limits_run.stdout == b"limited\n"
