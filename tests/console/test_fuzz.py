"""Property-based API tests (schemathesis) over the console's own OpenAPI document: every
operation, called by an admin and by a viewer (a low-privilege role), and the public ones
anonymously too, with generated valid and invalid input. (A protected operation refuses an
anonymous caller before its handler runs: 401, which `test_access` checks route by route, or
422 for a body that does not parse, as the signed-in callers meet it.)
No answer may be a server error, and every answer must match what the document says
(status, content type, headers, body schema), by schemathesis's default checks.

Runs in-process through the ASGI transport on a seeded SQLite store and a real InfluxDB.
`FUZZ_EXAMPLES` (default 10) sets the examples per operation and generation mode (valid,
invalid); each example is sent by each of its callers.

Rules across parameters that OpenAPI cannot state (a window's start before its end, a shelf of
at most 7 days from now, a booking of something from the parts list) are taught to the
generator of valid data (`CROSS_RULES`), so that
"valid data is accepted" keeps its full strength for everything else.
"""

from __future__ import annotations

import copy
import os
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection
from sqlalchemy import Engine, create_engine, update
from sqlalchemy.orm import Session

from bldgwatch.alerts.documents import Contact, Policy, Rota
from bldgwatch.console import fleet
from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.models import UserRow
from bldgwatch.console.policy import PolicyError, check_password
from bldgwatch.console.routers.energy import DEFAULT_DAYS as ENERGY_DEFAULT_DAYS
from bldgwatch.console.routers.energy import MOST_DAYS as ENERGY_MOST_DAYS
from bldgwatch.console.schemas_emergency import PlanEdit, PlanIn
from bldgwatch.console.schemas_rounds import (
    RoundChange,
    RoundCreate,
    TemplateChange,
    TemplateCreate,
)
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.maintenance.complaints import phone_number
from bldgwatch.maintenance.contractors import PHONE
from bldgwatch.maintenance.errors import InvalidRecord
from tests.alerts.seed import KEY as ALERTS_KEY
from tests.alerts.seed import seed_site
from tests.console.conftest import PASSWORD_HASH, USERS, ClientFactory, auth_headers
from tests.console.seed import T0, add, alarm, assets, work_order

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SIGNED_IN = ("admin", "viewer")


def _document() -> dict[str, Any]:
    """The console's OpenAPI document as it serves it (made once, at collection: every
    test's app is built by the same code from the same configuration)."""
    store = open_store(InfluxSettings())
    try:
        app = create_app(ConsoleConfig(dev=True), engine=create_engine("sqlite://"), store=store)
        served: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    finally:
        store.close()
    return served


DOCUMENT = _document()


def _operations() -> list[tuple[str, GenerationMode]]:
    """(label, mode) of every operation in the document: valid input for each, invalid
    input for those that take any."""
    found = []
    for path, ops in sorted(DOCUMENT["paths"].items()):
        for method, op in sorted(ops.items()):
            label = f"{method.upper()} {path}"
            found.append((label, GenerationMode.POSITIVE))
            if op.get("parameters") or op.get("requestBody"):
                found.append((label, GenerationMode.NEGATIVE))
    return found


OPERATIONS = _operations()
PUBLIC = {
    f"{method.upper()} {path}"
    for path, ops in DOCUMENT["paths"].items()
    for method, op in ops.items()
    if not op.get("security")
}
"""The operations anyone may call (the document names no security scheme for them)."""


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _window_in_order(start: str, end: str, default_days: float) -> Callable[[Any], bool]:
    """A window's start comes before its end (each defaults from the other and now = T0)."""

    def ok(case: Any) -> bool:
        query = case.query or {}
        hi = _time(query.get(end)) or T0
        lo = _time(query.get(start)) or hi - timedelta(days=default_days)
        return lo < hi

    return ok


def _energy_window(default_every: str) -> Callable[[Any], bool]:
    """Calendar days in order, the window no longer than its buckets allow (each end
    defaults from the other and now = T0, in the site's zone: Shanghai)."""

    def day(value: Any) -> date | None:
        try:
            return date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return date.min  # not a day of the calendar: a 400, as it should be

    def ok(case: Any) -> bool:
        query = case.query or {}
        every = query.get("every", default_every)
        hi, lo = day(query.get("end")), day(query.get("start"))
        if date.min in (hi, lo):
            return False
        hi = hi or (T0 + timedelta(hours=8)).date() + timedelta(days=1)
        lo = lo or hi - timedelta(days=ENERGY_DEFAULT_DAYS.get(every, 1))
        return lo < hi and (hi - lo).days <= ENERGY_MOST_DAYS.get(every, 0)

    return ok


def _baseline_period(case: Any) -> bool:
    """A baseline period's start before its end, 14 to 366 days (review 20d L3)."""
    body = case.body if isinstance(case.body, dict) else {}
    try:
        lo, hi = date.fromisoformat(body["start"]), date.fromisoformat(body["end"])
    except (KeyError, TypeError, ValueError):
        return True
    return 14 <= (hi - lo).days <= 366


def _meant_target(case: Any) -> bool:
    """A reduction target of 50 % or more says it is meant (review 20d L3)."""
    body = case.body if isinstance(case.body, dict) else {}
    reduction = body.get("reduction")
    return not isinstance(reduction, int | float) or reduction < 0.5 or body.get("confirm") is True


def _short_shelf(case: Any) -> bool:
    until = _time((case.body or {}).get("until")) if isinstance(case.body, dict) else None
    return until is None or until <= T0 + timedelta(days=7)


def _strong_password(*fields: str) -> Callable[[Any], bool]:
    """Passwords the policy accepts (OpenAPI can state lengths, not guessability)."""

    def ok(case: Any) -> bool:
        body = case.body if isinstance(case.body, dict) else {}
        for field in fields:
            value = body.get(field)
            if isinstance(value, str):
                try:
                    check_password(value, user_inputs=[str(body.get("name", ""))])
                except PolicyError:
                    return False
        return True

    return ok


def _user_account(case: Any) -> bool:
    """A strong password, and a contractor named exactly with the role contractor alone (a
    rule of `console.users.bind_contractor` across fields)."""
    body = case.body if isinstance(case.body, dict) else {}
    roles = body.get("roles")
    bound = body.get("contractor")
    if isinstance(roles, list) and "contractor" in roles and (roles != ["contractor"] or not bound):
        return False
    if bound is not None and roles != ["contractor"]:
        return False
    return _strong_password("password")(case)


def _valid_document(model: type[BaseModel]) -> Callable[[Any], bool]:
    """The body is a document its model accepts (its checks across fields: steps in order, a
    rota named when a step notifies one of its roles, shifts in order, …)."""

    def ok(case: Any) -> bool:
        try:
            model.model_validate(case.body)
        except ValidationError:
            return False
        return True

    return ok


def _valid_gateway_config(case: Any) -> bool:
    """The pushed config is one the gateway's own model accepts for the path's gateway (the
    console validates it with that model: rules OpenAPI cannot state)."""
    body = case.body if isinstance(case.body, dict) else {}
    params = case.path_parameters or {}
    try:
        fleet.validate(str(params.get("site")), str(params.get("gateway")), body.get("config"))
    except (fleet.RefusedError, TypeError, ValueError):
        return False
    return True


def _timed_plan(model: type[BaseModel]) -> Callable[[Any], bool]:
    """A valid plan document; an entrapment plan (any plan edited: its kind is not in the
    body) marks its alarm and on-site steps (review 19b-d M1)."""
    valid = _valid_document(model)

    def ok(case: Any) -> bool:
        if not valid(case):
            return False
        if case.body.get("kind", "entrapment") != "entrapment":
            return True
        named = {step.get("milestone") for step in case.body["plan"]["steps"]}
        return {"alarm", "on_site"} <= named

    return ok


def _bookable(case: Any) -> bool:
    """A booking books something (a labour line, a part or a charge), and only parts of the
    parts list (this store's is empty: the document cannot name its entries)."""
    body = case.body if isinstance(case.body, dict) else {}
    return not body.get("parts") and bool(body.get("labour") or body.get("charges"))


def _parts_listed(case: Any) -> bool:
    """Parts booked with labour come from the parts list (this store's is empty)."""
    body = case.body if isinstance(case.body, dict) else {}
    return not body.get("parts")


def _stock_rules(case: Any) -> bool:
    """A store's name and a stocktake's reason are not blank, and a part's minimum is not above
    its reorder level: rules of `maintenance.stock` OpenAPI cannot state."""
    body = case.body if isinstance(case.body, dict) else {}
    texts = [body[k] for k in ("name", "reason") if isinstance(body.get(k), str)]
    low, high = body.get("minimum"), body.get("reorder_level")
    levels_ok = not isinstance(low, int | float) or not isinstance(high, int | float) or low <= high
    return all(t.strip() for t in texts) and levels_ok


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _texts(item)


def _listed_part(case: Any) -> bool:
    """A part's number, name, unit and fitting models are plain text (review 19s L11), and
    its number, as the list keeps it (NFKC, no space around), is 1-64 characters: rules of
    `maintenance.partslist` OpenAPI cannot state."""
    number = unquote(str((case.path_parameters or {}).get("part_no", "x")))  # sent encoded
    kept = unicodedata.normalize("NFKC", number).strip()
    texts = [number, *_texts(case.body)]
    return 0 < len(kept) <= 64 and not any(first_hidden(t) for t in texts)


PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
"""What a phone uploads, as far as the type check reads it (the PNG signature)."""


def _a_photo(case: Any) -> Any:
    """An attachment's content is checked from its bytes (PNG, JPEG, PDF …), which OpenAPI
    cannot state: valid uploads carry a photo's bytes; everything else stays generated."""
    case.body = {**(case.body if isinstance(case.body, dict) else {}), "file": PHOTO}
    return case


def _a_request_photo(case: Any) -> Any:
    """The public request's photo, likewise: a photo's bytes when one is sent."""
    body = case.body if isinstance(case.body, dict) else {}
    if "photo" in body:
        case.body = {**body, "photo": PHOTO}
    return case


def _visible_note(case: Any) -> bool:
    """A budget's note holds no control, format or bidi characters (review 19c-s L6)."""
    body = case.body if isinstance(case.body, dict) else {}
    note = body.get("note")
    return not isinstance(note, str) or first_hidden(note, lines=True) is None


def _plain_text(case: Any) -> bool:
    """A complaint's texts are plain (no control, format or bidi characters, not blank),
    its phone has at least 5 digits and it was received between 2000 and now: rules of
    `core.plaintext` and the complaints desk that OpenAPI cannot state."""
    body = case.body if isinstance(case.body, dict) else {}
    for key, value in body.items():
        if not isinstance(value, str) or key == "received_at":
            continue
        if first_hidden(value, lines=key in ("description", "note")) or blank(value):
            return False
    if isinstance(body.get("phone"), str):
        try:
            phone_number(body["phone"])
        except InvalidRecord:
            return False
    received = body.get("received_at")
    if isinstance(received, str):
        try:
            at = datetime.fromisoformat(received)
        except ValueError:
            return False
        if at.tzinfo is None or not datetime(2000, 1, 1, tzinfo=UTC) <= at <= T0:
            return False
    return True


def _desk_request(case: Any) -> bool:
    """A request the desk logs: plain texts as a complaint's, and where it is — a request
    point or a location (the desk's rule, which OpenAPI cannot state)."""
    body = case.body if isinstance(case.body, dict) else {}
    return _plain_text(case) and ("point_id" in body or bool(body.get("location")))


def _contractor_text(case: Any) -> bool:
    """A contractor's and a contract's texts are plain and not blank, its phones have at
    least 5 digits, and a contract ends no earlier than it starts: rules of
    `maintenance.contractors` that OpenAPI cannot state."""
    body = case.body if isinstance(case.body, dict) else {}
    for key, value in body.items():
        if isinstance(value, str) and (first_hidden(value, lines=key == "scope") or blank(value)):
            return False
    for key in ("phone", "on_call"):
        if isinstance(body.get(key), str) and not PHONE.fullmatch(body[key].strip()):
            return False
        if isinstance(body.get(key), str) and sum(c.isdigit() for c in body[key]) < 5:
            return False
    start, end = body.get("valid_from"), body.get("valid_to")
    return not (isinstance(start, str) and isinstance(end, str) and end < start)


def _room_with_its_building(case: Any) -> bool:
    """A room is looked up within its building: the complaint list refuses a room alone (a
    rule OpenAPI cannot state)."""
    query = case.query or {}
    return "room" not in query or "building" in query


def _a_recent_call(case: Any) -> Any:
    """An entrapment reported by phone is recorded within days of the call (now = T0) and its
    note is visible text, which the schema cannot state: valid reports carry such a time and
    no note; everything else stays generated."""
    if isinstance(case.body, dict):
        call = (T0 - timedelta(minutes=3)).isoformat()
        case.body = {**case.body, "reported_at": call, "note": ""}
    return case


VALID_CONTENT: dict[str, Callable[[Any], Any]] = {
    "POST /api/entrapments": _a_recent_call,
    "POST /api/work-orders/{order_id}/attachments": _a_photo,
    "POST /api/public/points/{code}/requests": _a_request_photo,
}
"""Valid input of operations whose body content OpenAPI cannot describe."""

CROSS_RULES: dict[str, Callable[[Any], bool]] = {
    "POST /api/checklist-templates": _valid_document(TemplateCreate),
    "PUT /api/checklist-templates/{template_id}": _valid_document(TemplateChange),
    "POST /api/rounds": _valid_document(RoundCreate),
    "PUT /api/rounds/{round_id}": _valid_document(RoundChange),
    "POST /api/work-orders/{order_id}/bookings": _bookable,
    "POST /api/work-orders/{order_id}/labour": _parts_listed,
    "PUT /api/alerts/{site}/contacts/{item_id}": _valid_document(Contact),
    "PUT /api/alerts/{site}/rotas/{item_id}": _valid_document(Rota),
    "PUT /api/alerts/{site}/policies/{item_id}": _valid_document(Policy),
    "POST /api/gateways/{site}/{gateway}/configs": _valid_gateway_config,
    "POST /api/users": _user_account,
    "PATCH /api/users/{name}": _user_account,
    "POST /api/auth/password": _strong_password("new_password"),
    "GET /api/kpis/alarms": _window_in_order("start", "end", 30),
    "GET /api/readings": _window_in_order("start", "end", 1 / 24),
    "GET /api/energy/consumption": _energy_window("day"),
    "GET /api/energy/consumption.csv": _energy_window("day"),
    "GET /api/energy/balance": _energy_window("hour"),
    "GET /api/energy/balance.csv": _energy_window("hour"),
    "GET /api/energy/savings": _energy_window("day"),
    "GET /api/energy/savings.csv": _energy_window("day"),
    "PUT /api/energy/baselines/{site}": _baseline_period,
    "PUT /api/energy/targets/{site}": _meant_target,
    "GET /api/audit": _window_in_order("since", "until", 36500),
    "POST /api/alarms/{alarm_id}/shelve": _short_shelf,
    "GET /api/complaints": _room_with_its_building,
    "POST /api/complaints": _plain_text,
    "POST /api/complaints/{complaint_id}/respond": _plain_text,
    "POST /api/complaints/{complaint_id}/resolve": _plain_text,
    "POST /api/complaints/{complaint_id}/assign": _plain_text,
    "POST /api/service-desk/requests": _desk_request,
    "PUT /api/contractors/{contractor_id}": _contractor_text,
    "POST /api/contractors/{contractor_id}/contracts": _contractor_text,
    "POST /api/stores": _stock_rules,
    "PUT /api/parts/{part_no}": _listed_part,
    "PUT /api/stores/{store_id}/stock/{part_no}/levels": _stock_rules,
    "POST /api/stores/{store_id}/stocktakes": _stock_rules,
    "POST /api/emergency/plans": _timed_plan(PlanIn),
    "POST /api/budgets/{site}": _visible_note,
    "PUT /api/emergency/plans/{plan_id}": _timed_plan(PlanEdit),
}


NO_NUL = schemathesis.Config.from_dict({"generation": {"allow-x00": False}})
"""Text never holds NUL: the console refuses it in any part of a request (400, see
`console.limits`; PostgreSQL cannot store it), which the document states in its description
rather than as a pattern on every string. `test_security_review` checks the refusal."""


@pytest.fixture
def influx_store(influx_settings: InfluxSettings) -> Any:
    store = open_store(influx_settings)
    yield store
    store.close()


@pytest.fixture
def api(
    sqlite_db: Engine,
    make_client: ClientFactory,
    influx_store: TimeSeriesStore,
    monkeypatch: pytest.MonkeyPatch,
) -> TestClient:
    # The alerts key (acknowledge links, channel secrets) is part of a configured console.
    monkeypatch.setenv("BLDGWATCH_ALERTS_KEY", ALERTS_KEY.decode())
    add(sqlite_db, *assets())
    seed_site(sqlite_db, robot_url="http://127.0.0.1:9/", sms_url="http://127.0.0.1:9/")
    add(
        sqlite_db,
        alarm("a1", 0),
        work_order(0),
        work_order(1, status="assigned", assigned_to="tech"),
    )
    return make_client(sqlite_db, store=influx_store, clock=ManualClock(T0), user=None)


def _restore_callers(engine: Engine) -> None:
    """Undo what generated requests did to the callers' own accounts (a generated PATCH may
    disable the admin or change the viewer's roles), so every call is made as intended."""
    with Session(engine) as db, db.begin():
        for name in ("admin", "viewer"):
            roles, sites = USERS[name]
            db.execute(
                update(UserRow)
                .where(UserRow.name == name)
                .values(disabled=False, roles=roles, sites=sites, password_hash=PASSWORD_HASH)
            )


ACCOUNTS = ("/api/auth/", "/api/users", "/api/sessions", "/api/tokens")
"""Where a generated request may disable a caller, change its roles or end its session."""


class Callers:
    """The callers' Authorization headers for one operation's examples: made once, unless
    the operation may change the callers' accounts or sessions (then restored and made
    again before every call, so every call is made as intended)."""

    def __init__(self, api: TestClient, engine: Engine, method: str, path: str) -> None:
        self._api, self._engine = api, engine
        self.public = f"{method.upper()} {path}" in PUBLIC
        self._fresh = method.upper() != "GET" and path.startswith(ACCOUNTS)
        self._made: dict[str, dict[str, str]] = {}

    def everyone(self) -> tuple[str | None, ...]:
        return (None, *SIGNED_IN) if self.public else SIGNED_IN

    def headers(self, caller: str) -> dict[str, str]:
        if self._fresh or caller not in self._made:
            _restore_callers(self._engine)
            self._made[caller] = auth_headers(self._api, caller)
        return self._made[caller]


def _call_as_everyone(case: Any, callers: Callers, excluded: list[Any] | None = None) -> None:
    for caller in callers.everyone():
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if caller is not None:
            headers.update(callers.headers(caller))
        case.call_and_validate(headers=headers, excluded_checks=excluded)


_LOADED: list[Any] = []


def _schema_of(api: TestClient) -> Any:
    """The document as the console serves it, loaded by schemathesis once per worker (the
    generation and the parsing took 1.3 s a test; every test's app is built by the same code
    from the same configuration)."""
    if not _LOADED:
        loaded = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=NO_NUL)
        loaded.app = api.app
        _LOADED.append(loaded)
    return _LOADED[0]


@pytest.mark.parametrize(
    ("label", "mode"), OPERATIONS, ids=[f"{m.value}-{lb}" for lb, m in OPERATIONS]
)
def test_every_operation_answers_as_documented(
    label: str, mode: GenerationMode, api: TestClient, sqlite_db: Engine
) -> None:
    schema = _schema_of(api)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    # schemathesis builds an operation once, copying the app it had then, and calls that
    # app: each test's cases must reach this test's app (its database, its sessions)
    operation.app = api.app
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE and label in CROSS_RULES:
        cases = cases.filter(CROSS_RULES[label])
    excluded = None
    if mode is GenerationMode.POSITIVE and label in VALID_CONTENT:
        cases = cases.map(VALID_CONTENT[label])
        # the replaced content may no longer match how the case was generated: only "valid
        # input is accepted" (and the response checks) judge it
        excluded = [negative_data_rejection]

    callers = Callers(api, sqlite_db, operation.method, operation.path)

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same examples every run: a failure found is a failure kept
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def examples(case: Any) -> None:
        assert case.operation.app is api.app  # not an earlier test's app
        _call_as_everyone(case, callers, excluded)

    examples()
