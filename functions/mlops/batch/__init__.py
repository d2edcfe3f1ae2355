"""Batch scoring: pin the production version, score S3 objects in bounded chunks, write the
manifest (docs/batch.md). Domain modules take their S3 client and registry as arguments."""
