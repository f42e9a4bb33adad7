"""How the k8s backend refers to host variables instead of holding their values: a Secret
per Job (named after the datum) or stack member (named after the member), which ``b00tc
deploy`` (or the user) creates; the build writes none.

- an env entry whose value is exactly one host variable reads the Secret's key
  (``valueFrom.secretKeyRef``);
- a value mixing text and host variables, in env, command or args, names env vars b00tc
  defines from the Secret (``B00T_<key>``, first in the container's env list, so defined
  before any entry that uses them) through Kubernetes' own dependent-variable expansion,
  ``$(B00T_<key>)``; the literal text around them stays escaped (``$$``);
- the image cannot refer to a Secret: its host variables are resolved at build time, with
  warning W0303.

One key per host variable form: the key is the variable's name; the same variable written
with another operator or argument (``${X}`` and ``${X:-a}``) gets the key ``X.2``, then
``X.3``, in order of first appearance. The Secret's value for a key is the variable
resolved with its operator (``b00tc.envfiles.resolve_store``), at deploy.
"""

from __future__ import annotations

from typing import Callable

from b00tc.backends._context import Context
from b00tc.backends._envfile import EnvEntry, EnvFile
from b00tc.backends._values import warn_resolved
from b00tc.ir import EnvVar, HostVar, Value

#: what b00tc names the env vars it defines from a Secret
PREFIX = "B00T_"


def secret_ref(secret: str, key: str) -> dict:
    return {"secretKeyRef": {"name": secret, "key": key}}


class SecretRefs:
    """The Secret one Job or Deployment reads, and the env vars defined from it."""

    def __init__(self, secret: str, unit: str, file: str, ctx: Context, taken: tuple[EnvVar, ...],
                 escape: Callable[[str], str], text: Callable[[Value], str], refs: Callable,
                 labels: dict) -> None:
        """``taken``: the container's own env entries, whose names b00tc's must not be;
        ``escape``: a literal made safe from the kubelet's expansion; ``text``: a value
        without host variables as text; ``refs``: a reference's text (the store's);
        ``labels``: those of the object that reads the Secret (the Secret carries them)."""
        self.store = EnvFile(secret, unit, [], kind="k8s", labels=tuple(labels.items()),
                             namespace=ctx.options["namespace"] or "")
        self.file, self.ctx, self.escape, self.text, self.refs = file, ctx, escape, text, refs
        self.taken = {e.name: e for e in taken}
        self.keys: dict[tuple[str, str, str], str] = {}
        self.defined: dict[str, dict] = {}  # env name -> its env entry, in order

    @property
    def name(self) -> str:
        return self.store.path

    def key(self, var: HostVar, path: str) -> str:
        form = (var.name, var.op, var.arg)
        key = self.keys.get(form)
        if key is None:
            n = sum(1 for f in self.keys if f[0] == var.name)
            key = var.name if n == 0 else f"{var.name}.{n + 1}"
            self.keys[form] = key
            self.store.entries.append(EnvEntry(key, Value(parts=(var,), path=path), self.file, self.refs))
        return key

    def defined_name(self, var: HostVar, path: str) -> str:
        """The env var b00tc defines from the Secret's key for ``var``."""
        key = self.key(var, path)
        name = PREFIX + key
        if name not in self.defined:
            if name in self.taken:
                e = self.taken[name]
                self.ctx.error(
                    "E0601",
                    f"the env name {name} is the one target k8s gives the host variable "
                    f"{var.name} of {path or 'a value'}, read from the Secret {self.name}",
                    self.file,
                    e.path or e.value.path,
                    help=f"rename the env entry: names {PREFIX}<key> are b00tc's on k8s",
                )
            self.defined[name] = {"name": name, "valueFrom": secret_ref(self.name, key)}
        return name

    def expanded(self, value: Value) -> str:
        """Text for env values, command and args: literals escaped, each host variable
        ``$(B00T_<key>)``."""
        if not value.host_vars:
            return self.escape(self.text(value))
        out: list[str] = []
        run: list = []  # the text and references since the last host variable
        for part in (*value.parts, None):
            if part is not None and type(part) is not HostVar:
                run.append(part)
                continue
            text = self.text(Value(parts=tuple(run), path=value.path)) if run else ""
            run = []
            if part is None:
                out.append(self.escape(text))
                break
            # what follows is "$(": a "$" that ends the text must be escaped as before one
            out.append(self.escape(text + "(")[:-1])
            out.append(f"$({self.defined_name(part, value.path)})")
        return "".join(out)

    def env_var(self, var: EnvVar) -> dict:
        parts = var.value.parts
        if len(parts) == 1 and type(parts[0]) is HostVar:
            return {"name": var.name, "valueFrom": secret_ref(self.name, self.key(parts[0], var.value.path))}
        return {"name": var.name, "value": self.expanded(var.value)}

    def image(self, value: Value) -> str:
        warn_resolved(value, self.ctx, self.file, "W0303", "the image",
                      "its value is written into the output (an image cannot be read from a Secret)",
                      help="write the image name in the datum, or keep only non-secret variables in it")
        return self.text(value)

    def env(self, entries: list[dict]) -> list[dict]:
        """The container's env: b00tc's definitions first, then ``entries``."""
        return [*self.defined.values(), *entries]

    def register(self) -> None:
        """Record the Secret on the build (what deploy fills), once."""
        if not self.store.entries:
            return
        for s in self.ctx.env_files:
            if s.kind == "k8s" and s.path == self.name and s.entries == self.store.entries:
                return
        self.ctx.env_files.append(self.store)
