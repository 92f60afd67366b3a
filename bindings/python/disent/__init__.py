"""disent: Python bindings (ctypes) for libdisent, disentangled representation
learning in C (ML-VAE, and further families as the library adds them).

    import numpy as np, disent
    model = disent.Model("ml-vae", input_dim=64, hidden=[64])
    enc = model.encode(np.random.rand(8, 64).astype(np.float32))
    print(enc["content"].shape, model.decode(enc).shape)

The library is found through $DISENT_LIBRARY, this package's folder, the
source tree's build folders, then the system loader (see disent._lib).
Every failing C call raises a DisentError subclass carrying dsn_last_error().
"""

from . import audio, errors, evaluation, metrics
from ._lib import LIBRARY_PATH, MISSING as _MISSING, VERSION_MAJOR, VERSION_MINOR
from .core import (Dataset, Encoding, History, Model, Optimizer, Options, Part, Progress, Scope, Session,
                   allocation_count, blas_coretype_hint, clear_error, fit, get_threads, last_error, set_allocator,
                   set_threads, status_string, version, version_number)
from .core import model_families, option_info
from .plot import plot, read_log
from .stream import Stream, bank_add, bank_audio, bank_get, bank_names, bank_remove
from .evaluation import (Classifier, ClassifierReport, PitchAccuracy, PitchUnit, accuracy, confusion_matrix,
                         eval_swaps, macro_f1, pitch_track, raw_pitch_accuracy)
from .errors import (ClosedError, DisentError, FileIOError, FormatError, InternalError, InvalidArgumentError,
                     LibraryNotFoundError, NumericError, OptionError, OutOfMemoryError, ShapeError, StateError,
                     UnsupportedError, VersionMismatchError)

__version__ = "%d.%d.0" % (VERSION_MAJOR, VERSION_MINOR)

__all__ = [
    "Dataset", "Encoding", "History", "Model", "Optimizer", "Options", "Part", "Progress", "Scope", "Session",
    "allocation_count", "blas_coretype_hint", "clear_error", "fit", "get_threads", "last_error", "set_allocator", "set_threads",
    "status_string", "version",
    "version_number", "errors", "LIBRARY_PATH", "model_families", "option_info",
    "plot", "read_log", "Stream", "bank_add", "bank_audio", "bank_get", "bank_names", "bank_remove",
    "audio", "evaluation", "metrics", "Classifier", "ClassifierReport", "PitchAccuracy", "PitchUnit", "accuracy",
    "confusion_matrix", "eval_swaps", "macro_f1", "pitch_track", "raw_pitch_accuracy",
    "DisentError", "InvalidArgumentError", "ShapeError", "OutOfMemoryError", "FileIOError", "FormatError",
    "OptionError", "NumericError", "StateError", "ClosedError", "UnsupportedError", "InternalError",
    "LibraryNotFoundError", "VersionMismatchError",
]
