"""Model -> kind cluster config and Kubernetes/Istio manifests, as plain dicts.

`twin.render.manifests` puts them together (`render(topo)`, `write(rendered, out)`);
each other module renders one part (stores, workloads, istio, policies, ...), and
`manifest_check` checks the result offline against the Kubernetes, Istio and kind
schemas. This package imports none of its modules, so none of them imports it back.
"""
