"""JUnit XML for CI: one testsuite per scenario, one testcase per check.

A failing check is a <failure> whose message is the sentence naming the check,
the observed value and the bound; a check the backend cannot observe is
<skipped>, so that CI shows it without counting it as passed. A check's kind (SLO
or expectation) is its classname's last part and a property, so that CI groups
broken SLOs apart from scenarios that no longer show their point; the report's
warnings (saturation, a steady state with warning events) are the suite's
properties and its <system-out>.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from twin.result.io import write_file
from twin.scenario.checks import EXPECTATION, FAILED, NOT_APPLICABLE, SLO
from twin.scenario.report import warning_texts

if TYPE_CHECKING:
    from twin.scenario.runner import Run


_TYPE = {SLO: "SLOFailed", EXPECTATION: "ExpectationFailed"}


def document(runs: list[Run]) -> ET.Element:
    root = ET.Element("testsuites", name="twin run")
    total = failures = skipped = 0
    for run in runs:
        name = run.scenario.name
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(run.outcomes)),
                              time=f"{run.wall:.3f}")
        f = s = 0
        warnings = warning_texts(run)
        if warnings:
            props = ET.SubElement(suite, "properties")
            for line in warnings:
                ET.SubElement(props, "property", name="warning", value=line)
        for o in run.outcomes:
            case = ET.SubElement(suite, "testcase", classname=f"scenarios.{name}.{o.kind}",
                                 name=o.name)
            ET.SubElement(ET.SubElement(case, "properties"), "property", name="kind", value=o.kind)
            if o.status == FAILED:
                f += 1
                el = ET.SubElement(case, "failure", message=o.sentence(), type=_TYPE.get(
                    o.kind, "CheckFailed"))
                el.text = _detail(run, o)
            elif o.status == NOT_APPLICABLE:
                s += 1
                ET.SubElement(case, "skipped", message=o.sentence())
        if warnings:
            ET.SubElement(suite, "system-out").text = "\n".join(warnings)
        suite.set("failures", str(f))
        suite.set("skipped", str(s))
        suite.set("errors", "0")
        total += len(run.outcomes)
        failures += f
        skipped += s
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("skipped", str(skipped))
    return root


def _detail(run: Run, o) -> str:
    lines = [o.sentence(), f"scenario: {run.loaded.path}", f"backend: {run.backend}, seed {run.seed}, "
             f"{run.replications} replication{'s' if run.replications != 1 else ''}"]
    if len(o.observed) > 1:
        from twin.scenario.checks import fmt

        lines.append("observed per replication: " + ", ".join(fmt(v, o.unit) for v in o.observed))
    return "\n".join(lines)


def write(runs: list[Run], path: str | Path) -> None:
    """Atomically, so that CI never reads half a file."""
    tree = ET.ElementTree(document(runs))
    ET.indent(tree)
    buf = io.BytesIO()
    tree.write(buf, encoding="utf-8", xml_declaration=True)
    write_file(Path(path), buf.getvalue())
