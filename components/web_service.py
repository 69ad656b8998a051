"""WebService: ECS Fargate service behind an Application Load Balancer with TLS, tuned for fast, safe deploys.

Security: HTTPS with a TLS 1.3 policy, HTTP only redirects (301) to HTTPS, invalid header fields dropped, HSTS,
X-Content-Type-Options and X-Frame-Options injected by the listener, tasks reachable only from the ALB, hardened
containers (see :mod:`components.containers`).

Deploy speed (vs. AWS defaults): deregistration delay 15 s (300 s), health checks every 10 s with 2 healthy
checks (30 s x 5), min/max healthy 100/200 %, circuit breaker with rollback. A rollback fails ``pulumi up``
through the :class:`components.gates.RolloutCheck` wired in ``__main__``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, cast

import pulumi
import pulumi_aws as aws

from .containers import ContainerSpec, fargate_task_definition
from .docs import document_fields
from .sg_rules import https_to_aws_apis, tcp_between

# The target group's health check: fast deploys (a new task is healthy 20 s after it answers), quick to notice a dead
# one (30 s); WebServiceArgs.target_health_check overrides any of these.
TARGET_HEALTH_CHECK = {"interval": 10, "timeout": 5, "healthy_threshold": 2, "unhealthy_threshold": 3}

HSTS = "max-age=31536000; includeSubDomains"


@document_fields
@dataclass(frozen=True)
class WebServiceArgs:
    cluster_arn: pulumi.Input[str]
    """ECS cluster (``EcsCluster.cluster_arn``). Required."""
    cluster_name: pulumi.Input[str]
    """ECS cluster name, for the autoscaling resource id. Required."""
    vpc_id: pulumi.Input[str]
    """VPC of the service. Required."""
    public_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets of the internet-facing ALB (two or more AZs). Required."""
    task_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets the tasks run in: private ones, or public ones when the VPC has no NAT. Required."""
    image: pulumi.Input[str]
    """Image to run, pinned by digest (``repo@sha256:...``). Required."""
    certificate_arn: pulumi.Input[str]
    """ACM certificate of the HTTPS listener. Required."""
    execution_role_arn: pulumi.Input[str]
    """ECS execution role (image pull, logs, secrets). Required."""
    task_role_arn: pulumi.Input[str]
    """The app's own role. Required."""
    log_group_name: pulumi.Input[str]
    """Log group of the awslogs driver. Required."""
    region: pulumi.Input[str]
    """AWS region, for the awslogs driver. Required."""
    extra_security_group_ids: Sequence[pulumi.Input[str]] = ()
    """More groups for the tasks, e.g. ``Database.client_security_group_id``. Default none."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain (non-secret) environment variables. Default none."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Env var name -> Secrets Manager ARN, injected with ``valueFrom``. Default none."""
    assign_public_ip: bool = False
    """Give tasks a public IP (only for a VPC without NAT). Default False."""
    architecture: str = "arm64"
    """``arm64`` (default, Graviton: cheaper) or ``x86_64``; must match the image."""
    cpu: int = 512
    """Task CPU units. Default 512."""
    memory: int = 1024
    """Task memory (MiB). Default 1024."""
    container_port: int = 8000
    """Port the app listens on. Default 8000."""
    health_check_path: str = "/healthz"
    """Liveness path the load balancer checks (HTTP 200, without touching the database). Default ``/healthz``."""
    container_health_check: Optional[Sequence[str]] = None
    """Health check ECS runs inside the container (``["CMD", ...]``/``["CMD-SHELL", "..."]``). Default None: none, the
    load balancer's check decides, so the image needs no shell, curl or Python
    (``components.containers.health_check_command`` is one for images with Python)."""
    health_check_grace_period_seconds: int = 30
    """Time ECS ignores failing ALB health checks after a task starts. Default 30 (app starts in ~5 s)."""
    deregistration_delay_seconds: int = 15
    """Connection draining before a target is removed. Default 15 (AWS: 300)."""
    target_health_check: Mapping[str, int] = field(default_factory=dict)
    """Overrides of the load balancer's health check of each task, by ``aws.lb.TargetGroupHealthCheckArgs`` keyword:
    ``interval``, ``timeout``, ``healthy_threshold``, ``unhealthy_threshold`` (whole numbers). Default none: every
    10 s, 5 s timeout, healthy after 2 passes, unhealthy after 3 failures."""
    min_tasks: int = 2
    """Autoscaling floor and initial desired count. Default 2 (one per AZ at least)."""
    max_tasks: int = 6
    """Autoscaling ceiling. Default 6."""
    cpu_target_percent: int = 60
    """Target-tracking CPU utilisation. Default 60 %."""
    requests_per_target: int = 500
    """Target-tracking ALB requests per task per minute. Default 500."""
    fargate_spot: bool = False
    """Run on interruptible Fargate Spot (~70 % cheaper). Default False; dev sets True."""
    tls_policy: str = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    """HTTPS listener security policy (TLS 1.3 + 1.2, strong ciphers only). Default as shown."""
    deletion_protection: bool = True
    """ALB deletion protection. Default True; dev sets False."""
    access_logs_bucket: Optional[pulumi.Input[str]] = None
    """S3 bucket for ALB access logs (see ``AccessLogBucket``). Default None (off)."""
    access_logs_prefix: str = "alb"
    """Key prefix of access logs. Default ``alb``."""
    domain: Optional[str] = None
    """DNS name to alias to the ALB (needs ``hosted_zone_id``). Default None: serve on the ALB's own name."""
    hosted_zone_id: Optional[str] = None
    """Route 53 zone holding ``domain``. Default None."""
    enable_execute_command: bool = False
    """ECS Exec into the tasks (``slipway exec``); the task role needs the SSM channels (``TaskRolesArgs.
    execute_command``). Default False (``WebAppArgs.execute_command`` turns it on in dev)."""
    deploy_after: Sequence[pulumi.Resource] = ()
    """Resources the ECS service update waits for, e.g. the migration gate, so no running task is replaced
    before they succeed. Default none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _web_service_args(self)


class WebService(pulumi.ComponentResource):
    """Outputs: ``url``, ``dns_name``, ``alb_arn``, ``alb_arn_suffix``, ``target_group_arn_suffix``,
    ``service_name``, ``task_definition_arn``, ``task_security_group_id``,
    ``alb_zone_id``. Child ``scaling_target``: the service's scalable target (scheduled actions go on it)."""

    def __init__(self, name: str, args: WebServiceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:WebService", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._name, self._args, self._tags = name, args, dict(args.tags)

        alb_sg, task_sg = self._security_groups()
        alb, target_group, listeners = self._load_balancer(alb_sg)
        task_def = self._task_definition()
        service = self._service(task_def, target_group, task_sg, listeners)
        self.scaling_target = self._autoscaling(service, alb, target_group)
        if args.domain and args.hosted_zone_id:
            aws.route53.Record(
                f"{name}-alias",
                zone_id=args.hosted_zone_id,
                name=args.domain,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True)
                ],
                opts=self._child,
            )

        self.dns_name: pulumi.Output[str] = alb.dns_name
        self.alb_zone_id: pulumi.Output[str] = alb.zone_id
        self.url: pulumi.Output[str] = pulumi.Output.concat("https://", args.domain or alb.dns_name)
        self.alb_arn: pulumi.Output[str] = alb.arn
        self.alb_arn_suffix: pulumi.Output[str] = alb.arn_suffix
        self.target_group_arn_suffix: pulumi.Output[str] = target_group.arn_suffix
        self.service_name: pulumi.Output[str] = service.name
        self.task_definition_arn: pulumi.Output[str] = task_def.arn
        self.task_security_group_id: pulumi.Output[str] = task_sg.id
        # The children, for whoever needs one this component does not expose through Args (read, depend on, alias).
        self.load_balancer, self.target_group, self.listeners = alb, target_group, listeners
        self.task_definition, self.service = task_def, service
        self.alb_security_group, self.task_security_group = alb_sg, task_sg
        self.register_outputs(
            {
                "url": self.url,
                "dns_name": self.dns_name,
                "alb_zone_id": self.alb_zone_id,
                "alb_arn": self.alb_arn,
                "alb_arn_suffix": self.alb_arn_suffix,
                "target_group_arn_suffix": self.target_group_arn_suffix,
                "service_name": self.service_name,
                "task_definition_arn": self.task_definition_arn,
                "task_security_group_id": self.task_security_group_id,
            }
        )

    # -- network edges -------------------------------------------------------------------------------------
    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        name, args, child = self._name, self._args, self._child
        alb_sg = aws.ec2.SecurityGroup(
            f"{name}-alb-sg",
            vpc_id=args.vpc_id,
            description="ALB: HTTP(S) from anywhere",
            tags={**self._tags, "Name": f"{name}-alb"},
            opts=child,
        )
        task_sg = aws.ec2.SecurityGroup(
            f"{name}-task-sg",
            vpc_id=args.vpc_id,
            description="App tasks: traffic from the ALB only",
            tags={**self._tags, "Name": f"{name}-tasks"},
            opts=child,
        )
        for port in (80, 443):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-in-{port}",
                security_group_id=alb_sg.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"public {'HTTPS' if port == 443 else 'HTTP redirect'}",
                opts=child,
            )
        tcp_between(
            source=alb_sg.id,
            target=task_sg.id,
            port=args.container_port,
            egress=(f"{name}-alb-to-tasks", "ALB to app tasks"),
            ingress=(f"{name}-tasks-from-alb", "app port from the ALB only"),
            opts=child,
        )
        https_to_aws_apis(f"{name}-tasks-https-out", task_sg.id, child)
        return alb_sg, task_sg

    def _load_balancer(
        self, alb_sg: aws.ec2.SecurityGroup
    ) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup, list[aws.lb.Listener]]:
        name, args, child = self._name, self._args, self._child
        access_logs = None
        if args.access_logs_bucket is not None:
            access_logs = aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_logs_bucket, prefix=args.access_logs_prefix, enabled=True
            )
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            security_groups=[alb_sg.id],
            subnets=args.public_subnet_ids,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_deletion_protection=args.deletion_protection,
            enable_http2=True,
            idle_timeout=60,
            access_logs=access_logs,
            tags=self._tags,
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            port=args.container_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=args.health_check_path,
                protocol="HTTP",
                matcher="200",
                **cast(dict[str, Any], {**TARGET_HEALTH_CHECK, **args.target_health_check}),
            ),
            tags=self._tags,
            opts=child,
        )
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=args.tls_policy,
            certificate_arn=args.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            routing_http_response_strict_transport_security_header_value=HSTS,
            routing_http_response_x_content_type_options_header_value="nosniff",
            routing_http_response_x_frame_options_header_value="DENY",
            tags=self._tags,
            opts=child,
        )
        http = aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=self._tags,
            opts=child,
        )
        return alb, target_group, [https, http]

    # -- compute -------------------------------------------------------------------------------------------
    def _task_definition(self) -> aws.ecs.TaskDefinition:
        name, args = self._name, self._args
        spec = ContainerSpec(
            name="app",
            image=args.image,
            log_group=args.log_group_name,
            region=args.region,
            stream_prefix="web",
            environment=args.environment,
            secrets=args.secrets,
            port=args.container_port,
            health_check_path=args.health_check_path,
            health_check=args.container_health_check,
        )
        return fargate_task_definition(
            f"{name}-task",
            family=name,
            cpu=args.cpu,
            memory=args.memory,
            architecture=args.architecture,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            spec=spec,
            tags=self._tags,
            opts=self._child,
        )

    def _service(
        self,
        task_def: aws.ecs.TaskDefinition,
        target_group: aws.lb.TargetGroup,
        task_sg: aws.ec2.SecurityGroup,
        listeners: list[aws.lb.Listener],
    ) -> aws.ecs.Service:
        name, args = self._name, self._args
        capacity = [
            aws.ecs.ServiceCapacityProviderStrategyArgs(
                capacity_provider="FARGATE_SPOT" if args.fargate_spot else "FARGATE", weight=1
            )
        ]
        return aws.ecs.Service(
            f"{name}-service",
            cluster=args.cluster_arn,
            task_definition=task_def.arn,
            desired_count=args.min_tasks,
            capacity_provider_strategies=capacity,
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.task_subnet_ids,
                security_groups=[task_sg.id, *args.extra_security_group_ids],
                assign_public_ip=args.assign_public_ip,
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=target_group.arn, container_name="app", container_port=args.container_port
                )
            ],
            health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            enable_execute_command=args.enable_execute_command,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            # UpdateService alone does not move running tasks to a new capacity provider (Spot <-> on-demand) or
            # platform version; this makes every update of the service roll its tasks. Unchanged services are never
            # updated, so it costs nothing on a no-op `pulumi up`.
            force_new_deployment=True,
            tags=self._tags,
            # Autoscaling owns the running count after creation; the target group must be on a listener first.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*listeners, *args.deploy_after], ignore_changes=["desiredCount"]
            ),
        )

    def _autoscaling(
        self, service: aws.ecs.Service, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup
    ) -> aws.appautoscaling.Target:
        name, args, child = self._name, self._args, self._child
        target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", service.name),
            min_capacity=args.min_tasks,
            max_capacity=args.max_tasks,
            tags=self._tags,
            opts=child,
        )
        metric_args = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
        metrics = {
            "cpu": metric_args(predefined_metric_type="ECSServiceAverageCPUUtilization"),
            "requests": metric_args(
                predefined_metric_type="ALBRequestCountPerTarget",
                resource_label=pulumi.Output.concat(alb.arn_suffix, "/", target_group.arn_suffix),
            ),
        }
        targets = {"cpu": args.cpu_target_percent, "requests": args.requests_per_target}
        for key, metric in metrics.items():
            aws.appautoscaling.Policy(
                f"{name}-scale-{key}",
                policy_type="TargetTrackingScaling",
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                service_namespace=target.service_namespace,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=targets[key],
                    predefined_metric_specification=metric,
                    scale_in_cooldown=120,
                    scale_out_cooldown=30,
                ),
                opts=child,
            )
        return target


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _web_service_args(args: WebServiceArgs) -> None:
    from .validation import ARCHITECTURES, DOMAIN, ZONE_ID, Checks, plain, zone_fix

    c = Checks()
    c.fargate_size("cpu", args.cpu, "memory", args.memory)
    c.digest_image("image", args.image)
    c.one_of("architecture", args.architecture, ARCHITECTURES)
    c.int_range("min_tasks", args.min_tasks, 1, None)
    c.int_range("max_tasks", args.max_tasks, 1, None)
    c.not_above("min_tasks", args.min_tasks, "max_tasks", args.max_tasks)
    c.int_range("container_port", args.container_port, 1, 65535)
    c.url_path("health_check_path", args.health_check_path)
    c.int_range("health_check_grace_period_seconds", args.health_check_grace_period_seconds, 0, 2147483647)
    c.int_range("deregistration_delay_seconds", args.deregistration_delay_seconds, 0, 3600, "seconds")
    c.int_range("cpu_target_percent", args.cpu_target_percent, 10, 90)
    c.int_range("requests_per_target", args.requests_per_target, 1, None)
    c.tls_policy("tls_policy", args.tls_policy)
    from .web_service import TARGET_HEALTH_CHECK

    check = args.target_health_check
    if plain(check) and (not isinstance(check, Mapping) or set(check) - set(TARGET_HEALTH_CHECK)):
        keep = {k: v for k, v in check.items() if k in TARGET_HEALTH_CHECK} if isinstance(check, Mapping) else {}
        c.bad(
            "target_health_check", check, f"takes only {', '.join(TARGET_HEALTH_CHECK)}", ("target_health_check", keep)
        )
    c.matches("domain", args.domain, DOMAIN, "a lowercase DNS name", "app.example.com")
    c.matches(
        "hosted_zone_id", args.hosted_zone_id, ZONE_ID, "a Route 53 zone id", zone_fix("hosted_zone_id", args.domain)
    )
    c.domain_needs_zone("domain", args.domain, "hosted_zone_id", args.hosted_zone_id)
    c.raise_for("WebServiceArgs")
