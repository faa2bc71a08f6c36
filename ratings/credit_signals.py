"""Procurement events that change an agency's credit (ratings.credit): each queues a
recomputation through the outbox, in the transaction of the event. Connected on import (from
RatingsConfig.ready); procurement knows nothing of it.

    Contract      accept, complete (django-fsm post_transition)   contract.accept / .complete
                  flagged overdue (a save of ``was_overdue``)      contract.overdue
    Registration  decline (django-fsm post_transition)             registration.decline

Complaints and sanctions call ``ratings.credit.request_recompute`` from their services.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django_fsm.signals import post_transition

from procurement.models import Contract, Registration
from ratings.credit import request_recompute

CONTRACT_TRANSITIONS = ("accept", "complete")
REGISTRATION_TRANSITIONS = ("decline",)


def _contract_transition(sender, instance, name, **kwargs):
    if name in CONTRACT_TRANSITIONS:
        request_recompute(instance.agency_id, f"contract.{name}")


def _contract_saved(sender, instance, update_fields=None, **kwargs):
    # procurement.contracts.flag_overdue saves exactly this field when it flags a contract;
    # no other write names it.
    if update_fields and "was_overdue" in update_fields and instance.was_overdue:
        request_recompute(instance.agency_id, "contract.overdue")


def _registration_transition(sender, instance, name, **kwargs):
    if name in REGISTRATION_TRANSITIONS:
        request_recompute(instance.agency_id, f"registration.{name}")


post_transition.connect(_contract_transition, sender=Contract, dispatch_uid="mp_credit_contract")
post_save.connect(_contract_saved, sender=Contract, dispatch_uid="mp_credit_contract_overdue")
post_transition.connect(
    _registration_transition, sender=Registration, dispatch_uid="mp_credit_registration"
)
