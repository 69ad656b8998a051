"""Entry point of the slipway component package (PulumiPlugin.yaml): hosts the components for any Pulumi language.

The schema is inferred by the Python SDK's component provider host from the facades in ``slipway_aws.provider``;
``slipway schema`` prints it.
"""

from slipway_aws.provider import serve

if __name__ == "__main__":
    serve()
