"""The Mermaid diagram: internet -> ALB -> service -> database, plus registry, secrets, logs, alarms."""

from __future__ import annotations

from slipway.diagram import edge_set, render


def test_dev_diagram_has_the_request_path_and_dependencies(dev) -> None:  # noqa: ANN001
    text = render(dev.resources, "dev")
    assert text.startswith("```mermaid\nflowchart LR") and text.endswith("```")
    edges = edge_set(text)
    alb, svc, db = "r_slipway_dev_web_alb", "r_slipway_dev_web_service", "r_slipway_dev_db_instance"
    for edge in [
        ("internet", alb),
        (alb, svc),
        (svc, db),
        ("r_slipway_dev_repo", svc),
        ("secrets", svc),
        (svc, "r_slipway_dev_app"),
        ("alarms", "r_slipway_dev_alarms"),
    ]:
        assert edge in edges, edge
    assert "nat" not in {n for e in edges for n in e}  # dev has no NAT gateway


def test_prod_diagram_shows_nat_multi_az_and_access_logs(prod) -> None:  # noqa: ANN001
    text = render(prod.resources, "prod", fenced=False)
    assert text.startswith("flowchart LR")
    assert ("nat", "internet") in edge_set(text)
    assert "db.t4g.medium Multi-AZ" in text and "S3 access logs" in text


def test_labels_are_quoted_and_safe() -> None:
    rs = [{"type": "aws:lb/loadBalancer:LoadBalancer", "name": 'a"b', "urn": "u", "inputs": {}}]
    text = render(rs, fenced=False)
    assert "#quot;" in text and 'a"b' not in text
