"""Fake `docker`, `kind` and `kubectl` executables for PATH.

Each logs its argv (one JSON list per line) to $FAKE_LOG and behaves as the
real tool does for the twin's calls, steered by environment variables:
FAKE_DOCKER_DOWN, FAKE_IMAGE_MISSING, FAKE_CREATE_FAILS (kind's error line),
FAKE_SERVER (the API server URL written into created kubeconfigs) and the file
$FAKE_CLUSTERS (the kind clusters that exist, one per line).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SCRIPT = r'''#!{python}
import json, os, sys
from pathlib import Path
name = os.path.basename(sys.argv[0]); args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps([name, *args]) + "\n")
clusters_file = Path(os.environ["FAKE_CLUSTERS"])
clusters = [c for c in clusters_file.read_text().split() if c] if clusters_file.exists() else []
def flag(f):
    return args[args.index(f) + 1] if f in args else None
if name == "docker":
    if args[:1] == ["info"]:
        if os.environ.get("FAKE_DOCKER_DOWN"):
            sys.stderr.write("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                             "Is the docker daemon running?\n")
            sys.exit(1)
        print("27.3.1"); sys.exit(0)
    if args[:2] in (["image", "inspect"], ["manifest", "inspect"]):
        if os.environ.get("FAKE_IMAGE_MISSING"):
            sys.stderr.write("Error: No such image: " + args[-1] + "\n"); sys.exit(1)
        print("sha256:0123"); sys.exit(0)
    if args[:1] == ["build"]:
        sys.exit(0)
elif name == "kind":
    if args == ["version"]:
        print("kind v0.29.0 go1.24.2 linux/amd64"); sys.exit(0)
    if args[:2] == ["get", "clusters"]:
        if not clusters:
            sys.stderr.write("No kind clusters found.\n")
        for c in clusters:
            print(c)
        sys.exit(0)
    if args[:2] == ["create", "cluster"]:
        cname = flag("--name")
        if os.environ.get("FAKE_CREATE_FAILS"):
            sys.stderr.write("Creating cluster \"%s\" ...\n" % cname)
            sys.stderr.write(os.environ["FAKE_CREATE_FAILS"] + "\n"); sys.exit(1)
        if cname in clusters:
            sys.stderr.write('ERROR: failed to create cluster: node(s) already exist for a cluster '
                             'with the name "%s"\n' % cname); sys.exit(1)
        server = os.environ.get("FAKE_SERVER", "http://127.0.0.1:1")
        Path(flag("--kubeconfig")).write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "kind-" + cname,
            "clusters": [{"name": "kind-" + cname, "cluster": {"server": server}}],
            "users": [{"name": "kind-" + cname, "user": {"token": "t"}}],
            "contexts": [{"name": "kind-" + cname, "context": {"cluster": "kind-" + cname,
                                                                "user": "kind-" + cname}}]}))
        clusters_file.write_text("\n".join([*clusters, cname]) + "\n"); sys.exit(0)
    if args[:2] == ["delete", "cluster"]:
        cname = flag("--name")
        clusters_file.write_text("\n".join(c for c in clusters if c != cname) + "\n")
        sys.stderr.write('Deleting cluster "%s" ...\n' % cname); sys.exit(0)
    if args[:2] == ["load", "docker-image"]:
        sys.exit(0)
    if args[:2] == ["export", "kubeconfig"]:
        sys.exit(0)
elif name == "kubectl":
    if args[:2] == ["version", "--client"]:
        print(json.dumps({"clientVersion": {"gitVersion": "v1.33.1"}})); sys.exit(0)
sys.stderr.write("fake %s: unexpected %r\n" % (name, args)); sys.exit(2)
'''


def install(bin_dir: Path, tools: tuple[str, ...] = ("docker", "kind", "kubectl")) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        path = bin_dir / tool
        path.write_text(SCRIPT.replace("{python}", sys.executable))
        path.chmod(0o755)


def commands(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def environ(tmp: Path, bin_dir: Path) -> dict[str, str]:
    return {"PATH": str(bin_dir), "FAKE_LOG": str(tmp / "commands.log"),
            "FAKE_CLUSTERS": str(tmp / "clusters"), "TWIN_STATE_DIR": str(tmp / "state"),
            "HOME": str(tmp / "home")}


__all__ = ["commands", "environ", "install", "os"]
