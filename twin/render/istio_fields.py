"""Istio's field definitions, written down from istio/api's protos
(networking/v1alpha3/gateway.proto, virtual_service.proto, destination_rule.proto;
security/v1beta1/peer_authentication.proto), as the JSON names the CRDs take.

Only what validation needs: each message's fields and their types. Unknown
fields are errors, as in Istio's structural CRD schemas. Types: `string`,
`int`, `uint`, `bool`, `double`, `duration` (Go style, e.g. 30s or 250ms),
`enum:A|B`, `Message`, `[T]` (repeated), `{T}` (map from string to T).
"""

from __future__ import annotations

import re
from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    # gateway.proto
    "Gateway": {"servers": "[Server]", "selector": "{string}"},
    "Server": {"port": "Port", "bind": "string", "hosts": "[string]", "tls": "ServerTLSSettings",
               "defaultEndpoint": "string", "name": "string"},
    "Port": {"number": "uint", "protocol": "string", "name": "string", "targetPort": "uint"},
    "ServerTLSSettings": {
        "httpsRedirect": "bool",
        "mode": "enum:PASSTHROUGH|SIMPLE|MUTUAL|AUTO_PASSTHROUGH|ISTIO_MUTUAL|OPTIONAL_MUTUAL",
        "serverCertificate": "string", "privateKey": "string", "caCertificates": "string",
        "caCrl": "string", "credentialName": "string", "credentialNames": "[string]",
        "subjectAltNames": "[string]", "verifyCertificateSpki": "[string]",
        "verifyCertificateHash": "[string]",
        "minProtocolVersion": "enum:TLS_AUTO|TLSV1_0|TLSV1_1|TLSV1_2|TLSV1_3",
        "maxProtocolVersion": "enum:TLS_AUTO|TLSV1_0|TLSV1_1|TLSV1_2|TLSV1_3",
        "cipherSuites": "[string]",
    },
    # virtual_service.proto
    "VirtualService": {"hosts": "[string]", "gateways": "[string]", "http": "[HTTPRoute]",
                       "tls": "[TLSRoute]", "tcp": "[TCPRoute]", "exportTo": "[string]"},
    "Destination": {"host": "string", "subset": "string", "port": "PortSelector"},
    "PortSelector": {"number": "uint"},
    "HTTPRoute": {
        "name": "string", "match": "[HTTPMatchRequest]", "route": "[HTTPRouteDestination]",
        "redirect": "HTTPRedirect", "directResponse": "HTTPDirectResponse", "delegate": "Delegate",
        "rewrite": "HTTPRewrite", "timeout": "duration", "retries": "HTTPRetry",
        "fault": "HTTPFaultInjection", "mirror": "Destination", "mirrors": "[HTTPMirrorPolicy]",
        "mirrorPercent": "uint", "mirrorPercentage": "Percent", "corsPolicy": "CorsPolicy",
        "headers": "Headers",
    },
    "HTTPMirrorPolicy": {"destination": "Destination", "percentage": "Percent"},
    "HTTPDirectResponse": {"status": "uint", "body": "HTTPBody"},
    "HTTPBody": {"string": "string", "bytes": "string"},
    "Delegate": {"name": "string", "namespace": "string"},
    "Headers": {"request": "HeaderOperations", "response": "HeaderOperations"},
    "HeaderOperations": {"set": "{string}", "add": "{string}", "remove": "[string]"},
    "TLSRoute": {"match": "[TLSMatchAttributes]", "route": "[RouteDestination]"},
    "TCPRoute": {"match": "[L4MatchAttributes]", "route": "[RouteDestination]"},
    "HTTPMatchRequest": {
        "name": "string", "uri": "StringMatch", "scheme": "StringMatch", "method": "StringMatch",
        "authority": "StringMatch", "headers": "{StringMatch}", "port": "uint",
        "sourceLabels": "{string}", "gateways": "[string]", "queryParams": "{StringMatch}",
        "ignoreUriCase": "bool", "withoutHeaders": "{StringMatch}", "sourceNamespace": "string",
        "statPrefix": "string",
    },
    "HTTPRouteDestination": {"destination": "Destination", "weight": "int", "headers": "Headers"},
    "RouteDestination": {"destination": "Destination", "weight": "int"},
    "L4MatchAttributes": {"destinationSubnets": "[string]", "port": "uint", "sourceLabels": "{string}",
                          "gateways": "[string]", "sourceNamespace": "string"},
    "TLSMatchAttributes": {"sniHosts": "[string]", "destinationSubnets": "[string]", "port": "uint",
                           "sourceLabels": "{string}", "gateways": "[string]",
                           "sourceNamespace": "string"},
    "HTTPRedirect": {"uri": "string", "authority": "string", "port": "uint",
                     "derivePort": "enum:FROM_PROTOCOL_DEFAULT|FROM_REQUEST_PORT",
                     "scheme": "string", "redirectCode": "uint"},
    "HTTPRewrite": {"uri": "string", "authority": "string", "uriRegexRewrite": "RegexRewrite"},
    "RegexRewrite": {"match": "string", "rewrite": "string"},
    "StringMatch": {"exact": "string", "prefix": "string", "regex": "string"},
    "HTTPRetry": {"attempts": "int", "perTryTimeout": "duration", "retryOn": "string",
                  "retryRemoteLocalities": "bool", "retryIgnorePreviousHosts": "bool",
                  "backoff": "duration"},
    "CorsPolicy": {"allowOrigins": "[StringMatch]", "allowMethods": "[string]",
                   "allowHeaders": "[string]", "exposeHeaders": "[string]", "maxAge": "duration",
                   "allowCredentials": "bool", "unmatchedPreflights": "enum:UNSPECIFIED|FORWARD|IGNORE"},
    "HTTPFaultInjection": {"delay": "Delay", "abort": "Abort"},
    "Delay": {"fixedDelay": "duration", "percentage": "Percent", "percent": "int"},
    "Abort": {"httpStatus": "int", "grpcStatus": "string", "percentage": "Percent"},
    "Percent": {"value": "double"},
    # destination_rule.proto
    "DestinationRule": {"host": "string", "trafficPolicy": "TrafficPolicy", "subsets": "[Subset]",
                        "exportTo": "[string]", "workloadSelector": "WorkloadSelector"},
    "WorkloadSelector": {"matchLabels": "{string}"},
    "TrafficPolicy": {"loadBalancer": "LoadBalancerSettings", "connectionPool": "ConnectionPoolSettings",
                      "outlierDetection": "OutlierDetection", "tls": "ClientTLSSettings",
                      "portLevelSettings": "[PortTrafficPolicy]", "tunnel": "TunnelSettings",
                      "proxyProtocol": "ProxyProtocol"},
    "PortTrafficPolicy": {"port": "PortSelector", "loadBalancer": "LoadBalancerSettings",
                          "connectionPool": "ConnectionPoolSettings",
                          "outlierDetection": "OutlierDetection", "tls": "ClientTLSSettings"},
    "TunnelSettings": {"protocol": "string", "targetHost": "string", "targetPort": "uint"},
    "ProxyProtocol": {"version": "enum:V1|V2"},
    "Subset": {"name": "string", "labels": "{string}", "trafficPolicy": "TrafficPolicy"},
    "LoadBalancerSettings": {
        "simple": "enum:UNSPECIFIED|LEAST_CONN|RANDOM|PASSTHROUGH|ROUND_ROBIN|LEAST_REQUEST",
        "consistentHash": "ConsistentHashLB", "localityLbSetting": "LocalityLoadBalancerSetting",
        "warmupDurationSecs": "duration",
    },
    "ConsistentHashLB": {"httpHeaderName": "string", "httpCookie": "HTTPCookie", "useSourceIp": "bool",
                         "httpQueryParameterName": "string", "minimumRingSize": "uint"},
    "HTTPCookie": {"name": "string", "path": "string", "ttl": "duration"},
    "LocalityLoadBalancerSetting": {"distribute": "[Distribute]", "failover": "[Failover]",
                                    "failoverPriority": "[string]", "enabled": "bool"},
    "Distribute": {"from": "string", "to": "{uint}"},
    "Failover": {"from": "string", "to": "string"},
    "ConnectionPoolSettings": {"tcp": "TCPSettings", "http": "HTTPSettings"},
    "TCPSettings": {"maxConnections": "int", "connectTimeout": "duration", "tcpKeepalive": "TcpKeepalive",
                    "maxConnectionDuration": "duration", "idleTimeout": "duration"},
    "TcpKeepalive": {"probes": "uint", "time": "duration", "interval": "duration"},
    "HTTPSettings": {"http1MaxPendingRequests": "int", "http2MaxRequests": "int",
                     "maxRequestsPerConnection": "int", "maxRetries": "int", "idleTimeout": "duration",
                     "h2UpgradePolicy": "enum:DEFAULT|DO_NOT_UPGRADE|UPGRADE",
                     "useClientProtocol": "bool", "maxConcurrentStreams": "int"},
    "OutlierDetection": {"splitExternalLocalOriginErrors": "bool",
                         "consecutiveLocalOriginFailures": "uint", "consecutiveGatewayErrors": "uint",
                         "consecutive5xxErrors": "uint", "interval": "duration",
                         "baseEjectionTime": "duration", "maxEjectionPercent": "int",
                         "minHealthPercent": "int", "consecutiveErrors": "int"},
    "ClientTLSSettings": {"mode": "enum:DISABLE|SIMPLE|MUTUAL|ISTIO_MUTUAL",
                          "clientCertificate": "string", "privateKey": "string",
                          "caCertificates": "string", "credentialName": "string",
                          "subjectAltNames": "[string]", "sni": "string",
                          "insecureSkipVerify": "bool", "caCrl": "string"},
    # security/v1beta1/peer_authentication.proto
    "PeerAuthentication": {"selector": "WorkloadSelector", "mtls": "MutualTLS",
                           "portLevelMtls": "{MutualTLS}", "portLevelTls": "{ServerTLSSettings}"},
    "MutualTLS": {"mode": "enum:UNSET|DISABLE|PERMISSIVE|STRICT"},
}

KINDS = {
    ("networking.istio.io", "Gateway"): "Gateway",
    ("networking.istio.io", "VirtualService"): "VirtualService",
    ("networking.istio.io", "DestinationRule"): "DestinationRule",
    ("security.istio.io", "PeerAuthentication"): "PeerAuthentication",
}
VERSIONS = {"networking.istio.io": {"v1", "v1beta1", "v1alpha3"}, "security.istio.io": {"v1", "v1beta1"}}
ONE_OF = {"StringMatch": {"exact", "prefix", "regex"}, "Delay": {"fixedDelay"},
          "Abort": {"httpStatus", "grpcStatus"}}
REQUIRED = {"Destination": {"host"}, "HTTPRouteDestination": {"destination"}, "Port": {"number"},
            "Server": {"port", "hosts"}, "Subset": {"name"}, "HTTPRetry": {"attempts"},
            "DestinationRule": {"host"}}
METADATA = {"name", "namespace", "labels", "annotations"}
_DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$")


def is_istio(obj: dict[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).split("/")[0] in VERSIONS


def check(obj: dict[str, Any]) -> list[str]:
    """Problems with one Istio object, each as `path: message`; empty when valid."""
    group, _, version = str(obj.get("apiVersion", "")).partition("/")
    kind = obj.get("kind")
    message = KINDS.get((group, kind))
    if message is None:
        return [f"kind: no Istio field definitions for {obj.get('apiVersion')} {kind}"]
    problems = []
    if version not in VERSIONS[group]:
        problems.append(f"apiVersion: {group} has no version {version}")
    for key in obj:
        if key not in {"apiVersion", "kind", "metadata", "spec"}:
            problems.append(f"{key}: unknown field")
    meta = obj.get("metadata") or {}
    if not meta.get("name"):
        problems.append("metadata.name: required")
    problems += [f"metadata.{k}: unknown field" for k in meta if k not in METADATA]
    problems += _message(obj.get("spec", {}), message, "spec")
    return problems


def _message(value: Any, message: str, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({message})"]
    fields = MESSAGES[message]
    problems = []
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: unknown field of {message}")
            continue
        problems += _value(item, fields[key], f"{path}.{key}")
    for key in REQUIRED.get(message, set()):
        if key not in value:
            problems.append(f"{path}.{key}: required in {message}")
    chosen = ONE_OF.get(message, set()) & set(value)
    if len(chosen) > 1:
        problems.append(f"{path}: only one of {', '.join(sorted(chosen))}")
    return problems


def _value(value: Any, typ: str, path: str) -> list[str]:
    if typ.startswith("["):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, v in enumerate(value) for p in _value(v, typ[1:-1], f"{path}[{i}]")]
    if typ.startswith("{"):
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [p for k, v in value.items() for p in _value(v, typ[1:-1], f"{path}.{k}")]
    if typ.startswith("enum:"):
        allowed = typ[5:].split("|")
        return [] if value in allowed else [f"{path}: {value!r} is not one of {', '.join(allowed)}"]
    if typ == "string":
        return [] if isinstance(value, str) else [f"{path}: expected a string"]
    if typ == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    if typ in ("int", "uint"):
        ok = isinstance(value, int) and not isinstance(value, bool) and (typ == "int" or value >= 0)
        return [] if ok else [f"{path}: expected {'a non-negative ' if typ == 'uint' else 'an '}integer"]
    if typ == "double":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number"]
    if typ == "duration":
        ok = isinstance(value, str) and bool(_DURATION.match(value))
        return [] if ok else [f"{path}: {value!r} is not a duration such as 30s or 250ms"]
    return _message(value, typ, path)
