"""Generator of ozon_async's models and endpoints from spec/openapi.yaml (``python -m codegen``)."""
