"""The post-promotion guard: a canary is rolled back when a guard alarm fires, or becomes
production once its guard period has passed clean (docs/monitoring.md "Post-promotion guard").

Pure logic: the registry store, the alarm-state reader and the notifier are injected
(`mlops.guard.wiring` binds them to AWS for the guard Lambda).
"""
