"""The execution layer: what to run for a compiled datum, on which orchestrator, and how.

It sits beside the compiler, never inside it: ``b00tc.compiler.build`` stays hermetic (it
reads datums and writes text, nothing else), and only this package probes the host
(``detect``), runs orchestrators (``deploy``) or speaks MCP (``mcp_client``,
``mcp_server``). Nothing here is imported by ``b00tc build``.

    orchestrators.py  the four orchestrators: target, file names, how to get each
    config.py         the user config file (default orchestrator, MCP servers)
    detect.py         is an orchestrator usable here? (exit status and output, with timeouts)
    plan.py           AdapterOutput: manifests, shell commands and MCP tool calls
    profiles.py       the MCP servers b00tc knows and the arguments their tools accept
    deploy.py         write the manifests and run the plan (CLI or MCP)
    mcp_client.py     call MCP tools with the ``mcp`` SDK
    mcp_server.py     b00tc itself as an MCP server (``b00tc mcp``)
"""
