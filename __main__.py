"""slipway's stack: the stack file's keys are WebAppArgs' fields (components/webapp_args.py), read by the library."""

import dataclasses

import pulumi

from slipway_aws.containers import health_check_command
from slipway_aws.iam import BOUNDARY_POLICY_NAME
from slipway_aws.webapp import WebApp, WebAppArgs

# Defaults the stack file may override: build app/ (slipway:imageUri promotes an image instead), the sample app's
# log level and workers; the children were declared at the stack's root before 0.1 (adopt, do not replace them).
args = WebAppArgs.from_config(build_context="app", log_level="INFO", web_concurrency=2, moved_from_stack_root=True)
args, name = args.resolved(), args.app_name or "slipway"
extra = {
    "container_health_check": health_check_command(args.container_port, args.health_check_path),  # app/ has Python
    "env": {"APP_ENV": args.profile, "FORWARDED_ALLOW_IPS": args.vpc_cidr},  # the ALB is inside the VPC
    "permissions_boundary_policy": BOUNDARY_POLICY_NAME.format(prefix=f"{name}-{pulumi.get_stack()}"),
}
app = WebApp(name, dataclasses.replace(args, **extra))
outputs = {"url": app.url, "image": app.image_ref, "db_endpoint": app.db_endpoint, "log_group": app.log_group_name}
outputs |= {"cluster": app.cluster_name, "service": app.service_name, "alarm_topic": app.alarm_topic_arn}
for key, value in outputs.items():
    pulumi.export(key, value)
