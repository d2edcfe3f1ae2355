"""Serverless MLOps for tabular scikit-learn models on AWS."""

__version__ = "0.1.0"
