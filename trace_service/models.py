"""Imports every domain's models so ``Base.metadata`` knows all tables (Alembic, tests)."""

from trace_service.auth.models import ApiKey  # noqa: F401
from trace_service.brands.models import BrandAuthorisation, CompanyPrefix  # noqa: F401
from trace_service.catalog.models import Listing, Lot, Product  # noqa: F401
from trace_service.chain.models import Event, EventKey, EventParty, TraceKey  # noqa: F401
from trace_service.custody.models import LotHolding, Transfer, TransferItem  # noqa: F401
from trace_service.db import Base  # noqa: F401
from trace_service.feedback.models import Complaint, Review  # noqa: F401
from trace_service.ledger.models import (  # noqa: F401
    LedgerCheckpoint, LedgerCosignature, LedgerEntry, LedgerHead, LedgerNode, LedgerWitnessState,
)
from trace_service.ingest.models import Scan  # noqa: F401
from trace_service.inspect.models import (  # noqa: F401
    AccessLog, ConsoleSession, SpotCheck, SpotCheckTask,
)
from trace_service.inspect.movements import Movement  # noqa: F401
from trace_service.orders.models import Order, OrderLine, Return, ReturnItem  # noqa: F401
from trace_service.parties.models import Device, Licence, LogisticsPoint, Party, Staff  # noqa: F401
from trace_service.people.models import Person  # noqa: F401
from trace_service.recalls.models import Recall, RecallLot  # noqa: F401
from trace_service.shipping.models import Parcel, ParcelItem, Receipt  # noqa: F401
from trace_service.public.models import (  # noqa: F401
    ConsumerCheck, ConsumerReport, RateLimitCounter, VisitorSalt,
)
