"""The drift and live-quality monitor: S3 and the registry behind injected clients.

`monitor.py` runs one model's tick (captures since the last run -> drift per version, feedback
-> live quality, metrics, reports, state); `objects.py` finds and reads the new objects past a
watermark; `metrics.py` renders the EMF documents. The statistics live in mlops.domain.
"""
