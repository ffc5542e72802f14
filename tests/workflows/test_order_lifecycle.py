"""The lifecycle machine on its own: its shape, and the role rules of its guards."""

from __future__ import annotations

import itertools

import pytest

from oms.auth.enums import UserRole
from oms.orders.enums import OrderStatus
from workflows.order_lifecycle import (
    EVENT_TARGETS,
    EVENTS,
    OrderLifecycle,
    TransitionRefused,
    allowed_events,
    apply,
)

ACTORS = [
    ("system", None, False),
    ("owner", UserRole.CUSTOMER, True),
    ("other customer", UserRole.CUSTOMER, False),
    ("staff", UserRole.STAFF, False),
    ("admin", UserRole.ADMIN, False),
]


def defined_transitions() -> set[tuple[OrderStatus, str]]:
    """(source status, event) pairs the definition contains, read from the machine."""
    return {
        (OrderStatus(state.value), str(event))
        for state in OrderLifecycle.states
        for transition in state.transitions
        for event in transition.events
    }


def test_every_status_is_a_state_and_finals_are_final():
    assert {OrderStatus(s.value) for s in OrderLifecycle.states} == set(OrderStatus)
    finals = {OrderStatus(s.value) for s in OrderLifecycle.final_states}
    assert finals == {OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REJECTED}
    assert OrderLifecycle.initial_state.value == OrderStatus.PENDING


@pytest.mark.parametrize(
    ("status", "event", "actor"),
    list(itertools.product(OrderStatus, sorted(EVENTS), ACTORS)),
    ids=lambda v: v[0] if isinstance(v, tuple) else str(v),
)
def test_apply_agrees_with_allowed_events(status, event, actor):
    """apply() succeeds exactly when allowed_events() lists the event, and lands on the
    event's target; undefined (status, event) pairs are refused for everyone."""
    _, role, owner = actor
    allowed = allowed_events(status, actor_role=role, is_owner=owner)
    if (status, event) not in defined_transitions():
        assert event not in allowed
    if event in allowed:
        assert apply(status, event, actor_role=role, is_owner=owner) == EVENT_TARGETS[event]
    else:
        with pytest.raises(TransitionRefused) as info:
            apply(status, event, actor_role=role, is_owner=owner)
        assert info.value.allowed == allowed
        assert info.value.status == status


def test_role_rules_hold_over_the_whole_definition():
    for status, event in defined_transitions():
        who = {
            name
            for name, role, owner in ACTORS
            if event in allowed_events(status, actor_role=role, is_owner=owner)
        }
        if event in ("reserve", "reject"):
            assert who == {"system"}, (status, event)
        elif event == "cancel" and status in (OrderStatus.PENDING, OrderStatus.PLACED):
            assert who == {"owner", "staff", "admin"}, (status, event)
        else:
            assert who == {"staff", "admin"}, (status, event)


def test_unknown_event_is_refused():
    with pytest.raises(TransitionRefused):
        apply(OrderStatus.PLACED, "teleport", actor_role=UserRole.ADMIN)
