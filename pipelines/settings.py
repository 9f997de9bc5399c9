"""The one place that reads the environment and the optional .env file."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipelines.constants import DEFAULT_LOCK_TIMEOUT_S
from pipelines.errors import MissingSettingError, SettingsError

ENVIRONMENTS = ("local", "dev", "prod")
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One setting, declared once: CHOICES, NUMBERS, ENVIRONMENT_REQUIRES, POD_SETTINGS,
    .env.example (`env_example`) and `manage.py settings` are all read from these fields."""

    name: str
    default: str | None
    help: str
    choices: tuple[str, ...] = ()  # the values it accepts, if a list
    minimum: float | None = None  # a number of at least this, if a number
    pod: bool = False  # sent to flow-run pods (never a secret)
    required_in: tuple[str, ...] = ()  # environments whose runs cannot start without it
    secret: bool = False  # a credential: never printed, never sent to pods
    example: str | None = None  # shown commented out in .env.example when it has no default


# Every key is documented in .env.example; keep the two in step (a test checks it).
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "PIPELINES_ENV",
        "local",
        "Environment: local (no credentials), dev or prod.",
        choices=ENVIRONMENTS,
        pod=True,
    ),
    Setting("PIPELINES_DEFAULT_ORG", "emd", "Org used by manage.py when --org is not given."),
    Setting(
        "PIPELINES_DATA_DIR",
        "./data",
        "Local datalake and DuckDB warehouse directory (local env), relative to the repo.",
    ),
    Setting(
        "PIPELINES_EXECUTOR",
        "local",
        "Executor for run_local: local or local_dask (threads).",
        choices=("local", "local_dask"),
    ),
    Setting(
        "PIPELINES_DASK_ADDRESS",
        None,
        "Address of a Dask scheduler (tcp://host:8786); runs then use DaskExecutor.",
        example="tcp://127.0.0.1:8786",
    ),
    Setting(
        "PIPELINES_DATALAKE_BUCKET",
        None,
        "GCS bucket of the datalake (dev/prod).",
        pod=True,
        required_in=("dev", "prod"),
    ),
    Setting("PIPELINES_FLOWS_BUCKET", None, "GCS bucket where registered flows are stored."),
    Setting("PIPELINES_FLOW_IMAGE", None, "Docker image that runs flows on Kubernetes."),
    Setting(
        "PIPELINES_IMAGE_REPOSITORY",
        None,
        "Image repository CD pushes to; register uses <repo>:deps-<hash> by default.",
        example="ghcr.io/<org>/pipelines",
    ),
    Setting("PIPELINES_DEV_PROJECT", "staging", "Prefect project for development versions."),
    Setting("PIPELINES_PROD_PROJECT", "main", "Prefect project that CD registers into."),
    Setting(
        "PIPELINES_PREFECT_UI_URL",
        "http://prefect-ui.prefect.svc.cluster.local:8080",
        "Base URL of the Prefect UI, used in printed links.",
        pod=True,
    ),
    Setting(
        "PIPELINES_FAILURE_WEBHOOK_URL",
        None,
        "Discord/Slack-compatible webhook that receives failed-run alerts (or secret:<path>).",
        secret=True,
    ),
    Setting(
        "PIPELINES_BIGQUERY_PROJECT",
        None,
        "GCP project of the BigQuery warehouse.",
        pod=True,
        required_in=("dev", "prod"),
    ),
    Setting(
        "PIPELINES_BIGQUERY_LOCATION",
        "US",
        "Location of the BigQuery datasets loads create.",
        pod=True,
    ),
    Setting(
        "PIPELINES_PUBLIC_BIGQUERY_PROJECT",
        None,
        "Open-data BigQuery project that publish=True copies a model's table to (locally, "
        "public.duckdb in the data folder).",
    ),
    Setting(
        "PIPELINES_BIGQUERY_API_ENDPOINT",
        None,
        "BigQuery API of an emulator, e.g. http://127.0.0.1:9050 (anonymous credentials); "
        "unset in dev/prod.",
    ),
    Setting(
        "PIPELINES_GOOGLE_API_ENDPOINT",
        None,
        "Where Google Sheets and Drive links are fetched instead of Google's hosts (a local "
        "fake, e.g. http://127.0.0.1:9060); unset in dev/prod.",
    ),
    Setting(
        "PIPELINES_DATALAKE_PREFIX",
        "staging",
        "Folder of the datalake in its GCS bucket: tables are under <prefix>/<dataset>/<table>.",
        pod=True,
    ),
    Setting(
        "PIPELINES_ALERT_INTERVAL_MIN",
        "60",
        "A flow that keeps failing posts one alert per this many minutes, then a summary.",
        minimum=0.0,
    ),
    Setting(
        "PIPELINES_LATE_AFTER_MIN",
        "15",
        "The watchdog calls a scheduled run late when it has not started this many minutes "
        "after its time.",
        minimum=1.0,
    ),
    Setting(
        "PIPELINES_SECRETS_BACKEND",
        "local",
        "Where get_secret reads: local (PIPELINES_SECRET_<PATH> settings) or vault.",
        pod=True,
        choices=("local", "vault"),
    ),
    Setting(
        "PIPELINES_VAULT_ADDR",
        None,
        "Vault/OpenBao address, e.g. https://vault:8200.",
        pod=True,
        example="https://vault.example:8200",
    ),
    Setting(
        "PIPELINES_VAULT_AUTH",
        "kubernetes",
        "How to log in to Vault: token, approle or kubernetes (pods).",
        choices=("token", "approle", "kubernetes"),
    ),
    Setting(
        "PIPELINES_POD_VAULT_AUTH",
        "kubernetes",
        "How flow-run pods log in to Vault: kubernetes (their service account), or token / "
        "approle with the credentials in the pods' Secret (PIPELINES_K8S_SECRET_NAME).",
        choices=("token", "approle", "kubernetes"),
    ),
    Setting(
        "PIPELINES_VAULT_TOKEN", None, "Vault token (PIPELINES_VAULT_AUTH=token).", secret=True
    ),
    Setting("PIPELINES_VAULT_ROLE_ID", None, "AppRole role_id (PIPELINES_VAULT_AUTH=approle)."),
    Setting(
        "PIPELINES_VAULT_SECRET_ID",
        None,
        "AppRole secret_id (PIPELINES_VAULT_AUTH=approle).",
        secret=True,
    ),
    Setting(
        "PIPELINES_VAULT_K8S_ROLE",
        "pipelines",
        "Vault role of the Kubernetes auth method that flow-run pods log in with.",
        pod=True,
    ),
    Setting(
        "PIPELINES_VAULT_K8S_MOUNT",
        "kubernetes",
        "Mount of Vault's Kubernetes auth method.",
        pod=True,
    ),
    Setting(
        "PIPELINES_VAULT_K8S_JWT_PATH",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "The pod's service-account token, sent to Vault's Kubernetes auth method.",
    ),
    Setting(
        "PIPELINES_VAULT_MOUNT", "secret", "Mount of the KV v2 engine holding secrets.", pod=True
    ),
    Setting(
        "PIPELINES_VAULT_PREFIX", "", "Folder under the mount, prepended to secret paths.", pod=True
    ),
    Setting(
        "PIPELINES_K8S_SECRET_NAME",
        None,
        "Kubernetes Secret whose keys flow-run pods get as environment (envFrom), if any.",
    ),
    Setting(
        "PIPELINES_DUMP_TO_GCS_MAX_MB",
        "1024",
        "dump_to_gcs refuses exports whose CSV would be larger than this many MB.",
        pod=True,
        minimum=1.0,
    ),
    Setting(
        "PIPELINES_DUMP_MEMORY_MB",
        "64",
        "Memory cap, in MB, of the reader of a PostgreSQL dump (DuckDB's); a dump whose single "
        "values reach tens of MB fails naming it: raise it for such a source.",
        minimum=16.0,
    ),
    Setting(
        "PIPELINES_WAREHOUSE_MEMORY_MB",
        "100",
        "Memory cap, in MB, of the local warehouse's loads (DuckDB's); a load whose single "
        "values reach tens of MB fails naming it: raise it for such a table.",
        minimum=16.0,
    ),
    Setting(
        "PIPELINES_DOWNLOAD_MAX_MB",
        "2048",
        "dump_url stops a download past this many MB (counted after decompression) and "
        "fails, naming it (the flow's max_mb parameter overrides it).",
        minimum=1.0,
    ),
    Setting(
        "PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S",
        str(DEFAULT_LOCK_TIMEOUT_S),
        "Seconds a local run waits for another process (a notebook, another run) to release "
        "the DuckDB warehouse file before its load fails (the datalake is then put back).",
        minimum=0.0,
    ),
)
# Read by Prefect and google-auth themselves from the process environment (not from .env):
# run_cloud checks them all before touching the network.
CLOUD_VARIABLES: tuple[Setting, ...] = (
    Setting(
        "GOOGLE_APPLICATION_CREDENTIALS",
        None,
        "Path to a service-account JSON key that can write to PIPELINES_FLOWS_BUCKET "
        "(dump_url also reads Google Sheets and Drive files shared with it).",
    ),
    Setting("PREFECT__BACKEND", "server", "Prefect backend; must be 'server'."),
    Setting(
        "PREFECT__SERVER__HOST",
        None,
        "Prefect Server API host, e.g. http://prefect-apollo.prefect.svc.cluster.local.",
    ),
    Setting("PREFECT__SERVER__PORT", None, "Prefect Server API port, e.g. 4200."),
)
# What a flow run needs in each environment, beyond defaults: checked before any task runs.
ENVIRONMENT_REQUIRES: dict[str, tuple[str, ...]] = {
    env: tuple(s.name for s in SETTINGS if env in s.required_in) for env in ENVIRONMENTS
}
# The settings flow-run pods get (pipelines.utils.deploy.target.pod_environment).
POD_SETTINGS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.pod)
# Settings named by the user, one per instance, each with what it holds and examples.
FAMILIES: tuple[Setting, ...] = (
    Setting(
        "PIPELINES_DB_",
        None,
        "Database connections for dump_db: PIPELINES_DB_<NAME>=<url>, used as "
        'connection="<name>", or secret:<path> to read the URL from the secrets store at run '
        "time.",
        # Examples without a password: manage.py masks every URL's password it prints.
        example="PIPELINES_DB_SME_POSTGRES=postgresql://reader@host:5432/db\n"
        "PIPELINES_DB_SMS_MYSQL=secret:sms/mysql",
        secret=True,
    ),
    Setting(
        "PIPELINES_FAILURE_WEBHOOK_URL_",
        None,
        "An org's own alert channel: PIPELINES_FAILURE_WEBHOOK_URL_<ORG> (else "
        "PIPELINES_FAILURE_WEBHOOK_URL).",
        example="PIPELINES_FAILURE_WEBHOOK_URL_EMD=secret:alerts/emd",
        secret=True,
    ),
    Setting(
        "PIPELINES_SECRET_",
        None,
        "Locally (PIPELINES_SECRETS_BACKEND=local), secret <path> is PIPELINES_SECRET_<PATH> "
        "(non-alphanumerics as _, upper case): a JSON object of keys, or one value.",
        example='PIPELINES_SECRET_SMS_MYSQL={"url": "mysql://reader@127.0.0.1:3306/db"}',
        secret=True,
    ),
)
SETTING_FAMILIES = tuple(f.name for f in FAMILIES)
# Every setting's name as a type: mypy refuses a name no Setting declares (a typo in
# settings.get(...)). Kept equal to SETTINGS and CLOUD_VARIABLES by a test, which prints
# this block (setting_names_block()) when they differ.
# <setting-names>
SettingName = Literal[
    "PIPELINES_ENV",
    "PIPELINES_DEFAULT_ORG",
    "PIPELINES_DATA_DIR",
    "PIPELINES_EXECUTOR",
    "PIPELINES_DASK_ADDRESS",
    "PIPELINES_DATALAKE_BUCKET",
    "PIPELINES_FLOWS_BUCKET",
    "PIPELINES_FLOW_IMAGE",
    "PIPELINES_IMAGE_REPOSITORY",
    "PIPELINES_DEV_PROJECT",
    "PIPELINES_PROD_PROJECT",
    "PIPELINES_PREFECT_UI_URL",
    "PIPELINES_FAILURE_WEBHOOK_URL",
    "PIPELINES_BIGQUERY_PROJECT",
    "PIPELINES_BIGQUERY_LOCATION",
    "PIPELINES_PUBLIC_BIGQUERY_PROJECT",
    "PIPELINES_BIGQUERY_API_ENDPOINT",
    "PIPELINES_GOOGLE_API_ENDPOINT",
    "PIPELINES_DATALAKE_PREFIX",
    "PIPELINES_ALERT_INTERVAL_MIN",
    "PIPELINES_LATE_AFTER_MIN",
    "PIPELINES_SECRETS_BACKEND",
    "PIPELINES_VAULT_ADDR",
    "PIPELINES_VAULT_AUTH",
    "PIPELINES_POD_VAULT_AUTH",
    "PIPELINES_VAULT_TOKEN",
    "PIPELINES_VAULT_ROLE_ID",
    "PIPELINES_VAULT_SECRET_ID",
    "PIPELINES_VAULT_K8S_ROLE",
    "PIPELINES_VAULT_K8S_MOUNT",
    "PIPELINES_VAULT_K8S_JWT_PATH",
    "PIPELINES_VAULT_MOUNT",
    "PIPELINES_VAULT_PREFIX",
    "PIPELINES_K8S_SECRET_NAME",
    "PIPELINES_DUMP_TO_GCS_MAX_MB",
    "PIPELINES_DUMP_MEMORY_MB",
    "PIPELINES_WAREHOUSE_MEMORY_MB",
    "PIPELINES_DOWNLOAD_MAX_MB",
    "PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "PREFECT__BACKEND",
    "PREFECT__SERVER__HOST",
    "PREFECT__SERVER__PORT",
]
# </setting-names>
_BY_NAME = {s.name: s for s in (*SETTINGS, *CLOUD_VARIABLES)}
_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


def _value(raw: str, where: str) -> str:
    """The value of a KEY=value line: quotes removed, a ` # comment` after it dropped.

    Unquoted, `#` starts a comment only after whitespace (so `a#b` stays whole); quoted,
    everything up to the matching quote is the value and only a comment may follow it.
    """
    text = raw.strip()
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = text.find(quote, 1)
        if end == -1:
            raise SettingsError(
                f"{where}: the value opens a {quote} quote that never closes on its line (a "
                "value is one line: write a multi-line key as a file path or a secret:<path>)."
            )
        rest = text[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise SettingsError(
                f"{where}: text follows the closing {quote} quote; only a # comment may follow "
                "a quoted value (quote the whole value)."
            )
        return text[1:end]
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def _bad_line(raw: str) -> str:
    """Why a .env line is not KEY=VALUE, naming its key when one can be read."""
    name = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)(\s*=|\s|$)", raw)
    if not name:
        return (
            "expected KEY=VALUE, one per line (a value spanning lines, such as a JSON key, "
            "must be one line, or a file path)"
        )
    key, after = name.groups()
    if "=" in after:
        return f"{key!r} is not a valid name: use letters, digits and _ (e.g. {_fixed(key)})"
    return f"{key} has no '=': write {key}=VALUE"


def _fixed(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a .env file: KEY=VALUE lines, # comments (whole-line or after a value), optional
    single or double quotes, an optional leading `export`.

    Args:
        path: The file to read; a missing file yields no values.

    Returns:
        The keys and values found.

    Raises:
        SettingsError: The file is not UTF-8, or a line is neither blank, a comment nor
            KEY=VALUE, or a quote does not close; the message gives the line number.
    """
    if not path.is_file():
        return {}
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark from Windows editors is fine
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SettingsError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8."
        ) from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = _KEY.match(raw)
        if not match:  # the line may hold a secret: name its key, never its text
            raise SettingsError(f"{path}:{number}: {_bad_line(raw)} (the line is not shown).")
        key, value = match.groups()
        values[key] = _value(value, f"{path}:{number}: {key}")
    return values


@dataclass(frozen=True)
class Settings:
    """Resolved settings: the process environment wins over .env, which wins over defaults."""

    values: dict[str, str] = field(default_factory=dict)
    root: Path = REPO_ROOT
    # The process environment alone: what Prefect and google-auth see.
    environ: dict[str, str] = field(default_factory=dict)

    def get(self, name: SettingName) -> str | None:
        """Return a setting's value, or its default when unset or empty."""
        return self.lookup(name)

    def lookup(self, name: str) -> str | None:
        """`get` for a name made at run time (PIPELINES_DB_<NAME>, a list of settings).

        Raises:
            KeyError: name is not a documented setting (a typo in the code fails at once).
        """
        if name not in _BY_NAME and not name.startswith(SETTING_FAMILIES):
            raise KeyError(
                f"{name} is not a setting: fix the name, or document it in SETTINGS "
                "(pipelines/settings.py) and .env.example."
            )
        value = self.values.get(name)
        if value:
            return value
        return _BY_NAME[name].default if name in _BY_NAME else None

    def purpose(self, name: str) -> str:
        """What a setting is for, from its documentation."""
        return _BY_NAME[name].help if name in _BY_NAME else "no description"

    def require(self, name: SettingName) -> str:
        """Return a setting's value.

        Raises:
            SettingsError: The setting is unset, naming it and what it is for.
        """
        return self.require_named(name)

    def whole(self, name: SettingName) -> int:
        """A number setting's value as a whole number (its rule was checked when read)."""
        return int(float(self.require(name)))

    def number(self, name: SettingName) -> float:
        """A number setting's value (its rule was checked when read)."""
        return float(self.require(name))

    def require_named(self, name: str) -> str:
        """`require` for a name made at run time.

        Raises:
            SettingsError: The setting is unset, naming it and what it is for.
        """
        value = self.lookup(name)
        if not value:
            purpose = _BY_NAME[name].help if name in _BY_NAME else "no description"
            raise MissingSettingError(
                f"Missing setting {name}: {purpose} Set it in the environment or .env.", name
            )
        return value

    @property
    def env(self) -> str:
        env = self.require("PIPELINES_ENV")
        if env not in ENVIRONMENTS:
            raise SettingsError(f"PIPELINES_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}.")
        return env

    def check_environment(self) -> None:
        """Raise unless every setting a run in this environment needs is set.

        Raises:
            SettingsError: PIPELINES_ENV is invalid, or settings are missing (all of them
                named, each with what it is for).
        """
        env = self.env
        missing = [name for name in ENVIRONMENT_REQUIRES[env] if not self.lookup(name)]
        if missing:
            raise SettingsError(
                f"PIPELINES_ENV={env} needs these settings (environment or .env):\n"
                + "\n".join(f"  {name}: {self.purpose(name)}" for name in missing)
            )

    def unset(self, names: Iterable[str]) -> list[str]:
        """The names among these with no value: Prefect's and google-auth's variables from
        the process environment (they do not read .env), the rest as `get` reads them.

        Raises:
            KeyError: A name is not a setting.
        """
        cloud = {s.name for s in CLOUD_VARIABLES}
        return [
            name
            for name in names
            if not (self.environ.get(name) if name in cloud else self.lookup(name))
        ]

    @property
    def data_dir(self) -> Path:
        path = Path(self.require("PIPELINES_DATA_DIR"))
        return path if path.is_absolute() else self.root / path

    @property
    def default_org(self) -> str:
        return self.require("PIPELINES_DEFAULT_ORG")


# Process defaults for libraries, applied when pipelines is imported (only where unset).
PROCESS_DEFAULTS = {
    # Arrow's default pool here (mimalloc) keeps freed memory: a 2M-row MySQL dump peaked at
    # 230-250 MB with it and at 180 MB with jemalloc (bench/dump_db.py, 2026-11). It must be
    # set before pyarrow loads.
    "ARROW_DEFAULT_MEMORY_POOL": "jemalloc",
}


def apply_process_defaults() -> None:
    """Set PROCESS_DEFAULTS in the environment where the user has not set them, and make
    Prefect's backend Prefect Server: its default, Prefect Cloud, is a service this project
    never uses (a flow asking the API would call api.prefect.io)."""
    for key, value in PROCESS_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT__BACKEND", "server")  # one set otherwise is refused
    import sys

    prefect = sys.modules.get("prefect")
    config = getattr(prefect, "config", None)
    if config is not None and os.environ["PREFECT__BACKEND"] == "server" != config.backend:
        config.backend = "server"  # Prefect was imported first, with its default
        config.cloud.api = config.server.endpoint


# Values checked when settings are read, before anything runs: a wrong one fails at once,
# naming the rule, instead of changing behaviour quietly (a non-number alert interval turned
# every failure alert off).
CHOICES: dict[str, tuple[str, ...]] = {s.name: s.choices for s in SETTINGS if s.choices}
NUMBERS: dict[str, float] = {s.name: s.minimum for s in SETTINGS if s.minimum is not None}
_DASK_ADDRESS = re.compile(r"^(tcp|tls|ucx)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def env_example() -> str:
    """.env.example, written from the declarations above (`python manage.py settings
    --example > .env.example`; a test keeps the file equal to it)."""
    import textwrap

    def comment(text: str) -> list[str]:
        return textwrap.wrap(
            text, 92, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False
        )

    lines = [
        "# Copy to .env and edit. The process environment wins over .env; every key is optional",
        "# in the local environment. pipelines/settings.py declares each one (this file is",
        "# written from it: python manage.py settings --example > .env.example).",
    ]
    for setting in SETTINGS:
        lines.append("")
        rules = []
        if setting.choices:
            rules.append("one of " + ", ".join(setting.choices))
        if setting.minimum is not None:
            rules.append(f"a number of at least {setting.minimum:g}")
        if setting.required_in:
            rules.append("needed in " + ", ".join(setting.required_in))
        if setting.pod:
            rules.append("sent to flow-run pods")
        if setting.secret:
            rules.append("a credential: may be secret:<path>")
        lines += comment(setting.help)
        if rules:
            lines += comment(f"({'; '.join(rules)})")
        if setting.default:
            lines.append(f"{setting.name}={setting.default}")
        else:
            lines.append(f"# {setting.name}={setting.example or ''}")
    for family in FAMILIES:
        lines.append("")
        lines += comment(family.help)
        lines += [f"# {line}" for line in (family.example or "").splitlines()]
    lines += ["", *comment(
        "Read by Prefect and google-auth from the process environment, not from this file: "
        "export them in your shell; run_cloud lists every one that is missing before any "
        "network call."
    )]  # fmt: skip
    for variable in CLOUD_VARIABLES:
        lines += comment(variable.help)
        lines.append(f"# {variable.name}={variable.default or ''}")
    return "\n".join(lines) + "\n"


def setting_names_block() -> str:
    """The SettingName block of this file, as SETTINGS and CLOUD_VARIABLES declare it."""
    names = [f'    "{name}",' for name in _BY_NAME]
    return "\n".join(
        ["# <setting-names>", "SettingName = Literal[", *names, "]", "# </setting-names>"]
    )


def settings_table() -> str:
    """docs/settings.md's table of every setting, written from the declarations above (a test
    keeps the page equal to it)."""
    rows = ["| Setting | Default | Rule | Pods | Purpose |", "|---|---|---|---|---|"]
    for setting in SETTINGS:
        rule = []
        if setting.choices:
            rule.append(" / ".join(f"`{c}`" for c in setting.choices))
        if setting.minimum is not None:
            rule.append(f"number ≥ {setting.minimum:g}")
        if setting.required_in:
            rule.append("needed in " + ", ".join(setting.required_in))
        if setting.secret:
            rule.append("credential")
        default = f"`{setting.default}`" if setting.default else ""
        purpose = setting.help.replace("|", "\\|")
        rows.append(
            f"| `{setting.name}` | {default} | {'; '.join(rule)} | "
            f"{'yes' if setting.pod else ''} | {purpose} |"
        )
    return "\n".join(rows) + "\n"


def is_setting(name: str) -> bool:
    """Whether `name` is a documented setting or one of Prefect's and google-auth's."""
    return name in _BY_NAME or name.startswith(SETTING_FAMILIES)


def value_problems(values: dict[str, str], sources: dict[str, str]) -> list[str]:
    """Unknown PIPELINES_* names (with the nearest known one) and values that break their
    setting's rule, each naming where it was set."""
    import difflib

    problems = []
    for name, value in sorted(values.items()):
        where = sources.get(name, "the environment")
        if not name.startswith("PIPELINES_"):
            continue
        if name not in _BY_NAME and not name.startswith(SETTING_FAMILIES):
            near = difflib.get_close_matches(name, [s.name for s in SETTINGS], n=1, cutoff=0.6)
            hint = f"did you mean {near[0]}?" if near else "see .env.example for every setting."
            problems.append(f"{name} ({where}) is not a setting: {hint}")
            continue
        if not value:
            continue  # empty means the default
        if name in CHOICES and value not in CHOICES[name]:
            problems.append(f"{name}={value!r} ({where}) is not one of {', '.join(CHOICES[name])}.")
        elif name in NUMBERS:
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if not number >= NUMBERS[name]:  # NaN too
                problems.append(
                    f"{name}={value!r} ({where}) must be a number of at least {NUMBERS[name]:g}."
                )
        elif name == "PIPELINES_DASK_ADDRESS" and not _DASK_ADDRESS.match(value):
            problems.append(
                f"{name}={value!r} ({where}) is not a Dask scheduler address: write "
                "tcp://host:8786."
            )
    return problems


# The checkout whose .env and data folder settings are read from when no root is given:
# this one, or the --repo-root a manage.py command works on (working_root).
_working_root: list[Path] = []


@contextlib.contextmanager
def working_root(root: Path) -> Iterator[None]:
    """Within it, settings read without a root (every task, `current_settings`) come from
    `root`'s .env, with its data folder."""
    _working_root.append(root)
    try:
        yield
    finally:
        _working_root.pop()


def load_settings(environ: dict[str, str] | None = None, root: Path | None = None) -> Settings:
    """Read settings from the repo's .env and the process environment.

    Args:
        environ: Environment to read instead of os.environ (tests).
        root: Repository root holding the optional .env; by default the working root (see
            working_root), else this checkout.

    Returns:
        The resolved settings.

    Raises:
        SettingsError: An unknown PIPELINES_* name (a typo), or a value that breaks its
            setting's rule, all of them listed.
    """
    root = root or (_working_root[-1] if _working_root else REPO_ROOT)
    process = dict(os.environ if environ is None else environ)
    dotenv = read_dotenv(root / ".env")
    values = {**dotenv, **process}
    sources = {name: str(root / ".env") for name in dotenv if name not in process}
    problems = value_problems(values, sources)
    if problems:
        raise SettingsError("\n".join(problems))
    return Settings(values=values, root=root, environ=process)
