"""The console's configuration model (YAML, validated at start)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings, StrictModel
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.site import load_site
from bldgwatch.maintenance.config import AttachmentSettings

DEV_NOT_LOOPBACK = (
    "dev mode serves a built-in secret and a known admin password: it listens only on a "
    "loopback address (127.0.0.1, ::1 or localhost), not {host!r}; set dev: false (with "
    "BLDGWATCH_SECRET) to listen on other addresses"
)
PROXY_WIDEST = {4: 16, 6: 48}
"""The widest trusted proxy network (prefix length by IP version): a proxy is one address or
a small network of the operator's, never half the internet."""
IPV4_CARRIERS = tuple(
    ipaddress.IPv6Network(net)
    for net in ("::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)
"""IPv6 ranges whose addresses carry an IPv4 address in their last 32 bits (IPv4-mapped, as a
dual-stack socket on `::` sees every IPv4 client; IPv4-translated; NAT64's well-known and
local-use prefixes): such a network is judged by the IPv4 network it carries."""


def proxy_problem(item: str) -> str | None:
    """Why `item` may not be a trusted proxy (None: it may): not an address or network, a
    network wider than PROXY_WIDEST, or one outside the private, loopback and link-local
    ranges. Every client in a trusted network can name any address of its own in
    X-Forwarded-For, and the login and connection limits would count nothing (review 21d L1);
    an IPv4-mapped or translated IPv6 network is judged by the IPv4 network it carries
    (`::ffff:0:0/96` is every IPv4 client: review 21f L-a). The one rule of `bldgwatch
    install --trusted-proxy` and of the console's `http.trusted_proxies`."""
    try:
        net: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.ip_network(
            item, strict=False
        )
    except ValueError:
        return "not an IP address or network (e.g. 172.30.80.1 or 10.0.0.0/24)"
    widest = PROXY_WIDEST[net.version]
    if net.prefixlen < widest:
        return (
            f"a network wider than /{widest} is refused: every client in it could name any "
            "address in X-Forwarded-For and the login limits would count nothing; give the "
            "reverse proxy's own address (e.g. 172.30.80.1)"
        )
    if isinstance(net, ipaddress.IPv6Network) and any(net.overlaps(c) for c in IPV4_CARRIERS):
        if net.prefixlen < 96:
            return (
                "a network holding IPv4-mapped or translated addresses (every IPv4 client of "
                "a dual-stack listener) is refused; give the reverse proxy's own address "
                "(e.g. 172.30.80.1)"
            )
        carried = ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
        problem = proxy_problem(str(carried))
        return None if problem is None else f"carries the IPv4 network {carried}: {problem}"
    if not (net.is_private or net.is_loopback or net.is_link_local):
        return (
            "not a private, loopback or link-local address: a reverse proxy in front of the "
            "console is on the same host or network; give its address there (e.g. 127.0.0.1 "
            "or 172.30.80.1)"
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpSettings(StrictModel):
    """Where the console listens, whom it believes about client addresses, and how much a
    request may carry."""

    host: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 for all interfaces.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the API and dashboard.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (IP addresses or networks) whose X-Forwarded-For and "
        "X-Forwarded-Proto headers name the client; from anyone else they are ignored. "
        "Empty (the default): the TCP peer is the client, loopback included.",
    )
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        description="Largest request body accepted (declared or streamed); larger: 413. "
        "Attachment uploads may be as large as `attachments.max_bytes` instead.",
    )
    max_json_depth: int = Field(
        32, ge=4, le=512, description="Deepest nesting of a JSON request body; deeper: 400."
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a connection may take to send a complete request head (after it "
        "opens, or after the previous response); slower: closed.",
    )
    body_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a request body may pause (after its head, or between two of its "
        "chunks) before the request is answered 408 and its connection closed.",
    )
    max_connections: int = Field(
        1000,
        ge=8,
        le=1_000_000,
        description="Most connections served at once, live streams included (lowered to "
        "stay 64 below the open-files limit); at the cap the oldest connections still "
        "waiting for a request head are closed, and a request or stream beyond it gets 503.",
    )
    max_connections_per_address: int = Field(
        64,
        ge=1,
        le=100_000,
        description="Most connections one client address (an IPv6 client: its /64) may hold "
        "(trusted proxies exempt); beyond: 503 and closed.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            problem = proxy_problem(item)
            if problem is not None:
                raise ValueError(f"{item!r}: {problem}")
        return value


class SecuritySettings(StrictModel):
    """Token lifetimes and login rate limits. The signing secret comes from the environment
    variable `BLDGWATCH_SECRET` (at least 32 bytes), never from this file."""

    access_ttl_s: int = Field(900, ge=30, le=86400, description="Lifetime of an access token.")
    refresh_ttl_s: int = Field(
        7 * 86400, ge=60, le=90 * 86400, description="Lifetime of a refresh token."
    )
    login_attempts: int = Field(
        5,
        ge=1,
        le=100,
        description="Failed logins per user and address before each further try must wait "
        "(1 s, 2 s, 4 s, … up to `login_max_delay_s`).",
    )
    login_window_s: int = Field(
        300, ge=1, le=86400, description="How long a failed login counts, seconds."
    )
    login_max_delay_s: int = Field(
        60, ge=1, le=3600, description="Longest wait between tries of one user name."
    )
    address_attempts: int = Field(
        30,
        ge=1,
        le=10_000,
        description="Failed logins from one client address (any user names) in the window, "
        "then that address waits until the oldest expires (429).",
    )
    account_attempts: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Failed logins of one user name from all addresses in the window before "
        "tries from addresses the user has not logged in from must wait, progressively.",
    )
    hash_concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="Password hashes (argon2id, 64 MiB each) computed at once; bounds memory. "
        "One hash already runs 4 lanes in parallel, so 1 suits a 2-core machine.",
    )
    hash_queue: int = Field(
        32,
        ge=0,
        le=10_000,
        description="Logins waiting for a hash slot; beyond that 503 with Retry-After.",
    )
    dev_admin_password: str = Field(
        "bldgwatch-dev",
        min_length=8,
        description="Dev mode only: password of the `admin` user created at start.",
    )


class LiveSettings(StrictModel):
    """The live event stream (`/api/live`)."""

    buffer: int = Field(
        2000, ge=10, le=1_000_000, description="Events kept for clients that reconnect."
    )
    client_queue: int = Field(
        1000, ge=10, le=100_000, description="Events queued per slow client before it is cut off."
    )
    stale_after_s: float = Field(
        30.0,
        ge=2,
        le=3600,
        description="Data counts as live while the newest reading of the reader's sites came "
        "within this; the header says 'not live' after it (and at once when the console's "
        "broker connection is down).",
    )
    device_silent_after_s: float = Field(
        120.0,
        ge=2,
        le=86400,
        description="A device whose newest reading is older than this shows as silent; keep "
        "it above the gateways' report-by-exception maximum for that device.",
    )
    max_streams_per_user: int = Field(
        8,
        ge=1,
        le=1000,
        description="Live streams one user (or API token) may hold open at once; one more is "
        "accepted and closed at once with code 4429 and the reason (a browser can read that, "
        "not a refused handshake's body).",
    )
    heartbeat_s: float = Field(
        2.0,
        ge=0.5,
        le=60,
        description="The live stream sends its liveness this often; a client that hears "
        "nothing for three of these knows the stream itself is gone.",
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits,
        description="Size, nesting and number limits of the broker messages the stream relays.",
    )
    session_check_s: float = Field(
        30.0,
        ge=0.05,
        le=3600,
        description="How often an open stream re-checks its session or API token (and at once "
        "when this console revokes one; streams on one token share a look-up made within the "
        "last second, or a tenth of this, and since the last revocation); the stream closes "
        "with code 4401 when it has ended.",
    )


class ServiceDeskSettings(StrictModel):
    """Public repair requests (报修) from the QR pages: abuse limits and the photo."""

    pow_difficulty: int = Field(
        14,
        ge=0,
        le=26,
        description="Proof of work: leading zero bits of SHA-256 a browser must find before "
        "a request is taken (each bit doubles the work; 14 ≈ 16,000 hashes, a second or two "
        "on a phone); 0 turns it off.",
    )
    pow_ttl_s: int = Field(
        600, ge=30, le=86400, description="How long a handed-out challenge stays valid."
    )
    window_s: int = Field(
        3600, ge=1, le=86400, description="Sliding window of the request limits below."
    )
    address_requests: int = Field(
        10,
        ge=1,
        le=10000,
        description="Requests one client address may send in the window (every try counts; an "
        "IPv6 /64 counts as one address; households behind one carrier-grade NAT share one).",
    )
    code_requests: int = Field(
        30,
        ge=1,
        le=100000,
        description="Requests one request point (QR code) may take in the window; only stored "
        "requests count, so refused ones cannot block a code for its real users.",
    )
    max_description_chars: int = Field(
        2000, ge=10, le=20000, description="Longest description accepted."
    )
    max_photo_bytes: int = Field(
        5 * 1024 * 1024, gt=0, le=50 * 1024 * 1024, description="Largest photo accepted."
    )
    public_url: str | None = Field(
        None,
        max_length=200,
        description="Base URL at which owners' phones reach the console (e.g. "
        "https://repair.example.com): the QR codes on the printed sheet point there. Default: "
        "the address the desk's browser used, which is right only when that address is also "
        "reachable from the street (not 127.0.0.1 or an office-only name).",
    )

    follow_up_within_hours: int = Field(
        72,
        ge=1,
        le=720,
        description="The follow-up (回访) of a resolved repair is due this many hours after "
        "the resolution: the desk's follow-up list shows the due time and what is overdue.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError("public_url must be an http:// or https:// URL without spaces")
        return value.rstrip("/")


class ConsoleConfig(StrictModel):
    """Config of `bldgwatch console`: HTTP listener, relational store, InfluxDB, broker."""

    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP listener.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="Relational store with alarms, assets, work orders and the console's "
        "users (migrated at start).",
    )
    influx: InfluxSettings = Field(
        default_factory=InfluxSettings, description="InfluxDB holding the readings."
    )
    mqtt: MqttSettings | None = Field(
        None,
        description="Broker the live stream listens to (alarm, work-order and gateway-status "
        "topics); the console publishes nothing. Without it the live stream stays empty.",
    )
    security: SecuritySettings = Field(
        default_factory=SecuritySettings, description="Tokens and login limits."
    )
    live: LiveSettings = Field(default_factory=LiveSettings, description="Live event stream.")
    site_files: list[Path] = Field(
        default_factory=list,
        description="The site register (the site YAML files ingest and rules load): the live "
        "stream and data freshness take a gateway's readings and status only for equipment "
        "the register gives that gateway. Without it only the broker's ACL binds a gateway.",
    )
    attachments: AttachmentSettings = Field(
        default_factory=AttachmentSettings,
        description="Where photos and documents of work orders are kept (the console "
        "receives and serves them), with size and type limits.",
    )
    service_desk: ServiceDeskSettings = Field(
        default_factory=ServiceDeskSettings,
        description="Public repair requests from the QR pages: proof of work, limits, photo size.",
    )
    gateway_keys_dir: Path | None = Field(
        None,
        description="Folder of the gateways' fleet keys, `{site}/{gateway}.key` (mode 0600; "
        "the same key as the gateway's fleet.key_file, made by `bldgwatch gateway-key`): "
        "configurations pushed from the console are signed with it. Without it a push "
        "answers 503.",
    )
    gateway_profiles_dir: Path | None = Field(
        None,
        description="Site device profiles (besides the built-in ones) that pushed gateway "
        "configurations are checked against: a copy of the folder the gateways have as "
        "their `profiles_dir` (a push names no folder: it is the install's).",
    )
    alerts_key_file: Path | None = Field(
        None,
        description="The alerts key file (the alerts service's `key_file`; the "
        "BLDGWATCH_ALERTS_KEY environment variable wins): channel secrets set in the console "
        "are sealed with it and acknowledge links checked. Without it those answer 503.",
    )
    dev: bool = Field(
        False,
        description="Development mode: a built-in signing secret is allowed and an `admin` "
        "user (password `security.dev_admin_password`) is created at start. Outside dev, "
        "BLDGWATCH_SECRET must be set to a strong secret. Dev mode listens only on loopback.",
    )

    @field_validator("site_files")
    @classmethod
    def _check_site_files(cls, value: list[Path]) -> list[Path]:
        for path in value:
            try:
                load_site(path)
            except ConfigError as err:
                raise ValueError(str(err)) from err
        return value

    @model_validator(mode="after")
    def _dev_only_on_loopback(self) -> ConsoleConfig:
        if self.dev and not is_loopback(self.http.host):
            raise ValueError(f"http.host: {DEV_NOT_LOOPBACK.format(host=self.http.host)}")
        return self
