"""Recalls of lots: opened and closed by inspectors, enforced through ``lots.recalled_at``.

Other domains need only :func:`trace_service.recalls.services.active_recall_for_lot`.
"""
