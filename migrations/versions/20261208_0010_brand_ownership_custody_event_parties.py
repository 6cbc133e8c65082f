"""brand ownership, custody and party-scoped events

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 03:00:00

* ``company_prefixes`` and ``brand_authorisations``: who may register a GTIN.
* ``products.brand_owner_id`` and ``maker_confirmed``.
* ``lot_holdings``, ``transfers``, ``transfer_items``: custody of lot quantities and the
  B2B transfers that move custody.
* ``event_parties``: which parties each event concerns (visibility reads it). Events stored
  before this revision get their actor, and the merchant and carrier of any parcel they are
  about; other parties of such old events see them only as placeholders.
* ``persons.scope``: the party that wrote a person; ``external_ref`` is unique per scope,
  no longer across all parties. Existing buyers and consignees go to their order's
  merchant, staff to their carrier, everyone else to the operator.
* Lot quantities declared before this revision are held by the lot's commissioner, less
  what was already sold.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company_prefixes",
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("party_id", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.String(length=200), nullable=False),
        sa.Column("verified_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"],
                                name=op.f("fk_company_prefixes_party_id_parties")),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_company_prefixes")),
    )
    op.create_index(op.f("ix_company_prefixes_party_id"), "company_prefixes", ["party_id"])
    op.create_table(
        "brand_authorisations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("grantor_id", sa.String(length=40), nullable=False),
        sa.Column("grantee_id", sa.String(length=40), nullable=False),
        sa.Column("scope_kind", sa.String(length=10), nullable=False),
        sa.Column("scope_value", sa.String(length=14), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["grantee_id"], ["parties.id"],
                                name=op.f("fk_brand_authorisations_grantee_id_parties")),
        sa.ForeignKeyConstraint(["grantor_id"], ["parties.id"],
                                name=op.f("fk_brand_authorisations_grantor_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand_authorisations")),
    )
    op.create_index(op.f("ix_brand_authorisations_grantee_id"), "brand_authorisations",
                    ["grantee_id"])
    op.create_index(op.f("ix_brand_authorisations_grantor_id"), "brand_authorisations",
                    ["grantor_id"])
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("brand_owner_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("maker_confirmed", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.create_index(batch.f("ix_products_brand_owner_id"), ["brand_owner_id"])
        batch.create_foreign_key(batch.f("fk_products_brand_owner_id_parties"), "parties",
                                 ["brand_owner_id"], ["id"])
    op.create_table(
        "lot_holdings",
        sa.Column("trace_key_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"],
                                name=op.f("fk_lot_holdings_party_id_parties")),
        sa.ForeignKeyConstraint(["trace_key_id"], ["trace_keys.id"],
                                name=op.f("fk_lot_holdings_trace_key_id_trace_keys")),
        sa.PrimaryKeyConstraint("trace_key_id", "party_id", name=op.f("pk_lot_holdings")),
    )
    op.create_index(op.f("ix_lot_holdings_party_id"), "lot_holdings", ["party_id"])
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("destination_id", sa.String(length=40), nullable=False),
        sa.Column("carrier_id", sa.String(length=40), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["carrier_id"], ["parties.id"],
                                name=op.f("fk_transfers_carrier_id_parties")),
        sa.ForeignKeyConstraint(["destination_id"], ["parties.id"],
                                name=op.f("fk_transfers_destination_id_parties")),
        sa.ForeignKeyConstraint(["source_id"], ["parties.id"],
                                name=op.f("fk_transfers_source_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index(op.f("ix_transfers_destination_id"), "transfers", ["destination_id"])
    op.create_index(op.f("ix_transfers_source_id"), "transfers", ["source_id"])
    op.create_table(
        "transfer_items",
        sa.Column("transfer_id", sa.String(length=40), nullable=False),
        sa.Column("trace_key_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["trace_key_id"], ["trace_keys.id"],
                                name=op.f("fk_transfer_items_trace_key_id_trace_keys")),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfers.id"],
                                name=op.f("fk_transfer_items_transfer_id_transfers")),
        sa.PrimaryKeyConstraint("transfer_id", "trace_key_id", name=op.f("pk_transfer_items")),
    )
    op.create_table(
        "event_parties",
        sa.Column("party_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_event_parties_event_id_events")),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"],
                                name=op.f("fk_event_parties_party_id_parties")),
        sa.PrimaryKeyConstraint("party_id", "event_id", name=op.f("pk_event_parties")),
    )
    op.create_index("ix_event_parties_event_id", "event_parties", ["event_id"])
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=40), nullable=False,
                                   server_default="operator"))
        batch.drop_constraint("uq_persons_external_ref", type_="unique")
    _backfill()
    with op.batch_alter_table("persons") as batch:
        batch.create_unique_constraint(batch.f("uq_persons_scope_external_ref"),
                                       ["scope", "external_ref"])


def _backfill() -> None:
    op.execute("INSERT INTO event_parties (party_id, event_id) "
               "SELECT party_id, id FROM events WHERE party_id IS NOT NULL")
    for column in ("merchant_id", "carrier_id"):
        op.execute(
            "INSERT INTO event_parties (party_id, event_id) "
            f"SELECT DISTINCT p.{column}, ek.event_id FROM event_keys ek "
            "JOIN parcels p ON p.trace_key_id = ek.trace_key_id "
            f"WHERE ek.role = 'subject' AND NOT EXISTS (SELECT 1 FROM event_parties ep "
            f"WHERE ep.party_id = p.{column} AND ep.event_id = ek.event_id)")
    for column in ("buyer_id", "consignee_id"):
        op.execute(f"UPDATE persons SET scope = (SELECT MIN(o.merchant_id) FROM orders o "
                   f"WHERE o.{column} = persons.id) "
                   f"WHERE EXISTS (SELECT 1 FROM orders o WHERE o.{column} = persons.id)")
    op.execute("UPDATE persons SET scope = (SELECT MIN(s.carrier_id) FROM staff s "
               "WHERE s.person_id = persons.id) "
               "WHERE EXISTS (SELECT 1 FROM staff s WHERE s.person_id = persons.id)")
    op.execute(
        "INSERT INTO lot_holdings (trace_key_id, party_id, quantity) "
        "SELECT tk.id, tk.owner_id, l.quantity - COALESCE((SELECT SUM(ol.quantity) "
        "FROM order_lines ol WHERE ol.trace_key_id = tk.id), 0) "
        "FROM trace_keys tk JOIN lots l ON l.id = tk.lot_id "
        "WHERE tk.kind = 'lot' AND tk.owner_id IS NOT NULL AND l.quantity IS NOT NULL "
        "AND l.quantity > COALESCE((SELECT SUM(ol.quantity) FROM order_lines ol "
        "WHERE ol.trace_key_id = tk.id), 0)")


def downgrade() -> None:
    # One account reference per person again: where two parties used the same reference,
    # only the oldest person keeps it (a downgrade cannot keep both).
    op.execute("UPDATE persons SET external_ref = NULL WHERE external_ref IS NOT NULL AND "
               "id <> (SELECT MIN(p2.id) FROM persons p2 "
               "WHERE p2.external_ref = persons.external_ref)")
    with op.batch_alter_table("persons") as batch:
        batch.drop_constraint("uq_persons_scope_external_ref", type_="unique")
        batch.drop_column("scope")
        batch.create_unique_constraint("uq_persons_external_ref", ["external_ref"])
    op.drop_index("ix_event_parties_event_id", table_name="event_parties")
    op.drop_table("event_parties")
    op.drop_table("transfer_items")
    op.drop_index(op.f("ix_transfers_source_id"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_destination_id"), table_name="transfers")
    op.drop_table("transfers")
    op.drop_index(op.f("ix_lot_holdings_party_id"), table_name="lot_holdings")
    op.drop_table("lot_holdings")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("fk_products_brand_owner_id_parties", type_="foreignkey")
        batch.drop_index("ix_products_brand_owner_id")
        batch.drop_column("maker_confirmed")
        batch.drop_column("brand_owner_id")
    op.drop_index(op.f("ix_brand_authorisations_grantor_id"), table_name="brand_authorisations")
    op.drop_index(op.f("ix_brand_authorisations_grantee_id"), table_name="brand_authorisations")
    op.drop_table("brand_authorisations")
    op.drop_index(op.f("ix_company_prefixes_party_id"), table_name="company_prefixes")
    op.drop_table("company_prefixes")
