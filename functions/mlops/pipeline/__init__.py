"""The training pipeline's use-cases: the glue between the handlers, the registry and the domain.

Each step's use-case takes its collaborators (registry store, S3 client, callables) as
arguments, so it runs the same in a Lambda, in the local cloud and in unit tests with fakes.
Modules are imported per step on purpose: the gate, finalize and trigger functions carry only
the base layer (no numpy), train carries the training layer, validate and evaluate the scoring
layer. Keep this package's `__init__` free of imports.
"""
