"""服务评价 (ratings.rating): the owner rates an accepted contract once, within the time
limit; the agency replies once. Each action allowed and refused per role, each bad input
refused with a clear error and nothing changed; the pages (contract page, profile, search
card) show them; the aggregates cost one query whatever the number of agencies."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from marketplace import outbox, workdays
from marketplace.models import AuditEvent, Membership, OutboxMessage, Role
from marketplace.notifications import NOTIFY_TOPIC
from procurement.models import Contract, ContractStatus
from ratings import selectors
from ratings.credit import TOPIC as CREDIT_TOPIC
from ratings.models import Rating
from ratings.rating import rating_deadline, rating_reply, rating_submit
from search.indexing import TOPIC as SEARCH_TOPIC
from tests.agencies.factories import add_member, make_regulator_user
from tests.marketplace.factories import platform_admin
from tests.payments_helpers import agency_admin, contract_to_pay
from tests.procurement.factories import login, make_awarded_contract, owner_member, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SCORES = {"quality": 5, "timeliness": 4, "attitude": 5, "fees": 3, "compliance": 5}


@pytest.fixture
def accepted(world):
    contract = contract_to_pay(world)
    assert contract.status == ContractStatus.ACCEPTED and contract.accepted_at
    while outbox.sweep():  # the acceptance's side effects, as the scheduler would
        pass
    return contract


def rate(contract, actor=None, **overrides):
    values = {**SCORES, "comment": "报告质量高，沟通及时。", **overrides}
    return rating_submit(actor=actor or owner_admin(contract), contract=contract, **values)


def owner_admin(contract):
    return Membership.objects.get(
        organisation_id=contract.owner.organisation_id, role=Role.ADMIN
    ).user


def codes(exc: ValidationError) -> set:
    return {e.code for errors in exc.error_dict.values() for e in errors}


# --- who may rate ------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF])
def test_the_owners_admin_and_staff_rate_once(accepted, role):
    user = owner_admin(accepted) if role == Role.ADMIN else owner_member(accepted.owner)
    rating = rate(accepted, user)
    assert rating.agency == accepted.agency and rating.owner == accepted.owner
    assert (rating.quality, rating.fees, rating.average) == (5, 3, Decimal("4.40"))
    event = AuditEvent.objects.get(action="rating.submit")
    assert event.actor == user and event.data["contract"] == accepted.code
    assert event.data["quality"] == 5 and event.organisation == accepted.agency.organisation
    # The agency is told; its search document and its credit follow, through the outbox.
    assert OutboxMessage.objects.filter(
        topic=NOTIFY_TOPIC,
        payload__recipient_id=agency_admin(accepted).pk,
        payload__verb="rating.submit",
    ).exists()
    assert OutboxMessage.objects.filter(
        topic=SEARCH_TOPIC, payload__ids__contains=[str(accepted.agency_id)]
    ).exists()
    message = OutboxMessage.objects.get(topic=CREDIT_TOPIC, payload__trigger="rating.submit")
    assert message.payload["agency_ids"] == [accepted.agency_id]


def refused_raters(contract):
    reviewer = make_regulator_user(role=Role.SUPERVISOR, all_industries=True)
    staff = add_member(contract.agency.organisation, Role.STAFF)
    stranger = add_member(contract.agency.organisation, Role.ADMIN)
    stranger.memberships.all().delete()
    return {
        "agency admin": agency_admin(contract),
        "agency staff": staff,
        "regulator": reviewer,
        "platform admin": platform_admin(),
        "user of no organisation": stranger,
        "anonymous": AnonymousUser(),
    }


def test_anyone_but_the_owner_is_refused(accepted):
    for label, user in refused_raters(accepted).items():
        with pytest.raises(PermissionDenied):
            rate(accepted, user)
        assert not Rating.objects.exists(), label
    assert not AuditEvent.objects.filter(action="rating.submit").exists()


def test_a_rating_before_acceptance_is_refused(world):
    contract = make_awarded_contract(world)  # a draft
    with pytest.raises(ValidationError) as exc:
        rate(contract)
    assert codes(exc.value) == {"not_accepted"}
    assert "only after its acceptance" in exc.value.messages[0]
    assert not Rating.objects.exists()


def test_a_second_rating_is_refused(accepted):
    rate(accepted)
    with pytest.raises(ValidationError) as exc:
        rate(accepted, owner_member(accepted.owner), quality=1)
    assert codes(exc.value) == {"already_rated"}
    assert exc.value.messages == ["This contract has already been rated."]
    assert Rating.objects.get().quality == 5


def test_a_rating_after_the_time_limit_is_refused(accepted, settings):
    deadline = rating_deadline(accepted)
    assert deadline == workdays.deadline_at(accepted.accepted_at, 15)
    with pytest.raises(ValidationError) as exc:
        rating_submit(
            actor=owner_admin(accepted),
            contract=accepted,
            **SCORES,
            comment="",
            now=deadline + datetime.timedelta(seconds=1),
        )
    assert codes(exc.value) == {"too_late"}
    assert "The time to rate this service ended on" in exc.value.messages[0]
    # The setting moves the limit.
    settings.RATINGS = {**settings.RATINGS, "RATING_WINDOW_WORKING_DAYS": 30}
    later = rating_deadline(accepted)
    assert later > deadline
    rating_submit(actor=owner_admin(accepted), contract=accepted, **SCORES, comment="", now=later)
    assert Rating.objects.count() == 1


def test_an_accepted_then_completed_contract_can_be_rated_until_the_limit(accepted):
    Contract.objects.filter(pk=accepted.pk).update(
        status=ContractStatus.COMPLETED,
        accepted_at=timezone.now() - datetime.timedelta(days=60),
    )
    accepted.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        rate(accepted)
    assert codes(exc.value) == {"too_late"}


@pytest.mark.parametrize("bad", [0, 6, -1, "x", "", None, 3.5, True, "4.5"])
def test_each_score_must_be_an_integer_from_1_to_5(accepted, bad):
    with pytest.raises(ValidationError) as exc:
        rate(accepted, timeliness=bad)
    assert codes(exc.value) == {"score"}
    assert exc.value.message_dict == {"timeliness": ["Give timeliness a score from 1 to 5."]}
    assert not Rating.objects.exists()


def test_scores_as_digit_strings_are_accepted(accepted):
    assert rate(accepted, quality="2").quality == 2


# --- the agency's reply --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF])
def test_the_agencys_admin_and_staff_reply_once(accepted, role):
    rating = rate(accepted)
    user = (
        agency_admin(accepted)
        if role == Role.ADMIN
        else add_member(accepted.agency.organisation, Role.STAFF)
    )
    replied = rating_reply(actor=user, rating=rating, reply="  感谢评价，我们将继续改进。 ")
    assert replied.reply == "感谢评价，我们将继续改进。" and replied.replied_by == user
    assert AuditEvent.objects.get(action="rating.reply").actor == user
    assert OutboxMessage.objects.filter(
        topic=NOTIFY_TOPIC,
        payload__recipient_id=owner_admin(accepted).pk,
        payload__verb="rating.reply",
    ).exists()
    with pytest.raises(ValidationError) as exc:
        rating_reply(actor=user, rating=rating, reply="再次回复")
    assert codes(exc.value) == {"already_replied"}
    rating.refresh_from_db()
    assert rating.reply == "感谢评价，我们将继续改进。"


def test_anyone_but_the_agency_is_refused_a_reply(accepted, world):
    rating = rate(accepted)
    others = {
        "owner admin": owner_admin(accepted),
        "owner staff": owner_member(accepted.owner),
        "regulator": make_regulator_user(role=Role.SUPERVISOR, all_industries=True),
        "platform admin": platform_admin(),
        "another agency": next(a for a in world.agencies if a.pk != accepted.agency_id).admin_user,
        "anonymous": AnonymousUser(),
    }
    for label, user in others.items():
        with pytest.raises(PermissionDenied):
            rating_reply(actor=user, rating=rating, reply="回复")
        rating.refresh_from_db()
        assert rating.replied_at is None, label


def test_an_empty_reply_is_refused(accepted):
    rating = rate(accepted)
    with pytest.raises(ValidationError) as exc:
        rating_reply(actor=agency_admin(accepted), rating=rating, reply="   ")
    assert exc.value.message_dict == {"reply": ["Write a reply."]}


# --- aggregates --------------------------------------------------------------------------


def test_summaries_of_many_agencies_cost_one_query(accepted, world, django_assert_num_queries):
    rate(accepted)
    from tests.ratings.test_credit import bare_contract

    other = world.agencies[-1] if world.agencies[-1] != accepted.agency else world.agencies[0]
    for scores in ((1, 1, 1, 1, 2), (4, 4, 4, 4, 5), (5, 5, 5, 5, 5)):
        Rating.objects.create(
            contract=bare_contract(world, other),
            agency=other,
            owner=world.owner,
            rated_by=owner_admin(accepted),
            **dict(zip(SCORES, scores, strict=True)),
        )
    with django_assert_num_queries(1):
        summaries = selectors.rating_summaries([accepted.agency_id, other.pk, 999999])
    assert set(summaries) == {accepted.agency_id, other.pk}
    mine = summaries[accepted.agency_id]
    assert (mine.count, mine.overall, mine.averages["fees"]) == (1, Decimal("4.40"), 3)
    theirs = summaries[other.pk]
    assert theirs.count == 3
    assert theirs.overall == Decimal("3.47")  # (1.2 + 4.2 + 5) ÷ 3
    assert theirs.distribution == {1: 1, 2: 0, 3: 0, 4: 1, 5: 1}
    assert selectors.rating_summary(999999) == selectors.EMPTY


# --- pages -------------------------------------------------------------------------------


def test_the_owner_rates_and_the_agency_replies_on_the_contract_page(client, accepted):
    owner = owner_admin(accepted)
    page = reverse("procurement:contract", args=[accepted.code])
    login(client, owner)
    html = text(client.get(page))
    assert 'id="rating-form"' in html and "Submit the rating" in html
    response = client.post(
        reverse("ratings:rate", args=[accepted.code]),
        {**{k: str(v) for k, v in SCORES.items()}, "comment": "满意"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#rating")
    rating = Rating.objects.get()
    html = text(client.get(page))
    assert 'id="rating-form"' not in html and "4.40 out of 5" in html
    # A second post: a clear message, nothing changes.
    client.post(reverse("ratings:rate", args=[accepted.code]), SCORES)
    assert "already been rated" in text(client.get(page))
    assert Rating.objects.count() == 1

    agency_user = agency_admin(accepted)
    login(client, agency_user)
    html = text(client.get(page))
    assert 'id="reply-button"' in html
    client.post(reverse("ratings:reply", args=[rating.pk]), {"reply": "感谢认可"})
    html = text(client.get(page))
    assert "感谢认可" in html and 'id="reply-button"' not in html


def test_refused_posts_are_404s(client, accepted):
    rating = rate(accepted)
    login(client, agency_admin(accepted))
    assert client.post(reverse("ratings:rate", args=[accepted.code]), SCORES).status_code == 404
    login(client, owner_admin(accepted))
    reply = client.post(reverse("ratings:reply", args=[rating.pk]), {"reply": "x"})
    assert reply.status_code == 404
    outsider = make_regulator_user(role=Role.SUPERVISOR, region=None)
    login(client, outsider)
    assert client.post(reverse("ratings:rate", args=[accepted.code]), SCORES).status_code == 404
    rating.refresh_from_db()
    assert rating.replied_at is None


def test_a_bad_score_posted_comes_back_as_a_message(client, accepted):
    login(client, owner_admin(accepted))
    client.post(reverse("ratings:rate", args=[accepted.code]), {**SCORES, "fees": "9"})
    assert not Rating.objects.exists()
    html = text(client.get(reverse("procurement:contract", args=[accepted.code])))
    assert "Select a valid choice" in html


def test_the_profile_shows_the_aggregates_and_replies(client, accepted):
    rating = rate(accepted)
    rating_reply(actor=agency_admin(accepted), rating=rating, reply="谢谢")
    html = text(client.get(reverse("agencies:profile", args=[accepted.agency_id])))
    assert 'id="rating-overall"' in html and "4.40 out of 5 (1 rating)" in html
    assert "报告质量高" in html and "谢谢" in html
    assert reverse("ratings:credit_history", args=[accepted.agency_id]) in html


def test_the_profile_costs_the_same_queries_whatever_its_ratings(
    client, accepted, world, django_assert_num_queries
):
    """The profile with one rating, then with five: the same queries. The ratings section
    adds three to the page (ratings.selectors): the aggregates, the latest ratings (with the
    owner's name and the item's title joined), the rules page's URL."""
    from tests.ratings.test_credit import bare_contract

    path = reverse("agencies:profile", args=[accepted.agency_id])
    rate(accepted)
    client.get(path)
    with django_assert_num_queries(PROFILE_QUERIES):
        client.get(path)
    for _n in range(4):
        Rating.objects.create(
            contract=bare_contract(world, accepted.agency),
            agency=accepted.agency,
            owner=world.owner,
            rated_by=owner_admin(accepted),
            **SCORES,
        )
    with django_assert_num_queries(PROFILE_QUERIES):
        assert "5 ratings" in text(client.get(path))


# The page's own 8 (the agency with its certificates and items, the certificates, the
# offerings and their items, the practitioners, the contracts signed) + 3 for the ratings
# section + 1 for the published sanctions.
PROFILE_QUERIES = 12
