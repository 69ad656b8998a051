"""Mocks for the offline engine: realistic computed attributes for every resource type, answers to every invoke,
and a monitor that records parent and dependencies (the stock mock monitor drops them)."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from .offline import ACCOUNT, Resource, SecretValue, fake_id


def _plain(value: Any) -> Any:
    """Deserialized RPC values -> plain Python, with secrets as :class:`SecretValue`."""
    if rpc.is_rpc_secret(value):
        return SecretValue(_plain(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    return value


AZ_INVOKE = "aws:index/getAvailabilityZones:getAvailabilityZones"
# Name lengths AWS enforces (the provider validates them at preview), for auto-names "<resource name>-<7 chars>".
NAME_LIMITS = {
    "aws:lb/loadBalancer:LoadBalancer": 32,
    "aws:lb/targetGroup:TargetGroup": 32,
    "aws:iam/role:Role": 64,
    "aws:rds/instance:Instance": 63,
    "aws:s3/bucket:Bucket": 63,
    "aws:ecs/cluster:Cluster": 255,
    "aws:ecs/service:Service": 255,
}


# The input that carries a resource's explicit physical name, where it is not ``name`` (pulumi_aws argument names).
NAME_INPUTS = {
    "aws:rds/instance:Instance": "identifier",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:ecs/taskDefinition:TaskDefinition": "family",
}
# Types whose provider id is the physical name (the `pulumi import` docs of each resource say which value is used).
ID_IS_NAME = {
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:ecr/repository:Repository",
    "aws:iam/role:Role",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/parameterGroup:ParameterGroup",
}


def physical_name(typ: str, name: str, inputs: dict[str, Any]) -> str:
    """The name AWS will see: the explicit one when the program sets it, else the provider's auto-name.

    Auto-names are ``<logical name>-<7 hex>`` (``name_prefix``/``identifier_prefix`` + 26 characters when given),
    deterministic per logical name so the same stack plans to the same bytes.
    """
    key = NAME_INPUTS.get(typ, "name")
    explicit = inputs.get(key)
    if isinstance(explicit, str) and explicit:
        return explicit
    prefix = inputs.get(f"{key}Prefix") or inputs.get("namePrefix")
    h = fake_id(typ, name)
    if isinstance(prefix, str) and prefix:
        return prefix + (h * 2)[:26]
    return f"{name}-{h[:7]}"


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps every registration with its parent, dependencies and inputs, and runs the
    program's ``transforms`` the way the engine does.

    Pulumi's own mock monitor never runs transforms, so a plan would show untransformed values. The engine
    (``pkg/resource/deploy/source_eval.go``, ``RegisterResource``) applies, in this order: the resource's own
    transforms, then those of its parent, grandparent and so on, then the stack transforms; each sees the output
    of the previous one. This monitor does the same, calling the SDK's own registered callbacks (the code a real
    ``pulumi up`` calls over gRPC), and records the transformed properties and options.
    """

    mocks: SlipwayMocks

    def __init__(self, mocks: SlipwayMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self._own_transforms: dict[str, list[Any]] = {}
        self._parents: dict[str, str] = {}
        self._stack_callbacks: list[Any] = []

    def RegisterStackTransform(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._stack_callbacks.append(request)
        return super().RegisterStackTransform(request)

    def _transform(self, request: Any) -> Any:
        """Apply own -> ancestors' -> stack transforms to the request, as the engine does; returns the request."""
        chain = list(request.transforms)
        current = request.parent
        while current:
            chain.extend(self._own_transforms.get(current, []))
            current = self._parents.get(current, "")
        chain.extend(self._stack_callbacks)
        if not chain:
            return request
        from pulumi.runtime._callbacks import _CallbackServicer
        from pulumi.runtime.proto import resource_pb2

        options = resource_pb2.TransformResourceOptions(
            depends_on=list(request.dependencies),
            protect=request.protect,
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            retain_on_delete=request.retainOnDelete,
            additional_secret_outputs=list(request.additionalSecretOutputs),
            deleted_with=request.deletedWith,
            provider=request.provider,
        )
        properties = request.object
        for callback in chain:
            servicer = next((s for s in _CallbackServicer._servicers if callback.token in s._callbacks), None)
            if servicer is None:
                raise RuntimeError(f"transform callback {callback.token} of {request.name} is not registered")
            transform_request = resource_pb2.TransformRequest(
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                properties=properties,
                options=options,
            )
            coro: Any = servicer._callbacks[callback.token](transform_request.SerializeToString())
            response: Any = asyncio.run_coroutine_threadsafe(coro, servicer._loop).result()
            if response.HasField("properties"):
                properties = response.properties
            if response.HasField("options"):
                options = response.options
        transformed = resource_pb2.RegisterResourceRequest()
        transformed.CopyFrom(request)
        transformed.object.CopyFrom(properties)
        transformed.protect = options.protect
        transformed.retainOnDelete = options.retain_on_delete
        del transformed.dependencies[:]
        transformed.dependencies.extend(sorted(set(request.dependencies) | set(options.depends_on)))
        del transformed.ignoreChanges[:]
        transformed.ignoreChanges.extend(options.ignore_changes)
        return transformed

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        own = list(request.transforms)
        request = self._transform(request)
        response = super().RegisterResource(request)
        self._parents[response.urn] = request.parent
        self._own_transforms[response.urn] = own
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = _plain(rpc.deserialize_properties(request.object))
        deps = set(request.dependencies)
        for prop in request.propertyDependencies.values():
            deps.update(prop.urns)
        self.recorded.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                inputs=inputs if isinstance(inputs, dict) else {},
                dependencies=sorted(deps),
                custom=request.custom,
                outputs=self.mocks.last_state.get((request.type, request.name), {}),
                protect=request.protect,
                retain_on_delete=request.retainOnDelete,
                ignore_changes=list(request.ignoreChanges),
                aliases=[_alias(a) for a in request.aliases],
            )
        )
        return response


def _alias(alias: Any) -> dict[str, Any]:
    """An ``Alias`` message of a RegisterResourceRequest as a plain dict (see ``Resource.aliases``)."""
    if alias.HasField("urn") or not alias.HasField("spec"):
        return {"urn": alias.urn}
    spec = alias.spec
    out: dict[str, Any] = {k: getattr(spec, k) for k in ("name", "type", "stack", "project") if getattr(spec, k)}
    if spec.HasField("noParent") and spec.noParent:
        out["parent"] = None
    elif spec.HasField("parentUrn") and spec.parentUrn:
        out["parent"] = spec.parentUrn
    return out


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class SlipwayMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str = "us-east-1", stack_outputs: Optional[dict[str, dict[str, Any]]] = None) -> None:
        self.region = region
        self.last_state: dict[tuple[str, str], dict[str, Any]] = {}
        self.stack_outputs = dict(stack_outputs or {})
        """Outputs of other stacks by stack name (``dev``), answering the program's ``StackReference`` reads."""

    # -- resources -------------------------------------------------------------------------------------------
    def new_resource(self, args: MockResourceArgs) -> tuple[Optional[str], dict]:
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(str(args.inputs.get("name") or args.name))
        state = dict(args.inputs)
        computed = self._computed(args.typ, args.name, state)
        state.update(computed)
        self.last_state[(args.typ, args.name)] = computed
        resource_id = computed.pop("__id", None)
        if resource_id is None and args.typ in ID_IS_NAME:
            resource_id = physical_name(args.typ, args.name, state)
        resource_id = resource_id or f"{args.name}-{fake_id(args.name, length=8)}"
        return resource_id, state

    def _stack_reference(self, full_name: str) -> tuple[str, dict]:
        """A ``StackReference`` read: the referenced stack's outputs, as the engine returns them (``outputs``)."""
        short = full_name.rsplit("/", 1)[-1]
        if short not in self.stack_outputs:
            raise LookupError(
                f"StackReference {full_name!r}: the offline engine has no outputs of stack {short!r} "
                f"(known: {', '.join(sorted(self.stack_outputs)) or 'none'}); run_stack(stack_references=...)"
            )
        outputs = {k: (v.value if isinstance(v, SecretValue) else v) for k, v in self.stack_outputs[short].items()}
        return full_name, {"name": full_name, "outputs": outputs, "secretOutputNames": []}

    def _arn(self, service: str, resource: str, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"

    def _computed(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        h = fake_id(typ, name)
        auto = physical_name(typ, name, inputs)
        limit = NAME_LIMITS.get(typ)
        if limit and len(auto) > limit:  # what the provider refuses at preview; never truncate it away
            raise ValueError(f"{typ} {name}: name {auto!r} is {len(auto)} characters; AWS allows {limit}")
        module = typ.split(":")[1].split("/")[0] if typ.count(":") >= 2 else ""
        simple = {
            "aws:ec2/vpc:Vpc": {
                "__id": f"vpc-{h}",
                "arn": self._arn("ec2", f"vpc/vpc-{h}"),
                "defaultNetworkAclId": f"acl-{h}",
            },
            "aws:ec2/subnet:Subnet": {"__id": f"subnet-{h}", "arn": self._arn("ec2", f"subnet/subnet-{h}")},
            "aws:ec2/securityGroup:SecurityGroup": {
                "__id": f"sg-{h}",
                "arn": self._arn("ec2", f"security-group/sg-{h}"),
            },
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": {"__id": f"sg-{h}"},
            "aws:ec2/internetGateway:InternetGateway": {"__id": f"igw-{h}"},
            "aws:ec2/routeTable:RouteTable": {"__id": f"rtb-{h}"},
            "aws:ec2/eip:Eip": {"__id": f"eipalloc-{h}", "publicIp": "203.0.113.10"},
            "aws:ec2/natGateway:NatGateway": {"__id": f"nat-{h}"},
            "aws:ec2/vpcEndpoint:VpcEndpoint": {"__id": f"vpce-{h}"},
            "aws:ecr/repository:Repository": {
                "name": auto,
                "arn": self._arn("ecr", f"repository/{auto}"),
                "registryId": ACCOUNT,
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{auto}",
            },
            "docker:index/image:Image": self._image(inputs),
            "aws:rds/instance:Instance": {
                "identifier": auto,
                "address": f"{auto}.c{h[:10]}.{self.region}.rds.amazonaws.com",
                "endpoint": f"{auto}.c{h[:10]}.{self.region}.rds.amazonaws.com:5432",
                "arn": self._arn("rds", f"db:{auto}"),
                "resourceId": f"db-{h.upper()[:26]}",
                # RDS-managed master password: RDS names the secret rds!db-<uuid> and rotates it.
                **(
                    {
                        "masterUserSecrets": [
                            {
                                "secretArn": self._arn("secretsmanager", f"secret:rds!db-{_uuid(h * 2)}-{h[:6]}"),
                                "secretStatus": "active",
                                "kmsKeyId": self._arn("kms", "key/aws-secretsmanager"),
                            }
                        ]
                    }
                    if inputs.get("manageMasterUserPassword")
                    else {}
                ),
                # pulumi-aws 6+ (terraform-provider-aws 5+): the instance id is the DBI resource id, not its name.
                "__id": f"db-{h.upper()[:26]}",
            },
            "aws:lb/loadBalancer:LoadBalancer": {
                "name": auto,
                "dnsName": f"{auto}-{h[:9]}.{self.region}.elb.amazonaws.com",
                "arn": self._arn("elasticloadbalancing", f"loadbalancer/app/{auto}/{h[:16]}"),
                "arnSuffix": f"app/{auto}/{h[:16]}",
                "zoneId": "Z35SXDOTRQ7X7K",
            },
            "aws:lb/targetGroup:TargetGroup": {
                "name": auto,
                "arn": self._arn("elasticloadbalancing", f"targetgroup/{auto}/{h[:16]}"),
                "arnSuffix": f"targetgroup/{auto}/{h[:16]}",
            },
            "aws:rds/subnetGroup:SubnetGroup": {"__id": auto, "name": auto, "arn": self._arn("rds", f"subgrp:{auto}")},
            "aws:rds/parameterGroup:ParameterGroup": {
                "__id": auto,
                "name": auto,
                "arn": self._arn("rds", f"pg:{auto}"),
            },
            "aws:ecs/cluster:Cluster": {"name": auto, "arn": self._arn("ecs", f"cluster/{auto}")},
            "aws:ecs/service:Service": {"name": auto, "arn": self._arn("ecs", f"service/{auto}")},
            "aws:ecs/taskDefinition:TaskDefinition": {
                "arn": self._arn("ecs", f"task-definition/{inputs.get('family', auto)}:1"),
                "revision": 1,
            },
            "aws:acm/certificate:Certificate": self._certificate(inputs, h),
            "aws:acm/certificateValidation:CertificateValidation": {},
            "aws:route53/record:Record": {"fqdn": str(inputs.get("name", auto)).rstrip(".")},
            "aws:cloudwatch/logGroup:LogGroup": {"name": auto, "arn": self._arn("logs", f"log-group:{auto}")},
            "aws:secretsmanager/secret:Secret": {
                "name": auto,
                "arn": self._arn("secretsmanager", f"secret:{auto}-{h[:6]}"),
                "__id": self._arn("secretsmanager", f"secret:{auto}-{h[:6]}"),  # a secret's id is its ARN
            },
            "aws:iam/role:Role": {"name": auto, "arn": self._arn("iam", f"role/{auto}", regional=False)},
            "aws:backup/vault:Vault": {  # in the resource's own region (pulumi-aws 7's per-resource region)
                "name": auto,
                "arn": f"arn:aws:backup:{inputs.get('region') or self.region}:{ACCOUNT}:backup-vault:{auto}",
            },
            "aws:s3/bucket:Bucket": {"bucket": auto, "arn": f"arn:aws:s3:::{auto}"},
            "aws:sns/topic:Topic": {"name": auto, "arn": self._arn("sns", auto)},
            "aws:sqs/queue:Queue": {
                "__id": f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{auto}",  # a queue's id is its URL
                "name": auto,
                "arn": self._arn("sqs", auto),
                "url": f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{auto}",
            },
            "aws:sfn/stateMachine:StateMachine": {"name": auto, "arn": self._arn("states", f"stateMachine:{auto}")},
            "aws:scheduler/schedule:Schedule": {
                "name": auto,
                "arn": self._arn("scheduler", f"schedule/{inputs.get('groupName', 'default')}/{auto}"),
            },
            "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": {
                "__id": f"ns-{h[:16]}",
                "arn": self._arn("servicediscovery", f"namespace/ns-{h[:16]}"),
            },
            "aws:servicediscovery/service:Service": {
                "__id": f"srv-{h[:16]}",
                "arn": self._arn("servicediscovery", f"service/srv-{h[:16]}"),
            },
            "aws:cloudwatch/dashboard:Dashboard": {"dashboardArn": self._arn("cloudwatch", f"dashboard/{auto}", False)},
            "random:index/randomPassword:RandomPassword": {
                # Depends on the generator's inputs, as a real regeneration would change the value.
                "result": SecretValue("offline-" + fake_id("password", name, repr(sorted(inputs.items())), length=32))
            },
            "random:index/randomId:RandomId": {
                "hex": fake_id(
                    "randomid", name, repr(sorted(inputs.items())), length=2 * int(inputs.get("byteLength", 4))
                ),
            },
            "aws:secretsmanager/secretVersion:SecretVersion": {
                "versionId": _uuid(fake_id("version", name, repr(_raw(inputs.get("secretString"))), length=32)),
                "arn": str(inputs.get("secretId", "")),
            },
            "tls:index/privateKey:PrivateKey": {
                "privateKeyPem": "-----BEGIN PRIVATE KEY-----\noffline\n-----END PRIVATE KEY-----\n"
            },
            "tls:index/selfSignedCert:SelfSignedCert": {
                "certPem": "-----BEGIN CERTIFICATE-----\noffline\n-----END CERTIFICATE-----\n"
            },
        }
        if typ in simple:
            return {
                k: (rpc.wrap_rpc_secret(v.value) if isinstance(v, SecretValue) else v) for k, v in simple[typ].items()
            }
        if typ.startswith("aws:"):
            return {"arn": self._arn(module, f"{typ.rsplit(':', 1)[-1].lower()}/{auto}")}
        return {}

    def _image(self, inputs: dict[str, Any]) -> dict[str, Any]:
        image_name = str(inputs.get("imageName", "image:latest"))
        repo = image_name.rsplit(":", 1)[0] if ":" in image_name.split("/")[-1] else image_name
        return {
            "repoDigest": f"{repo}@sha256:{fake_id('digest', image_name, length=64)}",
            "registryServer": repo.split("/")[0],
        }

    def _certificate(self, inputs: dict[str, Any], h: str) -> dict[str, Any]:
        cert_id = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[15:18]}-{fake_id(h, length=12)}"
        out: dict[str, Any] = {"arn": self._arn("acm", f"certificate/{cert_id}")}
        domain = inputs.get("domainName")
        if domain:
            value = f"_{fake_id(h, 'validation', length=32)}.acm-validations.aws."
            out["domainValidationOptions"] = [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{h[:32]}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": value,
                }
            ]
        return out

    # -- invokes ---------------------------------------------------------------------------------------------
    def call(self, args: MockCallArgs) -> tuple[dict, Optional[list[tuple[str, str]]]]:
        answers: dict[str, dict[str, Any]] = {
            AZ_INVOKE: {
                "names": [f"{self.region}{z}" for z in "abcdef"],
                "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
                "id": self.region,
            },
            "aws:index/getRegion:getRegion": {
                "name": self.region,
                "region": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": "offline",
            },
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/offline",
                "userId": "OFFLINE",
                "id": ACCOUNT,
            },
            "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
                "userName": "AWS",
                "password": "offline-token",
                "authorizationToken": "QVdTOm9mZmxpbmU=",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
                "id": self.region,
            },
            "aws:elb/getServiceAccount:getServiceAccount": {
                "arn": "arn:aws:iam::127311923021:root",
                "id": "127311923021",
            },
        }
        if args.token not in answers:
            raise NotImplementedError(
                f"the offline engine has no answer for invoke {args.token}; add one to slipway/mocks.py"
            )
        if args.token == AZ_INVOKE and not _regular_zones_only(args.args):
            # The offline account has opted into a Local Zone, which sorts first, as real accounts may.
            zones = answers[args.token]
            zones["names"] = [f"{self.region}-bos-1a", *zones["names"]]
            zones["zoneIds"] = ["use1-bos1-az1", *zones["zoneIds"]]
        return answers[args.token], []


def _raw(value: Any) -> Any:
    """A secret input's plain value, whichever wrapping the RPC layer used."""
    if isinstance(value, SecretValue):
        return value.value
    if rpc.is_rpc_secret(value):
        return rpc.unwrap_rpc_secret(value)
    return value


def _uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


def _regular_zones_only(invoke_args: dict[str, Any]) -> bool:
    return any(
        f.get("name") == "opt-in-status" and f.get("values") == ["opt-in-not-required"]
        for f in invoke_args.get("filters") or []
    )
