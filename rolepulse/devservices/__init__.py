"""Local Tansu (Kafka) and SecantusDB (MongoDB) processes that the project installs and runs itself.

SecantusDB is GPL-licensed: it is installed into a venv of its own and only ever executed,
never imported.
"""

from rolepulse.devservices.install import InstallError, default_home
from rolepulse.devservices.local import LocalServices, stop_stale
from rolepulse.devservices.orphans import (
    DataDirBusyError,
    RunAlreadyRunningError,
    recover_previous_run,
)
from rolepulse.devservices.process import ServiceProcess, ServiceStartError, stop_recorded

__all__ = [
    "DataDirBusyError",
    "InstallError",
    "LocalServices",
    "RunAlreadyRunningError",
    "ServiceProcess",
    "ServiceStartError",
    "default_home",
    "recover_previous_run",
    "stop_recorded",
    "stop_stale",
]
