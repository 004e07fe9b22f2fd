"""Settings for the marketing dashboard.

Everything comes from environment variables with defaults that run on one
machine with no services: SQLite, Celery's file-system broker and an email
backend that writes each mail into a local outbox. Production sets
DATABASE_URL, CELERY_BROKER_URL and an anymail ESP.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from marketing_site.secret_key import is_local_site, local_secret_key, secret_key_check

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_domain_rates(name: str, default: str) -> dict[str, int]:
    """ "gmail.com=20,outlook.com=10" -> {"gmail.com": 20, "outlook.com": 10}."""
    rates = {}
    for entry in env_list(name, default):
        domain, _, rate = entry.partition("=")
        domain = domain.strip().lower()
        rates[domain] = int(rate) if rate.strip().isdecimal() and rate.isascii() else 0
        if not domain or "@" in domain or rates[domain] < 1:
            raise ImproperlyConfigured(
                f"{name} must be domain=messages_per_second pairs separated by commas "
                f"(e.g. gmail.com=20), not {entry!r}"
            )
    return rates


DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Absolute base for every link that leaves the site in a mail.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, not {SITE_URL!r}")
SITE_IS_HTTPS = SITE_URL.startswith("https://")

# The key signs sessions and every recipient token. A site others can reach
# needs SECRET_KEY set, strong and the same on every machine; only a local run
# (SITE_URL on 127.0.0.1/localhost, or DEBUG) may use the key generated into
# VAR_DIR. Old keys stay valid for signatures while listed in
# SECRET_KEY_FALLBACKS (comma-separated), so a key can be rotated.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", "")
if not SECRET_KEY and (DEBUG or is_local_site(SITE_URL)):
    SECRET_KEY = local_secret_key(VAR_DIR)
elif not DEBUG:
    secret_key_check(SECRET_KEY)
    for _fallback in SECRET_KEY_FALLBACKS:
        secret_key_check(_fallback, name="A key in SECRET_KEY_FALLBACKS")

INSTALLED_APPS = [
    "marketing_site",
    "contacts",
    "campaigns",
    "tracking",
    "import_export",
    "django_celery_beat",
    "anymail",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "marketing_site.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # The open pixel and the click skip the staff site's middleware (tracking.middleware).
    "tracking.middleware.RecipientHitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "marketing_site.middleware.ControlCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "marketing_site.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into our answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketing_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketing_site.roles.role_context",
            ],
        },
    },
]

WSGI_APPLICATION = "marketing_site.wsgi.application"

_DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        _DATABASE_URL,
        # A connection per request costs the recipient endpoints most of their
        # time: on PostgreSQL keep it a minute, checked before reuse.
        conn_max_age=env_int(
            "DATABASE_CONN_MAX_AGE", 60 if _DATABASE_URL.startswith("postgres") else 0
        ),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing,
    # and let readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_CACHE_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_CACHE_URL"],
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Login and transport security --------------------------------------------
# The axes backend comes first: it refuses a locked-out account or address
# before any password is checked.
AUTHENTICATION_BACKENDS = [
    "marketing_site.accounts.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins count per username and, apart, per client address; a lockout
# lasts AXES_COOLOFF_MINUTES and is lifted early by a password reset by mail.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The lockout ends 15 minutes after it began, whatever is tried meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "marketing_site.accounts.lockout_response"
# Behind a proxy, the number of proxies that add to X-Forwarded-For; 0 means
# the site is reached directly and REMOTE_ADDR is the client.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0) or None
if AXES_IPWARE_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
# Require a code from an authenticator app of every account (staff pages and admin).
REQUIRE_TWO_FACTOR = env_bool("REQUIRE_TWO_FACTOR", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Mail dashboard")
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 3)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SITE_IS_HTTPS
CSRF_COOKIE_SECURE = SITE_IS_HTTPS
# No page may be framed but the campaign preview, which says so itself.
X_FRAME_OPTIONS = "DENY"
# Served over https, the site says so for a year (HSTS) and redirects http.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SITE_IS_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if SITE_IS_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SITE_IS_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SITE_IS_HTTPS)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it
# from clients), set SECURE_PROXY_SSL_HEADER=1, or the redirect loops.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"

# Every page gets this policy (django-csp): scripts and styles only from our
# own static files. Inline style attributes stay allowed for the progress bars
# and htmx's indicator style; no inline script anywhere. Mail HTML (the
# preview and the recipients' web view) sets its own stricter policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "https:"],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# Request bodies: 2.5 MB of form fields, uploads over 2.5 MB go to a temporary
# file, and spreadsheet imports are refused above IMPORT_MAX_UPLOAD_MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 2000)
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_MB", 20) * 1024 * 1024

# --- Mail -------------------------------------------------------------------
# The default writes each mail as an .eml file; set EMAIL_BACKEND to an anymail
# backend (e.g. anymail.backends.postmark.EmailBackend) or Django's SMTP one.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "marketing_site.outbox.OutboxEmailBackend")
EMAIL_OUTBOX_DIR = Path(env_str("EMAIL_OUTBOX_DIR", str(VAR_DIR / "outbox")))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "shop@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Every ANYMAIL_* variable goes to anymail, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN.
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
# Shown in every marketing mail's footer unless a campaign sets its own.
SENDER_POSTAL_ADDRESS = env_str("SENDER_POSTAL_ADDRESS", "1 Market Street, Springfield")
# Messages claimed and sent over one connection by a worker at a time.
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 200)
# Messages marked "handed over" per UPDATE: a crash leaves at most this many in doubt.
SEND_CHUNK_SIZE = env_int("SEND_CHUNK_SIZE", 50)
# Batch tasks of one send running at once (more workers share a send this way).
SEND_PARALLEL_BATCHES = env_int("SEND_PARALLEL_BATCHES", 4)
# A claim not refreshed for this long belongs to a dead worker (campaigns.ledger).
SEND_CLAIM_STALE_SECONDS = env_int("SEND_CLAIM_STALE_SECONDS", 120)
SEND_RECOVERY_INTERVAL_SECONDS = env_int("SEND_RECOVERY_INTERVAL_SECONDS", 60)
# Temporary errors: back-off base and cap (seconds, exponential with jitter),
# failing batches in a row before the send pauses itself, and tries per message.
SEND_RETRY_BASE_SECONDS = float(env_str("SEND_RETRY_BASE_SECONDS", "5"))
SEND_RETRY_MAX_SECONDS = float(env_str("SEND_RETRY_MAX_SECONDS", "300"))
SEND_RETRY_LIMIT = env_int("SEND_RETRY_LIMIT", 8)
SEND_MESSAGE_MAX_ATTEMPTS = env_int("SEND_MESSAGE_MAX_ATTEMPTS", 5)
# anymail backends whose batches go out as one API call with per-recipient
# merge data (campaigns.transports).
SEND_BATCH_ESPS = env_list("SEND_BATCH_ESPS", "sendgrid")
# Sending limits shared by every worker (campaigns.throttling); 0 means none.
# The monthly quota is the mails the shop's plan allows per calendar month (UTC).
SEND_RATE_PER_SECOND = env_int("SEND_RATE_PER_SECOND", 0)
SEND_RATE_PER_HOUR = env_int("SEND_RATE_PER_HOUR", 0)
SEND_MONTHLY_QUOTA = env_int("SEND_MONTHLY_QUOTA", 0)
if min(SEND_RATE_PER_SECOND, SEND_RATE_PER_HOUR, SEND_MONTHLY_QUOTA) < 0:
    raise ImproperlyConfigured(
        "SEND_RATE_PER_SECOND, SEND_RATE_PER_HOUR and SEND_MONTHLY_QUOTA must be 0 (none) or more"
    )
# Per-second limits per recipient domain, e.g. "gmail.com=20,outlook.com=10".
SEND_DOMAIN_RATES = env_domain_rates("SEND_DOMAIN_RATES", "")

# --- Contacts: engagement tiers (contacts.tiers) -------------------------------
# Days of human opens/clicks that make a contact active; of silence that make
# them inactive and dormant; a contact who never engaged is new this long.
ENGAGEMENT_ACTIVE_DAYS = env_int("ENGAGEMENT_ACTIVE_DAYS", 30)
ENGAGEMENT_INACTIVE_DAYS = env_int("ENGAGEMENT_INACTIVE_DAYS", 90)
ENGAGEMENT_DORMANT_DAYS = env_int("ENGAGEMENT_DORMANT_DAYS", 180)
ENGAGEMENT_NEW_DAYS = env_int("ENGAGEMENT_NEW_DAYS", 30)
if not (
    0 < ENGAGEMENT_ACTIVE_DAYS <= ENGAGEMENT_INACTIVE_DAYS < ENGAGEMENT_DORMANT_DAYS
    and 0 < ENGAGEMENT_NEW_DAYS <= ENGAGEMENT_INACTIVE_DAYS
):
    raise ImproperlyConfigured(
        "Engagement tiers need 0 < ENGAGEMENT_ACTIVE_DAYS <= ENGAGEMENT_INACTIVE_DAYS "
        "< ENGAGEMENT_DORMANT_DAYS and 0 < ENGAGEMENT_NEW_DAYS <= ENGAGEMENT_INACTIVE_DAYS"
    )
# How often the periodic task moves contacts between tiers.
ENGAGEMENT_UPDATE_INTERVAL_SECONDS = env_int("ENGAGEMENT_UPDATE_INTERVAL_SECONDS", 3600)

# --- Celery -----------------------------------------------------------------
# "localhost" only keeps kombu from warning that no host was named.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Put in front of the lane queues' names, so several setups can share a broker.
CELERY_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", "")
# Priority lanes (campaigns.models.Send.Lane): separate queues, so a worker that
# reads only the transactional queue never waits behind a newsletter.
SEND_LANE_QUEUES = {
    lane: f"{CELERY_QUEUE_PREFIX}{lane}" for lane in ("transactional", "automation", "bulk")
}
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged when it finishes, so a dead worker's task runs again;
# the Message ledger makes that re-run safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection around every task
# unless told to reuse it: a send runs thousands of short batch tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Installed into django-celery-beat's tables by the scheduler itself at start.
CELERY_BEAT_SCHEDULE = {
    "recover-stalled-sends": {
        "task": "campaigns.tasks.send_recover_task",
        "schedule": float(SEND_RECOVERY_INTERVAL_SECONDS),
    },
    "update-engagement-tiers": {
        "task": "contacts.tasks.tiers_update_task",
        "schedule": float(ENGAGEMENT_UPDATE_INTERVAL_SECONDS),
    },
    # Campaign composer: scheduled sends and A/B decisions (campaigns.scheduling).
    "run-due-plans": {
        "task": "campaigns.tasks.plans_run_due_task",
        "schedule": float(env_int("PLANS_INTERVAL_SECONDS", 60)),
    },
}
# Automations (campaigns.automations): due steps are made into mails by a
# periodic run; marketing steps due in the contact's quiet hours (local time,
# "21-8": from 21:00 to 08:00; "0-0": none) wait for the morning; an event
# whose mails would be more than AUTOMATION_LATE_HOURS late schedules none.
AUTOMATION_INTERVAL_SECONDS = float(env_str("AUTOMATION_INTERVAL_SECONDS", "30"))
_quiet = env_str("AUTOMATION_QUIET_HOURS", "21-8").split("-")
AUTOMATION_QUIET_HOURS = (int(_quiet[0]) % 24, int(_quiet[-1]) % 24)
AUTOMATION_DEFAULT_TIME_ZONE = env_str("AUTOMATION_DEFAULT_TIME_ZONE", "UTC")
AUTOMATION_LATE_HOURS = env_int("AUTOMATION_LATE_HOURS", 48)
AUTOMATION_MAX_BATCHES_PER_RUN = env_int("AUTOMATION_MAX_BATCHES_PER_RUN", 20)
CELERY_BEAT_SCHEDULE["run-automations"] = {
    "task": "campaigns.tasks.automations_run_task",
    "schedule": AUTOMATION_INTERVAL_SECONDS,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Exports are escaped by the admins' own formats (contacts.resources); this
# is the library's own guard on top.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Tracking and ESP webhooks (tracking/) ------------------------------------------
# Buffered opens and clicks are applied in bulk every few seconds (tracking.facts);
# hits wait TRACKING_SETTLE_SECONDS so a scanner's burst of clicks is judged together.
# A click lands with its token in this query parameter (empty: none), which the
# shop passes back as order.click_token to credit the order to that mail.
CLICK_TOKEN_PARAM = env_str("CLICK_TOKEN_PARAM", "mc")
TRACKING_FLUSH_SECONDS = float(env_str("TRACKING_FLUSH_SECONDS", "5"))
TRACKING_FLUSH_BATCH = env_int("TRACKING_FLUSH_BATCH", 5000)
TRACKING_SETTLE_SECONDS = float(env_str("TRACKING_SETTLE_SECONDS", "10"))
# A hit's INSERT does not wait for its commit to reach the disk (PostgreSQL's
# synchronous_commit off, for that statement only): a crash of the web or worker
# processes loses nothing, a crash of the database server itself can lose the
# hits of its last fraction of a second (3 x wal_writer_delay). 0 waits.
TRACKING_ASYNC_COMMIT = env_bool("TRACKING_ASYNC_COMMIT", True)
# Events kept per message and kind: a replayed pixel stops being stored here.
TRACKING_MAX_HITS_PER_MESSAGE = env_int("TRACKING_MAX_HITS_PER_MESSAGE", 50)
# Machine tells (tracking.machine): a hit this soon after delivery, and clicks on
# this many links (or all of a mail's) within TRACKING_BURST_SECONDS.
TRACKING_TOO_FAST_SECONDS = env_int("TRACKING_TOO_FAST_SECONDS", 10)
TRACKING_BURST_SECONDS = env_int("TRACKING_BURST_SECONDS", 5)
TRACKING_BURST_LINKS = env_int("TRACKING_BURST_LINKS", 3)
TRACKING_NETWORKS_CACHE_SECONDS = env_int("TRACKING_NETWORKS_CACHE_SECONDS", 300)
# Soft bounces in a row after which an address is suppressed.
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 3)
# Deliverability guard (tracking.guard), in per cent of a send's delivered (or
# sent) mail; the rates are judged once a send has GUARD_MIN_MESSAGES.
GUARD_COMPLAINT_WARN_PERCENT = float(env_str("GUARD_COMPLAINT_WARN_PERCENT", "0.1"))
GUARD_COMPLAINT_PAUSE_PERCENT = float(env_str("GUARD_COMPLAINT_PAUSE_PERCENT", "0.3"))
GUARD_BOUNCE_WARN_PERCENT = float(env_str("GUARD_BOUNCE_WARN_PERCENT", "2"))
GUARD_BOUNCE_PAUSE_PERCENT = float(env_str("GUARD_BOUNCE_PAUSE_PERCENT", "5"))
GUARD_MIN_MESSAGES = env_int("GUARD_MIN_MESSAGES", 100)
CELERY_BEAT_SCHEDULE["tracking-flush"] = {
    "task": "tracking.tasks.events_flush_task",
    "schedule": TRACKING_FLUSH_SECONDS,
}
# ESP webhooks (anymail): without ANYMAIL_WEBHOOK_SECRET (and for Mailgun,
# ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY) they refuse every request.
ANYMAIL.setdefault("WEBHOOK_SECRET", "unset:" + secrets.token_urlsafe(24))
ANYMAIL.setdefault("MAILGUN_WEBHOOK_SIGNING_KEY", secrets.token_urlsafe(24))

# --- Consent: signup forms, double opt-in, preference centre (contacts.consent)
# Recipients' pages carry the shop's name and a link back to it.
SHOP_NAME = env_str("SHOP_NAME", "Demo Shop")
SHOP_URL = env_str("SHOP_URL", "https://shop.example.com").rstrip("/")
if not SHOP_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SHOP_URL must start with http:// or https://, not {SHOP_URL!r}")
# A signup not confirmed within this many days is deleted with its link.
SIGNUP_CONFIRM_DAYS = env_int("SIGNUP_CONFIRM_DAYS", 7)
# Signups accepted per client address in the window; the rest get 429.
SIGNUP_RATE_LIMIT = env_int("SIGNUP_RATE_LIMIT", 10)
SIGNUP_RATE_WINDOW_SECONDS = env_int("SIGNUP_RATE_WINDOW_SECONDS", 3600)
# Origins (e.g. https://shop.example.com) whose pages may call the JSON subscribe endpoint.
SIGNUP_CORS_ORIGINS = env_list("SIGNUP_CORS_ORIGINS", SHOP_URL)
if min(SIGNUP_CONFIRM_DAYS, SIGNUP_RATE_LIMIT, SIGNUP_RATE_WINDOW_SECONDS) < 1:
    raise ImproperlyConfigured(
        "SIGNUP_CONFIRM_DAYS, SIGNUP_RATE_LIMIT and SIGNUP_RATE_WINDOW_SECONDS must be 1 or more"
    )
CELERY_BEAT_SCHEDULE["expire-unconfirmed-contacts"] = {
    "task": "contacts.tasks.contacts_expire_unconfirmed_task",
    "schedule": 3600.0,
}

# --- Contact imports and address checks (contacts.importing, contacts.addresses)
# Files up to IMPORT_MAX_FILE_MB are imported in the background; the admin's
# own import form keeps IMPORT_MAX_UPLOAD_MB and hands anything larger to it.
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_MB", 250) * 1024 * 1024
IMPORT_ADMIN_INLINE_MAX_BYTES = env_int("IMPORT_ADMIN_INLINE_MAX_KB", 512) * 1024
IMPORT_DIR = Path(env_str("IMPORT_DIR", str(VAR_DIR / "imports")))
# Threads (each with a database connection) that load checked rows meanwhile.
IMPORT_LOADERS = env_int("IMPORT_LOADERS", 2)

# --- The shop's events API (tracking/shop_api.py) ----------------------------------
# Requests per API key per window (answered 429 beyond), and the largest body.
SHOP_API_RATE_LIMIT = env_int("SHOP_API_RATE_LIMIT", 600)
SHOP_API_RATE_WINDOW_SECONDS = env_int("SHOP_API_RATE_WINDOW_SECONDS", 60)
SHOP_API_MAX_BODY_BYTES = env_int("SHOP_API_MAX_BODY_MB", 10) * 1024 * 1024
# An order is credited to the mail a person clicked in the days before it.
ATTRIBUTION_WINDOW_DAYS = env_int("ATTRIBUTION_WINDOW_DAYS", 5)
# A running import touches its job at every chunk of rows (seconds apart); one
# silent this long lost its worker and is shown as stopped, to be run again.
IMPORT_STALLED_SECONDS = env_int("IMPORT_STALLED_SECONDS", 300)
CELERY_BEAT_SCHEDULE["imports-stalled"] = {
    "task": "contacts.tasks.imports_stalled_mark_task",
    "schedule": 60.0,
}
# An MX (or A) lookup per domain, cached; off for a site only this machine
# reaches (make run, tests) since it needs the network.
ADDRESS_CHECK_DNS = env_bool("ADDRESS_CHECK_DNS", not is_local_site(SITE_URL))
ADDRESS_DNS_TIMEOUT = float(env_int("ADDRESS_DNS_TIMEOUT_MS", 3000)) / 1000

# --- Campaign composer: checklist, test sends, A/B tests, holdout --------------
# The checklist fetches every link of a mail (HEAD, then GET) with this timeout.
# Off by default on a local site (make run, tests: no internet); on elsewhere.
CAMPAIGN_CHECK_LINKS = env_bool("CAMPAIGN_CHECK_LINKS", not is_local_site(SITE_URL))
CAMPAIGN_LINK_TIMEOUT = float(env_str("CAMPAIGN_LINK_TIMEOUT", "5"))
# Links to private or loopback addresses are refused unless this is on (tests).
CAMPAIGN_LINK_CHECK_PRIVATE = env_bool("CAMPAIGN_LINK_CHECK_PRIVATE", False)
# A test send goes to at most this many addresses.
CAMPAIGN_TEST_SEND_MAX = env_int("CAMPAIGN_TEST_SEND_MAX", 5)
# Orders placed this many days after a send count for the holdout's lift.
HOLDOUT_WINDOW_DAYS = env_int("HOLDOUT_WINDOW_DAYS", 14)
