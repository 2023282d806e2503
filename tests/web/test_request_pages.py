# ruff: noqa: F811 - the shared fixtures are imported from request_helpers, then requested by name
"""The request pages on the real Flask app and database, logged in with CSRF tokens: the form
(same builder, same messages as the API), XML upload, list, detail, edit and cancel."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from orchestrator.model import Sequence, SequenceStatus
from tests.orchestrator.request_helpers import (  # noqa: F401 - site is a fixture
    PASSWORD,
    example,
    row_counts,
    site,
    variant,
)
from tests.web.helpers import csrf_of, web_client


@pytest.fixture
def client(site):
    return web_client(site, "alice", PASSWORD)


def _post_form(client, data, path="/requests/new", **kwargs):
    return client.post(path, data={**data, "csrf_token": csrf_of(client, path)}, **kwargs)


FORM = {
    "name": "Crab in two cameras",
    "program": "ROUTINE",
    "target_name": "M1",
    "ra_deg": "83.6331",
    "dec_deg": "22.0145",
    "window_start": "2026-12-01T00:00",
    "window_end": "2027-02-01T00:00",
    "duration_s": "600",
    "priority": "3",
    "min_altitude_deg": "30",
    "vis_filter": "r",
    "vis_exposure_s": "60",
    "vis_count": "3",
    "nir_filter": "J",
    "nir_exposure_s": "30",
    "nir_count": "4",
}


def test_the_form_needs_a_session(site):
    anonymous = web_client(site)
    response = anonymous.get("/requests/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_form_shows_the_sites_filters(client):
    page = client.get("/requests/new")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<option>z</option>" in text and "<option>H</option>" in text


def test_the_form_stores_one_sequence_with_both_cameras(client, site):
    response = _post_form(client, FORM)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "accepted: 1 sequence(s), 0.17 h" in response.get_data(as_text=True)
    read = client.get("/api/requests/1").json
    assert read["source"] == "form" and read["user"] == "alice"
    sequence = read["request"]["sequences"][0]
    assert sequence["window_start"] == "2026-12-01T00:00:00Z"  # the form's times are UTC
    assert [a["plans"][0]["filter_name"] for a in sequence["albums"]] == ["r", "J"]


def test_the_form_without_nir_exposure_makes_a_vis_only_sequence(client):
    response = _post_form(client, {**FORM, "nir_exposure_s": ""})
    assert response.status_code == 201
    read = client.get("/api/requests/1").json
    assert [a["channel"] for a in read["request"]["sequences"][0]["albums"]] == ["VIS"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"dec_deg": "100"}, 400, "sequences[0].dec_deg: must be &gt;= -90 and &lt;= 90 (got 100)"),
        ({"ra_deg": "east"}, 400, "ra_deg: must be a number (got &#39;east&#39;)"),
        ({"ra_deg": "nan"}, 400, "ra_deg: must be a finite number"),
        ({"vis_count": "1e9"}, 400, "vis_count: must be a whole number"),
        (
            {"vis_exposure_s": "-5"},
            400,
            "sequences[0].albums[0].plans[0].exposure_s: must be &gt; 0",
        ),
        (
            {"program": "GRB"},
            403,
            "program: &#39;alice&#39; is not a member of program &#39;GRB&#39;",
        ),
    ],
    ids=["dec-100", "ra-text", "ra-nan", "count-float", "negative-exposure", "not-a-member"],
)
def test_the_form_refuses_bad_input_and_keeps_the_values(client, site, change, status, message):
    before = row_counts(site)
    response = _post_form(client, {**FORM, **change})
    text = response.get_data(as_text=True)
    assert response.status_code == status
    assert f'<p id="error" class="error">{message}' in text, text
    assert 'value="M1"' in text  # the user does not type everything again
    assert row_counts(site) == before


def test_a_form_without_csrf_token_changes_nothing(client, site):
    before = row_counts(site)
    response = client.post("/requests/new", data=FORM)
    assert response.status_code == 400
    assert "csrf_token" in response.get_data(as_text=True)
    assert row_counts(site) == before


def test_the_form_accepts_an_xml_file(client):
    data = {"xml_file": (io.BytesIO(example(5)), "m51.xml")}
    response = _post_form(client, data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)
    bad = {"xml_file": (io.BytesIO(b"<x"), "bad.xml")}
    response = _post_form(client, bad, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "bad.xml line 1: not well-formed XML" in response.get_data(as_text=True)


def test_an_upload_over_one_megabyte_is_413(client, site):
    before = row_counts(site)
    data = {"xml_file": (io.BytesIO(b" " * 1_100_000), "big.xml")}
    response = _post_form(client, data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "larger than 1 MB" in response.get_data(as_text=True)
    assert row_counts(site) == before


def test_list_shows_own_requests_and_operators_see_all(client, site):
    assert _post_form(client, FORM).status_code == 201
    paula = web_client(site, "paula", PASSWORD)
    assert _post_form(paula, {**FORM, "name": "Paula's crab", "program": ""}).status_code == 201
    mine = client.get("/requests").get_data(as_text=True)
    assert "Crab in two cameras" in mine and "Paula&#39;s crab" not in mine
    oscar = web_client(site, "oscar", PASSWORD)
    everyone = oscar.get("/requests").get_data(as_text=True)
    assert "Crab in two cameras" in everyone and "Paula&#39;s crab" in everyone
    only_paula = oscar.get("/requests?user=paula").get_data(as_text=True)
    assert "Crab in two cameras" not in only_paula and "Paula&#39;s crab" in only_paula
    bad = oscar.get("/requests?status=lost")
    assert bad.status_code == 400 and "status: unknown status" in bad.get_data(as_text=True)
    # another user's request is not readable by an observer
    assert client.get("/requests/2").status_code == 403
    assert client.get("/requests/99999999999999999999999").status_code == 404


def test_detail_edit_and_cancel(client, site):
    assert _post_form(client, FORM).status_code == 201
    page = client.get("/requests/1").get_data(as_text=True)
    assert "Crab in two cameras" in page and "to_be_planned" in page and 'id="cancel"' in page

    # edit: the request's XML comes back in the form; change the declination and save
    edit_page = client.get("/requests/1/edit").get_data(as_text=True)
    assert "22.0145" in edit_page
    new_xml = variant(1, 'dec_deg="-5.3911"', 'dec_deg="-6.5"')
    response = _post_form(client, {"xml": new_xml.decode()}, "/requests/1/edit")
    assert response.status_code == 302, response.get_data(as_text=True)
    read = client.get("/api/requests/1").json
    assert read["request"]["sequences"][0]["dec_deg"] == -6.5
    assert read["request"]["name"] == "Orion Nebula colour image"  # replaced by the file's
    assert read["id"] == 1 and all(s["status"] == "to_be_planned" for s in read["sequences"])

    bad = variant(1, 'dec_deg="-5.3911"', 'dec_deg="-95"')
    before = client.get("/api/requests/1").json
    response = _post_form(client, {"xml": bad.decode()}, "/requests/1/edit")
    assert response.status_code == 400
    assert "dec_deg: must be &gt;= -90" in response.get_data(as_text=True)
    assert client.get("/api/requests/1").json == before

    # another observer may neither edit nor cancel it
    paula = web_client(site, "paula", PASSWORD)
    assert paula.get("/requests/1/edit").status_code == 403

    response = _post_form(client, {}, "/requests/1/cancel")
    assert response.status_code == 302
    with site.sessions() as session:
        statuses = set(session.scalars(select(Sequence.status)))
    assert statuses == {SequenceStatus.CANCELLED}
    assert 'id="cancel"' not in client.get("/requests/1").get_data(as_text=True)


def test_fake_request_in_simulation_mode(client, site):
    assert site.config.simulators.enabled  # the default config simulates the site
    assert 'id="fake-request"' in client.get("/requests/new").get_data(as_text=True)
    assert client.post("/requests/fake").status_code == 400  # CSRF token required
    response = client.post("/requests/fake", data={"csrf_token": csrf_of(client, "/requests/new")})
    assert response.status_code == 302
    read = client.get("/api/requests").json["requests"]
    assert len(read) == 1 and read[0]["user"] == "alice" and read[0]["sequences"]
