"""Shared Powertools Logger, Tracer and Metrics: one service name, one metrics namespace."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "mlops"
METRICS_NAMESPACE = "MLOps"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
