"""metrics-server, so that HPA and `twin status --live` usage work on kind.

The real cluster runs its own metrics pipeline (Prometheus Operator); this is
the replica's alone, so every object carries the replica-only label. Kubelets
on kind serve self-signed certificates: `--kubelet-insecure-tls`. It tolerates
the control-plane taint so it runs even when every worker pool is tainted.
"""

from __future__ import annotations

from typing import Any

from twin.render.meta import header, replica_only

NS = "kube-system"
IMAGE = "registry.k8s.io/metrics-server/metrics-server:v0.7.2"
LABELS = replica_only({"k8s-app": "metrics-server"})


def _h(api: str, kind: str, name: str, ns: str | None = None, labels: dict | None = None) -> dict:
    return header(api, kind, name, ns, labels=labels or LABELS)


def render() -> list[dict[str, Any]]:
    sa = _h("v1", "ServiceAccount", "metrics-server", NS)
    reader = _h("rbac.authorization.k8s.io/v1", "ClusterRole", "system:aggregated-metrics-reader",
                labels={**LABELS, "rbac.authorization.k8s.io/aggregate-to-admin": "true",
                        "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                        "rbac.authorization.k8s.io/aggregate-to-view": "true"})
    reader["rules"] = [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                        "verbs": ["get", "list", "watch"]}]
    role = _h("rbac.authorization.k8s.io/v1", "ClusterRole", "system:metrics-server")
    role["rules"] = [
        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
    ]
    auth_reader = _h("rbac.authorization.k8s.io/v1", "RoleBinding", "metrics-server-auth-reader", NS)
    auth_reader["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                              "name": "extension-apiserver-authentication-reader"}
    auth_reader["subjects"] = [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": NS}]
    delegator = _h("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "metrics-server:system:auth-delegator")
    delegator["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "system:auth-delegator"}
    delegator["subjects"] = auth_reader["subjects"]
    binding = _h("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "system:metrics-server")
    binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": "system:metrics-server"}
    binding["subjects"] = auth_reader["subjects"]
    svc = _h("v1", "Service", "metrics-server", NS)
    svc["spec"] = {"selector": {"k8s-app": "metrics-server"},
                   "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"}]}
    deploy = _h("apps/v1", "Deployment", "metrics-server", NS)
    deploy["spec"] = {
        "replicas": 1,
        "selector": {"matchLabels": {"k8s-app": "metrics-server"}},
        "template": {
            "metadata": {"labels": LABELS},
            "spec": {
                "serviceAccountName": "metrics-server",
                "priorityClassName": "system-cluster-critical",
                "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                 "effect": "NoSchedule"}],
                "containers": [{
                    "name": "metrics-server",
                    "image": IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["--cert-dir=/tmp", "--secure-port=10250",
                             "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                             "--kubelet-use-node-status-port", "--metric-resolution=15s",
                             "--kubelet-insecure-tls"],
                    "ports": [{"name": "https", "containerPort": 10250, "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
                                       "periodSeconds": 10},
                    "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "runAsNonRoot": True, "runAsUser": 1000},
                    "volumeMounts": [{"name": "tmp-dir", "mountPath": "/tmp"}],
                }],
                "volumes": [{"name": "tmp-dir", "emptyDir": {}}],
            },
        },
    }
    api = _h("apiregistration.k8s.io/v1", "APIService", "v1beta1.metrics.k8s.io")
    api["spec"] = {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                   "versionPriority": 100, "insecureSkipTLSVerify": True,
                   "service": {"name": "metrics-server", "namespace": NS}}
    return [sa, reader, role, auth_reader, delegator, binding, svc, deploy, api]
