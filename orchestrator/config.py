"""Configuration: one TOML file, validated once at start into typed, frozen objects.

`load_config()` is called by the CLI only; every other part receives the `Config` it returns.
A wrong value raises `ConfigError` naming the dotted key and the reason.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestrator.errors import ConfigError

DEFAULT_CONFIG_NAME = "pyros.toml"
DEVICE_ROLES = (
    "mount",
    "dome",
    "camera_vis",
    "camera_nir",
    "filterwheel_vis",
    "filterwheel_nir",
    "focuser",
    "safety_monitor",
    "observing_conditions",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be HOST:PORT with a port 1-65535 (got {value!r})")
    return host, int(port)


class SiteConfig(_Section):
    name: str = Field(min_length=1)
    latitude_deg: Annotated[float, Field(ge=-90, le=90)]
    longitude_deg: Annotated[float, Field(ge=-180, le=180)]  # east positive
    elevation_m: Annotated[float, Field(ge=-500, le=9000)]
    timezone: str = "UTC"
    horizon_deg: Annotated[float, Field(ge=-10, le=60)] = 0.0  # lowest altitude the mount may go
    twilight: Literal["civil", "nautical", "astronomical"] = "nautical"
    country: str = ""  # the host country: `pyros init` gives it to the admin account

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value


TELESCOPE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
DEFAULT_TELESCOPE = "main"  # a single telescope: its orchestrator lease keeps the old name


class TelescopeConfig(_Section):
    """This telescope in a network sharing one database (`pyros start --telescope NAME`)."""

    name: str = DEFAULT_TELESCOPE
    claim_ttl_s: Annotated[float, Field(ge=2, le=3600)] = 60.0  # a dead telescope's claim ends

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(TELESCOPE_NAME, value):
            raise ValueError("must be 1-32 letters, digits, '_', '.' or '-', starting with one")
        return value


class ClockConfig(_Section):
    start: datetime | None = None  # simulated start instant (UTC); none = real time
    speed: Annotated[float, Field(gt=0, le=10000)] = 1.0
    # the wall instant at which the simulated clock reads `start` (`pyros simulate` sets it so
    # that its processes share one clock); none = each process's own start
    real_start: datetime | None = None
    # or: a file that will hold that instant; until it exists the clock waits at `start`
    real_start_file: Path | None = None

    @field_validator("start", "real_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a timezone, e.g. 2026-11-24T02:00:00Z")
        return value


class DatabaseConfig(_Section):
    url: str = "sqlite:///var/pyros.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return value


class FoldersConfig(_Section):
    data: Path = Path("var")
    images: Path = Path("var/images")
    logs: Path = Path("var/logs")
    voevents: Path = Path("var/voevents")
    reports: Path = Path("var/reports")  # night reports (HTML + JSON), one pair per night


class _Addressed(_Section):
    """A section with `address = "HOST:PORT"`, checked once; `host_port` splits it."""

    address: str

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        _parse_address(value)
        return value

    @property
    def host_port(self) -> tuple[str, int]:
        return _parse_address(self.address)


class PlcConfig(_Addressed):
    address: str = "127.0.0.1:5010"
    poll_period_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    # A lost or garbled link is known at the next poll: unsafe after this many failures in a row.
    unsafe_after_failed_polls: Annotated[int, Field(ge=1, le=100)] = 2


class SafetyConfig(_Section):
    """Thresholds of the weather synthesis; *_reopen values give hysteresis."""

    stale_after_s: Annotated[float, Field(gt=0)] = 10.0
    reopen_delay_s: Annotated[float, Field(ge=0)] = 900.0
    rain_rate_max_mm_h: Annotated[float, Field(ge=0)] = 0.0
    wind_speed_max_m_s: Annotated[float, Field(gt=0)] = 15.0
    wind_speed_reopen_m_s: Annotated[float, Field(gt=0)] = 12.0
    humidity_max_pct: Annotated[float, Field(gt=0, le=100)] = 85.0
    humidity_reopen_pct: Annotated[float, Field(gt=0, le=100)] = 80.0
    sky_minus_ambient_max_c: float = -20.0  # warmer sky than this = cloudy
    sky_minus_ambient_reopen_c: float = -23.0
    dew_point_margin_min_c: Annotated[float, Field(ge=0)] = 2.0
    dew_point_margin_reopen_c: Annotated[float, Field(ge=0)] = 3.0
    # DRD11A analog output: 3 V dry, lower = wetter. The seed's dry-weather sample reads
    # 2.345 V with the digital output dry, so the nominal 2.5 V would close on a damp plate.
    drd11_rain_below_v: Annotated[float, Field(ge=0, le=5)] = 2.0

    @model_validator(mode="after")
    def _hysteresis(self) -> SafetyConfig:
        if self.dew_point_margin_reopen_c < self.dew_point_margin_min_c:
            raise ValueError("dew_point_margin_reopen_c must be >= dew_point_margin_min_c")
        if self.wind_speed_reopen_m_s > self.wind_speed_max_m_s:
            raise ValueError("wind_speed_reopen_m_s must be <= wind_speed_max_m_s")
        if self.humidity_reopen_pct > self.humidity_max_pct:
            raise ValueError("humidity_reopen_pct must be <= humidity_max_pct")
        if self.sky_minus_ambient_reopen_c > self.sky_minus_ambient_max_c:
            raise ValueError("sky_minus_ambient_reopen_c must be <= sky_minus_ambient_max_c")
        return self


class OverheadsConfig(_Section):
    """Fixed costs added to a sequence's exposures (request builder, planner)."""

    slew_s: Annotated[float, Field(ge=0)] = 60.0  # fixed part of a slew: settle, dome follow
    slew_rate_deg_s: Annotated[float, Field(gt=0)] = 3.0  # planner: + distance / rate
    readout_s: Annotated[float, Field(ge=0)] = 5.0
    filter_change_s: Annotated[float, Field(ge=0)] = 3.0


class ObserverConfig(_Section):
    """Deadlines and dome following of sequence execution (orchestrator.observer)."""

    slew_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 180.0
    dome_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    filter_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    readout_margin_s: Annotated[float, Field(gt=0, le=3600)] = 60.0  # beyond the exposure
    dome_follow_period_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    dome_follow_tolerance_deg: Annotated[float, Field(gt=0, le=45)] = 3.0
    replan_tolerance_s: Annotated[float, Field(ge=0)] = 120.0  # ended this far off: re-plan


class CalibrationsConfig(_Section):
    """Sky flats at dusk and dawn, bias and darks (orchestrator.observer.calibrations)."""

    sun_alt_max_deg: Annotated[float, Field(ge=-30, le=10)] = -3.0  # flats start below this
    sun_alt_min_deg: Annotated[float, Field(ge=-30, le=10)] = -10.0  # ... and stop below this
    flat_target_adu: Annotated[float, Field(gt=0, le=65535)] = 25000.0
    flat_min_adu: Annotated[float, Field(ge=0, le=65535)] = 10000.0  # frames kept in between
    flat_max_adu: Annotated[float, Field(gt=0, le=65535)] = 40000.0
    flat_first_exposure_s: Annotated[float, Field(gt=0, le=600)] = 2.0
    flat_min_exposure_s: Annotated[float, Field(gt=0, le=600)] = 0.5
    flat_max_exposure_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    flat_count: Annotated[int, Field(ge=1, le=100)] = 5  # kept per filter
    flat_max_tries: Annotated[int, Field(ge=1, le=1000)] = 20  # frames taken per filter at most
    flat_altitude_deg: Annotated[float, Field(ge=20, le=90)] = 75.0  # opposite the Sun
    bias_count: Annotated[int, Field(ge=0, le=200)] = 10
    bias_exposure_s: Annotated[float, Field(ge=0, le=1)] = 0.0
    dark_count: Annotated[int, Field(ge=0, le=200)] = 5

    # Each check sits on the later of its two keys, so the error names that key.
    @field_validator("sun_alt_min_deg")
    @classmethod
    def _sun_window(cls, value: float, info: ValidationInfo) -> float:
        if "sun_alt_max_deg" in info.data and value >= info.data["sun_alt_max_deg"]:
            raise ValueError(f"must be below sun_alt_max_deg ({info.data['sun_alt_max_deg']})")
        return value

    @field_validator("flat_max_adu")
    @classmethod
    def _adu_range(cls, value: float, info: ValidationInfo) -> float:
        low, target = info.data.get("flat_min_adu"), info.data.get("flat_target_adu")
        if low is not None and target is not None and not low <= target <= value:
            raise ValueError(
                f"flat_min_adu ({low}) <= flat_target_adu ({target}) <= flat_max_adu must hold"
            )
        return value

    @field_validator("flat_max_exposure_s")
    @classmethod
    def _exposure_range(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("flat_min_exposure_s")
        if low is not None and value < low:
            raise ValueError(f"must be >= flat_min_exposure_s ({low})")
        return value


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)]


class GatewayConfig(ServerConfig):
    port: Annotated[int, Field(ge=1, le=65535)] = 11112
    discovery_port: Annotated[int, Field(ge=0, le=65535)] = 32227  # 0 = no discovery responder
    store_period_s: Annotated[float, Field(gt=0, le=60)] = 2.0  # WeatherWatch update period
    history_period_s: Annotated[float, Field(gt=0, le=3600)] = 60.0  # one history row per period
    # History storage: rows at history_period_s for history_full_days, then folded into
    # history_bucket_s means (rain and wind keep their maximum), deleted after the retention.
    history_full_days: Annotated[float, Field(ge=1, le=3660)] = 30.0
    history_bucket_s: Annotated[int, Field(ge=60, le=1800)] = 300
    history_retention_days: Annotated[float, Field(ge=1, le=36600)] = 366.0
    history_maintenance_period_s: Annotated[float, Field(ge=10, le=86400)] = 3600.0

    @model_validator(mode="after")
    def _history_ages(self) -> GatewayConfig:
        if self.history_retention_days < self.history_full_days:
            raise ValueError(
                f"history_retention_days ({self.history_retention_days:g}) must be >= "
                f"history_full_days ({self.history_full_days:g})"
            )
        if 3600 % self.history_bucket_s or self.history_bucket_s == 3600:
            raise ValueError(
                f"history_bucket_s ({self.history_bucket_s}) must divide an hour and be shorter"
                " (60, 120, 300, 600, 900, 1200 or 1800): hourly buckets are rolled up from them"
            )
        if self.history_bucket_s < self.history_period_s:
            raise ValueError(
                f"history_bucket_s ({self.history_bucket_s}) must be >= history_period_s "
                f"({self.history_period_s:g})"
            )
        return self


class WebConfig(ServerConfig):
    port: Annotated[int, Field(ge=1, le=65535)] = 8000


class DeviceConfig(_Addressed):
    adapter: Literal["alpaca", "indi"]
    address: str  # HOST:PORT of the Alpaca server or of indiserver
    device_number: Annotated[int, Field(ge=0)] = 0  # Alpaca device number
    device_name: str | None = None  # INDI device name, e.g. "Telescope Simulator"
    filters: tuple[str, ...] = ()  # filter wheels: names by slot, first slot first
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0

    @field_validator("filters")
    @classmethod
    def _filter_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # requests name filters, so a name must say which slot it is: unique and not blank
        if any(not name.strip() for name in value):
            raise ValueError("filter names must not be blank")
        if len(set(value)) != len(value):
            raise ValueError("filter names must be unique")
        return value

    @model_validator(mode="after")
    def _indi_needs_name(self) -> DeviceConfig:
        if self.adapter == "indi" and not self.device_name:
            raise ValueError("device_name is required when adapter is 'indi'")
        return self


class DevicesConfig(_Section):
    """One entry per role; a role left out is absent at this site."""

    mount: DeviceConfig | None = None
    dome: DeviceConfig | None = None
    camera_vis: DeviceConfig | None = None
    camera_nir: DeviceConfig | None = None
    filterwheel_vis: DeviceConfig | None = None
    filterwheel_nir: DeviceConfig | None = None
    focuser: DeviceConfig | None = None
    safety_monitor: DeviceConfig | None = None  # e.g. our gateway's Alpaca SafetyMonitor
    observing_conditions: DeviceConfig | None = None

    def configured(self) -> dict[str, DeviceConfig]:
        return {role: dev for role in DEVICE_ROLES if (dev := getattr(self, role)) is not None}


class SimulatorsConfig(_Section):
    """What `pyros start` launches beside PyROS in the embedded default."""

    enabled: bool = True
    plc_scenario: Path | None = None
    alpaca_address: str = "127.0.0.1:11111"  # where the alpaca-simulators package listens
    # A demo should not sit UNSAFE for 15 minutes after each start: while the simulators run,
    # this replaces safety.reopen_delay_s. A real site (enabled = false) keeps the safety one.
    reopen_delay_s: Annotated[float, Field(ge=0)] | None = None
    # Devices follow the accelerated clock (`pyros simulate` turns it on): the device simulator
    # runs exposures, slews and dome moves clock.speed times faster than real time.
    devices_follow_clock: bool = False
    # The PLC simulator's weather: diurnal temperature, humidity following it, gusty wind and
    # sensor noise, deterministic for the seed (false: the static dry answer of the seed).
    weather_variation: bool = True
    weather_seed: Annotated[int, Field(ge=0)] = 0

    def device_time_scale(self, clock_speed: float) -> float:
        """How many times faster than real time the device simulator runs."""
        return clock_speed if self.devices_follow_clock else 1.0

    @field_validator("alpaca_address")
    @classmethod
    def _alpaca_address(cls, value: str) -> str:
        _parse_address(value)
        return value

    @property
    def alpaca_host_port(self) -> tuple[str, int]:
        return _parse_address(self.alpaca_address)


class VtpBrokerConfig(_Addressed):
    address: str  # HOST:PORT of a VOEvent Transport Protocol broker (GCN Classic, Comet)


class KafkaAlertsConfig(_Section):
    """GCN Kafka: secrets may come from PYROS_GCN_CLIENT_ID/_SECRET instead (never logged)."""

    enabled: bool = False
    topics: tuple[str, ...] = ()
    bootstrap_servers: str | None = None  # none = NASA's GCN broker (gcn-kafka's default)
    security_protocol: Literal["plaintext", "sasl_ssl"] = "sasl_ssl"
    client_id: str | None = None
    client_secret: SecretStr | None = None  # shown as ********** if the config is printed
    group_id: str = "pyros"
    # how long the broker may hold a fetch without data (librdkafka's fetch.wait.max.ms): a
    # broker answers as soon as a notice arrives; librdkafka's mock cluster only at this limit
    fetch_wait_max_ms: Annotated[int, Field(ge=1, le=60_000)] = 500


class AlertsConfig(_Section):
    """The alert manager: its three listeners, strategies and limits."""

    folder_enabled: bool = True  # watch folders.voevents
    vtp_brokers: tuple[VtpBrokerConfig, ...] = ()
    vtp_ivorn_filters: tuple[str, ...] = ()  # IVORN prefixes to keep; empty = all
    vtp_local_ivorn: str = "ivo://pyros/alerts"
    kafka: KafkaAlertsConfig = KafkaAlertsConfig()
    strategies: Path | None = None  # folder of *.toml strategies; none = the shipped ones
    username: str = "alerts"  # requests are made as this user, charged to `program`
    program: str = "GRB"
    max_payload_bytes: Annotated[int, Field(ge=1024, le=100_000_000)] = 1_000_000
    future_tolerance_s: Annotated[float, Field(ge=0)] = 60.0  # clock skew allowed
    reconnect_max_s: Annotated[float, Field(gt=0, le=3600)] = 60.0


class PipelineConfig(_Section):
    """The image pipeline (`pyros pipeline`): calibration, sources, WCS, error-box reports."""

    enabled: bool = True  # `pyros start` runs `pyros pipeline`
    poll_period_s: Annotated[float, Field(gt=0, le=600)] = 2.0
    solver: Literal["auto", "builtin", "astrometry.net"] = "auto"  # auto: a.net, else builtin
    astrometry_index_dir: Path | None = None  # none: data/astrometry-index (built from catalog)
    catalog_path: Path | None = None  # reference stars (SQLite gaia_sources); none: the simulator's
    plate_scale_arcsec_px: dict[str, Annotated[float, Field(gt=0)]] = {"VIS": 2.785, "NIR": 3.094}
    detect_sigma: Annotated[float, Field(gt=0)] = 3.0  # sep threshold, in background rms
    min_stars_wcs: Annotated[int, Field(ge=3)] = 6
    min_frames_master: Annotated[int, Field(ge=1)] = 3
    stack_if_limit_brighter_than_mag: float = 18.0  # alert frames this shallow get stacked


AUTOMATION_ACTIONS = ("replan", "darks", "bias", "flats", "park", "close", "report")


class MajordomeConfig(_Section):
    """The conductor: its tick, the safety poll, action deadlines and the safe-to-open checks."""

    tick_period_s: Annotated[float, Field(gt=0, le=1)] = 1.0
    safety_poll_s: Annotated[float, Field(gt=0, le=10)] = 0.05  # IsSafe read from the gateway
    safety_timeout_s: Annotated[float, Field(gt=0, le=30)] = 1.0  # no answer = unsafe
    abort_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    close_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    park_timeout_s: Annotated[float, Field(gt=0)] = 180.0
    open_timeout_s: Annotated[float, Field(gt=0)] = 120.0
    reconnect_min_s: Annotated[float, Field(gt=0)] = 2.0  # device back-off, doubled to max
    reconnect_max_s: Annotated[float, Field(gt=0)] = 120.0
    min_free_disk_mb: Annotated[float, Field(ge=0)] = 500.0  # in folders.images
    required_roles: tuple[str, ...] = ("mount", "dome")  # one failing = unsafe (RTS2)

    @field_validator("required_roles")
    @classmethod
    def _roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in value if r not in DEVICE_ROLES]
        if unknown:
            known = ", ".join(DEVICE_ROLES)
            raise ValueError(f"unknown role(s) {', '.join(unknown)} (known: {known})")
        return value

    @model_validator(mode="after")
    def _backoff(self) -> MajordomeConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class AutomationEntry(_Section):
    """A user's cron-style job: a cron expression in the site's timezone and one fixed action."""

    cron: str = Field(min_length=1)
    action: Literal["replan", "darks", "bias", "flats", "park", "close", "report"]
    name: str | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron expression {value!r}: {exc}") from None
        return value


class Config(_Section):
    site: SiteConfig
    telescope: TelescopeConfig = TelescopeConfig()
    clock: ClockConfig = ClockConfig()
    database: DatabaseConfig = DatabaseConfig()
    folders: FoldersConfig = FoldersConfig()
    plc: PlcConfig = PlcConfig()
    safety: SafetyConfig = SafetyConfig()
    overheads: OverheadsConfig = OverheadsConfig()
    observer: ObserverConfig = ObserverConfig()
    calibrations: CalibrationsConfig = CalibrationsConfig()
    gateway: GatewayConfig = GatewayConfig()
    web: WebConfig = WebConfig()
    devices: DevicesConfig = DevicesConfig()
    simulators: SimulatorsConfig = SimulatorsConfig()
    alerts: AlertsConfig = AlertsConfig()
    pipeline: PipelineConfig = PipelineConfig()
    majordome: MajordomeConfig = MajordomeConfig()
    automation: tuple[AutomationEntry, ...] = ()
    source: Path | None = None  # the file it was read from (set by the loader)

    @model_validator(mode="after")
    def _simulated_reopen_delay(self) -> Config:
        sim = self.simulators
        if sim.enabled and sim.reopen_delay_s is not None:
            safety = self.safety.model_copy(update={"reopen_delay_s": sim.reopen_delay_s})
            object.__setattr__(self, "safety", safety)  # frozen model, set once at validation
        return self


def default_config_text() -> str:
    """The shipped default: the simulated COLIBRI site on local simulators."""
    return resources.files("orchestrator.resources").joinpath("default_config.toml").read_text()


def _format_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"]) or "(top level)"
    reason = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "unknown key"
    elif err["type"] == "missing":
        reason = "required key is missing"
    elif "input" in err and not isinstance(err["input"], dict):
        reason = f"{reason} (got {err['input']!r})"
    return key, reason


def parse_config(text: str, base_dir: Path, source: Path | None = None) -> Config:
    """Parse TOML text as an overlay on the shipped default, and validate the result.

    The text names only what differs from the default: its tables are merged key by key into
    the default's (arrays and values replace), and `[devices] ROLE = false` removes a role
    the default has. The merged result is validated as strictly as a complete file.
    Relative paths are resolved against `base_dir`.
    """
    where = str(source) if source else "config"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, f"invalid TOML: {exc}") from None
    merged = overlay(tomllib.loads(default_config_text()), raw)
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(*_format_error(exc)) from None
    return _resolve_paths(config, base_dir, source)


def overlay(default: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """`user` merged into `default`: tables key by key, anything else replaced."""
    merged = dict(default)
    for key, value in user.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = value
    devices = merged.get("devices")
    if isinstance(devices, dict):  # `[devices] focuser = false`: this site has none
        merged["devices"] = {role: dev for role, dev in devices.items() if dev is not False}
    return merged


def _resolve_paths(config: Config, base_dir: Path, source: Path | None) -> Config:
    def absolute(path: Path) -> Path:
        return path if path.is_absolute() else (base_dir / path).resolve()

    folders = config.folders.model_copy(
        update={
            name: absolute(getattr(config.folders, name)) for name in FoldersConfig.model_fields
        }
    )
    url = config.database.url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        url = "sqlite:///" + str(absolute(Path(url.removeprefix("sqlite:///"))))
    simulators = config.simulators
    if simulators.plc_scenario is not None:
        simulators = simulators.model_copy(
            update={"plc_scenario": absolute(simulators.plc_scenario)}
        )
    alerts = config.alerts
    if alerts.strategies is not None:
        alerts = alerts.model_copy(update={"strategies": absolute(alerts.strategies)})
    pipeline = config.pipeline.model_copy(
        update={
            key: absolute(getattr(config.pipeline, key))
            for key in ("astrometry_index_dir", "catalog_path")
            if getattr(config.pipeline, key) is not None
        }
    )
    return config.model_copy(
        update={
            "alerts": alerts,
            "pipeline": pipeline,
            "folders": folders,
            "database": config.database.model_copy(update={"url": url}),
            "simulators": simulators,
            "source": source,
        }
    )


def with_telescope(config: Config, name: str) -> Config:
    """`config` for telescope `name` (the `--telescope` flag), validated like the file's key."""
    try:
        telescope = TelescopeConfig.model_validate({**config.telescope.model_dump(), "name": name})
    except ValidationError as exc:
        raise ConfigError("--telescope", _format_error(exc)[1]) from None
    return config.model_copy(update={"telescope": telescope})


def load_config(path: Path | None = None, cwd: Path | None = None) -> Config:
    """Read `path`, else ./pyros.toml if present, else the shipped default.

    Relative paths in a file resolve against the file's folder; in the shipped default,
    against the current folder (so `pyros init` in an empty folder keeps everything there).
    """
    cwd = cwd or Path.cwd()
    if path is None and (cwd / DEFAULT_CONFIG_NAME).is_file():
        path = cwd / DEFAULT_CONFIG_NAME
    if path is None:
        return parse_config(default_config_text(), cwd)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read ({exc.strerror})") from None
    return parse_config(text, path.resolve().parent, path.resolve())
