"""The ``start`` function of the bash target's stack scripts (its own module: bash.py
holds the rest of the script)."""

#: ``start NAME ARGS...``: ``docker run -d ARGS`` unless the container NAME runs already
#: with the same ARGS (their hash, in the label ``b00t.io/config-hash``, taken when the
#: values of the host variables are known): ``up`` twice leaves a running stack alone, as
#: ``docker compose up -d`` does, and replaces a b00tc container whose options changed or
#: that stopped (``docker run --name`` of an existing name failed). A container of that
#: name that b00tc did not create is left alone and ``up`` fails, saying so.
START = [
    "start() {",
    "  local name=$1 hash current",
    "  shift",
    "  hash=$(printf '%s\\0' \"$@\" | sha256sum | cut -c1-32)",
    "  current=$(\"$runtime\" inspect -f '{{index .Config.Labels \"app.kubernetes.io/managed-by\"}} "
    "{{index .Config.Labels \"b00t.io/config-hash\"}} {{.State.Running}}' \"$name\" 2>/dev/null || true)",
    "  case $current in",
    "    '') ;;",
    "    \"b00tc $hash true\")",
    "      echo \"$name: running, unchanged\" >&2",
    "      return 0",
    "      ;;",
    "    'b00tc '*) \"$runtime\" rm -f \"$name\" >/dev/null ;;",
    "    *)",
    "      echo \"$name: a container that b00tc did not create has this name: remove or rename it\" >&2",
    "      return 1",
    "      ;;",
    "  esac",
    "  \"$runtime\" run -d --label \"b00t.io/config-hash=$hash\" \"$@\"",
    "}",
    "",
]
