"""The shop team's stack: their own image (Go, no Python inside) on slipway's WebApp, as dev and prod.

Pulumi.<stack>.yaml holds WebAppArgs' fields as keys of this project (shop:environment, shop:imageUri,
shop:certificateArn, any other such as shop:minTasks); the library reads and checks them all.
"""

import pulumi

from slipway_aws import WebApp, WebAppArgs

app = WebApp(
    "shop",
    WebAppArgs.from_config(
        container_port=8080,
        health_check_path="/ready",
        env={"SHOP_CURRENCY": "EUR"},
        migration_command=["/shop", "migrate"],
        db_password_managed=True,  # RDS rotates it; the shop re-reads its secret when a login fails
    ),
)

pulumi.export("url", app.url)
pulumi.export("db_endpoint", app.db_endpoint)
pulumi.export("logs", app.log_group_name)
