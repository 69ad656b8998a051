"""Contract checks against authoritative sources nobody here wrote (issue #9).

The offline graph runs under mocks that accept anything, so comparing it with what our own code believes proves
nothing about AWS. These tests hold the API-shaped documents of both stacks against:

- botocore's service models, shipped in the venv: the shapes, required members, enums and min/max ranges the AWS
  SDKs and CLI validate requests with, plus the documented rules in those same models' documentation strings
  (each such rule first asserts that the text it relies on is still in the installed model);
- AWS's documentation where no model exists: the dashboard body and the ECR lifecycle policy (cited below);
- two maintained IAM linters with their own action databases: parliament (its default auditors: unknown actions,
  resource/action mismatches, malformed statements) and policy_sentry (every action exists and every resource ARN
  matches one of the action's resource types);
- moto's transcription of the ELB security policies (AWS's describe-ssl-policies list) for listener SSL policies.

Pulumi input names are translated to API member names by explicit tables; any input not in a table fails the test,
so a new input cannot slip past unchecked, and any mistranslation shows up as an unknown API member.

What only a real deploy can show: quotas, account state (e.g. an unverified e-mail, a missing service-linked
role), eventual consistency, values that depend on other accounts, and whatever AWS validates beyond its published
models and docs.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import importlib.util
import json
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import ServiceModel, Shape

from slipway.offline import Resource, ResourceGraph

# -- botocore service models and the generic validator ---------------------------------------------------------


@functools.cache
def service(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def input_shape(service_name: str, operation: str) -> Shape:
    shape = service(service_name).operation_model(operation).input_shape
    assert shape is not None
    return shape


@functools.cache
def doc(service_name: str, shape_name: str, member: str | None = None) -> str:
    """A shape's (or member's) documentation from the installed model, as plain text."""
    shape = service(service_name).shape_for(shape_name)
    raw = shape.members[member].documentation if member else shape.documentation
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw)).strip()


def documented(text: str, service_name: str, shape_name: str, member: str | None = None) -> str:
    """Return the model's documentation after asserting it still says ``text`` (the rule we rely on)."""
    found = doc(service_name, shape_name, member)
    assert text in found, f"botocore's {service_name} {shape_name}.{member} no longer says {text!r}: revisit the rule"
    return found


def _range(value: float, metadata: dict[str, Any], where: str, what: str) -> list[str]:
    out = []
    if "min" in metadata and value < metadata["min"]:
        out.append(f"{where}: {what} {value} below the model's minimum {metadata['min']}")
    if "max" in metadata and value > metadata["max"]:
        out.append(f"{where}: {what} {value} above the model's maximum {metadata['max']}")
    return out


def shape_violations(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Everything in ``value`` that botocore's ``shape`` does not allow: unknown or missing members, wrong types,
    values outside an enum, lengths and numbers outside the model's min/max, strings not matching its pattern."""
    where = where or shape.name
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object ({shape.name}), got {type(value).__name__}"]
        out = [f"{where}: missing required {m!r}" for m in shape.required_members if value.get(m) is None]
        members = shape.members
        for key, item in value.items():
            if key not in members:
                out.append(f"{where}: {shape.name} has no member {key!r}")
            elif item is not None:
                out += shape_violations(item, members[key], f"{where}.{key}")
        return out
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list ({shape.name})"]
        out = _range(len(value), shape.metadata, where, "length")
        for i, item in enumerate(value):
            out += shape_violations(item, shape.member, f"{where}[{i}]")
        return out
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map ({shape.name})"]
        out = _range(len(value), shape.metadata, where, "size")
        for key, item in value.items():
            out += shape_violations(key, shape.key, f"{where}<key {key!r}>")
            out += shape_violations(item, shape.value, f"{where}[{key!r}]")
        return out
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string ({shape.name}), got {value!r}"]
        out = _range(len(value), shape.metadata, where, "length")
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            out.append(f"{where}: {value!r} is not one of {shape.name} {enum}")
        pattern = shape.metadata.get("pattern")
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error:  # a regex dialect Python lacks (e.g. \p{...}): the model's other checks still apply
                compiled = None
            if compiled is not None and not compiled.search(value):
                out.append(f"{where}: {value!r} does not match {shape.name}'s pattern {pattern!r}")
        return out
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: expected an integer ({shape.name}), got {value!r}"]
        return _range(value, shape.metadata, where, "value")
    if kind in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return [f"{where}: expected a number ({shape.name}), got {value!r}"]
        return _range(value, shape.metadata, where, "value")
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean ({shape.name}), got {value!r}"]
    return []  # timestamp, blob: nothing we send


# -- Pulumi inputs -> API requests -----------------------------------------------------------------------------
# A handler maps one Pulumi input value to request fragments, keyed by API operation. None: a provider-only input
# with no API counterpart (the reason is next to it).
Fragments = dict[str, dict[str, Any]]
Handler = Callable[[Any], Fragments] | None


def pascal(value: Any) -> Any:
    """camelCase keys -> PascalCase, recursively (ELBv2, CloudWatch, Application Auto Scaling)."""
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


def to(operation: str, *path: str, convert: Callable[[Any], Any] = lambda v: v) -> Handler:
    def handler(value: Any) -> Fragments:
        fragment: dict[str, Any] = {}
        node = fragment
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = convert(value)
        return {operation: fragment}

    return handler


def attribute(operation: str, key: str, convert: Callable[[Any], str] = str) -> Handler:
    return lambda value: {operation: {"Attributes": [{"Key": key, "Value": convert(value)}]}}


def lower_bool(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def tag_list(operation: str, key: str = "Key", value: str = "Value", member: str = "Tags") -> Handler:
    return lambda tags: {operation: {member: [{key: k, value: v} for k, v in sorted(tags.items())]}}


def _merge(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key].extend(value)
        else:
            into[key] = value


def _health_check(hc: dict[str, Any]) -> Fragments:
    names = {
        "enabled": "HealthCheckEnabled",
        "path": "HealthCheckPath",
        "protocol": "HealthCheckProtocol",
        "port": "HealthCheckPort",
        "interval": "HealthCheckIntervalSeconds",
        "timeout": "HealthCheckTimeoutSeconds",
        "healthyThreshold": "HealthyThresholdCount",
        "unhealthyThreshold": "UnhealthyThresholdCount",
    }
    request: dict[str, Any] = {}
    for key, value in hc.items():
        if key == "matcher":
            request["Matcher"] = {"HttpCode": value}
        else:
            request[names.get(key, f"<untranslated healthCheck.{key}>")] = value
    return {"CreateTargetGroup": request}


def _listener_action(action: dict[str, Any]) -> dict[str, Any]:
    configs = {"redirect": "RedirectConfig", "forward": "ForwardConfig", "fixedResponse": "FixedResponseConfig"}
    return {configs.get(k, k[:1].upper() + k[1:]): pascal(v) for k, v in action.items()}


def _alarm_query(query: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key == "metric":
            metric = {
                "Namespace": value.get("namespace"),
                "MetricName": value.get("metricName"),
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted((value.get("dimensions") or {}).items())],
            }
            stat: dict[str, Any] = {"Metric": metric, "Period": value.get("period"), "Stat": value.get("stat")}
            if value.get("unit"):
                stat["Unit"] = value["unit"]
            extra = set(value) - {"namespace", "metricName", "dimensions", "period", "stat", "unit"}
            out["MetricStat"] = {**stat, **{f"<untranslated metric.{k}>": value[k] for k in extra}}
        else:
            out[key[:1].upper() + key[1:]] = value
    return out


ECS_SAME = ("family", "cpu", "memory", "networkMode", "requiresCompatibilities", "runtimePlatform")
TASK_DEFINITION: dict[str, Handler] = {
    **{k: to("RegisterTaskDefinition", k) for k in ECS_SAME},
    **{k: to("RegisterTaskDefinition", k) for k in ("executionRoleArn", "taskRoleArn", "volumes", "pidMode")},
    "containerDefinitions": to("RegisterTaskDefinition", "containerDefinitions", convert=json.loads),
    "tags": tag_list("RegisterTaskDefinition", "key", "value", "tags"),
    "skipDestroy": None,  # provider: keep old revisions registered
    "trackLatest": None,  # provider: read the family's latest revision
}
SERVICE: dict[str, Handler] = {
    **{
        k: to("CreateService", k)
        for k in (
            "cluster",
            "taskDefinition",
            "desiredCount",
            "platformVersion",
            "propagateTags",
            "loadBalancers",
            "healthCheckGracePeriodSeconds",
            "launchType",
            "schedulingStrategy",
            "enableExecuteCommand",
        )
    },
    "name": to("CreateService", "serviceName"),
    "capacityProviderStrategies": to("CreateService", "capacityProviderStrategy"),
    "serviceRegistries": to("CreateService", "serviceRegistries", convert=lambda r: [r]),  # one block -> a list
    "networkConfiguration": lambda n: {
        "CreateService": {
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": n["subnets"],
                    "securityGroups": n.get("securityGroups", []),
                    "assignPublicIp": "ENABLED" if n.get("assignPublicIp") else "DISABLED",
                }
            }
        }
    },
    "deploymentCircuitBreaker": to("CreateService", "deploymentConfiguration", "deploymentCircuitBreaker"),
    "deploymentMinimumHealthyPercent": to("CreateService", "deploymentConfiguration", "minimumHealthyPercent"),
    "deploymentMaximumPercent": to("CreateService", "deploymentConfiguration", "maximumPercent"),
    "enableEcsManagedTags": to("CreateService", "enableECSManagedTags"),
    "tags": tag_list("CreateService", "key", "value", "tags"),
    "waitForSteadyState": None,  # provider: poll after create/update
    "forceNewDeployment": None,  # UpdateService's own flag, not a create parameter
}
TARGET_GROUP: dict[str, Handler] = {
    **{k: to("CreateTargetGroup", k[:1].upper() + k[1:]) for k in ("name", "port", "protocol", "targetType")},
    **{k: to("CreateTargetGroup", k[:1].upper() + k[1:]) for k in ("vpcId", "protocolVersion", "ipAddressType")},
    "healthCheck": _health_check,
    "deregistrationDelay": attribute("ModifyTargetGroupAttributes", "deregistration_delay.timeout_seconds"),
    "tags": tag_list("CreateTargetGroup"),
}
LISTENER: dict[str, Handler] = {
    **{k: to("CreateListener", k[:1].upper() + k[1:]) for k in ("loadBalancerArn", "port", "protocol")},
    "sslPolicy": to("CreateListener", "SslPolicy"),
    "certificateArn": lambda arn: {"CreateListener": {"Certificates": [{"CertificateArn": arn}]}},
    "defaultActions": to("CreateListener", "DefaultActions", convert=lambda a: [_listener_action(x) for x in a]),
    "tags": tag_list("CreateListener"),
    **{
        f"routingHttpResponse{name}HeaderValue": attribute(
            "ModifyListenerAttributes", f"routing.http.response.{key}.header_value"
        )
        for name, key in (
            ("StrictTransportSecurity", "strict_transport_security"),
            ("XContentTypeOptions", "x_content_type_options"),
            ("XFrameOptions", "x_frame_options"),
        )
    },
}
LB_ATTRIBUTES = "ModifyLoadBalancerAttributes"
LOAD_BALANCER: dict[str, Handler] = {
    **{k: to("CreateLoadBalancer", k[:1].upper() + k[1:]) for k in ("name", "subnets", "securityGroups")},
    "ipAddressType": to("CreateLoadBalancer", "IpAddressType"),
    "internal": to("CreateLoadBalancer", "Scheme", convert=lambda i: "internal" if i else "internet-facing"),
    "loadBalancerType": to("CreateLoadBalancer", "Type"),
    "tags": tag_list("CreateLoadBalancer"),
    "enableHttp2": attribute(LB_ATTRIBUTES, "routing.http2.enabled", lower_bool),
    "dropInvalidHeaderFields": attribute(LB_ATTRIBUTES, "routing.http.drop_invalid_header_fields.enabled", lower_bool),
    "desyncMitigationMode": attribute(LB_ATTRIBUTES, "routing.http.desync_mitigation_mode"),
    "idleTimeout": attribute(LB_ATTRIBUTES, "idle_timeout.timeout_seconds"),
    "enableDeletionProtection": attribute(LB_ATTRIBUTES, "deletion_protection.enabled", lower_bool),
    "accessLogs": lambda logs: {
        LB_ATTRIBUTES: {
            "Attributes": [{"Key": f"access_logs.s3.{k}", "Value": lower_bool(v)} for k, v in sorted(logs.items())]
        }
    },
}
ALARM_SAME = ("alarmDescription", "alarmActions", "comparisonOperator", "evaluationPeriods", "datapointsToAlarm")
ALARM_SAME_2 = ("threshold", "treatMissingData", "metricName", "namespace", "period", "statistic", "unit")
METRIC_ALARM: dict[str, Handler] = {
    **{k: to("PutMetricAlarm", k[:1].upper() + k[1:]) for k in (*ALARM_SAME, *ALARM_SAME_2)},
    **{k: to("PutMetricAlarm", k[:1].upper() + k[1:]) for k in ("extendedStatistic", "actionsEnabled")},
    "name": to("PutMetricAlarm", "AlarmName"),
    "okActions": to("PutMetricAlarm", "OKActions"),
    "insufficientDataActions": to("PutMetricAlarm", "InsufficientDataActions"),
    "thresholdMetricId": to("PutMetricAlarm", "ThresholdMetricId"),
    "dimensions": to("PutMetricAlarm", "Dimensions", convert=lambda d: [{"Name": k, "Value": v} for k, v in d.items()]),
    "metricQueries": to("PutMetricAlarm", "Metrics", convert=lambda qs: [_alarm_query(q) for q in qs]),
    "tags": tag_list("PutMetricAlarm"),
}
DASHBOARD: dict[str, Handler] = {
    "dashboardName": to("PutDashboard", "DashboardName"),
    "dashboardBody": to("PutDashboard", "DashboardBody"),
}
REPOSITORY: dict[str, Handler] = {
    "name": to("CreateRepository", "repositoryName"),
    "imageTagMutability": to("CreateRepository", "imageTagMutability"),
    "imageScanningConfiguration": to("CreateRepository", "imageScanningConfiguration"),
    "encryptionConfigurations": to("CreateRepository", "encryptionConfiguration", convert=lambda c: c[0]),
    "tags": tag_list("CreateRepository", member="tags"),
    "forceDelete": None,  # DeleteRepository's own flag, used by the provider on destroy
}
LIFECYCLE_POLICY: dict[str, Handler] = {
    "repository": to("PutLifecyclePolicy", "repositoryName"),
    "policy": to("PutLifecyclePolicy", "lifecyclePolicyText"),
}
SCALING_POLICY: dict[str, Handler] = {
    **{k: to("PutScalingPolicy", k[:1].upper() + k[1:]) for k in ("policyType", "resourceId", "scalableDimension")},
    "serviceNamespace": to("PutScalingPolicy", "ServiceNamespace"),
    "name": to("PutScalingPolicy", "PolicyName"),
    "targetTrackingScalingPolicyConfiguration": to(
        "PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration", convert=pascal
    ),
}
SCALABLE_TARGET: dict[str, Handler] = {
    **{k: to("RegisterScalableTarget", k[:1].upper() + k[1:]) for k in ("minCapacity", "maxCapacity", "resourceId")},
    **{k: to("RegisterScalableTarget", k[:1].upper() + k[1:]) for k in ("scalableDimension", "serviceNamespace")},
    "roleArn": to("RegisterScalableTarget", "RoleARN"),
    "tags": to("RegisterScalableTarget", "Tags"),
}

RDS_NAMES = {
    "identifier": "DBInstanceIdentifier",
    "instanceClass": "DBInstanceClass",
    "engine": "Engine",
    "engineVersion": "EngineVersion",
    "allocatedStorage": "AllocatedStorage",
    "maxAllocatedStorage": "MaxAllocatedStorage",
    "storageType": "StorageType",
    "storageEncrypted": "StorageEncrypted",
    "kmsKeyId": "KmsKeyId",
    "iops": "Iops",
    "storageThroughput": "StorageThroughput",
    "dbName": "DBName",
    "username": "MasterUsername",
    "password": "MasterUserPassword",
    "manageMasterUserPassword": "ManageMasterUserPassword",
    "port": "Port",
    "dbSubnetGroupName": "DBSubnetGroupName",
    "parameterGroupName": "DBParameterGroupName",
    "optionGroupName": "OptionGroupName",
    "vpcSecurityGroupIds": "VpcSecurityGroupIds",
    "publiclyAccessible": "PubliclyAccessible",
    "multiAz": "MultiAZ",
    "backupRetentionPeriod": "BackupRetentionPeriod",
    "backupWindow": "PreferredBackupWindow",
    "maintenanceWindow": "PreferredMaintenanceWindow",
    "copyTagsToSnapshot": "CopyTagsToSnapshot",
    "deletionProtection": "DeletionProtection",
    "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
    "performanceInsightsEnabled": "EnablePerformanceInsights",
    "performanceInsightsRetentionPeriod": "PerformanceInsightsRetentionPeriod",
    "performanceInsightsKmsKeyId": "PerformanceInsightsKMSKeyId",
    "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
    "caCertIdentifier": "CACertificateIdentifier",
    "monitoringInterval": "MonitoringInterval",
    "monitoringRoleArn": "MonitoringRoleArn",
    "iamDatabaseAuthenticationEnabled": "EnableIAMDatabaseAuthentication",
    "networkType": "NetworkType",
}
RDS_INSTANCE: dict[str, Handler] = {
    **{k: to("CreateDBInstance", v) for k, v in RDS_NAMES.items()},
    "tags": tag_list("CreateDBInstance"),
    "skipFinalSnapshot": to("DeleteDBInstance", "SkipFinalSnapshot"),
    "finalSnapshotIdentifier": to("DeleteDBInstance", "FinalDBSnapshotIdentifier"),
    "deleteAutomatedBackups": to("DeleteDBInstance", "DeleteAutomatedBackups"),
    "applyImmediately": to("ModifyDBInstance", "ApplyImmediately"),
    "allowMajorVersionUpgrade": to("ModifyDBInstance", "AllowMajorVersionUpgrade"),
    "passwordWoVersion": None,  # provider: re-sends the write-only password when this number changes
}
RDS_PARAMETER_GROUP: dict[str, Handler] = {
    "name": to("CreateDBParameterGroup", "DBParameterGroupName"),
    "family": to("CreateDBParameterGroup", "DBParameterGroupFamily"),
    "description": to("CreateDBParameterGroup", "Description"),
    "tags": tag_list("CreateDBParameterGroup"),
    "parameters": to(
        "ModifyDBParameterGroup",
        "Parameters",
        convert=lambda ps: [
            {"ParameterName": p["name"], "ParameterValue": p["value"], "ApplyMethod": p.get("applyMethod", "immediate")}
            for p in ps
        ],
    ),
}
RDS_SUBNET_GROUP: dict[str, Handler] = {
    "name": to("CreateDBSubnetGroup", "DBSubnetGroupName"),
    "description": to("CreateDBSubnetGroup", "DBSubnetGroupDescription"),
    "subnetIds": to("CreateDBSubnetGroup", "SubnetIds"),
    "tags": tag_list("CreateDBSubnetGroup"),
}
CERTIFICATE: dict[str, Handler] = {
    "domainName": to("RequestCertificate", "DomainName"),
    "validationMethod": to("RequestCertificate", "ValidationMethod"),
    "keyAlgorithm": to("RequestCertificate", "KeyAlgorithm"),
    "subjectAlternativeNames": to("RequestCertificate", "SubjectAlternativeNames"),
    "certificateBody": to("ImportCertificate", "Certificate", convert=str.encode),
    "privateKey": to("ImportCertificate", "PrivateKey", convert=str.encode),
    "certificateChain": to("ImportCertificate", "CertificateChain", convert=str.encode),
    "tags": lambda tags: {op: tag_list(op)(tags)[op] for op in ("RequestCertificate",)},  # moved below if imported
}
KMS_KEY: dict[str, Handler] = {
    "description": to("CreateKey", "Description"),
    "policy": to("CreateKey", "Policy"),
    "keyUsage": to("CreateKey", "KeyUsage"),
    "customerMasterKeySpec": to("CreateKey", "KeySpec"),
    "tags": tag_list("CreateKey", "TagKey", "TagValue"),
    "enableKeyRotation": lambda on: {"EnableKeyRotation": {}} if on else {},
    "rotationPeriodInDays": to("EnableKeyRotation", "RotationPeriodInDays"),
    "deletionWindowInDays": to("ScheduleKeyDeletion", "PendingWindowInDays"),
}
LOG_GROUP: dict[str, Handler] = {
    "name": to("CreateLogGroup", "logGroupName"),
    "kmsKeyId": to("CreateLogGroup", "kmsKeyId"),
    "logGroupClass": to("CreateLogGroup", "logGroupClass"),
    "tags": to("CreateLogGroup", "tags"),
    "retentionInDays": to("PutRetentionPolicy", "retentionInDays"),
    "skipDestroy": None,  # provider: leave the group on destroy
}
SECRET: dict[str, Handler] = {
    "name": to("CreateSecret", "Name"),
    "description": to("CreateSecret", "Description"),
    "kmsKeyId": to("CreateSecret", "KmsKeyId"),
    "tags": tag_list("CreateSecret"),
    "recoveryWindowInDays": to("DeleteSecret", "RecoveryWindowInDays"),
}
SECRET_VERSION: dict[str, Handler] = {
    "secretId": to("PutSecretValue", "SecretId"),
    "secretString": to("PutSecretValue", "SecretString"),
    "versionStages": to("PutSecretValue", "VersionStages"),
}
TOPIC: dict[str, Handler] = {
    "name": to("CreateTopic", "Name"),
    "kmsMasterKeyId": to("CreateTopic", "Attributes", "KmsMasterKeyId"),
    "tags": tag_list("CreateTopic"),
}
SUBSCRIPTION: dict[str, Handler] = {
    "topic": to("Subscribe", "TopicArn"),
    "protocol": to("Subscribe", "Protocol"),
    "endpoint": to("Subscribe", "Endpoint"),
}
CLUSTER: dict[str, Handler] = {
    "name": to("CreateCluster", "clusterName"),
    "settings": to("CreateCluster", "settings"),
    "tags": tag_list("CreateCluster", "key", "value", "tags"),
}
CAPACITY_PROVIDERS: dict[str, Handler] = {
    "clusterName": to("PutClusterCapacityProviders", "cluster"),
    "capacityProviders": to("PutClusterCapacityProviders", "capacityProviders"),
    "defaultCapacityProviderStrategies": to("PutClusterCapacityProviders", "defaultCapacityProviderStrategy"),
}
SSE_NAMES = {"SseAlgorithm": "SSEAlgorithm", "KmsMasterKeyId": "KMSMasterKeyID"}
BUCKET_ENCRYPTION: dict[str, Handler] = {
    "bucket": to("PutBucketEncryption", "Bucket"),
    "rules": to(
        "PutBucketEncryption",
        "ServerSideEncryptionConfiguration",
        "Rules",
        convert=lambda rules: [
            {
                k: (
                    {SSE_NAMES.get(dk, dk): dv for dk, dv in v.items()}
                    if k == "ApplyServerSideEncryptionByDefault"
                    else v
                )
                for k, v in pascal(r).items()
            }
            for r in rules
        ],
    ),
}
BUCKET_LIFECYCLE: dict[str, Handler] = {
    "bucket": to("PutBucketLifecycleConfiguration", "Bucket"),
    "rules": to(
        "PutBucketLifecycleConfiguration",
        "LifecycleConfiguration",
        "Rules",
        convert=lambda rules: [{("ID" if k == "Id" else k): v for k, v in pascal(r).items()} for r in rules],
    ),
}
PUBLIC_ACCESS_BLOCK: dict[str, Handler] = {
    "bucket": to("PutPublicAccessBlock", "Bucket"),
    **{
        k: to("PutPublicAccessBlock", "PublicAccessBlockConfiguration", k[:1].upper() + k[1:])
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    },
}
RECORD_SET = ("ChangeResourceRecordSets", "ChangeBatch", "Changes")
RECORD: dict[str, Handler] = {
    "zoneId": to("ChangeResourceRecordSets", "HostedZoneId"),
    "name": to(*RECORD_SET, "Name"),
    "type": to(*RECORD_SET, "Type"),
    "ttl": to(*RECORD_SET, "TTL"),
    "records": to(*RECORD_SET, "ResourceRecords", convert=lambda rs: [{"Value": r} for r in rs]),
    "aliases": to(
        *RECORD_SET,
        "AliasTarget",
        convert=lambda a: {
            "HostedZoneId": a[0]["zoneId"],
            "DNSName": a[0]["name"],
            "EvaluateTargetHealth": a[0]["evaluateTargetHealth"],
        },
    ),
    "allowOverwrite": None,  # provider: UPSERT instead of CREATE
}

# Pulumi type -> (botocore service, handlers, name input and the API member it fills when Pulumi auto-names,
# ARN member of the follow-up attribute call).
CONTRACTS: dict[str, tuple[str, dict[str, Handler], tuple[str, str] | None]] = {
    "aws:ecs/taskDefinition:TaskDefinition": ("ecs", TASK_DEFINITION, None),
    "aws:ecs/service:Service": ("ecs", SERVICE, ("name", "CreateService.serviceName")),
    "aws:lb/targetGroup:TargetGroup": ("elbv2", TARGET_GROUP, ("name", "CreateTargetGroup.Name")),
    "aws:lb/listener:Listener": ("elbv2", LISTENER, None),
    "aws:lb/loadBalancer:LoadBalancer": ("elbv2", LOAD_BALANCER, ("name", "CreateLoadBalancer.Name")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", METRIC_ALARM, None),
    "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch", DASHBOARD, None),
    "aws:ecr/repository:Repository": ("ecr", REPOSITORY, ("name", "CreateRepository.repositoryName")),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("ecr", LIFECYCLE_POLICY, None),
    "aws:appautoscaling/policy:Policy": ("application-autoscaling", SCALING_POLICY, None),
    "aws:appautoscaling/target:Target": ("application-autoscaling", SCALABLE_TARGET, None),
    "aws:rds/instance:Instance": ("rds", RDS_INSTANCE, None),
    "aws:rds/parameterGroup:ParameterGroup": (
        "rds",
        RDS_PARAMETER_GROUP,
        ("name", "CreateDBParameterGroup.DBParameterGroupName"),
    ),
    "aws:rds/subnetGroup:SubnetGroup": ("rds", RDS_SUBNET_GROUP, ("name", "CreateDBSubnetGroup.DBSubnetGroupName")),
    "aws:acm/certificate:Certificate": ("acm", CERTIFICATE, None),
    "aws:kms/key:Key": ("kms", KMS_KEY, None),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", LOG_GROUP, None),
    "aws:secretsmanager/secret:Secret": ("secretsmanager", SECRET, ("name", "CreateSecret.Name")),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretsmanager", SECRET_VERSION, None),
    "aws:sns/topic:Topic": ("sns", TOPIC, ("name", "CreateTopic.Name")),
    "aws:sns/topicSubscription:TopicSubscription": ("sns", SUBSCRIPTION, None),
    "aws:ecs/cluster:Cluster": ("ecs", CLUSTER, ("name", "CreateCluster.clusterName")),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": ("ecs", CAPACITY_PROVIDERS, None),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "s3",
        BUCKET_ENCRYPTION,
        None,
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("s3", BUCKET_LIFECYCLE, None),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("s3", PUBLIC_ACCESS_BLOCK, None),
    "aws:route53/record:Record": ("route53", RECORD, None),
}
ATTRIBUTE_TARGETS = {
    "ModifyTargetGroupAttributes": "TargetGroupArn",
    "ModifyListenerAttributes": "ListenerArn",
    "ModifyLoadBalancerAttributes": "LoadBalancerArn",
}


def api_requests(resource: Resource) -> dict[str, dict[str, Any]]:
    """The API requests the provider sends to create ``resource``, keyed by operation."""
    _, handlers, auto_name = CONTRACTS[resource.type]
    requests: dict[str, dict[str, Any]] = {}
    inputs = {k: resource.input(k) for k in resource.inputs if not k.startswith("__")}
    for key, value in inputs.items():
        if key == "region":  # pulumi-aws 7: which regional endpoint the provider calls, not an API member
            continue
        if key not in handlers:
            raise AssertionError(f"{resource.name}: Pulumi input {key!r} has no API translation; add it above")
        handler = handlers[key]
        if handler is not None and value is not None:
            for operation, fragment in handler(value).items():
                _merge(requests.setdefault(operation, {}), copy.deepcopy(fragment))
    if auto_name and auto_name[0] not in inputs:  # auto-named: the provider sends the generated physical name
        operation, member = auto_name[1].split(".")
        requests.setdefault(operation, {})[member] = resource.outputs.get("name") or resource.name
    if resource.type == "aws:appautoscaling/policy:Policy":
        requests["PutScalingPolicy"].setdefault("PolicyName", resource.name)
    _fill_identifiers(resource, requests)
    for operation, arn_member in ATTRIBUTE_TARGETS.items():
        if operation in requests:
            requests[operation][arn_member] = resource.outputs.get("arn", f"arn:aws:elasticloadbalancing:{operation}")
    return requests


def _fill_identifiers(resource: Resource, requests: dict[str, dict[str, Any]]) -> None:
    """What the provider sends besides the inputs: identifiers of the resource being changed, wire formats."""
    arn = resource.outputs.get("arn", f"arn:aws:{resource.type}")
    rds_id = requests.get("CreateDBInstance", {}).get("DBInstanceIdentifier")
    for operation in ("DeleteDBInstance", "ModifyDBInstance"):
        if operation in requests:
            requests[operation]["DBInstanceIdentifier"] = rds_id
    if "ModifyDBParameterGroup" in requests:
        name = requests["CreateDBParameterGroup"]["DBParameterGroupName"]
        requests["ModifyDBParameterGroup"]["DBParameterGroupName"] = name
    for operation in ("EnableKeyRotation", "ScheduleKeyDeletion"):
        if operation in requests:
            requests[operation]["KeyId"] = arn
    if "PutRetentionPolicy" in requests:
        requests["PutRetentionPolicy"]["logGroupName"] = requests["CreateLogGroup"]["logGroupName"]
    if "DeleteSecret" in requests:
        requests["DeleteSecret"]["SecretId"] = arn
    if "PutClusterCapacityProviders" in requests:  # the provider sends an empty default strategy when none is set
        requests["PutClusterCapacityProviders"].setdefault("defaultCapacityProviderStrategy", [])
    if "ImportCertificate" in requests and "RequestCertificate" in requests:  # tags go with the import
        requests["ImportCertificate"]["Tags"] = requests.pop("RequestCertificate")["Tags"]
    if "ChangeResourceRecordSets" in requests:
        batch = requests["ChangeResourceRecordSets"]["ChangeBatch"]
        batch["Changes"] = [{"Action": "UPSERT", "ResourceRecordSet": batch["Changes"]}]


def contract_resources(graph: ResourceGraph) -> Iterator[Resource]:
    for resource in graph.resources:
        if resource.type in CONTRACTS:
            yield resource


def model_violations(resource: Resource) -> list[str]:
    service_name = CONTRACTS[resource.type][0]
    out = []
    for operation, request in api_requests(resource).items():
        out += [
            f"{resource.name} {operation}: {v}" for v in shape_violations(request, input_shape(service_name, operation))
        ]
    return out


# -- documented rules from the models' own documentation --------------------------------------------------------


def _attribute_rules(service_name: str, shape_name: str, key: str) -> tuple[tuple[int, int] | None, list[str] | None]:
    """The range or the values botocore's documentation gives for one ELB attribute key (asserting it is there)."""
    text = documented(f"{key} - ", service_name, shape_name, "Key")
    segment = text.split(f"{key} - ", 1)[1]
    segment = re.split(r" [a-z0-9_]+(?:\.[a-z0-9_]+)+ - ", segment, maxsplit=1)[0]
    span = re.search(r"range is (\d+)-(\d+)", segment)
    values = re.search(r"possible values are ([a-z_ ,]+?)\s?\.", segment)
    choices = [v.strip() for v in re.split(r",|\band\b", values.group(1)) if v.strip()] if values else None
    if "The value is true or false" in segment:
        choices = ["true", "false"]
    return ((int(span.group(1)), int(span.group(2))) if span else None), choices


ATTRIBUTE_SHAPES = {
    "ModifyTargetGroupAttributes": "TargetGroupAttribute",
    "ModifyListenerAttributes": "ListenerAttribute",
    "ModifyLoadBalancerAttributes": "LoadBalancerAttribute",
}


def elb_attribute_violations(requests: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for operation, shape_name in ATTRIBUTE_SHAPES.items():
        for attr in requests.get(operation, {}).get("Attributes", []):
            key, value = attr["Key"], attr["Value"]
            if f"{key} - " not in doc("elbv2", shape_name, "Key"):
                out.append(f"{operation}: {key!r} is not an attribute botocore documents for {shape_name}")
                continue
            span, choices = _attribute_rules("elbv2", shape_name, key)
            if span and not span[0] <= int(value) <= span[1]:
                out.append(f"{operation}: {key}={value} outside the documented range {span[0]}-{span[1]}")
            if choices and value not in choices:
                out.append(f"{operation}: {key}={value!r} not one of the documented values {choices}")
    return out


def _fargate_sizes() -> dict[int, set[int]]:
    """Fargate task CPU -> allowed memory (MiB), parsed from RegisterTaskDefinition's ``memory`` documentation."""
    text = documented("If using the Fargate launch type", "ecs", "RegisterTaskDefinitionRequest", "memory")
    sizes: dict[int, set[int]] = {}
    pieces = re.split(r"Available cpu values: (\d+) \([^)]*\)", text)
    for memory, cpu in zip(pieces[0::2], pieces[1::2], strict=False):
        between = re.search(r"Between (\d+) \(\d+ GB\) and (\d+) \(\d+ GB\) in increments of (\d+)", memory)
        between_gb = re.search(r"Between (\d+) ?GB and (\d+) GB in (\d+) GB increments", memory)
        if between:
            low, high, step = map(int, between.groups())
            sizes[int(cpu)] = set(range(low, high + 1, step))
        elif between_gb:
            low, high, step = (int(g) * 1024 for g in between_gb.groups())
            sizes[int(cpu)] = set(range(low, high + 1, step))
        else:
            sizes[int(cpu)] = {int(m) for m in re.findall(r"(\d+) \((?:\d*\.)?\d+ GB\)", memory)}
    assert {256, 512, 1024, 2048, 4096} <= set(sizes), f"could not read the Fargate sizes from botocore: {sizes}"
    return sizes


def _health_check_ranges() -> dict[str, tuple[int, int]]:
    ranges = {}
    for member in ("interval", "timeout", "retries", "startPeriod"):
        text = doc("ecs", "HealthCheck", member)
        found = re.search(r"between (\d+) and (\d+)", text)
        assert found, f"botocore no longer documents a range for HealthCheck.{member}"
        ranges[member] = (int(found.group(1)), int(found.group(2)))
    return ranges


def task_definition_violations(request: dict[str, Any]) -> list[str]:
    out = []
    if "FARGATE" in request.get("requiresCompatibilities", []):
        sizes = _fargate_sizes()
        cpu, memory = int(request["cpu"]), int(request["memory"])
        if memory not in sizes.get(cpu, set()):
            out.append(f"Fargate has no task size cpu={cpu} memory={memory} (allowed: {sorted(sizes.get(cpu, []))})")
        max_stop = documented("the max stop timeout value is 120 seconds", "ecs", "ContainerDefinition", "stopTimeout")
        assert max_stop
        for container in request["containerDefinitions"]:
            if container.get("stopTimeout", 0) > 120:
                out.append(f"{container['name']}: stopTimeout above Fargate's documented 120 seconds")
    out += [v for c in request["containerDefinitions"] for v in _awslogs_violations(c, request)]
    ranges = _health_check_ranges()
    for container in request["containerDefinitions"]:
        for member, value in (container.get("healthCheck") or {}).items():
            if member in ranges and not ranges[member][0] <= value <= ranges[member][1]:
                out.append(f"{container['name']}: healthCheck.{member}={value} outside {ranges[member]}")
        command = (container.get("healthCheck") or {}).get("command", ["CMD"])
        if command[0] not in ("CMD", "CMD-SHELL"):
            out.append(f"{container['name']}: healthCheck.command must start with CMD or CMD-SHELL")
    return out


def _awslogs_violations(container: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """awslogs options as LogConfiguration.options documents them: group and region required, a stream prefix
    required on Fargate, ``mode`` non-blocking or blocking, and no option the documentation does not name."""
    logging = container.get("logConfiguration") or {}
    if logging.get("logDriver") != "awslogs":
        return []
    text = documented("awslogs-stream-prefix Required: Yes, when using Fargate", "ecs", "LogConfiguration", "options")
    options = logging.get("options") or {}
    required = ["awslogs-group", "awslogs-region"]
    if "FARGATE" in request.get("requiresCompatibilities", []):
        required.append("awslogs-stream-prefix")
    out = [f"{container['name']}: awslogs needs option {o}" for o in required if o not in options]
    modes = re.search(r"mode Required: No Valid values: ([a-z-]+) \| ([a-z-]+)", text)
    assert modes, "botocore no longer documents the awslogs delivery modes"
    if options.get("mode", "blocking") not in modes.groups():
        out.append(f"{container['name']}: awslogs mode {options['mode']!r} not one of {modes.groups()}")
    out += [f"{container['name']}: awslogs option {o!r} is not documented" for o in options if f" {o} " not in text]
    return out


def _valid_values(text: str) -> list[str]:
    found = re.search(r"Valid Values: ([A-Za-z| ]+?)\s{1,2}[A-Z]", text)
    assert found, f"no 'Valid Values:' in {text[:80]!r}"
    return [v.strip() for v in found.group(1).split("|")]


def alarm_violations(request: dict[str, Any]) -> list[str]:
    """PutMetricAlarm's documented rules (botocore documentation of PutMetricAlarmInput and MetricDataQuery)."""
    out = []
    period_rule = documented(
        "Valid values are 10, 20, 30, and any multiple of 60", "cloudwatch", "PutMetricAlarmInput", "Period"
    )
    assert period_rule

    def bad_period(period: int) -> bool:
        return period not in (10, 20, 30) and period % 60 != 0

    missing = _valid_values(doc("cloudwatch", "PutMetricAlarmInput", "TreatMissingData"))
    if request.get("TreatMissingData", "missing") not in missing:
        out.append(f"TreatMissingData={request['TreatMissingData']!r} not one of {missing}")
    if request.get("DatapointsToAlarm", 0) > request.get("EvaluationPeriods", 0):
        out.append("DatapointsToAlarm (M) exceeds EvaluationPeriods (N)")
    metrics = request.get("Metrics")
    if metrics:
        documented(
            "If you use the Metrics parameter, you cannot include the Namespace",
            "cloudwatch",
            "PutMetricAlarmInput",
            "Metrics",
        )
        for single in ("Namespace", "MetricName", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic"):
            if single in request:
                out.append(f"{single} together with Metrics")
        returned = [m for m in metrics if m.get("ReturnData")]
        if len(returned) != 1:
            out.append(f"{len(returned)} Metrics items with ReturnData true; the alarm watches exactly one")
        documented("The first character must be a lowercase letter", "cloudwatch", "MetricDataQuery", "Id")
        ids = {m["Id"] for m in metrics}
        for m in metrics:
            if not re.fullmatch(r"[a-z][A-Za-z0-9_]*", m["Id"]):
                out.append(f"Metrics Id {m['Id']!r}: letters, digits, underscore, starting lowercase")
            if ("MetricStat" in m) == ("Expression" in m):
                out.append(f"Metrics {m['Id']}: exactly one of MetricStat and Expression")
            if "MetricStat" in m and bad_period(m["MetricStat"]["Period"]):
                out.append(f"Metrics {m['Id']}: period {m['MetricStat']['Period']}")
            for name in re.findall(r"\b([a-z][A-Za-z0-9_]*)\b", m.get("Expression", "")):
                if name not in ids and not name.isupper():
                    out.append(f"Metrics {m['Id']}: expression names unknown id {name!r}")
    else:
        documented(
            "you must specify either Statistic or ExtendedStatistic", "cloudwatch", "PutMetricAlarmInput", "Statistic"
        )
        if ("Statistic" in request) == ("ExtendedStatistic" in request):
            out.append("exactly one of Statistic and ExtendedStatistic")
        if "ExtendedStatistic" in request and not re.fullmatch(r"p\d{1,2}(\.\d+)?", request["ExtendedStatistic"]):
            out.append(f"ExtendedStatistic {request['ExtendedStatistic']!r}")
        if bad_period(request.get("Period", 0)):
            out.append(f"Period {request.get('Period')}")
    return out


@functools.cache
def ssl_policies() -> frozenset[str]:
    """ELB security policy names: botocore has no enum for them; moto (pinned in requirements-dev.txt) transcribes
    AWS's describe-ssl-policies list. Loaded from its data module alone, without importing moto's ELB backend."""
    return frozenset(_load_moto_data("elbv2/ssl_policies.py").SSL_POLICIES)


def listener_violations(request: dict[str, Any]) -> list[str]:
    policy = request.get("CreateListener", {}).get("SslPolicy")
    if policy is not None and policy not in ssl_policies():
        return [f"SslPolicy {policy!r} is not an ELB security policy"]
    return []


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def rds_violations(requests: dict[str, dict[str, Any]]) -> list[str]:
    """CreateDBInstance/DeleteDBInstance constraints from the RDS model's documentation."""
    out = []
    create, delete = requests.get("CreateDBInstance", {}), requests.get("DeleteDBInstance", {})
    rule = "First character must be a letter. Can't end with a hyphen or contain two consecutive hyphens."
    documented(rule, "rds", "CreateDBInstanceMessage", "DBInstanceIdentifier")
    documented(rule, "rds", "DeleteDBInstanceMessage", "FinalDBSnapshotIdentifier")
    for member, value, longest in (
        ("DBInstanceIdentifier", create.get("DBInstanceIdentifier"), 63),
        ("FinalDBSnapshotIdentifier", delete.get("FinalDBSnapshotIdentifier"), 255),
    ):
        if (
            value is not None
            and not (re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", value) and len(value) <= longest)
            or (value and (value.endswith("-") or "--" in value))
        ):
            out.append(f"{member} {value!r}: {rule}")
    if delete.get("SkipFinalSnapshot") is False and not delete.get("FinalDBSnapshotIdentifier"):
        out.append("a final snapshot without FinalDBSnapshotIdentifier")
    documented("Must be in the format hh24:mi-hh24:mi", "rds", "CreateDBInstanceMessage", "PreferredBackupWindow")
    documented("Must be at least 30 minutes", "rds", "CreateDBInstanceMessage", "PreferredBackupWindow")
    backup = create.get("PreferredBackupWindow")
    if backup is not None:
        found = re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", backup)
        if not found or (_minutes(backup[6:]) - _minutes(backup[:5])) % 1440 < 30:
            out.append(f"PreferredBackupWindow {backup!r}: hh24:mi-hh24:mi, at least 30 minutes")
    documented(
        "Must be in the format ddd:hh24:mi-ddd:hh24:mi", "rds", "CreateDBInstanceMessage", "PreferredMaintenanceWindow"
    )
    maintenance = create.get("PreferredMaintenanceWindow")
    day = r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d"
    if maintenance is not None and not re.fullmatch(f"{day}-{day}", maintenance):
        out.append(f"PreferredMaintenanceWindow {maintenance!r}: ddd:hh24:mi-ddd:hh24:mi")
    retention = create.get("PerformanceInsightsRetentionPeriod")
    documented(
        "Valid Values: 7 month * 31, where month is a number of months from 1-23",
        "rds",
        "CreateDBInstanceMessage",
        "PerformanceInsightsRetentionPeriod",
    )
    if retention is not None and retention not in {7, 731, *(31 * m for m in range(1, 24))}:
        out.append(f"PerformanceInsightsRetentionPeriod {retention}: 7, 731 or 31 x 1..23 months")
    return out


def retention_and_window_violations(requests: dict[str, dict[str, Any]]) -> list[str]:
    """Log retention, KMS deletion window and secret recovery window, as the models document them."""
    out = []
    if "PutRetentionPolicy" in requests:
        text = documented("Possible values are:", "logs", "PutRetentionPolicyRequest", "retentionInDays")
        allowed = {int(d) for d in re.findall(r"\d+", text.split("Possible values are:", 1)[1].split(".")[0])}
        days = requests["PutRetentionPolicy"]["retentionInDays"]
        if days not in allowed:
            out.append(f"retentionInDays {days} not one of {sorted(allowed)}")
    if "ScheduleKeyDeletion" in requests:
        documented("it must be between 7 and 30, inclusive", "kms", "ScheduleKeyDeletionRequest", "PendingWindowInDays")
        if not 7 <= requests["ScheduleKeyDeletion"]["PendingWindowInDays"] <= 30:
            out.append(f"PendingWindowInDays {requests['ScheduleKeyDeletion']['PendingWindowInDays']}: 7 to 30")
    if "DeleteSecret" in requests and "RecoveryWindowInDays" in requests["DeleteSecret"]:
        documented("The number of days from 7 to 30", "secretsmanager", "DeleteSecretRequest", "RecoveryWindowInDays")
        if not 7 <= requests["DeleteSecret"]["RecoveryWindowInDays"] <= 30:
            out.append(f"RecoveryWindowInDays {requests['DeleteSecret']['RecoveryWindowInDays']}: 7 to 30")
    return out


def scaling_violations(requests: dict[str, dict[str, Any]]) -> list[str]:
    """PutScalingPolicy: a resource label only with ALBRequestCountPerTarget, in the documented format."""
    config = requests.get("PutScalingPolicy", {}).get("TargetTrackingScalingPolicyConfiguration") or {}
    spec = config.get("PredefinedMetricSpecification") or {}
    if "ResourceLabel" not in spec and spec.get("PredefinedMetricType") != "ALBRequestCountPerTarget":
        return []
    documented(
        "The format of the resource label is: app/my-alb/778d41231b141a0f/targetgroup/my-alb-target-group/",
        "application-autoscaling",
        "PredefinedMetricSpecification",
        "ResourceLabel",
    )
    label = spec.get("ResourceLabel", "")
    if spec.get("PredefinedMetricType") != "ALBRequestCountPerTarget":
        return [f"ResourceLabel given for {spec.get('PredefinedMetricType')}"]
    if not re.fullmatch(r"app/[^/]+/[0-9a-f]+/targetgroup/[^/]+/[0-9a-f]+", label):
        return [f"ResourceLabel {label!r}: app/<alb-name>/<alb-id>/targetgroup/<tg-name>/<tg-id>"]
    return []


def semantic_violations(resource: Resource) -> list[str]:
    requests = api_requests(resource)
    out = elb_attribute_violations(requests) + listener_violations(requests) + scaling_violations(requests)
    out += rds_violations(requests) + retention_and_window_violations(requests)
    if "RegisterTaskDefinition" in requests:
        out += task_definition_violations(requests["RegisterTaskDefinition"])
    if "PutMetricAlarm" in requests:
        out += alarm_violations(requests["PutMetricAlarm"])
    if "PutDashboard" in requests:
        out += dashboard_violations(json.loads(requests["PutDashboard"]["DashboardBody"]))
    if "PutLifecyclePolicy" in requests:
        out += lifecycle_violations(json.loads(requests["PutLifecyclePolicy"]["lifecyclePolicyText"]))
    return [f"{resource.name}: {v}" for v in out]


# -- the dashboard body: AWS's documented structure ------------------------------------------------------------
# "Dashboard Body Structure and Syntax", Amazon CloudWatch API Reference:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
# widgets: 0..500 objects; each has type (metric | text | log | alarm | explorer | custom), x 0-23, y >= 0,
# width 1-24, height 1-1000, properties (required). A metric widget's properties require region; metrics is an array
# of arrays [Namespace, MetricName, DimensionName, DimensionValue, ..., {rendering options}] where "." / "..." repeat
# the previous row's values; view is timeSeries | singleValue | gauge | bar | pie | table; period 1, 5, 10, 30 or a
# multiple of 60; stat SampleCount | Average | Sum | Minimum | Maximum | pNN.NN (and the other extended statistics).
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer", "custom"}
VIEWS = {"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}
STATS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d")
RENDERING = {"label", "color", "stat", "period", "visible", "yAxis", "id", "expression", "accountId", "region"}


def _int_in(value: Any, low: int, high: float) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def dashboard_violations(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        return ["the body must be an object with a widgets array"]
    out = [] if len(body["widgets"]) <= 500 else ["more than 500 widgets"]
    for i, widget in enumerate(body["widgets"]):
        at = f"widgets[{i}]"
        if widget.get("type") not in WIDGET_TYPES:
            out.append(f"{at}: type {widget.get('type')!r} not one of {sorted(WIDGET_TYPES)}")
        for key, low, high in (("x", 0, 23), ("y", 0, float("inf")), ("width", 1, 24), ("height", 1, 1000)):
            if key in widget and not _int_in(widget[key], low, high):
                out.append(f"{at}: {key}={widget[key]!r} outside {low}-{high}")
        props = widget.get("properties")
        if not isinstance(props, dict):
            out.append(f"{at}: properties is required")
            continue
        if widget.get("type") == "metric":
            out += [f"{at}: {v}" for v in _metric_widget_violations(props)]
    return out


def _metric_widget_violations(props: dict[str, Any]) -> list[str]:
    out = []
    if not isinstance(props.get("region"), str) or not REGION.fullmatch(props["region"]):
        out.append(f"properties.region is required (a region name), got {props.get('region')!r}")
    if "view" in props and props["view"] not in VIEWS:
        out.append(f"view {props['view']!r} not one of {sorted(VIEWS)}")
    if "stat" in props and props["stat"] not in STATS and not re.fullmatch(r"p\d{1,2}(\.\d+)?", props["stat"]):
        out.append(f"stat {props['stat']!r}")
    if "period" in props and not (props["period"] in (1, 5, 10, 30) or _int_in(props["period"], 60, 10**9)):
        out.append(f"period {props['period']!r}")
    if "period" in props and props["period"] >= 60 and props["period"] % 60:
        out.append(f"period {props['period']!r} is not a multiple of 60")
    metrics = props.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(row, list) and row for row in metrics):
        return [*out, "metrics must be an array of non-empty arrays"]
    for j, row in enumerate(metrics):
        options = row[-1] if isinstance(row[-1], dict) else None
        names = row[:-1] if options is not None else row
        if options is not None and set(options) - RENDERING:
            out.append(f"metrics[{j}]: unknown rendering options {sorted(set(options) - RENDERING)}")
        if options is not None and "expression" in options and not names:
            continue
        if not all(isinstance(n, str) for n in names) or len(names) < 2 or len(names) % 2:
            out.append(f"metrics[{j}]: expected [Namespace, MetricName, (DimensionName, DimensionValue)...]")
        elif j == 0 and ("..." in names or "." in names):
            out.append("metrics[0]: the first row cannot repeat a previous one")
    return out


# -- the ECR lifecycle policy: AWS's documented rule structure -------------------------------------------------
# "Lifecycle policy properties in Amazon ECR" and "Examples of lifecycle policies in Amazon ECR", Amazon ECR User Guide:
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
# rulePriority: integer, unique per policy, the rule with tagStatus any has the highest; selection.tagStatus:
# tagged | untagged | any (tagged needs tagPrefixList or tagPatternList, untagged allows neither, at most four
# wildcards per pattern); countType: imageCountMoreThan | sinceImagePushed | sinceImagePulled |
# sinceImageTransitioned; countUnit days only with the since* types; countNumber a positive integer; storageClass
# standard | archive; action.type: expire | transition (transition needs targetStorageClass archive).
RULE_KEYS = {"rulePriority", "description", "selection", "action"}
SELECTION_KEYS = {"tagStatus", "tagPatternList", "tagPrefixList", "storageClass", "countType", "countUnit"}
COUNT_TYPES = {"imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned"}


def lifecycle_violations(policy: Any) -> list[str]:
    if not isinstance(policy, dict) or set(policy) != {"rules"} or not policy["rules"]:
        return ["the policy must be {'rules': [...]} with at least one rule"]
    out, priorities = [], []
    for i, rule in enumerate(policy["rules"]):
        at = f"rules[{i}]"
        if set(rule) - RULE_KEYS or not {"rulePriority", "selection", "action"} <= set(rule):
            out.append(f"{at}: members {sorted(rule)}; needs rulePriority, selection, action (description optional)")
            continue
        if not _int_in(rule["rulePriority"], 1, float("inf")):
            out.append(f"{at}: rulePriority must be a positive integer")
        priorities.append(rule["rulePriority"])
        sel, action = rule["selection"], rule["action"]
        if set(sel) - SELECTION_KEYS - {"countNumber"}:
            out.append(f"{at}: unknown selection members {sorted(set(sel) - SELECTION_KEYS - {'countNumber'})}")
        status = sel.get("tagStatus")
        if status not in ("tagged", "untagged", "any"):
            out.append(f"{at}: tagStatus {status!r} not one of tagged, untagged, any")
        has_tags = bool(sel.get("tagPrefixList") or sel.get("tagPatternList"))
        if (status == "tagged") != has_tags:
            out.append(f"{at}: tagPrefixList/tagPatternList go with tagStatus tagged, and only with it")
        if any(p.count("*") > 4 for p in sel.get("tagPatternList", [])):
            out.append(f"{at}: more than four wildcards in a tag pattern")
        count_type = sel.get("countType")
        if count_type not in COUNT_TYPES:
            out.append(f"{at}: countType {count_type!r} not one of {sorted(COUNT_TYPES)}")
        if count_type in COUNT_TYPES - {"imageCountMoreThan"} and sel.get("countUnit") != "days":
            out.append(f"{at}: countType {count_type} needs countUnit days")
        if count_type == "imageCountMoreThan" and "countUnit" in sel:
            out.append(f"{at}: countUnit does not apply to imageCountMoreThan")
        if not _int_in(sel.get("countNumber"), 1, float("inf")):
            out.append(f"{at}: countNumber must be a positive integer")
        if sel.get("storageClass", "standard") not in ("standard", "archive"):
            out.append(f"{at}: storageClass {sel['storageClass']!r}")
        if action.get("type") not in ("expire", "transition"):
            out.append(f"{at}: action.type {action.get('type')!r} not one of expire, transition")
        if action.get("type") == "transition" and action.get("targetStorageClass") != "archive":
            out.append(f"{at}: a transition needs targetStorageClass archive")
    if len(set(priorities)) != len(priorities):
        out.append(f"rulePriority values must be unique: {priorities}")
    any_rules = [r["rulePriority"] for r in policy["rules"] if r.get("selection", {}).get("tagStatus") == "any"]
    if any_rules and priorities and max(any_rules) != max(priorities):
        out.append("the rule with tagStatus any must have the highest rulePriority")
    return out


# -- IAM: parliament and policy_sentry -------------------------------------------------------------------------


@functools.cache
def _parliament() -> Callable[..., Any]:
    # parliament 1.6.4 locates its two bundled data files with pkg_resources, which setuptools >= 81 no longer ships
    # (the app's build pins setuptools 84). Only resource_filename is used; this stand-in answers it the same way.
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            setattr(shim, "resource_filename", lambda package, name: str(importlib.resources.files(package) / name))  # noqa: B010
            sys.modules["pkg_resources"] = shim
    from parliament import analyze_policy_string

    return analyze_policy_string


# Findings that are correct for identity policies but not for these documents, each with its source.
ALLOWED_FINDINGS: dict[tuple[str, str], str] = {
    ("aws:iam/rolePolicy:RolePolicy", "PERMISSIONS_MANAGEMENT_ACTIONS"): (
        "rds-db:connect is classed as permissions management; the task role may connect as exactly one database "
        "user (dbuser:<DbiResourceId>/app_iam), as AWS's IAM database authentication policy shows: "
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html"
    ),
    ("aws:kms/key:Key", "RESOURCE_STAR"): (
        'In a key policy, "Resource": "*" means this KMS key and nothing else: '
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html"
    ),
    ("aws:kms/key:Key", "PERMISSIONS_MANAGEMENT_ACTIONS"): (
        "The account-root kms:* statement is KMS's default key policy; without it IAM cannot manage the key: "
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
    ),
    ("aws:iam/rolePolicy:RolePolicy", "CREDENTIALS_EXPOSURE"): (
        "ecr:GetAuthorizationToken is how the ECS agent pulls a private ECR image; AWS's own "
        "AmazonECSTaskExecutionRolePolicy grants it on *: "
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html"
    ),
}
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}
TRUST_INPUTS = {"aws:iam/role:Role": "assumeRolePolicy"}


def iam_documents(graph: ResourceGraph) -> Iterator[tuple[Resource, str, bool]]:
    """Every IAM policy document in the graph: (resource, JSON, is_trust_policy)."""
    for resource in graph.resources:
        for table, trust in ((POLICY_INPUTS, False), (TRUST_INPUTS, True)):
            key = table.get(resource.type)
            if key and resource.input(key):
                yield resource, resource.input(key), trust
        if resource.type == ATTACHMENT:
            yield resource, managed_policy_document(resource.input("policyArn"), graph), False


ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def _load_moto_data(relative: str) -> types.ModuleType:
    """A data module of moto (pinned in requirements-dev.txt), loaded alone, without importing moto's backends."""
    spec = importlib.util.find_spec("moto")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    module_spec = importlib.util.spec_from_file_location(f"_moto_{path.stem}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@functools.cache
def aws_managed_policies() -> dict[str, Any]:
    """AWS's managed policies by name (path and default version's document), as moto imports them from IAM."""
    return json.loads(_load_moto_data("iam/aws_managed_policies.py").aws_managed_policies_data)  # type: ignore[no-any-return]


def managed_policy_document(arn: str, graph: ResourceGraph) -> str:
    """The document of an attached policy: an AWS managed policy must exist under that path; a customer managed
    one must be a policy of this graph (linted as such)."""
    found = re.fullmatch(r"arn:aws:iam::aws:policy(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]+)", arn)
    if found:
        policy = aws_managed_policies().get(found.group(2))
        assert policy is not None, f"{arn}: AWS has no managed policy {found.group(2)!r}"
        assert policy["Path"] == found.group(1), f"{arn}: AWS's {found.group(2)} lives under {policy['Path']}"
        return json.dumps(policy["Document"])
    ours = [r for r in graph.by_type("aws:iam/policy:Policy") if r.outputs.get("arn") == arn]
    assert ours, f"{arn}: neither an AWS managed policy nor a policy of this stack"
    return str(ours[0].input("policy"))


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    st = policy["Statement"]
    return st if isinstance(st, list) else [st]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def arn_patterns_overlap(policy_arn: str, arn_format: str) -> bool:
    """Could one ARN match both the policy's ``Resource`` (IAM wildcards: ``*`` any run of characters, ``?`` one)
    and policy_sentry's ARN format for a resource type (``${Name}``: any run of characters; names such as RDS's
    ``default:postgres-17`` option group contain ``:``)?
    policy_sentry's own ``does_arn_match`` compares segments split at ``/`` and ``:``, so it rejects legal
    resources such as ``log-group:/slipway/app:log-stream:*`` (slashes in the name) or ``log-group:NAME:*``."""
    field, any_name = "\x00", "\x01"  # a placeholder in partition/region/account never spans a ':'
    head, _, resource = arn_format.partition(":${Account}:")
    fmt = (
        re.sub(r"\$\{[^}]+\}", field, head)
        + (":" + field + ":" if _ else "")
        + re.sub(r"\$\{[^}]+\}", any_name, resource)
    )

    @functools.cache
    def fit(i: int, j: int) -> bool:
        if i == len(fmt) and j == len(policy_arn):
            return True
        a = fmt[i] if i < len(fmt) else None
        b = policy_arn[j] if j < len(policy_arn) else None
        if a == any_name and (fit(i + 1, j) or (b is not None and b != "*" and fit(i, j + 1))):
            return True
        if a == field and (fit(i + 1, j) or (b is not None and b not in ":*" and fit(i, j + 1))):
            return True
        if b == "*" and (fit(i, j + 1) or (a is not None and fit(i + 1, j))):
            return True
        return a is not None and b is not None and a not in (field, any_name) and a in (b, "?") and fit(i + 1, j + 1)

    return fit(0, 0)


def policy_sentry_findings(policy: dict[str, Any], trust: bool) -> list[str]:
    """policy_sentry's action database: every action exists; in an Allow statement every action matches at least one
    of the statement's resources (else it grants nothing) and every resource matches at least one of its actions
    (else it is a typo or a leftover); an action that supports only "*" must get "*"."""
    from policy_sentry.querying.actions import get_action_data, get_actions_for_service

    def matches(arn: str, formats: set[str]) -> bool:
        return arn == "*" or any(arn_patterns_overlap(arn, f) for f in formats)

    out = []
    for st in _statements(policy):
        resources = _as_list(st.get("Resource", []))
        used: set[str] = set()
        checked = not trust and st["Effect"] == "Allow"
        for action in _as_list(st.get("Action", [])):
            prefix, _, name = action.partition(":")
            if "*" in name:
                if not get_actions_for_service(prefix):
                    out.append(f"{action}: unknown service prefix {prefix!r}")
                used |= set(resources)
                continue
            data = get_action_data(prefix, name).get(prefix)
            if not data:
                out.append(f"{action}: no such action")
                used |= set(resources)
                continue
            if not checked:
                continue
            formats = {d["resource_arn_format"] for d in data} - {"*"}
            if not formats:
                used.add("*")
                if "*" not in resources:
                    out.append(f"{action} supports only Resource '*', got {resources}")
                continue
            matching = {arn for arn in resources if matches(arn, formats)}
            used |= matching
            if not matching:
                out.append(f"{action}: none of {resources} matches its resource types {sorted(formats)}")
        if checked:
            out += [f"{arn} matches none of the statement's actions" for arn in resources if arn not in used]
    return out


def iam_findings(resource_type: str, document: str, trust: bool) -> list[str]:
    """Findings of both linters, less the allow-listed false positives."""
    policy = json.loads(document)
    out = policy_sentry_findings(policy, trust)
    if trust:
        # parliament lints permission policies; a trust policy has no Resource by design ("MALFORMED" there), so
        # it gets the statement checks IAM applies to trust policies and policy_sentry's action check above.
        for st in _statements(policy):
            if "Resource" in st or "NotResource" in st or "Principal" not in st:
                out.append("a trust policy statement has a Principal and no Resource")
            if not all(a.startswith("sts:") for a in _as_list(st.get("Action", []))):
                out.append(f"trust policy actions must be sts: actions, got {st.get('Action')}")
        return out
    if resource_type == ATTACHMENT:
        # AWS's own managed policy: its actions and resources are checked above; parliament's opinions of AWS's
        # design (e.g. Resource "*") are not ours to fix.
        return out
    for finding in _parliament()(document, include_community_auditors=True).findings:
        if (resource_type, finding.issue) not in ALLOWED_FINDINGS:
            out.append(f"parliament {finding.issue}: {finding.detail} {finding.location}")
    return out


# -- tests -----------------------------------------------------------------------------------------------------


def test_every_api_document_matches_botocores_models(stack: ResourceGraph) -> None:
    resources = list(contract_resources(stack))
    problems = [v for r in resources for v in model_violations(r)]
    assert problems == [], "\n".join(problems)


def test_every_contract_has_resources_to_check(dev: ResourceGraph, prod: ResourceGraph) -> None:
    found = {r.type for graph in (dev, prod) for r in contract_resources(graph)}
    assert found == set(CONTRACTS), f"contracts without resources (tables out of date): {set(CONTRACTS) - found}"


def test_every_api_document_follows_the_documented_rules(stack: ResourceGraph) -> None:
    problems = [v for r in contract_resources(stack) for v in semantic_violations(r)]
    assert problems == [], "\n".join(problems)


def test_container_definitions_are_api_container_definitions(stack: ResourceGraph) -> None:
    """The container definitions JSON already uses API names: each item is a botocore ``ContainerDefinition``."""
    shape = service("ecs").shape_for("ContainerDefinition")
    definitions = stack.by_type("aws:ecs/taskDefinition:TaskDefinition")
    previews = ["preview-db"] if stack.stack == "dev" else []  # dev's task for previews' databases
    assert sorted(t.input("family").rsplit("-", 1)[-1] for t in definitions) == sorted(
        ["migrate", "web", *[p.rsplit("-", 1)[-1] for p in previews]]
    ), "the web service's, the migration's (and in dev the preview-db task's)"
    for task in definitions:
        containers = task.json_input("containerDefinitions")
        assert containers
        problems = [v for c in containers for v in shape_violations(c, shape, f"{task.name}.container")]
        assert problems == [], problems


AWS_SERVICE_ROLE_POLICIES = ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores")
"""AWS Backup's managed service-role policies span 30+ services; on 27 of their actions the resource ARNs AWS wrote
differ from policy_sentry's map. Their actions must still exist; their resource shapes are AWS's design."""


def aws_design(resource: Resource, finding: str) -> bool:
    return (
        resource.type == ATTACHMENT
        and str(resource.input("policyArn")).rsplit("/", 1)[-1] in AWS_SERVICE_ROLE_POLICIES
        and ("supports only Resource" in finding or "matches none" in finding or "none of" in finding)
    )


def test_every_iam_document_passes_parliament_and_policy_sentry(stack: ResourceGraph) -> None:
    documents = list(iam_documents(stack))
    assert len(documents) >= 4, "task and execution roles' trust, the execution policy and the key policy"
    problems = [
        f"{r.type} {r.name}: {f}"
        for r, text, trust in documents
        for f in iam_findings(r.type, text, trust)
        if not aws_design(r, f)
    ]
    assert problems == [], "\n".join(problems)


def test_generated_secrets_pass_the_same_contracts() -> None:
    """``WebAppArgs.generated_secrets`` (not used by slipway's own stacks): their secrets, versions, the containers
    that read them and the execution role's policy, held against botocore's models, the documented rules and the
    IAM linters like everything above."""
    from slipway.offline import run_program
    from slipway_aws.webapp import WebApp, WebAppArgs

    image = "210987654321.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:" + "b" * 64
    names = ["API_TOKEN", "W" * 255]  # the longest name allowed makes the longest physical names
    graph = run_program(lambda: WebApp("shop", WebAppArgs(image_uri=image, profile="dev", generated_secrets=names)))
    resources = list(contract_resources(graph))
    assert sum(r.type == "aws:secretsmanager/secret:Secret" for r in resources) == 3
    problems = [v for r in resources for v in model_violations(r) + semantic_violations(r)]
    shape = service("ecs").shape_for("ContainerDefinition")
    for task in graph.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        (container,) = task.json_input("containerDefinitions")
        if container["name"] == "preview-db":  # dev's task for previews' databases reads the master secret only
            assert {s["name"] for s in container["secrets"]} == {"DB_PASSWORD"}
            continue
        assert set(names) <= {s["name"] for s in container["secrets"]}
        problems += shape_violations(container, shape, f"{task.name}.container")
    problems += [
        f"{r.name}: {f}"
        for r, text, trust in iam_documents(graph)
        for f in iam_findings(r.type, text, trust)
        if not aws_design(r, f)
    ]
    assert problems == [], "\n".join(problems)


def test_every_allow_listed_iam_finding_still_occurs(dev: ResourceGraph, prod: ResourceGraph) -> None:
    """An allow-list entry nothing needs any more would silently hide a real finding later."""
    seen = set()
    for graph in (dev, prod):
        for resource, text, trust in iam_documents(graph):
            if not trust:
                seen |= {
                    (resource.type, f.issue) for f in _parliament()(text, include_community_auditors=True).findings
                }
    assert set(ALLOWED_FINDINGS) <= seen, set(ALLOWED_FINDINGS) - seen


# -- each validator rejects a known-bad document ----------------------------------------------------------------
GOOD_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "repo@sha256:0",
    "essential": True,
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
    "healthCheck": {"command": ["CMD", "true"], "interval": 10, "timeout": 5, "retries": 3},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"logConfiguration": {"logDriver": "cloudwatch"}}, "is not one of LogDriver"),
        ({"essentail": True}, "has no member 'essentail'"),
        ({"name": None, "memory": "512"}, "expected an integer"),
        ({"portMappings": [{"containerPort": 8000, "protocol": "http"}]}, "is not one of TransportProtocol"),
    ],
)
def test_shape_validator_rejects_a_bad_container_definition(change: dict[str, Any], message: str) -> None:
    container = {**GOOD_CONTAINER, **change}
    shape = service("ecs").shape_for("ContainerDefinition")
    assert shape_violations(GOOD_CONTAINER, shape) == []
    assert any(message in v for v in shape_violations(container, shape)), shape_violations(container, shape)


def _resource(type_: str, **inputs: Any) -> Resource:
    return Resource(
        urn=f"urn:{type_}", type=type_, name="bad", parent=None, inputs=inputs, dependencies=[], custom=True
    )


def test_validators_reject_bad_target_group_listener_and_balancer_settings() -> None:
    tg = _resource(
        "aws:lb/targetGroup:TargetGroup",
        port=8000,
        protocol="HTTP",
        healthCheck={"interval": 1, "healthyThreshold": 11, "matcher": "200"},
        deregistrationDelay=4000,
    )
    problems = model_violations(tg) + semantic_violations(tg)
    assert any("HealthCheckIntervalSeconds: value 1 below the model's minimum 5" in p for p in problems), problems
    assert any("HealthyThresholdCount: value 11 above" in p for p in problems), problems
    assert any("deregistration_delay.timeout_seconds=4000 outside the documented range 0-3600" in p for p in problems)
    listener = _resource(
        "aws:lb/listener:Listener",
        loadBalancerArn="arn",
        port=443,
        protocol="HTTPS",
        sslPolicy="ELBSecurityPolicy-TLS13-9-9-2099",
        defaultActions=[{"type": "forwrd"}],
    )
    problems = model_violations(listener) + semantic_violations(listener)
    assert any("'forwrd' is not one of ActionTypeEnum" in p for p in problems), problems
    assert any("is not an ELB security policy" in p for p in problems), problems
    alb = _resource("aws:lb/loadBalancer:LoadBalancer", desyncMitigationMode="strict", idleTimeout=0)
    problems = semantic_violations(alb)
    assert any("'strict' not one of the documented values ['monitor', 'defensive', 'strictest']" in p for p in problems)
    assert any("idle_timeout.timeout_seconds=0 outside the documented range 1-4000" in p for p in problems), problems
    with pytest.raises(AssertionError, match="has no API translation"):
        api_requests(_resource("aws:lb/listener:Listener", mutualAuthentication={"mode": "verify"}))


def test_validators_reject_bad_alarms() -> None:
    bad = _resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        name="a",
        comparisonOperator="GreaterThan",
        evaluationPeriods=2,
        datapointsToAlarm=3,
        metricName="CPUUtilization",
        namespace="AWS/ECS",
        period=45,
        statistic="Average",
        extendedStatistic="p95",
        treatMissingData="ignored",
        unit="Percentage",
    )
    problems = model_violations(bad) + semantic_violations(bad)
    for expected in (
        "'GreaterThan' is not one of ComparisonOperator",
        "'Percentage' is not one of StandardUnit",
        "Period 45",
        "exactly one of Statistic and ExtendedStatistic",
        "TreatMissingData='ignored'",
        "DatapointsToAlarm (M) exceeds EvaluationPeriods (N)",
    ):
        assert any(expected in p for p in problems), (expected, problems)
    math = _resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        name="m",
        comparisonOperator="GreaterThanThreshold",
        evaluationPeriods=1,
        namespace="AWS/RDS",
        metricQueries=[
            {"id": "Free", "returnData": True, "metric": {"namespace": "AWS/RDS", "metricName": "F", "period": 90}},
            {"id": "e", "returnData": True, "expression": "free * 2"},
        ],
    )
    problems = semantic_violations(math)
    for expected in ("Namespace together with Metrics", "2 Metrics items with ReturnData", "Id 'Free'", "period 90"):
        assert any(expected in p for p in problems), (expected, problems)
    assert any("unknown id 'free'" in p for p in problems), problems


def test_validators_reject_bad_task_definitions() -> None:
    task = _resource(
        "aws:ecs/taskDefinition:TaskDefinition",
        family="f",
        cpu="256",
        memory="4096",
        networkMode="bridged",
        requiresCompatibilities=["FARGATE"],
        containerDefinitions=json.dumps(
            [
                {
                    **GOOD_CONTAINER,
                    "stopTimeout": 300,
                    "healthCheck": {"command": ["curl"], "interval": 400},
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-grup": "g", "mode": "async"}},
                }
            ]
        ),
    )
    problems = model_violations(task) + semantic_violations(task)
    for expected in (
        "'bridged' is not one of NetworkMode",
        "Fargate has no task size cpu=256 memory=4096",
        "stopTimeout above Fargate's documented 120 seconds",
        "healthCheck.interval=400 outside (5, 300)",
        "must start with CMD or CMD-SHELL",
        "awslogs needs option awslogs-stream-prefix",
        "awslogs mode 'async'",
        "awslogs needs option awslogs-group",
        "awslogs option 'awslogs-grup' is not documented",
    ):
        assert any(expected in p for p in problems), (expected, problems)
    assert 1024 in _fargate_sizes()[256] and 30720 in _fargate_sizes()[4096] and 61440 in _fargate_sizes()[8192]


def test_dashboard_validator_rejects_a_widget_without_region_and_out_of_grid() -> None:
    good: dict[str, Any] = {
        "widgets": [
            {
                "type": "metric",
                "x": 0,
                "width": 12,
                "height": 6,
                "properties": {"region": "us-east-1", "metrics": [["AWS/ECS", "CPUUtilization", "ClusterName", "c"]]},
            }
        ]
    }
    assert dashboard_violations(good) == []
    bad = copy.deepcopy(good)
    del bad["widgets"][0]["properties"]["region"]
    assert any("properties.region is required" in v for v in dashboard_violations(bad))
    for key, value in (("width", 25), ("x", 24), ("height", 0), ("type", "graph")):
        wrong = copy.deepcopy(good)
        wrong["widgets"][0][key] = value
        assert dashboard_violations(wrong), (key, value)
    bad_props: list[tuple[str, Any]] = [
        ("view", "line"),
        ("period", 90),
        ("stat", "avg"),
        ("metrics", [["A", "B", "C"]]),
    ]
    for prop, value in bad_props:
        wrong = copy.deepcopy(good)
        wrong["widgets"][0]["properties"][prop] = value
        assert dashboard_violations(wrong), (prop, value)
    assert dashboard_violations({"widget": []}) == ["the body must be an object with a widgets array"]


def test_lifecycle_validator_rejects_bad_rules() -> None:
    from slipway_aws.registry import lifecycle_policy

    good = json.loads(lifecycle_policy(50, 7))
    assert lifecycle_violations(good) == []
    for mutate, expected in (
        (lambda p: p["rules"][1].update(rulePriority=1), "must be unique"),
        (lambda p: p["rules"][0]["selection"].update(tagStatus="all"), "tagStatus 'all'"),
        (lambda p: p["rules"][1]["selection"].update(countType="imageCountGreaterThan"), "countType"),
        (lambda p: p["rules"][0]["selection"].pop("countUnit"), "needs countUnit days"),
        (lambda p: p["rules"][1]["selection"].update(countUnit="days"), "countUnit does not apply"),
        (lambda p: p["rules"][0]["action"].update(type="delete"), "action.type 'delete'"),
        (lambda p: p["rules"][0]["selection"].update(tagStatus="tagged"), "go with tagStatus tagged"),
        (
            lambda p: (
                p["rules"].reverse() or p["rules"][0].update(rulePriority=1) or p["rules"][1].update(rulePriority=2)
            ),
            "highest rulePriority",
        ),
    ):
        policy = copy.deepcopy(good)
        mutate(policy)
        assert any(expected in v for v in lifecycle_violations(policy)), (expected, lifecycle_violations(policy))


def test_iam_linters_reject_unknown_actions_and_mismatched_resources() -> None:
    bad = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": ["arn:aws:s3:::bucket/*"]},
                {"Effect": "Allow", "Action": ["ecr:PullImage"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "arn:aws:ecr:us-east-1:1:x"},
            ],
        }
    )
    findings = iam_findings("aws:iam/rolePolicy:RolePolicy", bad, trust=False)
    assert any("parliament RESOURCE_MISMATCH" in f for f in findings), findings
    assert any("parliament UNKNOWN_ACTION" in f for f in findings), findings
    assert any("GetSecretValue: none of ['arn:aws:s3:::bucket/*'] matches" in f for f in findings), findings
    assert any("ecr:PullImage: no such action" in f for f in findings), findings
    assert any("supports only Resource '*'" in f for f in findings), findings
    assert any("arn:aws:ecr:us-east-1:1:x matches none of the statement's actions" in f for f in findings), findings
    trust = json.dumps({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]})
    assert len(iam_findings("aws:iam/role:Role", trust, trust=True)) == 2


def test_validators_reject_bad_database_log_key_and_secret_settings() -> None:
    db = _resource(
        "aws:rds/instance:Instance",
        identifier="1-db--",
        instanceClass="db.t4g.micro",
        engine="postgres",
        backupWindow="03:00-03:15",
        maintenanceWindow="sunday:04:30-sun:05:30",
        performanceInsightsRetentionPeriod=94,
        skipFinalSnapshot=False,
        storageType="gp4",
    )
    problems = model_violations(db) + semantic_violations(db)
    for expected in (
        "DBInstanceIdentifier '1-db--'",
        "a final snapshot without FinalDBSnapshotIdentifier",
        "PreferredBackupWindow '03:00-03:15'",
        "PreferredMaintenanceWindow 'sunday",
        "PerformanceInsightsRetentionPeriod 94",
    ):
        assert any(expected in p for p in problems), (expected, problems)
    for resource, expected in (
        (_resource("aws:cloudwatch/logGroup:LogGroup", name="/g", retentionInDays=10), "retentionInDays 10"),
        (_resource("aws:kms/key:Key", deletionWindowInDays=3), "PendingWindowInDays 3: 7 to 30"),
        (_resource("aws:secretsmanager/secret:Secret", recoveryWindowInDays=45), "RecoveryWindowInDays 45"),
        (
            _resource("aws:acm/certificate:Certificate", domainName="a.example.com", keyAlgorithm="EC_p256"),
            "KeyAlgorithm",
        ),
        (_resource("aws:ecs/cluster:Cluster", settings=[{"name": "insights", "value": "on"}]), "ClusterSettingName"),
        (_resource("aws:route53/record:Record", zoneId="Z", name="a", type="ALIAS", ttl=60), "RRType"),
    ):
        problems = model_violations(resource) + semantic_violations(resource)
        assert any(expected in p for p in problems), (expected, problems)


def test_attached_managed_policies_must_exist_under_their_path(prod: ResourceGraph) -> None:
    good = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    assert "logs:PutLogEvents" in managed_policy_document(good, prod)
    with pytest.raises(AssertionError, match="lives under /service-role/"):
        managed_policy_document("arn:aws:iam::aws:policy/AmazonRDSEnhancedMonitoringRole", prod)
    with pytest.raises(AssertionError, match="AWS has no managed policy"):
        managed_policy_document("arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoring", prod)


def test_scaling_validator_rejects_a_bad_resource_label() -> None:
    def policy(metric: str, label: str) -> Resource:
        spec = {"predefinedMetricType": metric, "resourceLabel": label}
        config = {"targetValue": 500, "predefinedMetricSpecification": spec}
        return _resource(
            "aws:appautoscaling/policy:Policy",
            policyType="TargetTrackingScaling",
            resourceId="service/c/s",
            scalableDimension="ecs:service:DesiredCount",
            serviceNamespace="ecs",
            targetTrackingScalingPolicyConfiguration=config,
        )

    good = "app/alb/0123abcd/targetgroup/tg/4567ef01"
    assert semantic_violations(policy("ALBRequestCountPerTarget", good)) == []
    bad = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/4567ef01"
    assert any("app/<alb-name>" in p for p in semantic_violations(policy("ALBRequestCountPerTarget", bad)))
    assert any(
        "ResourceLabel given for" in p for p in semantic_violations(policy("ECSServiceAverageCPUUtilization", good))
    )
