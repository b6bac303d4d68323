"""Co-browse settings: defaults from the environment, overridden by settings.COBROWSE
(docs/cobrowse.md, "For operators")."""

from typing import Any

from django.conf import settings

from config.env import env_int, env_list

DEFAULTS: dict[str, Any] = {
    # The customer has this long to Allow or Decline; no answer tells the CSR.
    "CONSENT_TIMEOUT_SECONDS": env_int("COBROWSE_CONSENT_TIMEOUT_SECONDS", 60),
    # A session whose customer page sent nothing for this long ends ("idle").
    "IDLE_SECONDS": env_int("COBROWSE_IDLE_SECONDS", 300),
    # A session with no CSR viewer connected for this long ends ("panel closed"): a
    # reload or a short network loss reconnects well within it.
    "VIEWER_GRACE_SECONDS": env_int("COBROWSE_VIEWER_GRACE_SECONDS", 30),
    # The largest full snapshot (the whole page, one frame) and the largest frame of
    # incremental events, in bytes of JSON. daphne refuses WebSocket messages over 1 MiB
    # unless started with a larger --websocket_max_message_size.
    "MAX_SNAPSHOT_BYTES": env_int("COBROWSE_MAX_SNAPSHOT_BYTES", 1_000_000),
    "MAX_FRAME_BYTES": env_int("COBROWSE_MAX_FRAME_BYTES", 256_000),
    # Event frames a session's customer page may send per 10 seconds (the recorder
    # sends at most one every 50 ms, so about 200 while the customer is busy).
    "FRAMES_PER_10_SECONDS": env_int("COBROWSE_FRAMES_PER_10_SECONDS", 300),
    # Kept in Redis for a viewer who (re)connects: the last full snapshot and the events
    # since. Past this many bytes the customer's page is asked for a new full snapshot.
    "MAX_BACKLOG_BYTES": env_int("COBROWSE_MAX_BACKLOG_BYTES", 4_000_000),
    # Pointer and highlight frames a viewer may send per second.
    "POINTER_PER_SECOND": env_int("COBROWSE_POINTER_PER_SECOND", 30),
    # Prefix of the Redis keys that hold running sessions' pages (cobrowse.stream).
    "REDIS_PREFIX": "cobrowse",
    # Origins of host websites whose images, fonts and stylesheets the CSR's viewer may
    # load (the portal's own origin always can), e.g. "https://www.example.com".
    "HOST_ORIGINS": env_list("COBROWSE_HOST_ORIGINS", []),
}


def cobrowse_setting(name: str) -> Any:
    """One co-browse setting: settings.COBROWSE[name] when set, else the default."""
    overrides = getattr(settings, "COBROWSE", {}) or {}
    return overrides.get(name, DEFAULTS[name])
