"""slipway/iam_eval.py held against the examples and rules of AWS's IAM User Guide (pages named per test).

moto's ``IAMPolicy`` is the counter-example: it passes an Allow condition when the request carries no value for the
key and compares action names case-sensitively; the first two tests show both differences.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from slipway.iam_eval import Decision, Request, UnsupportedPolicyError, allowed, evaluate, principal_trusted


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(condition: dict[str, Any] | None = None, action: Any = "s3:GetObject", resource: Any = "*") -> dict:
    st: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return _policy(st)


TAGGED = _allow({"StringEquals": {"aws:ResourceTag/stack": "dev"}}, action="ec2:DeleteVpc")


def test_a_condition_on_an_absent_key_does_not_match_unlike_motos_evaluator() -> None:
    """Condition operators: "If the key that you specify in a policy condition is not present in the request
    context, the values do not match" — moto permits."""
    moto = IAMPolicy(json.dumps(TAGGED)).is_action_permitted("ec2:DeleteVpc", "arn:aws:ec2:us-east-1:1:vpc/vpc-1")
    assert moto == PermissionResult.PERMITTED, "moto's known gap (why it is no proof of a condition)"
    assert not allowed(TAGGED, "ec2:DeleteVpc", "arn:aws:ec2:us-east-1:1:vpc/vpc-1", {})
    assert allowed(TAGGED, "ec2:DeleteVpc", "arn:aws:ec2:us-east-1:1:vpc/vpc-1", {"aws:ResourceTag/stack": "dev"})
    assert not allowed(TAGGED, "ec2:DeleteVpc", "arn:aws:ec2:us-east-1:1:vpc/vpc-1", {"aws:ResourceTag/stack": "prod"})


def test_action_names_are_case_insensitive_and_condition_keys_too() -> None:
    """Action element: "prefixes and action names are case insensitive"; condition key names are not case-sensitive."""
    policy = _allow(action="S3:getobject")
    assert allowed(policy, "s3:GetObject", "arn:aws:s3:::b/k")
    assert allowed(TAGGED, "EC2:DELETEVPC", "arn:x", {"AWS:RESOURCETAG/STACK": "dev"})
    assert not allowed(TAGGED, "ec2:DeleteVpc", "arn:x", {"aws:ResourceTag/stack": "DEV"}), "values are case-sensitive"


def test_resource_arns_are_case_sensitive_with_wildcards() -> None:
    policy = _allow(resource="arn:aws:s3:::logs-?/*")
    assert allowed(policy, "s3:GetObject", "arn:aws:s3:::logs-1/a/b")
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::LOGS-1/a")
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::logs-10/a"), "? is exactly one character"


def test_explicit_deny_wins_over_any_allow() -> None:
    """Policy evaluation logic: an explicit deny in any policy overrides any allow."""
    deny = _policy({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::secret/*"})
    assert evaluate([_allow(), deny], Request("s3:GetObject", "arn:aws:s3:::secret/k")) is Decision.EXPLICIT_DENY
    assert evaluate([_allow(), deny], Request("s3:GetObject", "arn:aws:s3:::public/k")) is Decision.ALLOW
    assert evaluate([deny], Request("s3:GetObject", "arn:aws:s3:::public/k")) is Decision.IMPLICIT_DENY


def test_the_permissions_boundary_caps_the_identity_policy() -> None:
    """Permissions boundaries: effective permissions are the intersection (the guide's iam:CreateUser example)."""
    identity = _allow(action="iam:CreateUser")
    boundary = _allow(action=["s3:*", "cloudwatch:*", "ec2:*"])
    assert not allowed(identity, "iam:CreateUser", "*", boundary=boundary)
    assert allowed(_allow(action="s3:*"), "s3:GetObject", "*", boundary=boundary)


@pytest.mark.parametrize(
    ("operator", "absent"),
    [
        ("StringEquals", False),
        ("StringNotEquals", True),
        ("StringLike", False),
        ("StringNotLike", True),
        ("ArnLike", False),
        ("ArnNotLike", True),
        ("StringEqualsIfExists", True),
        ("ArnLikeIfExists", True),
    ],
)
def test_an_absent_key_matches_only_negated_and_if_exists_operators(operator: str, absent: bool) -> None:
    """Condition operators: "If the policy condition requires that the key is not matched, such as StringNotLike or
    ArnNotLike, and the right key is not present, the condition is true"; ...IfExists: true when absent."""
    policy = _allow({operator: {"aws:SourceArn": "arn:aws:sns:*:*:topic"}})
    assert allowed(policy, "s3:GetObject", "*", {}) is absent


def test_null_checks_whether_the_key_is_present() -> None:
    """Null: ``"true"`` matches when the key is absent (or empty), ``"false"`` when it is present."""
    absent = _allow({"Null": {"aws:ResourceTag/stack": "true"}})
    present = _allow({"Null": {"aws:ResourceTag/stack": "false"}})
    assert allowed(absent, "s3:GetObject", "*", {}) and not allowed(
        absent, "s3:GetObject", "*", {"aws:ResourceTag/stack": "x"}
    )
    assert allowed(present, "s3:GetObject", "*", {"aws:ResourceTag/stack": "x"}) and not allowed(
        present, "s3:GetObject", "*"
    )


def test_for_all_values_of_tag_keys_the_guides_example() -> None:
    """Controlling access to tag keys: ForAllValues:StringEquals aws:TagKeys [environment, cost-center] allows a
    request tagging only those keys, refuses one adding ``owner``, and (the documented pitfall) is true when the
    request has no tag keys at all — which is why it is paired with a key that must be present."""
    policy = _allow({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}})
    assert allowed(policy, "s3:GetObject", "*", {"aws:TagKeys": ["environment"]})
    assert not allowed(policy, "s3:GetObject", "*", {"aws:TagKeys": ["environment", "owner"]})
    assert allowed(policy, "s3:GetObject", "*", {})


def test_for_any_value_needs_a_present_matching_value() -> None:
    policy = _allow({"ForAnyValue:StringEquals": {"aws:TagKeys": ["stack"]}})
    assert allowed(policy, "s3:GetObject", "*", {"aws:TagKeys": ["Name", "stack"]})
    assert not allowed(policy, "s3:GetObject", "*", {"aws:TagKeys": ["Name"]})
    assert not allowed(policy, "s3:GetObject", "*", {})


def test_values_of_one_key_are_or_keys_and_operators_are_and() -> None:
    """Creating a condition with multiple keys or values: OR across a key's values, AND across keys and operators;
    a negated operator with several values is true only when the request matches none (NOR)."""
    policy = _allow(
        {
            "StringEquals": {"aws:RequestTag/stack": ["dev", "test"], "aws:RequestTag/app": "slipway"},
            "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "ap-south-1"]},
        }
    )
    ok = {"aws:RequestTag/stack": "test", "aws:RequestTag/app": "slipway", "aws:RequestedRegion": "us-east-1"}
    assert allowed(policy, "s3:GetObject", "*", ok)
    assert not allowed(policy, "s3:GetObject", "*", {**ok, "aws:RequestTag/app": "shop"})
    assert not allowed(policy, "s3:GetObject", "*", {**ok, "aws:RequestedRegion": "ap-south-1"})


def test_arn_like_matches_each_of_the_six_components() -> None:
    policy = _allow({"ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-east-1:*:*"}})
    assert allowed(policy, "s3:GetObject", "*", {"aws:SourceArn": "arn:aws:ecs:us-east-1:111122223333:task/c/1"})
    assert not allowed(policy, "s3:GetObject", "*", {"aws:SourceArn": "arn:aws:ecs:us-east-2:111122223333:task/c/1"})


def test_not_action_and_not_resource() -> None:
    policy = _policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::private/*"})
    assert allowed(policy, "s3:GetObject", "arn:aws:s3:::public/k")
    assert not allowed(policy, "iam:CreateUser", "*")
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::private/k")


def test_bool_and_numeric_operators() -> None:
    policy = _allow({"Bool": {"aws:SecureTransport": "true"}, "NumericLessThanEquals": {"s3:max-keys": "10"}})
    assert allowed(policy, "s3:GetObject", "*", {"aws:SecureTransport": True, "s3:max-keys": "10"})
    assert not allowed(policy, "s3:GetObject", "*", {"aws:SecureTransport": False, "s3:max-keys": "10"})
    assert not allowed(policy, "s3:GetObject", "*", {"aws:SecureTransport": True, "s3:max-keys": "11"})


def test_what_is_not_evaluated_is_refused_not_guessed() -> None:
    with pytest.raises(UnsupportedPolicyError):
        allowed(_allow({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}), "s3:GetObject", "*")
    with pytest.raises(UnsupportedPolicyError):
        allowed(_allow(resource="arn:aws:s3:::${aws:username}/*"), "s3:GetObject", "arn:aws:s3:::a/b")


def test_trust_policies_name_who_may_assume() -> None:
    trust = _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        }
    )
    assert principal_trusted(trust, "ecs-tasks.amazonaws.com", "Service", context={"aws:SourceAccount": "111122223333"})
    assert not principal_trusted(
        trust, "ecs-tasks.amazonaws.com", "Service", context={"aws:SourceAccount": "444455556666"}
    )
    assert not principal_trusted(trust, "arn:aws:iam::111122223333:role/x", "AWS")
    root = _policy(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}
    )
    assert principal_trusted(root, "arn:aws:iam::111122223333:role/any", "AWS"), "the account root delegates to all"
