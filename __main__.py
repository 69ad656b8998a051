"""slipway stack program: StackConfig -> components -> stack outputs. Wiring only; no AWS logic here."""

from pathlib import Path

import pulumi

from components import (
    AccessLogBucket,
    AccessLogBucketArgs,
    AppImage,
    AppImageArgs,
    AppLogs,
    AppLogsArgs,
    AppSecrets,
    AppSecretsArgs,
    ContainerRegistry,
    ContainerRegistryArgs,
    Database,
    DatabaseArgs,
    EcsCluster,
    EcsClusterArgs,
    MigrationTask,
    MigrationTaskArgs,
    Network,
    NetworkArgs,
    Observability,
    ObservabilityArgs,
    RolloutCheck,
    RolloutCheckArgs,
    TaskRoles,
    TaskRolesArgs,
    TlsCertificate,
    TlsCertificateArgs,
    WebService,
    WebServiceArgs,
    image_tag,
)
from components.config import StackConfig

APP_DIR = "app"  # relative to the project directory, where Pulumi runs the program
APP_SOURCE = Path(__file__).resolve().parent / APP_DIR

cfg = StackConfig.load()
name, tags, prod = cfg.prefix, cfg.tags, cfg.is_prod

network = Network(
    f"{name}-net", NetworkArgs(cidr_block=cfg.vpc_cidr, az_count=cfg.az_count, nat_strategy=cfg.nat_strategy, tags=tags)
)
registry = ContainerRegistry(name, ContainerRegistryArgs(repository_name=name, force_delete=not prod, tags=tags))
if cfg.image_uri:  # promotion: deploy an image another stack already built, by digest
    image_ref: pulumi.Input[str] = cfg.image_uri
else:
    image_ref = AppImage(
        name,
        AppImageArgs(
            context=APP_DIR,
            repository_url=registry.repository_url,
            registry_id=registry.registry_id,
            tag=image_tag(str(APP_SOURCE), cfg.architecture),
            architecture=cfg.architecture,
            repository_name=name,
            region=cfg.region,
            aws_profile=cfg.aws_profile,
        ),
    ).image_ref
secrets = AppSecrets(name, AppSecretsArgs(recovery_window_days=30 if prod else 7, tags=tags))
logs = AppLogs(name, AppLogsArgs(retention_days=cfg.log_retention_days, tags=tags))
pull_from = [registry.repository_arn] + ([cfg.image_repository_arn] if cfg.image_repository_arn else [])
roles = TaskRoles(
    name,
    TaskRolesArgs(
        repository_arns=pulumi.Output.all(*pull_from),
        log_group_arn=logs.log_group_arn,
        secret_arns=secrets.arns,
        tags=tags,
    ),
)
database = Database(
    f"{name}-db",
    DatabaseArgs(
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        password=secrets.db_password,
        engine_version=cfg.db_engine_version,
        instance_class=cfg.db_instance_class,
        allocated_storage_gb=cfg.db_allocated_storage_gb,
        max_allocated_storage_gb=cfg.db_max_allocated_storage_gb,
        multi_az=cfg.db_multi_az,
        backup_retention_days=cfg.backup_retention_days,
        backup_window=cfg.backup_window,
        maintenance_window=cfg.maintenance_window,
        deletion_protection=cfg.deletion_protection,
        final_snapshot=prod,
        apply_immediately=not prod,
        log_retention_days=cfg.log_retention_days,
        tags=tags,
    ),
)
cluster = EcsCluster(name, EcsClusterArgs(tags=tags))

app_env = {
    "APP_ENV": cfg.environment,
    "LOG_LEVEL": cfg.log_level,
    "WEB_CONCURRENCY": str(cfg.web_concurrency),
    "PORT": str(cfg.container_port),
    "DB_HOST": database.address,
    "DB_PORT": str(database.port),
    "DB_NAME": database.db_name,
    "DB_USER": database.username,
    "DB_SSLMODE": "require",
    # Only the ALB (inside the VPC) may set X-Forwarded-For; the app trusts it from the VPC's range only.
    "FORWARDED_ALLOW_IPS": cfg.vpc_cidr,
}
migration = MigrationTask(
    f"{name}-migrate",
    MigrationTaskArgs(
        cluster_arn=cluster.cluster_arn,
        vpc_id=network.vpc_id,
        subnet_ids=network.task_subnet_ids,
        image=image_ref,
        execution_role_arn=roles.execution_role_arn,
        task_role_arn=roles.task_role_arn,
        log_group_name=logs.log_group_name,
        region=cfg.region,
        database_security_group_id=database.client_security_group_id,
        environment=app_env,
        secrets=secrets.container_secrets,
        assign_public_ip=network.assign_public_ip,
        architecture=cfg.architecture,
        aws_profile=cfg.aws_profile,
        run_after=[database],
        tags=tags,
    ),
)

certificate = TlsCertificate(
    name,
    TlsCertificateArgs(
        mode=cfg.tls_mode,
        domain=cfg.domain,
        hosted_zone_id=cfg.hosted_zone_id,
        certificate_arn=cfg.certificate_arn,
        tags=tags,
    ),
)
access_logs = (
    AccessLogBucket(f"{name}-alb-logs", AccessLogBucketArgs(region=cfg.region, force_destroy=not prod, tags=tags))
    if cfg.alb_access_logs
    else None
)
web = WebService(
    f"{name}-web",
    WebServiceArgs(
        cluster_arn=cluster.cluster_arn,
        cluster_name=cluster.cluster_name,
        vpc_id=network.vpc_id,
        public_subnet_ids=network.public_subnet_ids,
        task_subnet_ids=network.task_subnet_ids,
        image=image_ref,
        certificate_arn=certificate.certificate_arn,
        execution_role_arn=roles.execution_role_arn,
        task_role_arn=roles.task_role_arn,
        log_group_name=logs.log_group_name,
        region=cfg.region,
        extra_security_group_ids=[database.client_security_group_id],
        environment=app_env,
        secrets=secrets.container_secrets,
        assign_public_ip=network.assign_public_ip,
        architecture=cfg.architecture,
        cpu=cfg.cpu,
        memory=cfg.memory,
        container_port=cfg.container_port,
        health_check_path=cfg.health_check_path,
        health_check_grace_period_seconds=cfg.health_check_grace_period_seconds,
        deregistration_delay_seconds=cfg.deregistration_delay_seconds,
        min_tasks=cfg.min_tasks,
        max_tasks=cfg.max_tasks,
        cpu_target_percent=cfg.cpu_target_percent,
        requests_per_target=cfg.requests_per_target,
        fargate_spot=cfg.fargate_spot,
        tls_policy=cfg.tls_policy,
        deletion_protection=cfg.deletion_protection,
        access_logs_bucket=access_logs.bucket if access_logs else None,
        domain=cfg.domain,
        hosted_zone_id=cfg.hosted_zone_id,
        deploy_after=[migration.gate],
        tags=tags,
    ),
)
rollout = RolloutCheck(
    f"{name}-rollout",
    RolloutCheckArgs(
        cluster=cluster.cluster_arn,
        service=web.service_name,
        task_definition=web.task_definition_arn,
        region=cfg.region,
        aws_profile=cfg.aws_profile,
    ),
    opts=pulumi.ResourceOptions(depends_on=[web]),
)
observability = Observability(
    name,
    ObservabilityArgs(
        alb_arn_suffix=web.alb_arn_suffix,
        target_group_arn_suffix=web.target_group_arn_suffix,
        cluster_name=cluster.cluster_name,
        service_name=web.service_name,
        db_identifier=database.identifier,
        db_instance_class=cfg.db_instance_class,
        db_allocated_storage_gb=cfg.db_allocated_storage_gb,
        alarm_email=cfg.alarm_email,
        key_deletion_window_days=30 if prod else 7,
        tags=tags,
    ),
)

pulumi.export("url", web.url)
pulumi.export("image", image_ref)
pulumi.export("db_endpoint", database.endpoint)
pulumi.export("log_group", logs.log_group_name)
pulumi.export("cluster", cluster.cluster_name)
pulumi.export("service", web.service_name)
pulumi.export("alarm_topic", observability.topic_arn)
