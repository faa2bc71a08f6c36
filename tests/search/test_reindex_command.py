"""manage.py reindex: the operator's way to rebuild (new version, alias switch, old version
gone) and to reconcile, with a progress bar and JSON reports."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.search.builders import find, make_agency, names
from tests.search.conftest import configure_search

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("reindex", *args, stdout=out, stderr=err)
    return [
        json.loads(line) for line in out.getvalue().splitlines() if line.strip()
    ], err.getvalue()


def test_reindex_swaps_to_a_new_version_and_removes_the_old(es_backend, items):
    from search.kinds import get_kind

    kind = get_kind("agency")
    make_agency("云南某某环境科技有限公司", items=[items["eia"]])
    reports, _ = run("--kind", "agency", "--backend", "elasticsearch", "--json", "--no-progress")
    first = reports[0]["index"]
    assert reports[0]["documents"] == 1
    assert es_backend.live_index(kind) == first

    make_agency("昆明某某测绘有限公司", items=[items["eia"]])
    reports, err = run("--kind", "agency", "--backend", "elasticsearch", "--json")
    second = reports[0]["index"]
    assert second != first
    assert reports[0]["removed_indexes"] == [first]
    assert es_backend.versions(kind) == [second]
    assert "2/2" in err  # the progress bar reached the end
    assert names(find(es_backend, {"q": "测绘"})) == ["昆明某某测绘有限公司"]


def test_reconcile_flag_reports_and_repairs(es_backend, items):
    agency = make_agency("云南某某环境科技有限公司", items=[items["eia"]])
    out = io.StringIO()
    call_command(
        "reindex", "--kind", "agency", "--backend", "elasticsearch", "--no-progress", stdout=out
    )
    assert "documents=1" in out.getvalue()  # the human-readable report
    from search.kinds import get_kind

    es_backend.delete(get_kind("agency"), [str(agency.pk)])
    reports, _ = run("--kind", "agency", "--backend", "elasticsearch", "--reconcile", "--json")
    assert reports[0]["missing"] == 1
    reports, _ = run("--kind", "agency", "--backend", "elasticsearch", "--reconcile", "--json")
    assert reports[0]["missing"] == reports[0]["stale"] == reports[0]["extra"] == 0


def test_unknown_kind_and_unreachable_backend_are_clear_errors(settings, dead_url, items):
    with pytest.raises(CommandError, match="unknown search kind"):
        run("--kind", "tender")
    configure_search(settings, backend="elasticsearch", url=dead_url, TIMEOUT=1)
    make_agency("云南某某环境科技有限公司", items=[items["eia"]])
    with pytest.raises(CommandError, match="could not be rebuilt"):
        run("--kind", "agency", "--backend", "elasticsearch", "--no-progress")
