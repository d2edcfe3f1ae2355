"""CDK app of the serverless MLOps platform."""
