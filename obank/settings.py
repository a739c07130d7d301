"""Process settings, read once from `OBANK_*` environment variables and validated at start-up."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from obank.home import default_home
from obank.internal_keys import parse_signing_key, parse_verification_keys
from obank.settings_sources import FileVariablesSource, secrets_directory_source

# The source checkout this code sits in, for tests and benches only: runtime paths derive from `home`.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Python's logging levels, the only ones `log_level` accepts.
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# Roles serving only gateways, over the internal network: plain HTTP unless given certificate files.
INTERNAL_ROLES = frozenset({"core_banking", "open_banking"})


class ProductionSettingsError(RuntimeError):
    """Raised when a production process would start on development defaults; one missing setting per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(["OBANK_ENV=production refuses to start; set:", *(f"  {p}" for p in problems)]))
        self.problems = problems


def _home_of(values: dict[str, Any]) -> Path:
    """The validated `home` (or its default when it was refused, so the refusal is what gets reported)."""
    home = values.get("home")
    return home if isinstance(home, Path) else default_home()


class Settings(BaseSettings):
    """Every tunable of an obank process; unset infrastructure means the embedded development stack."""

    # No input in a validation error's text: a refused key must not reach a traceback or a log.
    model_config = SettingsConfigDict(env_prefix="OBANK_", extra="ignore", hide_input_in_errors=True)

    env: Literal["development", "test", "production"] = "development"
    # Where this installation keeps its data (OBANK_HOME): the checkout when run from one, else the per-user data
    # directory (obank.home). The data files (embedded database, development keys, sinks) and the development
    # certificates live under it unless OBANK_DATA_DIR / OBANK_CERTS_DIR place them elsewhere.
    home: Path = Field(default_factory=default_home)
    data_dir: Path = Field(default_factory=lambda values: _home_of(values) / "var")
    certs_dir: Path = Field(default_factory=lambda values: _home_of(values) / "certs")

    # Infrastructure: unset means embedded PostgreSQL, in-memory stores, in-process events.
    database_url: str | None = None
    redis_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    kafka_topic_prefix: str = "obank."
    kafka_topic_partitions: int = 3
    kafka_replication_factor: int = 1
    # Off only for brokers lacking idempotent producers (Tansu's memory engine cannot init a producer id).
    kafka_idempotent_producer: bool = True

    # Where the platform is reached; unset follows the address `obank serve` listens on.
    issuer: str | None = None
    host: str = "127.0.0.1"
    port: int = 8443

    # TLS for `obank serve`; unset means the development certificates from `obank certs init`.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None

    # Key-encryption keys: JSON object {key_id: base64 of 32 bytes}; the active one wraps new data keys.
    # Unset outside production: development keys are generated into var/dev-keys.json.
    encryption_keys: str | None = Field(default=None, repr=False)
    active_encryption_key_id: str | None = None

    # ES256 private JWK (JSON) the gateway signs internal principal assertions with.
    internal_signing_key: str | None = Field(default=None, repr=False)

    # What `obank serve` runs: every app, the gateway (core_banking over HTTP), or one service alone.
    role: Literal["all", "gateway", "core_banking", "open_banking"] = "all"

    # The gateway. Unset upstream URLs mean the service runs in the gateway's process.
    upstream_core_banking_url: str | None = None
    upstream_open_banking_url: str | None = None
    upstream_timeout_s: float = 10.0
    max_request_body_bytes: int = 1_048_576
    # Browser origins of the bank's own web apps allowed to call first-party routes (CORS); JSON list.
    cors_allowed_origins: list[str] = Field(default_factory=list)
    # The web app and staff console (`web/`): the first-party OAuth clients they sign in as, and how long a
    # browser's session lives without a request (idle) and at most (absolute), as banks' web apps do.
    web_client_id: str = "obank-app"
    web_console_client_id: str = "obank-staff-console"
    web_session_idle_s: int = Field(default=900, ge=60, le=86_400)
    web_session_max_s: int = Field(default=43_200, ge=300, le=7 * 86_400)
    rate_limits_enabled: bool = True
    # Who may scrape the gateway's /metrics (CIDRs, JSON list): the operator's monitoring network.
    metrics_allowed_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # Budgets over the defaults, as JSON: {"default" or an identity kind ("customer", "staff", "client",
    # "ip"): {rate class: "N/second;M/minute"}}; see gateway.ratelimit.
    rate_limit_budgets: dict[str, dict[str, str]] = Field(default_factory=dict)

    # How long a public client may retry with a refresh token it just rotated (a lost response); reuse after
    # that reads as theft and ends the grant (OAuth 2.0 Security BCP s4.14.2).
    refresh_token_rotation_grace_s: int = Field(default=30, ge=0, le=300)

    log_level: str = "INFO"
    outbox_poll_interval_s: float = 0.5
    # Payments sent to the Faster Payments scheme: how long its answer may take before the bank asks for the
    # payment's status (pacs.028), how often it asks before rejecting the payment, and how often it checks.
    payments_scheme_answer_timeout_s: float = Field(default=10.0, gt=0)
    payments_status_requests: int = Field(default=3, ge=0, le=20)
    payments_chase_interval_s: float = Field(default=1.0, gt=0)
    # The scheme's acceptance window as its rules state it (the simulator's `faults.timeout_s`): the bank
    # never gives up on a payment before it has passed.
    payments_scheme_window_s: float = Field(default=10.0, gt=0)
    # A customer's payment above this amount (minor units), or to a payee first paid less than a day ago, needs
    # a strong authentication (password + TOTP) at most `payments_step_up_max_age_s` old.
    payments_step_up_above_minor: int = Field(default=25_000, ge=0)
    payments_step_up_max_age_s: int = Field(default=300, gt=0)
    # A payment held for its customer's confirmation (a payee in its cooling-off) is rejected when unconfirmed
    # this long after it was made.
    payments_confirmation_window_s: int = Field(default=86_400, gt=0)
    # Scheduled payments and standing orders: how often the runner looks for due occurrences, and when an
    # occurrence refused for want of funds (or over a limit) is tried again on its day, London wall-clock times
    # (JSON list of "HH:MM"); after the last it fails and the customer is told.
    payment_orders_interval_s: float = Field(default=30.0, gt=0)
    payment_orders_retry_times: list[time] = Field(
        default_factory=lambda: [time(10, 0), time(14, 0), time(18, 0)], max_length=24
    )
    # Payees (beneficiaries) and confirmation of payee.
    # A new payee is in its cooling-off period this long after it is added: a payment to it above
    # `payees_cooling_off_limit_minor` then waits for the customer's confirmation. A confirmation of payee
    # answer can be used to add the payee for `payees_confirmation_validity_s`.
    payees_cooling_off_s: int = Field(default=86_400, ge=0)
    payees_cooling_off_limit_minor: int = Field(default=10_000, ge=0)
    payees_confirmation_validity_s: int = Field(default=900, gt=0, le=86_400)
    # (payees settings end)
    # Four-eyes approvals (obank.approvals): a staff deposit or withdrawal of at least this amount (minor units, in
    # its currency) waits for a second staff member, as closing an account always does.
    four_eyes_adjustment_minor: int = Field(default=1_000_000, ge=1)
    # Fraud scoring (fraud.engine, fraud.rules, fraud.features): each rule's parameters, and the score thresholds
    # that turn a payment's or a sign-in's score (0-100) into a recommendation.
    # A payment scoring at least each threshold is MONITORed, held for REVIEW, or BLOCKed (rejected).
    fraud_monitor_score: int = Field(default=30, ge=1, le=100)
    fraud_review_score: int = Field(default=60, ge=1, le=100)
    fraud_block_score: int = Field(default=90, ge=1, le=100)
    # A sign-in scoring at least MONITOR must give its TOTP; at least BLOCK, the login is locked.
    fraud_sign_in_monitor_score: int = Field(default=30, ge=1, le=100)
    fraud_sign_in_review_score: int = Field(default=60, ge=1, le=100)
    fraud_sign_in_block_score: int = Field(default=90, ge=1, le=100)
    # velocity: more than `max_count` attempts within the window (this one included), or more than `amount_multiple`
    # times the customer's median settled amount (and at least `amount_floor_minor`) attempted within 24 hours.
    fraud_velocity_window_s: int = Field(default=600, gt=0, le=86_400)
    fraud_velocity_max_count: int = Field(default=2, ge=1)
    fraud_velocity_points: int = Field(default=60, ge=0, le=100)  # at the first attempt over; +10 for each further
    fraud_velocity_amount_multiple: float = Field(default=8.0, gt=0)
    fraud_velocity_amount_floor_minor: int = Field(default=200_000, ge=0)
    fraud_velocity_amount_points: int = Field(default=35, ge=0, le=100)
    # amount_anomaly: a robust z-score of the amount's logarithm against the customer's last settled amounts (median,
    # MAD-based spread held within [min_spread, max_spread]), once they have `min_history`; to a creditor they paid
    # before, only at `creditor_multiple` times or more of what they paid it on average. `amount_cold_start` below
    # `min_history`, for an amount of at least `cold_start_minor`.
    fraud_amount_min_history: int = Field(default=5, ge=2, le=50)
    fraud_amount_z_threshold: float = Field(default=3.0, gt=0)
    fraud_amount_min_spread: float = Field(default=0.3, gt=0)
    fraud_amount_max_spread: float = Field(default=0.7, gt=0)
    fraud_amount_creditor_multiple: float = Field(default=6.0, ge=1)
    fraud_amount_points: int = Field(default=60, ge=0, le=100)  # to a creditor paid before
    fraud_amount_new_creditor_points: int = Field(default=30, ge=0, le=100)  # to one never paid
    fraud_amount_cold_start_minor: int = Field(default=150_000, ge=0)
    fraud_amount_cold_start_points: int = Field(default=35, ge=0, le=100)
    # new_payee_large_amount: a creditor never paid before, at least `minor` and `median_multiple` times the median.
    fraud_new_payee_amount_minor: int = Field(default=20_000, ge=0)
    fraud_new_payee_median_multiple: float = Field(default=4.0, ge=0)
    fraud_new_payee_points: int = Field(default=35, ge=0, le=100)
    # payee_cooling_off: the first payment to a saved payee still in its cooling-off.
    fraud_cooling_off_points: int = Field(default=20, ge=0, le=100)
    # unusual_hour: no settled payment of the customer's (with `min_history` of them) within an hour either side of
    # this one's Europe/London hour; more when the amount is `large_multiple` times their median or more.
    fraud_unusual_hour_min_history: int = Field(default=8, ge=1)
    fraud_unusual_hour_points: int = Field(default=30, ge=0, le=100)
    fraud_unusual_hour_large_multiple: float = Field(default=2.5, ge=1)
    fraud_unusual_hour_large_points: int = Field(default=30, ge=0, le=100)
    # new_device: the payment's session was signed in from a device the customer had not used before; more when it
    # pays a creditor never paid, `new_creditor_multiple` times their median or more.
    fraud_new_device_points: int = Field(default=25, ge=0, le=100)
    fraud_new_device_new_creditor_multiple: float = Field(default=2.0, ge=0)
    fraud_new_device_new_creditor_points: int = Field(default=35, ge=0, le=100)
    # impossible_travel: two sign-ins (or a sign-in and the payment's session) further apart than `min_distance_km`
    # between countries' centres, faster than `max_speed_kmh`.
    fraud_travel_max_speed_kmh: float = Field(default=900.0, gt=0)
    fraud_travel_min_distance_km: float = Field(default=500.0, ge=0)
    fraud_travel_points: int = Field(default=60, ge=0, le=100)
    # account_takeover: a password or TOTP change and a new payee within the window before a payment of at least
    # `min_amount_minor`.
    fraud_takeover_window_s: int = Field(default=86_400, gt=0, le=30 * 86_400)
    fraud_takeover_min_amount_minor: int = Field(default=10_000, ge=0)
    fraud_takeover_points: int = Field(default=70, ge=0, le=100)
    # round_amount_burst: at least `min_count` payments of whole multiples of `unit_minor` within the window.
    fraud_round_unit_minor: int = Field(default=10_000, gt=0)
    fraud_round_burst_window_s: int = Field(default=3_600, gt=0, le=86_400)
    fraud_round_burst_min_count: int = Field(default=3, ge=2)
    fraud_round_burst_points: int = Field(default=45, ge=0, le=100)
    # mule_account: the creditor is on the analysts' mule list (enough alone to block).
    fraud_mule_points: int = Field(default=100, ge=0, le=100)
    # Sign-ins: a device new to the customer, a country not seen in `sign_in_history_days`, impossible travel.
    fraud_sign_in_new_device_points: int = Field(default=35, ge=0, le=100)
    fraud_sign_in_new_country_points: int = Field(default=25, ge=0, le=100)
    fraud_sign_in_travel_points: int = Field(default=60, ge=0, le=100)
    fraud_sign_in_history_days: int = Field(default=90, ge=1, le=3_650)  # sign-ins kept, and looked back on
    fraud_attempts_retention_s: int = Field(default=7 * 86_400, ge=86_400)  # payment attempts kept this long
    # (fraud rules settings end)
    # Payments held for a fraud review wait this long for the customer's confirmation (step-up SCA) or an
    # analyst's release or rejection; then they are rejected and their funds released.
    fraud_review_window_s: int = Field(default=259_200, gt=0)
    # An alert resolved as a false positive allow-lists the customer's payees on it for this many days.
    fraud_false_positive_allow_days: int = Field(default=180, ge=1, le=3_650)
    # (fraud alerts settings end)
    # The durable scheduler (obank.scheduler).
    scheduler_enabled: bool = True  # `obank serve` and `obank worker` run the scheduler loop
    scheduler_tick_max_s: float = Field(default=15.0, gt=0, le=300)  # longest sleep between looks for work
    scheduler_heartbeat_s: float = Field(default=10.0, gt=0)  # a running run's claim is refreshed this often
    scheduler_stale_after_s: float = Field(default=60.0, gt=0)  # ...and taken over when older (>= 3 heartbeats)
    scheduler_max_attempts: int = Field(default=3, ge=1, le=20)  # a failing run is tried this often, then FAILED
    scheduler_retry_backoff_s: float = Field(default=30.0, ge=0)  # the first retry's delay, doubled for each next
    scheduler_concurrency: int = Field(default=4, ge=1, le=32)  # runs one process executes at once
    scheduler_retention_days: int = Field(default=30, ge=1)  # finished runs are purged after this
    scheduler_frequent_interval_s: int = Field(default=60, ge=1)  # hold expiry, consent lapses, deny-list purge
    # (scheduler settings end)
    # Webhooks for integrators (notifications.webhooks).
    # Endpoints must be https on public addresses; true also admits private, loopback and link-local ones (a
    # bank's receivers on its own network, tests). `webhooks_ca_file` adds CAs trusted for receivers' certificates.
    webhooks_allow_private_networks: bool = False
    webhooks_ca_file: Path | None = None
    webhooks_delivery_enabled: bool = True  # `obank serve` and `obank worker` run the delivery loop
    webhooks_connect_timeout_s: float = Field(default=5.0, gt=0, le=60)
    webhooks_timeout_s: float = Field(default=15.0, gt=0, le=120)  # a whole attempt: connect, send, answer
    # A claimed message goes back to any process this long after its claim (a killed process's): longer than
    # an attempt may take.
    webhooks_lease_s: float = Field(default=60.0, gt=0, le=3600)
    # The waits after each failed attempt (Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each spread
    # by +-`webhooks_retry_jitter` of itself; after the last the message is dead-lettered.
    webhooks_retry_schedule_s: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0], min_length=0, max_length=20
    )
    webhooks_retry_jitter: float = Field(default=0.1, ge=0, le=0.5)
    webhooks_concurrency: int = Field(default=64, ge=1, le=1024)  # requests in flight per process
    webhooks_endpoint_concurrency: int = Field(default=8, ge=1, le=128)  # ...to one endpoint
    webhooks_poll_interval_s: float = Field(default=1.0, gt=0, le=60)  # new messages also wake it at commit
    webhooks_secret_overlap_s: int = Field(default=86_400, ge=0, le=30 * 86_400)  # a rotated secret still signs
    webhooks_retention_days: int = Field(default=30, ge=1)  # delivered, dead and cancelled messages are purged
    # (webhooks settings end)
    # Customer notifications: email, SMS, push (notifications.customers).
    # Email goes to this SMTP server ("starttls" on 587, "tls" on 465, "none" for a relay on a trusted network);
    # unset outside production, to a local SMTP sink on 127.0.0.1:`mail_sink_port` that keeps what it receives
    # (`obank mail`, /dev/mail). SMS and push go to JSON lines files under `data_dir`/notifications.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_from: str = "obank <no-reply@obank.localhost>"
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)
    mail_sink_port: int = Field(default=8025, ge=0, le=65_535)  # 0: any free port
    # The sender: how often it looks for due messages, how many it sends at once, how long a claim lasts, how
    # often a message is tried (the first retry after `notifications_retry_backoff_s`, doubling) before FAILED.
    notifications_interval_s: float = Field(default=1.0, gt=0)
    notifications_batch_size: int = Field(default=20, ge=1, le=500)
    notifications_lease_s: float = Field(default=120.0, gt=0)
    notifications_max_attempts: int = Field(default=5, ge=1, le=20)
    notifications_retry_backoff_s: float = Field(default=30.0, ge=0)
    # Customers hear of an Open Banking consent ending this many days before its ExpirationDateTime.
    notifications_consent_expiry_notice_days: int = Field(default=7, ge=1, le=90)
    # (customer notifications settings end)
    # Open Banking event notifications for TPPs (open_banking.events). Callbacks are POSTed by a loop in every
    # `obank serve` and `obank worker` process (off: `event_notifications_delivery_enabled=false`), each SET tried
    # `event_notifications_attempts` times, waiting `event_notifications_backoff_s` doubled after each failure;
    # then it stays for the TPP's aggregated polling. The TPP's endpoint is trusted by the system's CAs, or by
    # `event_notifications_ca_file` (the trust anchor the bank accepts for TPPs' servers). Callback URLs must be
    # https on a non-loopback host unless `event_notifications_allow_loopback` (tests, local development).
    event_notifications_delivery_enabled: bool = True
    event_notifications_attempts: int = Field(default=5, ge=1, le=20)
    event_notifications_backoff_s: float = Field(default=30.0, ge=0)
    event_notifications_timeout_s: float = Field(default=10.0, gt=0, le=60)
    event_notifications_lease_s: float = Field(default=60.0, gt=0)  # a dead process's claim is taken over after this
    event_notifications_poll_interval_s: float = Field(default=2.0, gt=0)  # the loop's look for due deliveries
    event_notifications_ca_file: Path | None = None
    event_notifications_allow_loopback: bool = False
    event_notifications_max_events: int = Field(default=100, ge=1, le=1000)  # at most this many SETs per poll
    # x-fapi-financial-id on callbacks: the bank's organisation id in the trust anchor's directory.
    event_notifications_financial_id: str = Field(default="obank", min_length=1, max_length=40)

    @field_validator("event_notifications_allow_loopback")
    @classmethod
    def _callbacks_to_the_bank_itself_never_in_production(cls, allowed: bool, info: ValidationInfo) -> bool:
        if allowed and info.data.get("env") == "production":
            raise ValueError("callbacks to loopback and private addresses are for tests and development only")
        return allowed

    # (event notifications settings end)
    # The simulated Faster Payments scheme runs inside the bank's processes unless it has its own
    # (`obank scheme run`, as compose.yaml deploys it).
    scheme_embedded: bool = True
    outbox_batch_size: int = 100
    # (home and secrets settings)
    # Settings from files, for container secrets: any `OBANK_<NAME>_FILE=/path` (the file's content, its trailing
    # newline stripped; setting both OBANK_<NAME> and OBANK_<NAME>_FILE is refused), and a directory of files
    # named like the variables (`OBANK_ENCRYPTION_KEYS`, any case), below variables and `_FILE`s in precedence.
    secrets_dir: Path | None = None
    # The public JWK Set (JSON) of the gateways' internal signing keys: what core_banking and open_banking verify
    # internal assertions with (public keys only). Unset: the public half of `internal_signing_key`.
    internal_verification_keys: str | None = Field(default=None, repr=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then variables, then `OBANK_<NAME>_FILE`s, then files in `OBANK_SECRETS_DIR`."""
        secrets = secrets_directory_source(settings_cls)
        sources = (init_settings, env_settings, FileVariablesSource(settings_cls), dotenv_settings)
        return (*sources, secrets) if secrets is not None else sources

    @field_validator("home")
    @classmethod
    def _home_is_absolute(cls, home: Path) -> Path:
        return home.expanduser().absolute()

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"unknown log level; use one of {', '.join(LOG_LEVELS)}")
        return level.upper()

    @field_validator("internal_signing_key")
    @classmethod
    def _signing_key_is_well_formed(cls, value: str | None) -> str | None:
        if value is not None:
            parse_signing_key(value)
        return value

    @field_validator("internal_verification_keys")
    @classmethod
    def _verification_keys_are_public(cls, value: str | None) -> str | None:
        if value is not None:
            parse_verification_keys(value)
        return value

    # (home and secrets settings end)
    # (deployment settings)
    # Database roles: `obank migrate` connects as the owner role (unset: the role of OBANK_DATABASE_URL) and grants
    # the service role of OBANK_DATABASE_URL reading and writing, never DDL. `obank serve`/`worker` migrate at start
    # only when `migrate_on_start` (unset: only on the embedded database); otherwise they refuse a schema not at head.
    migration_database_url: str | None = Field(default=None, repr=False)
    migrate_on_start: bool | None = None
    # The TLS-terminating load balancers in front of the gateways (CIDRs, as a JSON list or comma-separated): only
    # a request from these addresses may carry the client's certificate (RFC 9440 `Client-Cert`) and its address
    # (`X-Forwarded-For`); from anyone else those headers are refused. Set, a gateway (or `--role all`) without
    # certificate files serves plain HTTP to them on the internal network.
    trusted_proxy_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_proxy_networks", mode="before")
    @classmethod
    def _proxy_networks_are_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.lstrip().startswith("[") else [p for p in value.split(",") if p.strip()]
        if not isinstance(value, list):
            return value  # pydantic names the type error
        # strict: `10.0.0.1/8` (host bits set) is a typo, not a network; refuse it rather than guess.
        return [str(ipaddress.ip_network(str(network).strip(), strict=True)) for network in value]

    # (deployment settings end)
    # (observability settings)
    # Logs: `console` (readable), `json` (one object a line), or `auto`: console on a terminal, JSON otherwise.
    log_format: Literal["auto", "console", "json"] = "auto"
    # Traces: off unless an OTLP/HTTP collector is named here (e.g. http://collector:4318) or by the standard
    # OTEL_EXPORTER_OTLP_ENDPOINT; each process exports its spans as service `obank-<role>`.
    otlp_endpoint: str | None = None
    # `obank worker` and `obank scheme run` serve /metrics on this address (no port: not at all); `obank serve`
    # answers /metrics on its own port. Either way only to `metrics_allowed_networks`.
    metrics_port: int | None = Field(default=None, ge=0, le=65_535)
    metrics_host: str = "127.0.0.1"
    # Database gauges (outbox and consumer lag) are recomputed at most this often, whatever the scrape rate.
    metrics_cache_s: float = Field(default=5.0, ge=0, le=300)
    # /readyz: how long each dependency (database, Redis, Kafka) may take to answer.
    readiness_timeout_s: float = Field(default=2.0, gt=0, le=30)
    # (observability settings end)

    @field_validator("encryption_keys")
    @classmethod
    def _keys_are_well_formed(cls, value: str | None) -> str | None:
        if value is not None:
            parse_key_map(value)
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def public_base_url(self) -> str:
        """The issuer and base of every advertised URL."""
        if self.issuer:
            return self.issuer.rstrip("/")
        return f"https://{self.host}:{self.port}"

    def check_production_ready(self, process: ProcessKind = "serve") -> None:
        """Refuse development defaults in production, naming every missing setting of `process` at once.

        `serve` needs what its role needs; `worker` (consumers, jobs, deliveries) the shared stores, the keys
        to read sealed data, the public address its messages name and SMTP; `scheme` the database and Kafka;
        `migrate` only a database.
        """
        if not self.is_production:
            return
        if process != "serve":
            problems = self._production_problems_of(process)
            if problems:
                raise ProductionSettingsError(problems)
            return
        problems = self._missing_infrastructure(database=True, redis=True, kafka=True, keys=True)
        public = self.role not in INTERNAL_ROLES  # a service alone is internal: no certificate of its own
        # Gateways sign internal assertions; so does open_banking alone when it calls core_banking over HTTP. The
        # services alone verify them with the public keys only (`obank keys generate` prints both).
        if (public or self.upstream_core_banking_url) and not self.internal_signing_key:
            problems.append("OBANK_INTERNAL_SIGNING_KEY (generated development keys are refused)")
        if not public and not self.internal_verification_keys:
            problems.append("OBANK_INTERNAL_VERIFICATION_KEYS (the gateways' public JWK Set: `obank keys generate`)")
        # open_banking writes absolute links to its resources (OB "Links"): it must know the public address.
        if (public or self.role == "open_banking") and not self.issuer:
            problems.append("OBANK_ISSUER (the public https address clients reach)")
        # Behind a trusted TLS-terminating proxy the gateway may serve plain HTTP: the proxy holds the certificate.
        if public and not self.trusted_proxy_networks and (not self.tls_cert_file or not self.tls_key_file):
            problems.append("OBANK_TLS_CERT_FILE and OBANK_TLS_KEY_FILE (development certificates are refused)")
        if self.role in ("all", "core_banking") and not self.smtp_host:  # the roles that send customer email
            problems.append("OBANK_SMTP_HOST (customer email; the local mail sink is for development only)")
        if problems:
            raise ProductionSettingsError(problems)

    def _production_problems_of(self, process: ProcessKind) -> list[str]:
        """What a process other than `obank serve` misses in production."""
        if process == "migrate":
            has_owner_url = self.migration_database_url is not None
            return self._missing_infrastructure(database=not has_owner_url, redis=False, kafka=False, keys=False)
        if process == "scheme":
            return self._missing_infrastructure(database=True, redis=False, kafka=True, keys=False)
        problems = self._missing_infrastructure(database=True, redis=True, kafka=True, keys=True)
        if not self.issuer:  # event notifications and messages name the bank's public address
            problems.append("OBANK_ISSUER (the public https address clients reach)")
        if not self.smtp_host:
            problems.append("OBANK_SMTP_HOST (customer email; the local mail sink is for development only)")
        return problems

    def _missing_infrastructure(self, *, database: bool, redis: bool, kafka: bool, keys: bool) -> list[str]:
        """The shared stores and encryption keys a production process needs, of those asked for, that are unset."""
        problems: list[str] = []
        if database and not self.database_url:
            problems.append("OBANK_DATABASE_URL (the embedded database is for development only)")
        if redis and not self.redis_url:
            problems.append("OBANK_REDIS_URL (in-memory stores are per process; production needs Redis)")
        if kafka and not self.kafka_bootstrap_servers:
            problems.append("OBANK_KAFKA_BOOTSTRAP_SERVERS (in-process event dispatch is for development only)")
        if keys and not self.encryption_keys:
            problems.append("OBANK_ENCRYPTION_KEYS (generated development keys are refused)")
        elif keys and not self.active_encryption_key_id:
            problems.append("OBANK_ACTIVE_ENCRYPTION_KEY_ID (which of OBANK_ENCRYPTION_KEYS wraps new data)")
        elif keys and self.active_encryption_key_id not in parse_key_map(self.encryption_keys or "{}"):
            problems.append("OBANK_ACTIVE_ENCRYPTION_KEY_ID (names no key in OBANK_ENCRYPTION_KEYS)")
        return problems


# What a process is, for the settings it needs in production (`Settings.check_production_ready`).
ProcessKind = Literal["serve", "worker", "scheme", "migrate"]


def parse_key_map(raw: str) -> dict[str, bytes]:
    """Decode `{"key_id": "base64"}` into 32-byte keys, refusing anything else."""
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError("encryption keys must be a JSON object of key id to base64 key") from exc
    if not isinstance(decoded, dict) or not decoded:
        raise ValueError("encryption keys must be a non-empty JSON object of key id to base64 key")
    keys: dict[str, bytes] = {}
    for key_id, encoded in decoded.items():
        try:
            key = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"encryption key {key_id!r} is not valid base64") from exc
        if len(key) != 32:
            raise ValueError(f"encryption key {key_id!r} must be 32 bytes (AES-256)")
        keys[str(key_id)] = key
    return keys


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
