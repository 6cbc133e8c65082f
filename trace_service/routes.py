"""Registers every domain's blueprint on the Api."""

from __future__ import annotations


def register(api) -> None:
    from trace_service.auth.routes import blp as keys
    from trace_service.brands.routes import blp as brands
    from trace_service.catalog.routes import blp as catalog
    from trace_service.chain.routes import blp as chain
    from trace_service.custody.routes import blp as custody
    from trace_service.feedback.routes import blp as feedback
    from trace_service.ingest.routes import blp as ingest
    from trace_service.inspect.routes import blp as inspect
    from trace_service.labels.routes import blp as labels
    from trace_service.ledger.routes import blp as log
    from trace_service.orders.routes import blp as orders
    from trace_service.parties.routes import blp as parties
    from trace_service.recalls.routes import blp as recalls
    from trace_service.shipping.routes import blp as shipping

    for blp in (parties, keys, brands, catalog, custody, orders, shipping, ingest, feedback,
                chain, log, labels):
        api.register_blueprint(blp)
    for blp in (inspect, recalls):  # the inspector's desk (docs/inspector.md)
        api.register_blueprint(blp)
