"""slipway stack program: StackConfig -> one WebApp -> stack outputs (a pr-<n> stack: one PreviewApp). Wiring only."""

import pulumi

from slipway_aws.config import StackConfig
from slipway_aws.containers import health_check_command
from slipway_aws.preview import export_shared, preview_number, preview_program
from slipway_aws.webapp import WebApp, WebAppArgs

if preview_number(pulumi.get_stack()) is not None:
    # pr-<n>: a pull request's preview on the dev stack's shared pieces (docs/previews.md).
    preview_program(pulumi.get_stack())
else:
    cfg = StackConfig.load()

    app = WebApp(
        cfg.app_name,
        WebAppArgs(
            build_context=None if cfg.image_uri else "app",  # relative to the project directory, where Pulumi runs
            image_uri=cfg.image_uri,  # promotion: deploy an image another stack already built, by digest
            image_repository_arn=cfg.image_repository_arn,
            profile=cfg.environment,
            name_prefix=cfg.prefix,
            region=cfg.region,
            aws_profile=cfg.aws_profile,
            vpc_cidr=cfg.vpc_cidr,
            az_count=cfg.az_count,
            nat_strategy=cfg.nat_strategy,
            architecture=cfg.architecture,
            cpu=cfg.cpu,
            memory=cfg.memory,
            min_tasks=cfg.min_tasks,
            max_tasks=cfg.max_tasks,
            fargate_spot=cfg.fargate_spot,
            container_port=cfg.container_port,
            health_check_path=cfg.health_check_path,
            # app/ ships Python; the library's default is the load balancer's check only.
            container_health_check=health_check_command(cfg.container_port, cfg.health_check_path),
            health_check_grace_period_seconds=cfg.health_check_grace_period_seconds,
            deregistration_delay_seconds=cfg.deregistration_delay_seconds,
            cpu_target_percent=cfg.cpu_target_percent,
            requests_per_target=cfg.requests_per_target,
            tls_policy=cfg.tls_policy,
            env={
                "APP_ENV": cfg.environment,
                "LOG_LEVEL": cfg.log_level,
                "WEB_CONCURRENCY": str(cfg.web_concurrency),
                # Only the ALB (inside the VPC) may set X-Forwarded-For; the app trusts it from the VPC's range only.
                "FORWARDED_ALLOW_IPS": cfg.vpc_cidr,
            },
            db_instance_class=cfg.db_instance_class,
            db_engine_version=cfg.db_engine_version,
            db_allocated_storage_gb=cfg.db_allocated_storage_gb,
            db_max_allocated_storage_gb=cfg.db_max_allocated_storage_gb,
            db_multi_az=cfg.db_multi_az,
            backup_retention_days=cfg.backup_retention_days,
            backup_window=cfg.backup_window,
            maintenance_window=cfg.maintenance_window,
            db_restore=cfg.db_restore,
            # Every role the stack creates carries this boundary; the deploy roles may create roles only with it.
            permissions_boundary_policy=cfg.permissions_boundary_policy,
            deletion_protection=cfg.deletion_protection,
            log_retention_days=cfg.log_retention_days,
            domain=cfg.domain,
            hosted_zone_id=cfg.hosted_zone_id,
            certificate_arn=cfg.certificate_arn,
            access_logs=cfg.alb_access_logs,
            alarm_email=cfg.alarm_email,
            tags=cfg.tags,
            # Before 0.1 these components were declared at the top of the stack: adopt them, do not replace them.
            moved_from_stack_root=True,
        ),
    )

    pulumi.export("url", app.url)
    pulumi.export("image", app.image_ref)
    pulumi.export("db_endpoint", app.db_endpoint)
    pulumi.export("log_group", app.log_group_name)
    pulumi.export("cluster", app.cluster_name)
    pulumi.export("service", app.service_name)
    pulumi.export("alarm_topic", app.alarm_topic_arn)
    export_shared(app, cfg.domain)  # what pr-<n> stacks read through a StackReference
