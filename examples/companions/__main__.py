"""The shop with the services a Copilot workspace gave it: the web app, a queue worker, a nightly job and an
internal API, all on one network, cluster, image, database and alarm topic (``beside(app)``)."""

import pulumi
import pulumi_aws as aws

from slipway_aws import (
    BackendService,
    BackendServiceArgs,
    ScheduledJob,
    ScheduledJobArgs,
    WebApp,
    WebAppArgs,
    WorkerService,
    WorkerServiceArgs,
    beside,
)
from slipway_aws.worker_service import queue_url

config = pulumi.Config()
stack = pulumi.get_stack()
region = aws.get_region_output().region
account = aws.get_caller_identity_output().account_id
jobs_queue = f"shop-{stack}-worker-queue"

app = WebApp(
    "shop",
    WebAppArgs(
        image_uri=config.require("imageUri"),
        profile=config.require("profile"),
        certificate_arn=config.get("certificateArn") or None,
        # The web app enqueues work; the queue's URL is known before the worker exists.
        env={"QUEUE_URL": pulumi.Output.all(region, account).apply(lambda a: queue_url(a[0], a[1], jobs_queue))},
    ),
)
shared = beside(app)
worker = WorkerService(
    f"shop-{stack}-worker",
    WorkerServiceArgs(**shared, command=["app", "worker"], producer_role_arns=[app.roles.task_role_arn]),
)
job = ScheduledJob(
    f"shop-{stack}-nightly",
    ScheduledJobArgs(**shared, command=["app", "prune-keys"], schedule="cron(0 3 * * ? *)", retries=2),
)
api = BackendService(
    f"shop-{stack}-api",
    BackendServiceArgs(
        **shared,
        command=["app", "serve"],
        discovery_name="api",
        client_security_group_ids=[app.web.task_security_group_id],
    ),
)

pulumi.export("url", app.url)
pulumi.export("queue", worker.queue_url)
pulumi.export("schedule", job.schedule_arn)
pulumi.export("api", api.url)
