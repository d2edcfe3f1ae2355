"""Online inference: request validation, model cache, canary/shadow routing, capture, telemetry.

Imports onnxruntime and numpy, never scikit-learn, scipy or pandas.
"""
