"""slipway's security baselines (ARCHITECTURE.md section 4) as plain functions over a resource's type and inputs.

The same code runs inside the Pulumi policy pack (``policy/__main__.py``, over ``args.props``) and in the offline
plan (``evaluate`` over the recorded graph). Inputs are Pulumi's camelCase input names in both places. JSON-document
inputs (container definitions, IAM policies) may arrive as strings or already parsed; secrets may arrive wrapped
(the offline graph's ``SecretValue``) or plain (the pack). Access is lazy, so inside the pack a preview-time unknown
only affects the rules that read it.

Enforcement is per environment: ``mandatory`` in prod for every rule; dev relaxes to ``advisory`` only the documented
cost trade-offs (``DEV_TRADE_OFFS``). Any other environment name gets the prod levels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

MANDATORY, ADVISORY = "mandatory", "advisory"
ENVIRONMENTS = ("dev", "prod")

Check = Callable[[str, Mapping[str, Any]], list[str]]


# -- input access ---------------------------------------------------------------------------------------------
def unwrap(value: Any) -> Any:
    """The offline graph wraps secrets in ``SecretValue``; the pack hands them over plain."""
    while type(value).__name__ == "SecretValue" and hasattr(value, "value"):
        value = value.value
    return value


def get(inputs: Any, *path: str | int, default: Any = None) -> Any:
    value = unwrap(inputs)
    for key in path:
        try:
            value = unwrap(value[key])
        except (KeyError, IndexError, TypeError):
            return default
    return default if value is None else value


def document(inputs: Mapping[str, Any], key: str) -> Any:
    """A JSON-document input, parsed (``None`` when absent or unparsable)."""
    raw = get(inputs, key)
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def as_list(value: Any) -> list[Any]:
    value = unwrap(value)
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    return [unwrap(v) for v in value] if isinstance(value, Sequence) else [value]


def containers(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    defs = document(inputs, "containerDefinitions")
    return [c for c in as_list(defs) if isinstance(c, Mapping)]


def statements(inputs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    policy = document(inputs, "policy")
    if not isinstance(policy, Mapping):
        return []
    return [s for s in as_list(policy.get("Statement")) if isinstance(s, Mapping)]


# -- the rule type --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    fsbp: Optional[str]  # AWS Foundational Security Best Practices control, where one exists
    remediation: str
    applies_to: tuple[str, ...]
    check_fn: Check = field(repr=False, compare=False)
    enforcement: Mapping[str, str] = field(default_factory=lambda: {"dev": MANDATORY, "prod": MANDATORY})

    def applies(self, type_: str) -> bool:
        return type_ in self.applies_to

    def check(self, type_: str, inputs: Mapping[str, Any]) -> list[str]:
        """Violations of this rule by one resource (empty when compliant or not applicable)."""
        if not self.applies(type_):
            return []
        return self.check_fn(type_, inputs)

    def level(self, environment: str) -> str:
        if environment == PREVIEW:  # a pull request's preview: dev's trade-offs, plus short log retention
            return ADVISORY if self.id in PREVIEW_TRADE_OFFS else self.level("dev")
        return self.enforcement.get(environment, self.enforcement["prod"])


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    urn: str
    name: str
    type: str
    message: str
    remediation: str
    fsbp: Optional[str]

    @property
    def mandatory(self) -> bool:
        return self.level == MANDATORY


RULES: list[Rule] = []
DEV_RELAXED = {"dev": ADVISORY, "prod": MANDATORY}


def rule(
    id: str,
    description: str,
    fsbp: Optional[str],
    remediation: str,
    *types: str,  # noqa: A002
    dev_trade_off: bool = False,
) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        RULES.append(
            Rule(
                id,
                description,
                fsbp,
                remediation,
                types,
                fn,
                dict(DEV_RELAXED) if dev_trade_off else {"dev": MANDATORY, "prod": MANDATORY},
            )
        )
        return fn

    return register


T_LB = "aws:lb/loadBalancer:LoadBalancer"
T_LISTENER = "aws:lb/listener:Listener"
T_SERVICE = "aws:ecs/service:Service"
T_TASKDEF = "aws:ecs/taskDefinition:TaskDefinition"
T_CLUSTER = "aws:ecs/cluster:Cluster"
T_RDS = "aws:rds/instance:Instance"
T_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
T_ECR = "aws:ecr/repository:Repository"
T_ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
T_LOGS = "aws:cloudwatch/logGroup:LogGroup"
T_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
T_IAM_POLICY = "aws:iam/policy:Policy"
T_ROLE = "aws:iam/role:Role"
T_ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
T_SG = "aws:ec2/securityGroup:SecurityGroup"
T_SG_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
T_SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
T_DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
T_SUBNET = "aws:ec2/subnet:Subnet"
T_SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
T_BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
T_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
T_BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"

TLS_POLICY = re.compile(r"TLS13|TLS-1-2|FS-1-2")
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.I)
PUBLIC_CIDRS = {"0.0.0.0/0", "::/0"}
PUBLIC_PORTS = {80, 443}
BROAD_MANAGED_POLICIES = re.compile(r":policy/(AdministratorAccess|PowerUserAccess|IAMFullAccess|\w*FullAccess)$")


# -- ALB ------------------------------------------------------------------------------------------------------
@rule(
    "alb-https-tls-policy",
    "HTTPS listeners use a TLS 1.2+/1.3 security policy",
    None,
    "set sslPolicy to a TLS 1.3 policy such as ELBSecurityPolicy-TLS13-1-2-Res-2021-06 (slipway:tlsPolicy)",
    T_LISTENER,
)
def _tls_policy(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "protocol") != "HTTPS":
        return []
    policy = get(i, "sslPolicy")
    if not policy or not TLS_POLICY.search(str(policy)):
        return [f"HTTPS listener uses sslPolicy={policy!r}, which allows TLS below 1.2"]
    if not get(i, "certificateArn"):
        return ["HTTPS listener has no certificateArn"]
    return []


@rule(
    "alb-http-redirects-https",
    "Plain-HTTP listeners only redirect (301) to HTTPS",
    "ELB.1",
    "make the port-80 listener's only default action a redirect to protocol HTTPS, port 443, HTTP_301",
    T_LISTENER,
)
def _http_redirect(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "protocol", default="HTTP") == "HTTPS":
        return []
    actions = as_list(get(i, "defaultActions"))
    ok = bool(actions) and all(
        get(a, "type") == "redirect"
        and get(a, "redirect", "protocol") == "HTTPS"
        and get(a, "redirect", "statusCode") == "HTTP_301"
        for a in actions
    )
    return (
        []
        if ok
        else [
            f"{get(i, 'protocol', default='HTTP')} listener on port {get(i, 'port')} serves traffic "
            "instead of redirecting to HTTPS with 301"
        ]
    )


@rule(
    "alb-drop-invalid-headers",
    "The ALB drops invalid HTTP header fields",
    "ELB.4",
    "set dropInvalidHeaderFields=true on the load balancer",
    T_LB,
)
def _drop_headers(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "loadBalancerType", default="application") != "application":
        return []
    return [] if get(i, "dropInvalidHeaderFields") is True else ["dropInvalidHeaderFields is not true"]


@rule(
    "alb-deletion-protection",
    "The ALB has deletion protection",
    "ELB.6",
    "set slipway:deletionProtection=true (enableDeletionProtection on the load balancer)",
    T_LB,
    dev_trade_off=True,
)
def _alb_deletion(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "enableDeletionProtection") is True else ["enableDeletionProtection is not true"]


@rule(
    "alb-security-headers",
    "The HTTPS listener injects HSTS, X-Content-Type-Options and X-Frame-Options",
    None,
    "set routingHttpResponseStrictTransportSecurityHeaderValue (max-age>=31536000), "
    "routingHttpResponseXContentTypeOptionsHeaderValue=nosniff and routingHttpResponseXFrameOptionsHeaderValue=DENY",
    T_LISTENER,
)
def _security_headers(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "protocol") != "HTTPS":
        return []
    out = []
    hsts = str(get(i, "routingHttpResponseStrictTransportSecurityHeaderValue", default=""))
    match = re.search(r"max-age=(\d+)", hsts)
    if not match or int(match.group(1)) < 31536000:
        out.append(f"HSTS header missing or max-age below one year ({hsts or 'unset'})")
    if get(i, "routingHttpResponseXContentTypeOptionsHeaderValue") != "nosniff":
        out.append("X-Content-Type-Options header is not nosniff")
    if get(i, "routingHttpResponseXFrameOptionsHeaderValue") not in ("DENY", "SAMEORIGIN"):
        out.append("X-Frame-Options header is not DENY or SAMEORIGIN")
    return out


@rule(
    "alb-access-logs",
    "The ALB writes access logs to S3",
    "ELB.5",
    "set slipway:albAccessLogs=true (accessLogs.enabled with an encrypted bucket)",
    T_LB,
    dev_trade_off=True,
)
def _access_logs(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "accessLogs", "enabled") is True and get(i, "accessLogs", "bucket"):
        return []
    return ["access logs are not enabled"]


@rule(
    "s3-block-public-access",
    "Buckets block every form of public access",
    "S3.8",
    "set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true",
    T_BUCKET_PAB,
)
def _public_access(_: str, i: Mapping[str, Any]) -> list[str]:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [k for k in keys if get(i, k) is not True]
    return [f"public access block leaves {', '.join(off)} off"] if off else []


@rule(
    "s3-deny-insecure-transport",
    "Bucket policies deny requests without TLS",
    "S3.5",
    "add a Deny statement for s3:* when aws:SecureTransport is false",
    T_BUCKET_POLICY,
)
def _secure_transport(_: str, i: Mapping[str, Any]) -> list[str]:
    for s in statements(i):
        if s.get("Effect") == "Deny" and str(get(s, "Condition", "Bool", "aws:SecureTransport")).lower() == "false":
            return []
    return ["bucket policy has no Deny statement for aws:SecureTransport=false"]


@rule(
    "s3-default-encryption",
    "Buckets encrypt objects at rest by default",
    None,
    "configure applyServerSideEncryptionByDefault with sseAlgorithm AES256 or aws:kms",
    T_BUCKET_SSE,
)
def _bucket_sse(_: str, i: Mapping[str, Any]) -> list[str]:
    algos = [get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in as_list(get(i, "rules"))]
    return [] if any(a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algos) else ["no default encryption rule"]


# -- ECS ------------------------------------------------------------------------------------------------------
@rule(
    "ecs-no-public-ip",
    "Service tasks get no public IP (private subnets behind NAT)",
    "ECS.2",
    "set slipway:natStrategy to single or per_az so tasks run in private subnets with assignPublicIp=false",
    T_SERVICE,
    dev_trade_off=True,
)
def _public_ip(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "networkConfiguration", "assignPublicIp") is True:
        return ["tasks are assigned public IPs (networkConfiguration.assignPublicIp=true)"]
    return []


@rule(
    "ecs-on-demand-capacity",
    "The service runs on on-demand Fargate, not Fargate Spot",
    None,
    "set slipway:fargateSpot=false (capacity provider FARGATE)",
    T_SERVICE,
    dev_trade_off=True,
)
def _spot(_: str, i: Mapping[str, Any]) -> list[str]:
    providers = [get(s, "capacityProvider") for s in as_list(get(i, "capacityProviderStrategies"))]
    return ["service runs on FARGATE_SPOT (tasks may be interrupted)"] if "FARGATE_SPOT" in providers else []


@rule(
    "ecs-not-privileged",
    "Containers are not privileged",
    "ECS.4",
    "never set privileged=true on a container definition",
    T_TASKDEF,
)
def _not_privileged(_: str, i: Mapping[str, Any]) -> list[str]:
    return [f"container {c.get('name')} is privileged" for c in containers(i) if c.get("privileged") is True]


@rule(
    "ecs-non-root",
    "Containers run as a numeric non-root user (no FSBP control; ECS.4 is the privileged-container control)",
    None,
    "set the container user to a numeric non-root uid:gid (e.g. 10001:10001)",
    T_TASKDEF,
)
def _non_root(_: str, i: Mapping[str, Any]) -> list[str]:
    out = []
    for c in containers(i):
        user = str(c.get("user") or "")
        if not user or user.split(":")[0] in ("root", "0"):
            out.append(f"container {c.get('name')} runs as root (user={user or 'unset'})")
    return out


@rule(
    "ecs-readonly-root-fs",
    "Containers have a read-only root filesystem",
    "ECS.5",
    "set readonlyRootFilesystem=true and mount a writable volume at /tmp",
    T_TASKDEF,
)
def _read_only(_: str, i: Mapping[str, Any]) -> list[str]:
    return [
        f"container {c.get('name')} has a writable root filesystem"
        for c in containers(i)
        if c.get("readonlyRootFilesystem") is not True
    ]


@rule(
    "ecs-secrets-value-from",
    "Secrets reach containers only via secrets[].valueFrom, never environment",
    "ECS.8",
    "move the value to Secrets Manager and reference its ARN in the container's secrets[].valueFrom",
    T_TASKDEF,
)
def _secrets(_: str, i: Mapping[str, Any]) -> list[str]:
    out = []
    for c in containers(i):
        for env in as_list(c.get("environment")):
            if isinstance(env, Mapping) and SECRET_NAME.search(str(env.get("name", ""))):
                out.append(f"container {c.get('name')} passes {env.get('name')} as a plain environment variable")
        for secret in as_list(c.get("secrets")):
            value_from = str(get(secret, "valueFrom", default=""))
            if not value_from.startswith("arn:"):
                out.append(f"container {c.get('name')} secret {get(secret, 'name')} is not an ARN reference")
    return out


@rule(
    "ecs-image-by-digest",
    "Containers deploy an image by digest, never a mutable tag such as latest",
    None,
    "deploy repo@sha256:<digest> (AppImage.image_ref or slipway:imageUri with a digest)",
    T_TASKDEF,
)
def _digest(_: str, i: Mapping[str, Any]) -> list[str]:
    return [
        f"container {c.get('name')} image {c.get('image')} is not pinned by digest"
        for c in containers(i)
        if "@sha256:" not in str(c.get("image", ""))
    ]


@rule(
    "ecs-container-insights",
    "The ECS cluster has Container Insights on",
    "ECS.12",
    "add settings [{name: containerInsights, value: enabled}] to the cluster (slipway:containerInsights)",
    T_CLUSTER,
    dev_trade_off=True,
)
def _insights(_: str, i: Mapping[str, Any]) -> list[str]:
    for s in as_list(get(i, "settings")):
        if get(s, "name") == "containerInsights" and get(s, "value") in ("enabled", "enhanced"):
            return []
    return ["containerInsights is not enabled"]


T_SCHEDULED_ACTION = "aws:appautoscaling/scheduledAction:ScheduledAction"
T_SCHEDULE = "aws:scheduler/schedule:Schedule"


@rule(
    "prod-always-awake",
    "Production never sleeps: no schedule scales a service to 0 or stops a database",
    None,
    "remove slipway:awakeHours (components/sleep.py is for dev)",
    T_SCHEDULED_ACTION,
    T_SCHEDULE,
    dev_trade_off=True,
)
def _always_awake(type_: str, i: Mapping[str, Any]) -> list[str]:
    if type_ == T_SCHEDULED_ACTION:
        action = get(i, "scalableTargetAction", default={})
        if get(action, "maxCapacity") == 0 or (get(action, "minCapacity") == 0 and get(action, "maxCapacity") is None):
            return [f"scheduled action {get(i, 'schedule')} scales {get(i, 'resourceId')} to 0"]
        return []
    arn = str(get(i, "target", "arn", default=""))
    if arn.endswith((":rds:stopDBInstance", ":rds:stopDBCluster")):
        return [f"schedule {get(i, 'scheduleExpression')} calls {arn.rsplit(':', 1)[-1]}"]
    return []


# -- IAM ------------------------------------------------------------------------------------------------------
def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action"))]


@rule(
    "iam-secrets-exact-arns",
    "Secrets Manager reads name exact secret ARNs, never * or secretsmanager:*",
    "IAM.21",
    "grant secretsmanager:GetSecretValue on the listed secret ARNs only (AppSecrets.arns)",
    T_ROLE_POLICY,
    T_IAM_POLICY,
    T_ROLE,
)
def _secret_arns(type_: str, i: Mapping[str, Any]) -> list[str]:
    docs = (
        statements(i)
        if type_ != T_ROLE
        else [s for p in as_list(get(i, "inlinePolicies")) for s in statements({"policy": get(p, "policy")})]
    )
    out = []
    for s in docs:
        if s.get("Effect") != "Allow":
            continue
        actions = [a for a in _actions(s) if a.lower().startswith("secretsmanager:") or a == "*"]
        if not actions:
            continue
        if any(a in ("*", "secretsmanager:*") for a in actions):
            out.append(f"statement {s.get('Sid') or '(no Sid)'} allows {', '.join(actions)}")
        wild = [str(r) for r in as_list(s.get("Resource")) if "*" in str(r)]
        if wild:
            out.append(f"secretsmanager access on wildcard resources {', '.join(wild)}")
    return out


@rule(
    "iam-least-privilege",
    "No IAM policy grants * or service:* actions, or attaches an admin/full-access policy",
    "IAM.1",
    "list the exact actions the task needs; attach no AdministratorAccess/PowerUserAccess/*FullAccess",
    T_ROLE_POLICY,
    T_IAM_POLICY,
    T_ATTACH,
    T_ROLE,
)
def _least_privilege(type_: str, i: Mapping[str, Any]) -> list[str]:
    if type_ == T_ATTACH:
        arn = str(get(i, "policyArn", default=""))
        return [f"attaches broad managed policy {arn}"] if BROAD_MANAGED_POLICIES.search(arn) else []
    docs = (
        statements(i)
        if type_ != T_ROLE
        else [s for p in as_list(get(i, "inlinePolicies")) for s in statements({"policy": get(p, "policy")})]
    )
    out = (
        [
            f"attaches broad managed policy {arn}"
            for arn in as_list(get(i, "managedPolicyArns"))
            if BROAD_MANAGED_POLICIES.search(str(arn))
        ]
        if type_ == T_ROLE
        else []
    )
    for s in docs:
        if s.get("Effect") == "Allow":
            wild = [a for a in _actions(s) if a == "*" or a.endswith(":*")]
            if wild:
                out.append(f"statement {s.get('Sid') or '(no Sid)'} allows wildcard actions {', '.join(wild)}")
    return out


# -- network --------------------------------------------------------------------------------------------------
def _ports(rule_inputs: Mapping[str, Any]) -> set[int]:
    low, high = get(rule_inputs, "fromPort"), get(rule_inputs, "toPort")
    if get(rule_inputs, "ipProtocol", default=get(rule_inputs, "protocol")) in ("-1", "all") or low is None:
        return set(range(0, 65536))
    return set(range(int(low), int(high if high is not None else low) + 1))


@rule(
    "sg-public-ingress-web-only",
    "Only ports 80/443 are open to the internet; everything else names a security "
    "group (the database admits only its client group)",
    "EC2.18",
    "replace cidrIpv4 0.0.0.0/0 with referencedSecurityGroupId of the allowed client",
    T_SG_IN,
    T_SG,
    T_SG_RULE,
)
def _public_ingress(type_: str, i: Mapping[str, Any]) -> list[str]:
    if type_ == T_SG:
        entries = [
            (e, as_list(get(e, "cidrBlocks")) + as_list(get(e, "ipv6CidrBlocks"))) for e in as_list(get(i, "ingress"))
        ]
    elif type_ == T_SG_RULE:
        if get(i, "type") != "ingress":
            return []
        entries = [(i, as_list(get(i, "cidrBlocks")) + as_list(get(i, "ipv6CidrBlocks")))]
    else:
        entries = [(i, as_list(get(i, "cidrIpv4")) + as_list(get(i, "cidrIpv6")))]
    out = []
    for entry, cidrs in entries:
        if PUBLIC_CIDRS & {str(c) for c in cidrs}:
            extra = sorted(_ports(entry) - PUBLIC_PORTS)
            if extra:
                shown = f"{extra[0]}-{extra[-1]}" if len(extra) > 3 else ", ".join(map(str, extra))
                out.append(f"ingress from the internet on port(s) {shown}")
    return out


@rule(
    "vpc-default-sg-closed",
    "The VPC's default security group allows no traffic",
    "EC2.2",
    "manage the default security group with empty ingress and egress",
    T_DEFAULT_SG,
)
def _default_sg(_: str, i: Mapping[str, Any]) -> list[str]:
    return (
        []
        if not as_list(get(i, "ingress")) and not as_list(get(i, "egress"))
        else ["default security group has ingress or egress rules"]
    )


@rule(
    "vpc-subnet-no-auto-public-ip",
    "Subnets do not auto-assign public IPs",
    "EC2.15",
    "set mapPublicIpOnLaunch=false",
    T_SUBNET,
)
def _subnet_ip(_: str, i: Mapping[str, Any]) -> list[str]:
    return ["mapPublicIpOnLaunch is true"] if get(i, "mapPublicIpOnLaunch") is True else []


@rule(
    "tls-trusted-certificate",
    "The HTTPS listener serves a CA-issued (ACM) certificate, not a self-signed one",
    None,
    "set slipway:domain + slipway:hostedZoneId (DNS-validated ACM) or slipway:certificateArn",
    T_SELF_SIGNED,
    dev_trade_off=True,
)
def _self_signed(_: str, i: Mapping[str, Any]) -> list[str]:
    return ["a self-signed certificate is served (browsers will warn)"]


# -- RDS ------------------------------------------------------------------------------------------------------
@rule(
    "rds-not-public",
    "The database is not publicly accessible",
    "RDS.2",
    "set publiclyAccessible=false and keep the instance in private subnets",
    T_RDS,
)
def _rds_public(_: str, i: Mapping[str, Any]) -> list[str]:
    return ["publiclyAccessible is true"] if get(i, "publiclyAccessible") is True else []


@rule(
    "rds-storage-encrypted",
    "Database storage is encrypted at rest",
    "RDS.3",
    "set storageEncrypted=true (requires replacing the instance from a snapshot)",
    T_RDS,
)
def _rds_encrypted(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "storageEncrypted") is True else ["storageEncrypted is not true"]


@rule(
    "rds-force-ssl",
    "PostgreSQL parameter groups set rds.force_ssl=1",
    None,
    "add parameter rds.force_ssl=1 to the instance's parameter group",
    T_PARAMS,
)
def _force_ssl(_: str, i: Mapping[str, Any]) -> list[str]:
    if not str(get(i, "family", default="postgres")).startswith("postgres"):
        return []
    for p in as_list(get(i, "parameters")):
        if get(p, "name") == "rds.force_ssl" and str(get(p, "value")) == "1":
            return []
    return ["rds.force_ssl is not 1: clients may connect without TLS"]


@rule(
    "rds-backup-retention",
    "Automated backups are kept 7 to 35 days",
    "RDS.11",
    "set slipway:backupRetentionDays between 7 and 35",
    T_RDS,
)
def _backups(_: str, i: Mapping[str, Any]) -> list[str]:
    days = get(i, "backupRetentionPeriod", default=1)  # the RDS API default is 1 day
    return [] if 7 <= int(days) <= 35 else [f"backupRetentionPeriod={days} (want 7-35)"]


@rule(
    "rds-backup-retention-prod",
    "Production backups are kept at least 14 days",
    "RDS.11",
    "set slipway:backupRetentionDays to 14 or more",
    T_RDS,
    dev_trade_off=True,
)
def _backups_prod(_: str, i: Mapping[str, Any]) -> list[str]:
    days = get(i, "backupRetentionPeriod", default=1)
    return [] if int(days) >= 14 else [f"backupRetentionPeriod={days} (prod wants >= 14)"]


@rule(
    "rds-deletion-protection",
    "The database has deletion protection",
    "RDS.8",
    "set slipway:deletionProtection=true",
    T_RDS,
    dev_trade_off=True,
)
def _rds_deletion(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "deletionProtection") is True else ["deletionProtection is not true"]


@rule(
    "rds-final-snapshot",
    "Deleting the database takes a final snapshot",
    None,
    "set skipFinalSnapshot=false with a finalSnapshotIdentifier",
    T_RDS,
    dev_trade_off=True,
)
def _final_snapshot(_: str, i: Mapping[str, Any]) -> list[str]:
    if get(i, "skipFinalSnapshot", default=False) is True or not get(i, "finalSnapshotIdentifier"):
        return ["no final snapshot on delete (skipFinalSnapshot or no finalSnapshotIdentifier)"]
    return []


@rule(
    "rds-multi-az",
    "The database has a synchronous standby in a second AZ",
    "RDS.5",
    "set slipway:dbMultiAz=true",
    T_RDS,
    dev_trade_off=True,
)
def _multi_az(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "multiAz") is True else ["multiAz is not true"]


@rule(
    "rds-copy-tags-to-snapshots",
    "Snapshots inherit the instance's tags",
    "RDS.17",
    "set copyTagsToSnapshot=true",
    T_RDS,
)
def _copy_tags(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "copyTagsToSnapshot") is True else ["copyTagsToSnapshot is not true"]


@rule(
    "rds-auto-minor-upgrades",
    "Minor engine versions upgrade automatically",
    "RDS.13",
    "set autoMinorVersionUpgrade=true",
    T_RDS,
)
def _minor(_: str, i: Mapping[str, Any]) -> list[str]:
    return ["autoMinorVersionUpgrade is false"] if get(i, "autoMinorVersionUpgrade") is False else []


@rule(
    "rds-performance-insights",
    "Performance Insights is on",
    None,
    "set performanceInsightsEnabled=true (7 days retention is free)",
    T_RDS,
)
def _insights_rds(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "performanceInsightsEnabled") is True else ["performanceInsightsEnabled is not true"]


# -- ECR ------------------------------------------------------------------------------------------------------
@rule("ecr-immutable-tags", "Image tags are immutable", "ECR.2", "set imageTagMutability=IMMUTABLE", T_ECR)
def _immutable(_: str, i: Mapping[str, Any]) -> list[str]:
    return (
        []
        if str(get(i, "imageTagMutability", default="MUTABLE")).startswith("IMMUTABLE")
        else ["imageTagMutability is MUTABLE"]
    )


@rule(
    "ecr-scan-on-push", "Images are scanned on push", "ECR.1", "set imageScanningConfiguration.scanOnPush=true", T_ECR
)
def _scan(_: str, i: Mapping[str, Any]) -> list[str]:
    return [] if get(i, "imageScanningConfiguration", "scanOnPush") is True else ["scanOnPush is not true"]


@rule(
    "ecr-lifecycle-policy",
    "The repository's lifecycle policy expires old images",
    "ECR.3",
    "give the lifecycle policy at least one rule with action expire (e.g. untagged after 7 days)",
    T_ECR_LIFECYCLE,
)
def _lifecycle(_: str, i: Mapping[str, Any]) -> list[str]:
    policy = document(i, "policy")
    rules = as_list(policy.get("rules")) if isinstance(policy, Mapping) else []
    return [] if any(get(r, "action", "type") == "expire" for r in rules) else ["lifecycle policy expires nothing"]


# -- logs -----------------------------------------------------------------------------------------------------
@rule(
    "logs-finite-retention",
    "Every log group has a finite retention of at least 14 days",
    None,
    "set slipway:logRetentionDays (dev 14, prod >= 90)",
    T_LOGS,
)
def _retention(_: str, i: Mapping[str, Any]) -> list[str]:
    days = get(i, "retentionInDays", default=0)
    if not days:
        return ["retentionInDays is unset: logs are kept forever"]
    return [] if int(days) >= 14 else [f"retentionInDays={days} (want >= 14)"]


@rule(
    "logs-retention-prod",
    "Production log groups keep at least 90 days",
    None,
    "set slipway:logRetentionDays to 90 or more",
    T_LOGS,
    dev_trade_off=True,
)
def _retention_prod(_: str, i: Mapping[str, Any]) -> list[str]:
    days = get(i, "retentionInDays", default=0)
    return [] if days and int(days) >= 90 else [f"retentionInDays={days or 'unset'} (prod wants >= 90)"]


# -- identity, monitoring and network controls (issue #12) -----------------------------------------------------
T_DEFAULT_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
T_NACL = "aws:ec2/networkAcl:NetworkAcl"
T_KMS = "aws:kms/key:Key"
T_VPC = "aws:ec2/vpc:Vpc"
T_FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ADMIN_PORTS = (22, 3389)
CONFUSED_DEPUTY_SERVICES = ("ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com")


@rule(
    "rds-enhanced-monitoring",
    "Enhanced Monitoring collects the instance's OS metrics",
    "RDS.6",
    "set monitoringInterval to 1, 5, 10, 15, 30 or 60 with a monitoring role (Database does by default)",
    T_RDS,
)
def _enhanced_monitoring(_: str, i: Mapping[str, Any]) -> list[str]:
    interval = get(i, "monitoringInterval", default=0)
    if not interval:
        return ["monitoringInterval is 0 (Enhanced Monitoring off)"]
    return [] if get(i, "monitoringRoleArn") else ["monitoringInterval is set without a monitoringRoleArn"]


@rule(
    "rds-iam-authentication",
    "IAM database authentication is on",
    "RDS.10",
    "set iamDatabaseAuthenticationEnabled=true (DatabaseArgs.iam_authentication, default True)",
    T_RDS,
)
def _iam_auth(_: str, i: Mapping[str, Any]) -> list[str]:
    return (
        [] if get(i, "iamDatabaseAuthenticationEnabled") is True else ["iamDatabaseAuthenticationEnabled is not true"]
    )


@rule(
    "rds-managed-master-password",
    "RDS manages and rotates the master password in Secrets Manager; none is kept in Pulumi state (no FSBP control "
    "checks an RDS instance for this; it makes the database credential a rotated secret, as SecretsManager.1/.4 ask)",
    None,
    "drop the password input and set manageMasterUserPassword=true (DatabaseArgs.password=None, the default)",
    T_RDS,
)
def _managed_password(_: str, i: Mapping[str, Any]) -> list[str]:
    out = []
    if get(i, "manageMasterUserPassword") is not True:
        out.append("manageMasterUserPassword is not true: the master password is never rotated")
    if get(i, "password") is not None:
        out.append("a master password is set as an input, so it lives in Pulumi state")
    return out


def _admin_port_open(entries: Any) -> list[str]:
    """Ingress entries that allow 22 or 3389 from anywhere before any deny of that port (lowest rule wins)."""
    rules = sorted(
        (e for e in as_list(entries) if isinstance(e, Mapping)), key=lambda e: int(get(e, "ruleNo", default=0))
    )
    out = []
    for port in ADMIN_PORTS:
        for entry in rules:
            if get(entry, "cidrBlock") != "0.0.0.0/0" and get(entry, "ipv6CidrBlock") != "::/0":
                continue
            protocol = str(get(entry, "protocol", default=""))
            low, high = int(get(entry, "fromPort", default=0)), int(get(entry, "toPort", default=0))
            covers = protocol in ("-1", "all") or (protocol in ("tcp", "6") and low <= port <= high)
            if covers:
                if get(entry, "action") == "allow":
                    out.append(f"ingress rule {get(entry, 'ruleNo')} allows port {port} from anywhere")
                break
    return out


@rule(
    "nacl-no-admin-ports",
    "No network ACL admits SSH (22) or RDP (3389) from anywhere",
    "EC2.21",
    "deny tcp 22 and 3389 from 0.0.0.0/0 with rule numbers below the allow rules (Network does on the default ACL)",
    T_DEFAULT_ACL,
    T_NACL,
)
def _nacl_admin_ports(_: str, i: Mapping[str, Any]) -> list[str]:
    return _admin_port_open(get(i, "ingress"))


def _service_principals(statement: Mapping[str, Any]) -> list[str]:
    return [str(p) for p in as_list(get(statement, "Principal", "Service"))]


@rule(
    "iam-trust-confused-deputy",
    "Roles that AWS services assume for this account name the account (aws:SourceAccount)",
    None,
    "add Condition StringEquals aws:SourceAccount=<account> to the role's trust statement",
    T_ROLE,
)
def _confused_deputy(_: str, i: Mapping[str, Any]) -> list[str]:
    trust = document(i, "assumeRolePolicy")
    out = []
    for st in as_list(trust.get("Statement") if isinstance(trust, Mapping) else None):
        services = [p for p in _service_principals(st) if p in CONFUSED_DEPUTY_SERVICES]
        if services and not get(st, "Condition", "StringEquals", "aws:SourceAccount"):
            out.append(f"trust of {', '.join(services)} has no aws:SourceAccount condition")
    return out


@rule(
    "kms-cloudwatch-grant-scoped",
    "A key that CloudWatch may use is limited to this account's alarms (aws:SourceArn and aws:SourceAccount)",
    None,
    "add ArnLike aws:SourceArn=arn:aws:cloudwatch:<region>:<account>:alarm:* and aws:SourceAccount",
    T_KMS,
)
def _kms_cloudwatch(_: str, i: Mapping[str, Any]) -> list[str]:
    out = []
    for st in statements(i):
        if "cloudwatch.amazonaws.com" in _service_principals(st):
            if not get(st, "Condition", "ArnLike", "aws:SourceArn") and not get(
                st, "Condition", "StringLike", "aws:SourceArn"
            ):
                out.append("CloudWatch may use the key without an aws:SourceArn condition")
            if not get(st, "Condition", "StringEquals", "aws:SourceAccount"):
                out.append("CloudWatch may use the key without an aws:SourceAccount condition")
    return out


# -- AWS Backup: recovery points no one can delete (docs/recovery.md) -------------------------------------------
T_VAULT = "aws:backup/vault:Vault"
T_VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
T_VAULT_POLICY = "aws:backup/vaultPolicy:VaultPolicy"
T_BACKUP_PLAN = "aws:backup/plan:Plan"
T_BACKUP_SELECTION = "aws:backup/selection:Selection"
VAULT_DENIED = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:PutBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultLockConfiguration",
)


@rule(
    "backup-vault-policy-denies-deletes",
    "The vault's access policy denies every principal deleting or re-dating recovery points and changing the lock",
    None,
    "one Deny statement, Principal and Resource '*', with " + ", ".join(VAULT_DENIED) + " (BackupVault writes it)",
    T_VAULT_POLICY,
)
def _vault_policy(_: str, i: Mapping[str, Any]) -> list[str]:
    denied: set[str] = set()
    for st in statements(i):
        if (
            st.get("Effect") == "Deny"
            and st.get("Principal") in ("*", {"AWS": "*"})
            and "*" in as_list(st.get("Resource"))
        ):
            denied.update(_actions(st))
    missing = [a for a in VAULT_DENIED if a not in denied and "backup:*" not in denied]
    return [f"no Deny for every principal of {', '.join(missing)}"] if missing else []


@rule(
    "backup-vault-lock-retention",
    "The vault lock enforces a minimum retention of at least 7 days",
    None,
    "set minRetentionDays to 7 or more (BackupVaultArgs.retention_days)",
    T_VAULT_LOCK,
)
def _vault_lock_retention(_: str, i: Mapping[str, Any]) -> list[str]:
    days = int(get(i, "minRetentionDays", default=0) or 0)
    return [] if days >= 7 else [f"minRetentionDays={days or 'unset'} (want >= 7)"]


@rule(
    "backup-vault-lock-compliance",
    "The vault lock is in compliance mode: immutable, even for the account's root, after its cooling-off",
    None,
    "set changeableForDays (>= 3) on the lock (slipway's prod profile; WebAppArgs.backup_lock_mode=compliance)",
    T_VAULT_LOCK,
    dev_trade_off=True,
)
def _vault_lock_compliance(_: str, i: Mapping[str, Any]) -> list[str]:
    days = get(i, "changeableForDays")
    return (
        []
        if days is not None and int(days) >= 3
        else ["governance mode (no changeableForDays): the lock can be removed"]
    )


@rule(
    "backup-plan-cross-region-copy",
    "Every backup rule copies its recovery points to another vault (second region or backup account)",
    None,
    "add a copy action to a vault in the second region (slipway's prod profile does; db_backup_copy_region)",
    T_BACKUP_PLAN,
    dev_trade_off=True,
)
def _backup_copy(_: str, i: Mapping[str, Any]) -> list[str]:
    return [
        f"backup rule {get(r, 'ruleName', default='?')} has no copy action"
        for r in as_list(get(i, "rules"))
        if not as_list(get(r, "copyActions"))
    ]


# -- stack rules: a property of the graph, not of one resource ---------------------------------------------------
@dataclass(frozen=True)
class StackRule:
    id: str
    description: str
    fsbp: Optional[str]
    remediation: str
    check_fn: Callable[[Sequence[Any]], list[tuple[Any, str]]] = field(repr=False, compare=False)
    enforcement: Mapping[str, str] = field(default_factory=lambda: {"dev": MANDATORY, "prod": MANDATORY})

    def level(self, environment: str) -> str:
        return self.enforcement.get(environment, self.enforcement["prod"])

    def check(self, resources: Sequence[Any]) -> list[tuple[Any, str]]:
        """``(resource, message)`` for each violation."""
        return self.check_fn(resources)


STACK_RULES: list[StackRule] = []


def _depends(resource: Any, target_urn: str) -> bool:
    deps = _field(resource, "dependencies") or []
    return target_urn in [d if isinstance(d, str) else _field(d, "urn") for d in deps]


def _vpcs_without(kind: str, resources: Sequence[Any]) -> list[tuple[Any, str]]:
    vpcs = [r for r in resources if _field(r, "type") == T_VPC]
    covering = [r for r in resources if _field(r, "type") == kind]
    return [
        (v, f"no {kind.rsplit(':', 1)[-1]} of this VPC")
        for v in vpcs
        if not any(_depends(c, _field(v, "urn")) for c in covering)
    ]


STACK_RULES.append(
    StackRule(
        "vpc-flow-logs",
        "Every VPC has a flow log",
        "EC2.6",
        "keep NetworkArgs.flow_logs=True (the default): all traffic to a log group with finite retention",
        lambda resources: _vpcs_without(T_FLOW_LOG, resources),
    )
)
STACK_RULES.append(
    StackRule(
        "vpc-default-acl-managed",
        "Every VPC's default network ACL is managed (otherwise AWS's allow-all default applies)",
        "EC2.21",
        "adopt it with aws.ec2.DefaultNetworkAcl (Network does) and deny SSH/RDP from anywhere",
        lambda resources: _vpcs_without(T_DEFAULT_ACL, resources),
    )
)


def _vaults_unguarded(resources: Sequence[Any]) -> list[tuple[Any, str]]:
    out = []
    for vault in (r for r in resources if _field(r, "type") == T_VAULT):
        for kind in (T_VAULT_LOCK, T_VAULT_POLICY):
            if not any(_field(r, "type") == kind and _depends(r, _field(vault, "urn")) for r in resources):
                out.append((vault, f"no {kind.rsplit(':', 1)[-1]} of this vault"))
    return out


def _databases_unprotected(resources: Sequence[Any]) -> list[tuple[Any, str]]:
    """At least one RDS instance (the one serving; a kept original after a restore has its own backups) is selected
    by a backup plan."""
    dbs = [r for r in resources if _field(r, "type") == T_RDS]
    selections = [r for r in resources if _field(r, "type") == T_BACKUP_SELECTION]
    if not dbs or any(_depends(s, _field(db, "urn")) for s in selections for db in dbs):
        return []
    return [(db, "no AWS Backup selection covers this database") for db in dbs]


STACK_RULES.append(
    StackRule(
        "backup-vault-locked-and-guarded",
        "Every backup vault has a Vault Lock and a vault access policy",
        None,
        "use components.backup_vault.BackupVault (it sets both)",
        _vaults_unguarded,
    )
)
STACK_RULES.append(
    StackRule(
        "rds-in-locked-backup-plan",
        "The database is backed up by an AWS Backup plan into a locked vault",
        None,
        "keep WebAppArgs.backup_vault on (the default), or select the instance in your own plan",
        _databases_unprotected,
    )
)


# -- previews (pr-<n> stacks, docs/previews.md) ----------------------------------------------------------------
PREVIEW = "preview"
PREVIEW_TRADE_OFFS = frozenset({"logs-finite-retention"})
"""Rules only advisory for a preview: its logs live days, like the preview itself (1-7 days)."""
PREVIEW_PRIORITY_BASE = 1000  # components/preview.py PRIORITY_BASE: PR n's listener rule has priority 1000 + n
T_PREVIEW_FORBIDDEN = ("aws:lb/loadBalancer:LoadBalancer", "aws:ec2/natGateway:NatGateway", "aws:rds/instance:Instance")


def _preview_tag(resource: Any) -> Optional[str]:
    tags = (_field(resource, "inputs") or {}).get("tags") or {}
    value = tags.get("preview") if isinstance(tags, Mapping) else None
    return value if isinstance(value, str) else None


def _preview_shared_only(resources: Sequence[Any]) -> list[tuple[Any, str]]:
    if not any(_preview_tag(r) for r in resources):
        return []
    return [
        (r, f"a preview must not create a {str(_field(r, 'type')).rsplit(':', 1)[-1]}: it shares dev's")
        for r in resources
        if _field(r, "type") in T_PREVIEW_FORBIDDEN
    ]


def _preview_priorities(resources: Sequence[Any]) -> list[tuple[Any, str]]:
    out = []
    for r in resources:
        label = _preview_tag(r)
        if _field(r, "type") != "aws:lb/listenerRule:ListenerRule" or not label:
            continue
        want = PREVIEW_PRIORITY_BASE + int(label.split("-", 1)[1])
        got = (_field(r, "inputs") or {}).get("priority")
        if got != want:
            out.append((r, f"priority={got}: {label} owns priority {want} (1000 + PR number), no other"))
    return out


STACK_RULES.append(
    StackRule(
        "preview-shares-dev",
        "A preview creates no load balancer, NAT gateway or RDS instance: it runs on dev's",
        None,
        "build previews with slipway_aws.preview.PreviewApp on dev's StackReference outputs",
        _preview_shared_only,
    )
)
STACK_RULES.append(
    StackRule(
        "preview-listener-priority",
        "A preview's listener rule has the priority its PR number owns (1000 + n), so previews never collide",
        None,
        "use slipway_aws.preview.listener_priority(n)",
        _preview_priorities,
    )
)


RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
DEV_TRADE_OFFS: frozenset[str] = frozenset(r.id for r in RULES if r.level("dev") == ADVISORY)


# -- evaluation -----------------------------------------------------------------------------------------------
def environment_for(stack: Optional[str], configured: Optional[str] = None) -> str:
    """``slipway:environment`` when known, else the stack name; a ``pr-<n>`` stack is a preview (dev's rules, see
    :data:`PREVIEW_TRADE_OFFS`); anything unrecognised is held to prod."""
    if stack and re.match(r"^pr-[1-9][0-9]*$", stack.rsplit("/", 1)[-1]) and configured is None:
        return PREVIEW
    for candidate in (configured, stack):
        if candidate in ENVIRONMENTS:
            return candidate
    return "prod"


def _field(resource: Any, key: str) -> Any:
    return resource.get(key) if isinstance(resource, Mapping) else getattr(resource, key, None)


# Stack keys whose WebAppArgs field is not their snake_case spelling (slipway_aws.config.stack_keys has them all).
_RENAMED_KEYS = {"albAccessLogs": "access_logs", "environment": "profile"}


def in_project(remediation: str, urn: str) -> str:
    """``remediation`` in the words of the project that owns ``urn``: ``slipway:minTasks`` becomes
    ``shop:minTasks (WebAppArgs.min_tasks)`` in a project named shop (its stack file's key and its program's field)."""
    parts = urn.split("::")
    project = parts[1] if len(parts) > 2 else "slipway"

    def own(match: re.Match[str]) -> str:
        key = match.group(1)
        field = _RENAMED_KEYS.get(key) or re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)
        return f"{project}:{key} (WebAppArgs.{field})"

    return re.sub(r"\bslipway:([a-zA-Z]+)", own, remediation)


def evaluate(
    resources: Iterable[Any],
    environment: str,
    rules: Sequence[Rule] = RULES,
    stack_rules: Optional[Sequence[StackRule]] = None,
) -> list[Finding]:
    """Findings for graph resources (``offline.Resource`` objects or ``to_json()`` resource dicts): every resource
    rule on each resource, then the stack rules on the whole graph (all of them unless ``stack_rules`` is given, none
    when only ``rules`` is narrowed)."""
    if stack_rules is None:
        stack_rules = STACK_RULES if rules is RULES else []
    resources_list = list(resources)
    findings = []
    for resource in resources_list:
        type_, inputs = _field(resource, "type"), _field(resource, "inputs") or {}
        for r in rules:
            for message in r.check(type_, inputs):
                findings.append(
                    Finding(
                        r.id,
                        r.level(environment),
                        _field(resource, "urn") or "",
                        _field(resource, "name") or "",
                        type_,
                        message,
                        in_project(r.remediation, _field(resource, "urn") or ""),
                        r.fsbp,
                    )
                )
    resources = list(resources_list)
    for sr in stack_rules:
        for resource, message in sr.check(resources):
            findings.append(
                Finding(
                    sr.id,
                    sr.level(environment),
                    _field(resource, "urn") or "",
                    _field(resource, "name") or "",
                    _field(resource, "type"),
                    message,
                    in_project(sr.remediation, _field(resource, "urn") or ""),
                    sr.fsbp,
                )
            )
    findings.sort(key=lambda f: (f.level != MANDATORY, f.rule, f.name))
    return findings


# Day-0 checks (bootstrap/: state bucket, secrets keys, GitHub OIDC trust) register themselves in STACK_RULES.
try:
    from . import bootstrap_rules as _bootstrap_rules  # noqa: E402,F401
except ImportError:  # run by Pulumi as ``python policy/``: this directory is sys.path[0]
    import bootstrap_rules as _bootstrap_rules  # type: ignore[no-redef]  # noqa: E402,F401
