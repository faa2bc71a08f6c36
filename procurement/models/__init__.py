"""Procurement models: announcements and their selection (``announcements``), then contracts,
fulfilment and deposits (``contracts``). State changes happen only in services."""

from procurement.models.announcements import *
from procurement.models.contracts import *
