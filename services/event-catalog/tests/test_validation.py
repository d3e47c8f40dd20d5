import pytest
from event_catalog.validation import parse_event_id, parse_new_event

from svc_common.errors import ApiError

GOOD = {"name": "A", "date": "2027-01-01", "venue": "V", "capacity": 100}


def test_parse_new_event_normalises():
    assert parse_new_event({**GOOD, "name": "  A  "})["name"] == "A"
    assert parse_new_event({**GOOD, "date": "2027-01-01T20:00:00"})["date"] == "2027-01-01T20:00:00"


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"venue": 3}, "venue"),
        ({"date": "tomorrow"}, "date"),
        ({"date": "2027-13-01"}, "date"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": 10**9}, "capacity"),
        ({"capacity": "10"}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"capacity": 1.5}, "capacity"),
    ],
)
def test_parse_new_event_rejects(patch, field):
    with pytest.raises(ApiError) as exc:
        parse_new_event({**GOOD, **patch})
    assert exc.value.field == field and exc.value.status == 400


def test_parse_new_event_requires_object():
    with pytest.raises(ApiError) as exc:
        parse_new_event([1, 2])
    assert exc.value.field == "body"


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", str(2**31)])
def test_parse_event_id_rejects(raw):
    with pytest.raises(ApiError) as exc:
        parse_event_id(raw)
    assert exc.value.field == "event_id"
