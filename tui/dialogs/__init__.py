"""One ModalScreen per dialog; each dismisses with a request dataclass or None."""

from .checkpoint import CheckpointDialog, CheckpointRequest
from .confirm import ConfirmDialog
from .create import CreateDialog, CreateRequest
from .exec import ExecDialog, ExecRequest
from .kill import KillDialog, KillRequest
from .labels import LabelsDialog
from .namespaces import NamespacePicker
from .restore import RestoreDialog, RestoreRequest
from .save import SaveDialog

__all__ = [
    "CheckpointDialog",
    "CheckpointRequest",
    "ConfirmDialog",
    "CreateDialog",
    "CreateRequest",
    "ExecDialog",
    "ExecRequest",
    "KillDialog",
    "KillRequest",
    "LabelsDialog",
    "NamespacePicker",
    "RestoreDialog",
    "RestoreRequest",
    "SaveDialog",
]
