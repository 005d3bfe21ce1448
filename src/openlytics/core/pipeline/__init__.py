"""Event pipelines: inputs, Code Engine transforms, event types and mappings, outputs (docs/pipeline.md)."""
