"""Fixtures for the pure workflow: a fake case bound to a machine, in the state a test needs."""

from __future__ import annotations

import pytest

from tests.workflow.factories import RULES_2022, Bound, bind
from workflow.calendar import ElectionRules
from workflow.states import CaseState


@pytest.fixture
def rules_2022() -> ElectionRules:
    """The 2022 referendum: window 20 May 00:00 to 4 June 18:00, voting on 5 June."""
    return RULES_2022


@pytest.fixture
def new_case() -> Bound:
    """No application yet: only `apply` can happen."""
    return bind(None)


@pytest.fixture
def received_case() -> Bound:
    return bind(CaseState.RECEIVED)


@pytest.fixture
def issued_case() -> Bound:
    return bind(CaseState.ISSUED)
