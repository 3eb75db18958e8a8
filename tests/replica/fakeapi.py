"""A fake Kubernetes API server on 127.0.0.1 that answers like the apiserver
does for what the twin uses: discovery (/version, /api, /apis, /api/v1,
/apis/G/V), server-side apply (PATCH application/apply-patch+yaml with a
fieldManager), GET/LIST/DELETE of objects, CRDs that become Established and
then serve their kinds, scale and eviction subresources.

It records every request, and refuses what a real server refuses: apply without
a fieldManager, a body whose namespace differs from the path, a namespaced
object in a namespace that does not exist, a kind it does not serve.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

# (group, version, kind, plural, namespaced)
BUILTIN = [
    ("", "v1", "Namespace", "namespaces", False),
    ("", "v1", "Node", "nodes", False),
    ("", "v1", "Pod", "pods", True),
    ("", "v1", "Service", "services", True),
    ("", "v1", "ConfigMap", "configmaps", True),
    ("", "v1", "ServiceAccount", "serviceaccounts", True),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("apps", "v1", "Deployment", "deployments", True),
    ("apps", "v1", "StatefulSet", "statefulsets", True),
    ("apps", "v1", "DaemonSet", "daemonsets", True),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices", False),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False),
]
SUBRESOURCES = {"deployments": ["scale"], "statefulsets": ["scale"], "pods": ["eviction", "log", "exec"]}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class FakeAPI:
    """State and behaviour; `status_for(obj, polls)` decides rollout status on GET."""

    resources: list[tuple[str, str, str, str, bool]] = field(default_factory=lambda: list(BUILTIN))
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    crd_delay: float = 0.3
    ready_after: int = 1
    """GETs of a workload before its status says rolled out; a negative value never."""
    polls: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    evict_refusals: int = 0
    on_pod_create: Any = None
    """Called with a Pod's body when one is created: plays its kubelet (phase, `_log`)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    rv: int = 100

    def __post_init__(self) -> None:
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.objects[("", "Namespace", "", ns)] = self._meta(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def _meta(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        meta["resourceVersion"] = str(self.rv)
        meta.setdefault("generation", 1)
        return obj

    # ----------------------------------------------------------- lookups
    def by_plural(self, group: str, version: str, plural: str) -> tuple | None:
        return next((r for r in self.resources if r[0] == group and r[1] == version and r[3] == plural), None)

    def add(self, obj: dict[str, Any]) -> None:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        key = (group, obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.objects[key] = self._meta(copy.deepcopy(obj))

    def get(self, group: str, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((group, kind, ns, name))

    def applies(self) -> list[Request]:
        return [r for r in self.requests if r.method == "PATCH"
                and r.content_type.startswith("application/apply-patch+yaml")]

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "DELETE", "PATCH")]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


PATH = re.compile(
    r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")


def _field(obj: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _spec_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    strip = {"metadata", "status"}
    same_body = {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}
    ma, mb = a.get("metadata", {}), b.get("metadata", {})
    return same_body and ma.get("labels") == mb.get("labels") and ma.get("annotations") == mb.get("annotations")


def _rolled_out_status(obj: dict[str, Any]) -> dict[str, Any]:
    gen = obj["metadata"]["generation"]
    replicas = obj.get("spec", {}).get("replicas", 1)
    if obj["kind"] == "Deployment":
        return {"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas}
    if obj["kind"] == "DaemonSet":  # one pod on each of the kind cluster's three nodes
        return {"observedGeneration": gen, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "numberMisscheduled": 0,
                "updatedNumberScheduled": 3, "numberAvailable": 3, "numberReady": 3}
    return {"observedGeneration": gen, "replicas": replicas, "readyReplicas": replicas,
            "currentReplicas": replicas, "updatedReplicas": replicas,
            "currentRevision": "r1", "updateRevision": "r1"}


def _stuck_status(obj: dict[str, Any]) -> dict[str, Any]:
    gen = obj["metadata"]["generation"]
    replicas = obj.get("spec", {}).get("replicas", 1)
    if obj["kind"] == "Deployment":
        return {"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": 0, "availableReplicas": 0}
    if obj["kind"] == "DaemonSet":
        return {"observedGeneration": gen, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "numberMisscheduled": 0,
                "updatedNumberScheduled": 3, "numberAvailable": 0, "numberReady": 0}
    return {"observedGeneration": gen, "replicas": replicas, "readyReplicas": 0,
            "currentRevision": "r1", "updateRevision": "r1"}


def make_handler(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = (json.dumps(body) if not isinstance(body, str) else body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Request:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode()
            req = Request(self.command, url.path, parse_qs(url.query),
                          self.headers.get("Content-Type", ""), body)
            with api.lock:
                api.requests.append(req)
            return req

        def do_GET(self) -> None:
            req = self._record()
            with api.lock:
                self._get(req)

        def do_PATCH(self) -> None:
            req = self._record()
            with api.lock:
                self._patch(req)

        def do_DELETE(self) -> None:
            req = self._record()
            with api.lock:
                self._delete(req)

        def do_POST(self) -> None:
            req = self._record()
            with api.lock:
                self._post(req)

        # ---------------------------------------------------- discovery
        def _discovery(self, path: str) -> bool:
            path = path.rstrip("/") or "/"
            if path == "/version":
                self._send(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.1-fake",
                                 "gitCommit": "0", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                                 "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"})
            elif path == "/api":
                self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
            elif path == "/apis":
                groups: dict[str, list[str]] = {}
                for g, v, *_ in api.resources:
                    if g and v not in groups.setdefault(g, []):
                        groups[g].append(v)
                self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                     "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                    for g, vs in groups.items()]})
            else:
                m = re.match(r"^/(?:api/(v1)|apis/([^/]+)/([^/]+))$", path)
                if not m:
                    return False
                group, version = (m[2] or "", m[3] or m[1])
                found = [r for r in api.resources if r[0] == group and r[1] == version]
                if not found:
                    self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                    return True
                items = []
                for _g, _v, kind, plural, namespaced in found:
                    items.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                                  "kind": kind, "verbs": VERBS})
                    for sub in SUBRESOURCES.get(plural, []):
                        items.append({"name": f"{plural}/{sub}", "singularName": "", "namespaced": namespaced,
                                      "kind": "Scale" if sub == "scale" else kind, "verbs": ["get", "patch", "create"]})
                gv = f"{group}/{version}" if group else version
                self._send(200, {"kind": "APIResourceList", "groupVersion": gv, "resources": items})
            return True

        def _resolve(self, req: Request) -> tuple | None:
            m = PATH.match(req.path)
            if not m:
                self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                return None
            group, version = (m["g"] or "", m["v"] or m["cv"])
            res = api.by_plural(group, version, m["plural"])
            if res is None:
                self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                return None
            if res[4] and not m["ns"] and m["name"]:
                self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                return None
            return res, m["ns"] or "", m["name"], m["sub"]

        def _get(self, req: Request) -> None:
            if self._discovery(req.path):
                return
            found = self._resolve(req)
            if found is None:
                return
            (group, version, kind, plural, namespaced), ns, name, sub = found
            if name is None:
                selector = dict(kv.split("=", 1) for kv in
                                (req.query.get("labelSelector", [""])[0].split(",")) if "=" in kv)
                fields = dict(kv.split("=", 1) for kv in
                              (req.query.get("fieldSelector", [""])[0].split(",")) if "=" in kv)
                items = [o for (g, k, n, _), o in api.objects.items() if g == group and k == kind
                         and (not ns or n == ns)
                         and all((o["metadata"].get("labels") or {}).get(a) == b for a, b in selector.items())
                         and all(_field(o, a) == b for a, b in fields.items())]
                self._send(200, {"kind": f"{kind}List", "apiVersion": f"{group}/{version}" if group else version,
                                 "metadata": {"resourceVersion": str(api.rv)}, "items": items})
                return
            obj = api.get(group, kind, ns, name)
            if obj is None:
                self._send(404, _status(404, "NotFound", f'{plural} "{name}" not found'))
                return
            if sub == "log":
                self._send(200, obj.get("_log", ""), "text/plain")
                return
            if kind in ("Deployment", "StatefulSet", "DaemonSet"):
                key = (group, kind, ns, name)
                api.polls[key] = api.polls.get(key, 0) + 1
                if api.ready_after >= 0 and api.polls[key] >= api.ready_after:
                    obj["status"] = _rolled_out_status(obj)
                else:
                    obj["status"] = _stuck_status(obj)
            self._send(200, obj)

        def _patch(self, req: Request) -> None:
            found = self._resolve(req)
            if found is None:
                return
            (group, version, kind, plural, namespaced), ns, name, sub = found
            if sub == "scale":
                obj = api.get(group, kind, ns, name)
                if obj is None:
                    self._send(404, _status(404, "NotFound", f'{plural} "{name}" not found'))
                    return
                obj["spec"]["replicas"] = req.body["spec"]["replicas"]
                api._meta(obj)
                self._send(200, {"kind": "Scale", "apiVersion": "autoscaling/v1",
                                 "metadata": {"name": name, "namespace": ns},
                                 "spec": {"replicas": obj["spec"]["replicas"]}})
                return
            if not req.content_type.startswith("application/apply-patch+yaml"):
                if kind == "Node" and isinstance(req.body, dict):
                    obj = api.get(group, kind, ns, name)
                    if obj is None:
                        self._send(404, _status(404, "NotFound", f'nodes "{name}" not found'))
                        return
                    obj.setdefault("spec", {}).update(req.body.get("spec", {}))
                    self._send(200, api._meta(obj))
                    return
                self._send(415, _status(415, "UnsupportedMediaType", f"unexpected {req.content_type}"))
                return
            if not req.query.get("fieldManager"):
                self._send(422, _status(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: '
                                        "fieldManager: Required value: is required for apply patch"))
                return
            body = req.body
            if body.get("kind") != kind or body["metadata"].get("name") != name:
                self._send(400, _status(400, "BadRequest", "the name or kind of the object does not match"))
                return
            if namespaced and body["metadata"].get("namespace", ns) != ns:
                self._send(400, _status(400, "BadRequest",
                                        "the namespace of the provided object does not match the namespace sent on the request"))
                return
            if namespaced and api.get("", "Namespace", "", ns) is None:
                self._send(404, _status(404, "NotFound", f'namespaces "{ns}" not found'))
                return
            current = api.get(group, kind, ns, name)
            if current is None:
                obj = copy.deepcopy(body)
                if namespaced:
                    obj["metadata"]["namespace"] = ns
                obj["metadata"]["managedFields"] = [{"manager": req.query["fieldManager"][0],
                                                     "operation": "Apply"}]
                api.objects[(group, kind, ns, name)] = api._meta(obj)
                if kind == "CustomResourceDefinition":
                    threading.Timer(api.crd_delay, self._establish, args=(obj,)).start()
                self._send(201, obj)
                return
            if not _spec_equal(current, body):
                for k, v in body.items():
                    if k != "metadata":
                        current[k] = copy.deepcopy(v)
                for k in ("labels", "annotations"):
                    if k in body["metadata"]:
                        current["metadata"][k] = copy.deepcopy(body["metadata"][k])
                current["metadata"]["generation"] += 1
                api._meta(current)
            self._send(200, current)

        def _establish(self, crd: dict[str, Any]) -> None:
            with api.lock:
                crd["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
                spec = crd["spec"]
                for v in spec["versions"]:
                    api.resources.append((spec["group"], v["name"], spec["names"]["kind"],
                                          spec["names"]["plural"], spec["scope"] == "Namespaced"))

        def _delete(self, req: Request) -> None:
            found = self._resolve(req)
            if found is None:
                return
            (group, version, kind, plural, namespaced), ns, name, sub = found
            obj = api.objects.pop((group, kind, ns, name), None)
            if obj is None:
                self._send(404, _status(404, "NotFound", f'{plural} "{name}" not found'))
                return
            self._send(200, obj)

        def _post(self, req: Request) -> None:
            found = self._resolve(req)
            if found is None:
                return
            (group, version, kind, plural, namespaced), ns, name, sub = found
            if sub == "eviction":
                if api.evict_refusals > 0:
                    api.evict_refusals -= 1
                    self._send(429, _status(429, "TooManyRequests",
                                            "Cannot evict pod as it would violate the pod's disruption budget."))
                    return
                api.objects.pop((group, kind, ns, name), None)
                self._send(201, _status(201, "", ""))
                return
            body = req.body
            key = (group, kind, ns, body["metadata"]["name"])
            if key in api.objects:
                self._send(409, _status(409, "AlreadyExists", "already exists"))
                return
            body["metadata"]["namespace"] = ns
            if kind == "Pod" and api.on_pod_create is not None:
                api.on_pod_create(body)
            api.objects[key] = api._meta(body)
            self._send(201, body)

    return Handler


class Server:
    def __init__(self, api: FakeAPI | None = None):
        self.api = api or FakeAPI()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.api))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(self, path: Any, context: str = "fake") -> Any:
        import yaml

        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake"}}],
        }
        path.write_text(yaml.safe_dump(doc))
        return path


def wait_for(pred: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False
