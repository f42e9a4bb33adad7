"""The execution layer: what to run for a compiled datum, on which orchestrator, and how.

It sits beside the compiler, never inside it: ``b00tc.compiler.build`` stays hermetic (it
reads datums and writes text, nothing else), and only this package probes the host, runs
orchestrators or speaks MCP. Nothing here is imported by ``b00tc build``; cli.py's runtime
commands only read their arguments and print what these modules give back.

    model.py          the data: Manifest, Command, McpCommand, AdapterOutput (a plan),
                      Deployed, Options, Status, ObjectState, Availability, MCP profiles,
                      and the errors the runtime commands end with
    orchestrators/    one module per orchestrator (kubernetes, compose, nomad, direct) behind
                      base.Orchestrator, registered by name and imported only when used
    plan.py           a build's root datums and the plan for one orchestrator (b00tc plan)
    deploy.py         write the manifests and run the plan, CLI or MCP (b00tc deploy)
    lifecycle.py      status, logs and down of a build's datums (CLI or MCP)
    detect.py         which orchestrators are usable here, and which one to use
    process.py        running an orchestrator's CLI: probes with timeouts, captured runs, JSON
    containers.py     a datum's containers from ``docker inspect`` (compose, direct stacks)
    state.py          the direct job supervisor and its state folder
    names.py          datums by NAME on the search path
    config.py         the user config file (default orchestrator, MCP servers)
    profiles.py       the MCP servers b00tc knows and the arguments their tools accept
    mcp_datums.py     which MCP server to start: the config, an MCP datum, the bundled one
    mcp_client.py     call MCP tools with the ``mcp`` SDK
    mcp_server.py     b00tc itself as an MCP server (``b00tc mcp``)
"""
