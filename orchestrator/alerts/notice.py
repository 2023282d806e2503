"""One parsed notice, whatever its format: VOEvent 2.0 XML or a GCN unified-schema JSON notice.

`parse_notice` never trusts its input: size, DOCTYPE/entities, schema, ranges and trigger time
are checked first, and a refusal is a `NoticeRejected` naming the element or field.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import voeventparse
import voeventparse.voevent
from lxml import etree

VOEVENT_NS = "http://www.ivoa.net/xml/VOEvent/v2.0"


class Kind(enum.StrEnum):
    POSITION = "position"  # a position good enough to point at
    NO_POSITION = "no_position"  # sky map only (LVK), time only (SVOM GRM), placeholder (GBM)
    TEST = "test"  # role test or utility, alert_tense test or injection
    RETRACTION = "retraction"
    REJECTED = "rejected"


class NoticeRejected(Exception):
    """The payload cannot be used: `field` names the element or JSON field at fault."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass
class Notice:
    key: str  # IVORN, or "gcn:<mission>:<id>" for JSON: a notice twice is stored once
    format: str  # voevent or json
    kind: Kind
    mission: str
    instrument: str
    notice_type: str  # VOEvent Packet_Type or JSON alert_type
    role: str  # observation, test, utility (JSON alert_tense mapped)
    trigger_id: str | None  # mission:id shared by every notice of one event
    trigger_time: datetime | None
    ra_deg: float | None = None
    dec_deg: float | None = None
    error_radius_deg: float | None = None
    author: str = ""  # VOEvent Who/AuthorIVORN
    supersedes: list[str] = field(default_factory=list)  # IVORNs this notice updates or retracts
    note: str = ""  # why this kind (e.g. "placeholder position 0, 0, 0")

    @property
    def has_position(self) -> bool:
        return self.ra_deg is not None and self.dec_deg is not None


def payload_key(payload: bytes) -> str:
    """The key of a payload whose own id could not be read (rejected): its digest."""
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def parse_notice(payload: bytes, now: datetime, max_bytes: int, future_s: float) -> Notice:
    """Parse and check a payload; raises NoticeRejected naming what is wrong."""
    if len(payload) > max_bytes:
        raise NoticeRejected("payload", f"{len(payload)} bytes, more than the {max_bytes} allowed")
    text = payload.lstrip()
    if text.startswith(b"{"):
        notice = _parse_json(payload)
    elif text.startswith(b"<"):
        notice = _parse_voevent(payload)
    else:
        raise NoticeRejected("payload", "neither XML (VOEvent) nor a JSON object")
    _check_ranges(notice, now, future_s)
    return notice


# -- VOEvent XML ------------------------------------------------------------------------------

_SAFE_PARSER_ARGS = dict(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
)


def safe_xml(payload: bytes) -> etree._Element:
    """Well-formed XML without any DOCTYPE (no entity expansion, no external entity)."""
    try:
        root = etree.fromstring(payload, etree.XMLParser(**_SAFE_PARSER_ARGS))
    except etree.XMLSyntaxError as exc:
        raise NoticeRejected("xml", f"malformed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise NoticeRejected("xml", "DOCTYPE and entity declarations are refused")
    return root


def _parse_voevent(payload: bytes) -> Notice:
    root = safe_xml(payload)
    if etree.QName(root).localname != "VOEvent":
        raise NoticeRejected("VOEvent", f"root element is {etree.QName(root).localname!r}")
    v = voeventparse.loads(payload, check_version=False)
    if not voeventparse.valid_as_v2_0(v):
        raise NoticeRejected("VOEvent", "not valid VOEvent 2.0: " + _schema_error(v))
    ivorn = v.attrib.get("ivorn", "")
    if "#" not in ivorn:
        raise NoticeRejected("VOEvent@ivorn", f"{ivorn!r} has no #local_id")
    role = v.attrib.get("role", "observation")
    params = _params(root)
    author = _text(root, "Who/AuthorIVORN")
    mission, instrument = _mission(ivorn, params)
    trigger = _trigger_id(mission, params)
    try:
        trigger_time = voeventparse.get_event_time_as_utc(v)
    except Exception:  # noqa: BLE001 - a notice without WhereWhen time: judged below
        trigger_time = None
    if trigger_time is not None and trigger_time.tzinfo is None:
        trigger_time = trigger_time.replace(tzinfo=UTC)
    cited = [(e.get("cite", ""), (e.text or "").strip()) for e in root.iter("{*}EventIVORN")]
    notice = Notice(
        key=ivorn,
        format="voevent",
        kind=Kind.POSITION,
        mission=mission,
        instrument=instrument,
        notice_type=params.get("Packet_Type", ""),
        role=role,
        trigger_id=trigger,
        trigger_time=trigger_time,
        author=author,
        supersedes=sorted({ivorn for _, ivorn in cited if ivorn}),
    )
    try:
        pos = voeventparse.get_event_position(v)
        notice.ra_deg, notice.dec_deg = float(pos.ra), float(pos.dec)
        notice.error_radius_deg = float(pos.err)
        if pos.units not in ("deg", "degrees"):
            raise NoticeRejected("Position2D@unit", f"unit {pos.units!r}, expected deg")
    except (AttributeError, ValueError, TypeError):
        pass  # no Position2D: classified below
    retraction = params.get("AlertType", "").lower() == "retraction" or any(
        cite == "retraction" for cite, _ in cited
    )
    _classify(notice, retraction, skymap="skymap_fits" in params)
    return notice


def _schema_error(v) -> str:
    """The schema's first complaint (it names the element), read just after the failed check."""
    errors = voeventparse.voevent.voevent_v2_0_schema.error_log
    if not errors:
        return "schema check failed"
    first = errors[0]
    return f"line {first.line}: {first.message}"


def _params(root: etree._Element) -> dict[str, str]:
    return {
        p.get("name"): p.get("value", "")
        for p in root.iter("{*}Param")
        if p.get("name") is not None
    }


def _text(root: etree._Element, path: str) -> str:
    node = root.find(path)
    return (node.text or "").strip() if node is not None else ""


_MISSIONS = (  # IVORN fragment -> mission
    ("org.svom", "SVOM"),
    ("nasa.gsfc.gcn/Fermi", "Fermi"),
    ("nasa.gsfc.gcn/SWIFT", "Swift"),
    ("nasa.gsfc.gcn/Swift", "Swift"),
    ("gwnet/LVC", "LVK"),
    ("gwnet/LVK", "LVK"),
    ("einstein_probe", "EP"),
)


def _mission(ivorn: str, params: dict[str, str]) -> tuple[str, str]:
    mission = next((m for frag, m in _MISSIONS if frag.lower() in ivorn.lower()), "")
    if not mission:
        mission = ivorn.removeprefix("ivo://").split("#")[0].split("/")[0]
    instrument = params.get("Instrument", "")
    local = ivorn.split("#", 1)[-1]
    if not instrument and mission == "Fermi":
        instrument = "LAT" if local.startswith("LAT") else "GBM"
    if not instrument and mission == "Swift":
        instrument = local.split("_")[0] or "BAT"  # BAT_GRB_Pos..., XRT_Position...
    if mission == "LVK":
        instrument = instrument or "LVK"
    return mission, instrument


def _trigger_id(mission: str, params: dict[str, str]) -> str | None:
    for name in ("Burst_Id", "GraceID", "TrigID"):
        if params.get(name):
            return f"{mission}:{params[name]}"
    return None


def _classify(notice: Notice, retraction: bool, skymap: bool = False) -> None:
    if retraction:
        notice.kind, notice.note = Kind.RETRACTION, "retraction notice"
    elif notice.role in ("test", "utility"):
        notice.kind, notice.note = Kind.TEST, f"role {notice.role}"
        if not notice.has_position:
            notice.note += "; sky map only" if skymap else "; no position"
    elif not notice.has_position:
        notice.kind = Kind.NO_POSITION
        notice.note = "sky map only" if skymap else "no position (time only)"
    elif notice.ra_deg == 0 and notice.dec_deg == 0 and not notice.error_radius_deg:
        notice.kind, notice.note = Kind.NO_POSITION, "placeholder position 0, 0, error 0"
        notice.ra_deg = notice.dec_deg = notice.error_radius_deg = None
    else:
        notice.kind = Kind.POSITION


# -- GCN unified-schema JSON --------------------------------------------------------------------

_KNOWN_FIELDS = {"ra", "dec", "trigger_time", "alert_datetime", "ra_dec_error", "id", "mission"}


def _parse_json(payload: bytes) -> Notice:
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NoticeRejected("json", f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise NoticeRejected("json", "a notice must be a JSON object")
    schema = _str_field(data, "$schema")
    if "gcn/notices" not in schema and not (
        _KNOWN_FIELDS & data.keys()
    ):
        raise NoticeRejected("$schema", f"unknown notice schema {schema!r}: no GCN notice fields")
    mission = _str_field(data, "mission") or _mission_of_schema(schema)
    instrument = _str_field(data, "instrument")
    ids = data.get("id")
    if isinstance(ids, list):
        ids = ids[0] if ids else None
    if ids is not None and not isinstance(ids, str | int):
        raise NoticeRejected("id", f"must be a string or a list of strings (got {ids!r})")
    trigger_time = None
    if data.get("trigger_time") is not None:
        trigger_time = _utc(data["trigger_time"], "trigger_time")
    tense = _str_field(data, "alert_tense") or "current"
    alert_type = _str_field(data, "alert_type") or "initial"
    # `id` names the event, not the notice: the notice is its content, whatever the spacing or
    # key order a source gives it (the same notice from Kafka and from a file is one notice)
    canonical = hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    key_tail = str(ids) if ids is not None else canonical[:16]
    notice = Notice(
        key=f"gcn:{mission or 'unknown'}:{instrument}:{key_tail}:{alert_type}:{canonical[:16]}",
        format="json",
        kind=Kind.POSITION,
        mission=mission,
        instrument=instrument,
        notice_type=alert_type,
        role={"current": "observation"}.get(tense, tense),
        trigger_id=f"{mission}:{ids}" if ids is not None else None,
        trigger_time=trigger_time,
    )
    if data.get("ra") is not None or data.get("dec") is not None:
        notice.ra_deg = _number(data, "ra")
        notice.dec_deg = _number(data, "dec")
        notice.error_radius_deg = _error_radius(data.get("ra_dec_error"))
    if tense in ("test", "injection"):
        notice.kind, notice.note = Kind.TEST, f"alert_tense {tense}"
    else:
        _classify(notice, alert_type == "retraction")
    return notice


def _mission_of_schema(schema: str) -> str:
    names = {
        "einstein_probe": "EP",
        "svom": "SVOM",
        "swift": "Swift",
        "fermi": "Fermi",
        "lvk": "LVK",
        "icecube": "IceCube",
    }
    parts = schema.split("/")
    return next((names[p] for p in parts if p in names), "")


def _str_field(data: dict, name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NoticeRejected(name, f"must be a string (got {value!r})")
    return value


def _number(data: dict, name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NoticeRejected(name, f"must be a number (got {value!r})")
    return float(value)


def _error_radius(value) -> float | None:
    """A radius in degrees, or an ellipse [a, b, PA]: its semi-major axis bounds the error."""
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 3:
        value = max(value[0], value[1]) if all(isinstance(x, int | float) for x in value) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NoticeRejected("ra_dec_error", "must be a radius in deg or [a, b, PA]")
    return float(value)


def _utc(value, name: str) -> datetime:
    if not isinstance(value, str):
        raise NoticeRejected(name, f"must be an ISO 8601 string (got {value!r})")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NoticeRejected(name, f"not an ISO 8601 time: {value!r}") from None
    # SVOM's examples omit the zone: GCN times are UTC
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- checks common to both formats --------------------------------------------------------------


def _check_ranges(notice: Notice, now: datetime, future_s: float) -> None:
    where = {
        "voevent": ("Position2D/C1", "Position2D/C2", "Error2Radius"),
        "json": ("ra", "dec", "ra_dec_error"),
    }[notice.format]
    if notice.ra_deg is not None and not (
        math.isfinite(notice.ra_deg) and 0 <= notice.ra_deg < 360
    ):
        raise NoticeRejected(where[0], f"RA {notice.ra_deg:g} out of range [0, 360) deg")
    if notice.dec_deg is not None and not (
        math.isfinite(notice.dec_deg) and -90 <= notice.dec_deg <= 90
    ):
        raise NoticeRejected(where[1], f"Dec {notice.dec_deg:g} out of range [-90, 90] deg")
    err = notice.error_radius_deg
    if err is not None and not (math.isfinite(err) and 0 <= err <= 180):
        raise NoticeRejected(where[2], f"error radius {err:g} out of range [0, 180] deg")
    t = notice.trigger_time
    if t is not None and t > now + timedelta(seconds=future_s):
        field_name = "ISOTime" if notice.format == "voevent" else "trigger_time"
        raise NoticeRejected(
            field_name,
            f"trigger time {t.isoformat()} is in the future "
            f"(now {now.isoformat(timespec='seconds')})",
        )
