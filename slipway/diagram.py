"""Architecture diagram of a recorded graph as a Mermaid flowchart (renders in GitHub Markdown).

internet -> ALB -> service -> database, plus the registry the tasks pull from, the secrets they read, the log
group they write to, the migration gate, NAT egress and the alarms -> topic. Nodes come from the graph (a node is
drawn only when its resources exist), labelled with resource names and the settings a reviewer looks for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .cost import _field, _in


def _id(text: str) -> str:
    return "r_" + re.sub(r"[^A-Za-z0-9_]", "_", text)  # prefixed: never a Mermaid keyword or a fixed node


def _label(*lines: str) -> str:
    text = "<br/>".join(line for line in lines if line)
    return text.replace('"', "#quot;")


def render(resources: Iterable[Any], stack: str = "", fenced: bool = True) -> str:
    """Mermaid ``flowchart LR``; ``fenced`` wraps it in a ```mermaid block for Markdown."""
    rs = list(resources)

    def of(type_: str) -> list[Any]:
        return [r for r in rs if _field(r, "type") == type_]

    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    lines = ["flowchart LR"]

    def node(key: str, shape: tuple[str, str], *label: str) -> str:
        nodes[key] = f'    {key}{shape[0]}"{_label(*label)}"{shape[1]}'
        return key

    box, db, stadium, circle, sub = ("[", "]"), ("[(", ")]"), ("([", "])"), ("((", "))"), ("[[", "]]")
    internet = node("internet", circle, "Internet")
    albs = of("aws:lb/loadBalancer:LoadBalancer")
    listeners = of("aws:lb/listener:Listener")
    services = of("aws:ecs/service:Service")
    dbs = of("aws:rds/instance:Instance")
    repos = of("aws:ecr/repository:Repository")
    secrets = of("aws:secretsmanager/secret:Secret")
    logs = of("aws:cloudwatch/logGroup:LogGroup")
    alarms = of("aws:cloudwatch/metricAlarm:MetricAlarm")
    topics = of("aws:sns/topic:Topic")
    nats = of("aws:ec2/natGateway:NatGateway")
    gates = of("pulumi-python:dynamic/slipway:MigrationGate")
    buckets = of("aws:s3/bucket:Bucket")

    ports = ", ".join(f"{_in(listener, 'protocol')}:{_in(listener, 'port')}" for listener in listeners)
    alb_keys = [node(_id(_field(a, "name")), box, "ALB", _field(a, "name"), ports) for a in albs]
    svc_keys = []
    for s in services:
        providers = ",".join(str(p.get("capacityProvider")) for p in _in(s, "capacityProviderStrategies", default=[]))
        svc_keys.append(
            node(
                _id(_field(s, "name")),
                box,
                "ECS Fargate service",
                _field(s, "name"),
                f"{_in(s, 'desiredCount', default='?')} task(s) {providers}".strip(),
            )
        )
    db_keys = [
        node(
            _id(_field(d, "name")),
            db,
            "RDS PostgreSQL",
            _field(d, "name"),
            f"{_in(d, 'instanceClass')}{' Multi-AZ' if _in(d, 'multiAz') else ''}",
        )
        for d in dbs
    ]
    repo_keys = [node(_id(_field(r, "name")), box, "ECR", _field(r, "name")) for r in repos]
    secret_key = node("secrets", box, "Secrets Manager", f"{len(secrets)} secret(s)") if secrets else None
    log_keys = [
        node(
            _id(_field(lg, "name")),
            box,
            "CloudWatch Logs",
            str(_in(lg, "name", default=_field(lg, "name"))),
            f"{_in(lg, 'retentionInDays', default='no')} days",
        )
        for lg in logs
    ]
    alarm_key = node("alarms", box, "CloudWatch alarms", f"{len(alarms)} alarm(s)") if alarms else None
    topic_keys = [node(_id(_field(t, "name")), stadium, "SNS", _field(t, "name")) for t in topics]
    nat_key = node("nat", box, "NAT gateway(s)", f"{len(nats)}") if nats else None
    gate_keys = [node(_id(_field(g, "name")), sub, "migration gate", _field(g, "name")) for g in gates]
    bucket_keys = [node(_id(_field(b, "name")), box, "S3 access logs", _field(b, "name")) for b in buckets]

    for a in alb_keys:
        edges.append((internet, a, "HTTPS"))
        edges += [(a, s, "forward") for s in svc_keys]
        edges += [(a, b, "access logs") for b in bucket_keys]
    for s in svc_keys + gate_keys:
        edges += [(s, d, "5432 TLS") for d in db_keys]
        edges += [(r, s, "image") for r in repo_keys]
        if secret_key:
            edges.append((secret_key, s, "valueFrom"))
        edges += [(s, lg, "logs") for lg in log_keys]
        if nat_key and s in svc_keys:
            edges.append((s, nat_key, "egress"))
    for g in gate_keys:
        edges += [(g, s, "gates rollout") for s in svc_keys]
    if nat_key:
        edges.append((nat_key, internet, ""))
    if alarm_key:
        edges += [(alarm_key, t, "notify") for t in topic_keys]
        edges += [(x, alarm_key, "metrics") for x in alb_keys + svc_keys + db_keys]

    lines += list(nodes.values())
    for src, dst, text in edges:
        lines.append(f"    {src} -->|{text}| {dst}" if text else f"    {src} --> {dst}")
    if stack:
        lines.insert(1, f"    %% slipway stack {stack}")
    body = "\n".join(lines)
    return f"```mermaid\n{body}\n```" if fenced else body


def edge_set(mermaid: str) -> set[tuple[str, str]]:
    """``{(src, dst)}`` of a rendered diagram (for tests and tooling)."""
    found = re.findall(r"^\s*(\w+) -->(?:\|[^|]*\|)? (\w+)$", mermaid, flags=re.M)
    return set(found)


__all__ = ["render", "edge_set"]
