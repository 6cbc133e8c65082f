"""The inspector's desk: search, trails with integrity status, trace forward and backward,
anomalies, spot checks, exports and evidence bundles, and the access log of it all.

Recalls live in ``trace_service.recalls``.
"""
