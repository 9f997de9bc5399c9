"""Every expected failure: one a person can fix from its message alone."""


class PipelinesError(Exception):
    """A failure with a message that says what is wrong and how to fix it.

    manage.py prints the message (no traceback) and exits 1; anything else is a bug.
    """


# One type per shared capability. Each is also a ValueError: what it reports is a value
# (a parameter, a name, a result's size or rows) that the capability cannot work with.


class TableNameError(PipelinesError, ValueError):
    """A dataset_id or table_id breaks the one naming rule of datalake and warehouse."""


class DatalakeError(PipelinesError, ValueError):
    """A datalake write or key that cannot be done as asked."""


class SchemaContractError(DatalakeError):
    """New rows change a table's columns or types in a way its on_schema_change refuses."""


class WarehouseError(PipelinesError, ValueError):
    """A warehouse load or query that cannot be done as asked."""


class DumpError(PipelinesError, ValueError):
    """dump_db refused its parameters or failed; the message has credentials masked."""


class DumpUrlError(PipelinesError, ValueError):
    """dump_url refused its parameters or the downloaded file."""


class ExportError(PipelinesError, ValueError):
    """dump_to_gcs refused its parameters or an export above its size cap."""


class ResourceError(PipelinesError, ValueError):
    """A flow's CPU or memory is not a Kubernetes quantity, or its request exceeds its limit."""


class DbtError(PipelinesError, RuntimeError):
    """A dbt run failed: the message names the failing model, its compiled SQL and dbt's error."""


class SecretError(PipelinesError, RuntimeError):
    """A secret could not be read; the message names its path, never a value."""


class SecretNotFoundError(SecretError, LookupError):
    """No secret at the path, or no such key in it."""


class SecretAccessDeniedError(SecretError, PermissionError):
    """The store refused the read: no policy allows it, or the credentials expired."""


class SecretStoreUnreachableError(SecretError, ConnectionError):
    """The store did not answer (after retries)."""


class ChildRunError(PipelinesError, RuntimeError):
    """A child run failed, timed out or could not be created; the message links it."""


class FlowModuleError(PipelinesError, LookupError):
    """A flow that is not defined in a module of the repo's pipelines package."""


class CommandError(PipelinesError, RuntimeError):
    """What manage.py's operations refuse or cannot do (scaffold, register, check, the
    catalog, lineage, status, run --all), callable from a script: manage.py's commands turn
    it into their one-line error message."""


class DeployError(PipelinesError, ValueError):
    """A version cannot be registered where its target says (no such Prefect project)."""


class OrgSettingError(PipelinesError, ValueError):
    """A constant an org declares for the whole org (DISPLAY_NAME) has a value it cannot take."""


class HealthError(PipelinesError, ValueError):
    """A freshness or failing-streak option a flow cannot have."""


class ServiceUnreachableError(PipelinesError, ConnectionError):
    """A service the settings name (Prefect Server, BigQuery) did not answer."""


class SettingsError(PipelinesError, RuntimeError):
    """A setting is missing or has an invalid value."""


class MissingSettingError(SettingsError):
    """A setting a run needs is unset; `setting` names it (`run --all` skips on it)."""

    def __init__(self, message: str, setting: str = "") -> None:
        super().__init__(message)
        self.setting = setting

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # the setting survives pickling
        return (type(self), (str(self), self.setting))


class MissingLocalSecretError(SecretNotFoundError, MissingSettingError):
    """A local secret's setting is unset: a secret not found, and a setting to set."""


class FlowParameterError(PipelinesError, ValueError):
    """Parameters do not match the flow's Parameters."""


class NotReadOnlyError(PipelinesError, ValueError):
    """A statement `query` refuses to run, with the rule it breaks."""
