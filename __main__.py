"""slipway's stack: the stack file's keys are WebAppArgs' fields (components/webapp_args.py); pr-<n>: a preview."""

import dataclasses

import pulumi

from slipway_aws.containers import health_check_command
from slipway_aws.iam import BOUNDARY_POLICY_NAME
from slipway_aws.preview import export_shared, preview_number, preview_program
from slipway_aws.webapp import WebApp, WebAppArgs

if preview_number(stack := pulumi.get_stack()) is not None:  # a PR's preview on dev's pieces (docs/previews.md)
    preview_program(stack)
else:  # defaults the stack file may override (slipway:imageUri promotes an image instead of building app/)
    args = WebAppArgs.from_config(build_context="app", log_level="INFO", web_concurrency=2, moved_from_stack_root=True)
    args, name = args.resolved(), args.app_name or "slipway"
    extra = {
        "container_health_check": health_check_command(args.container_port, args.health_check_path),  # app/: Python
        "env": {"APP_ENV": args.profile, "FORWARDED_ALLOW_IPS": args.vpc_cidr},  # the ALB is inside the VPC
        "permissions_boundary_policy": BOUNDARY_POLICY_NAME.format(prefix=f"{name}-{stack}"),
    }
    app = WebApp(name, dataclasses.replace(args, **extra))  # the children were declared at the root before 0.1
    for key, value in app.stack_outputs.items():
        pulumi.export(key, value)
    export_shared(app, args.domain)  # what pr-<n> stacks read through a StackReference
