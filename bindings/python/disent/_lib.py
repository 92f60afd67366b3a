"""Low level: find and load libdisent, declare every C function it exports.

Adding a C function to the bindings is one line in FUNCTIONS below:
``"dsn_name": (restype, (argtypes...))``. A restype of STATUS means the
function returns a dsn_status; the call then raises the DisentError subclass
for any non-OK code, carrying dsn_last_error(). Functions the loaded library
does not export (an older build) are replaced by stubs that raise
UnsupportedError when called, so the rest of the API keeps working.
"""

import ctypes
import ctypes.util
from typing import Any
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int32, c_int64,
                    c_size_t, c_uint64, c_void_p)

from . import errors

# The library version these bindings were written for (include/disent.h).
VERSION_MAJOR = 0
VERSION_MINOR = 1


# ---- opaque handles: distinct pointer types, so ctypes rejects a mix-up ----
class _Opaque(Structure):
    _fields_: list = []


class dsn_options(_Opaque):
    pass


class dsn_model(_Opaque):
    pass


class dsn_optimizer(_Opaque):
    pass


class dsn_encoding(_Opaque):
    pass


class dsn_session(_Opaque):
    pass


class dsn_dataset(_Opaque):
    pass


class dsn_classifier(_Opaque):
    pass


class dsn_stream(_Opaque):
    pass


class dsn_mel_inverter(_Opaque):
    pass


Options_p = POINTER(dsn_options)
Model_p = POINTER(dsn_model)
Optimizer_p = POINTER(dsn_optimizer)
Encoding_p = POINTER(dsn_encoding)
Session_p = POINTER(dsn_session)
Dataset_p = POINTER(dsn_dataset)
Classifier_p = POINTER(dsn_classifier)
Stream_p = POINTER(dsn_stream)
MelInverter_p = POINTER(dsn_mel_inverter)

f32_p = POINTER(c_float)
i32_p = POINTER(c_int32)
size_p = POINTER(c_size_t)
int_p = POINTER(c_int)
double_p = POINTER(c_double)
u64_p = POINTER(c_uint64)

# typedef int (*dsn_progress_fn)(void *user, int epoch, int64_t step, int epoch_end,
#                                int n_terms, const char *const *names, const float *values);
PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, c_int, c_int64, c_int, c_int, POINTER(c_char_p), f32_p)

ALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_size_t)
FREE_FN = CFUNCTYPE(None, c_void_p, c_void_p)


class dsn_allocator(Structure):
    _fields_ = [("alloc", ALLOC_FN), ("free", FREE_FN), ("ctx", c_void_p)]


class dsn_swap_eval(Structure):
    _fields_ = ([("struct_size", c_size_t), ("n_train", c_size_t), ("n_eval", c_size_t), ("n_classes", c_size_t),
                 ("n_truth", c_size_t), ("n_pitch", c_size_t), ("n_pitch_frames", c_size_t),
                 ("pitch_reference", c_int), ("n_short_clips", c_size_t), ("n_masked_frames", c_size_t),
                 ("n_dropped_frames", c_size_t), ("n_skipped_clips", c_size_t)]
                + [(k, c_double) for k in ("f1_direct", "f1_pre", "f1_global", "f1_local", "mse_rec",
                                           "mse_source_global", "mse_truth_global", "mse_truth_source",
                                           "mse_truth_local", "mse_truth_local_source", "rpa_ceiling", "rpa_rec",
                                           "rpa_global", "rpa_local")])


MAX_DIMS = 4  # DSN_MAX_DIMS


class dsn_model_info(Structure):
    _fields_ = [("struct_size", c_size_t), ("family", c_char_p), ("stage", c_char_p), ("num_params", c_size_t),
                ("epoch", c_int), ("obs_ndim", c_int), ("obs_shape", c_size_t * MAX_DIMS), ("obs_size", c_size_t),
                ("num_parts", c_int)]


class dsn_part_info(Structure):
    _fields_ = [("struct_size", c_size_t), ("name", c_char_p), ("dim", c_int), ("scope", c_int), ("kind", c_int)]


class dsn_dataset_info(Structure):
    _fields_ = [("struct_size", c_size_t), ("size", c_size_t), ("obs_size", c_size_t), ("obs_ndim", c_int),
                ("obs_shape", c_size_t * MAX_DIMS), ("num_groups", c_size_t), ("has_labels", c_int),
                ("has_mask", c_int)]


class dsn_option_info(Structure):
    _fields_ = [("struct_size", c_size_t), ("key", c_char_p), ("type", c_char_p), ("default_value", c_char_p),
                ("min", c_double), ("max", c_double), ("choices", c_char_p), ("doc", c_char_p),
                ("requires", c_char_p)]


class dsn_batch_args(Structure):
    _fields_ = [("struct_size", c_size_t), ("groups", i32_p), ("mask", f32_p), ("part", c_char_p)]


def sized(cls, **kw):
    """A sized struct with struct_size set (the disent.h convention)."""
    return cls(struct_size=ctypes.sizeof(cls), **kw)


STATUS = "dsn_status"  # marker restype: c_int checked by _check_status

# ---- the declarative table: name -> (restype, argtypes) ---------------------
FUNCTIONS = {
    # version, errors, allocator
    "dsn_version_number": (c_int, ()),
    "dsn_version_string": (c_char_p, ()),
    "dsn_status_string": (c_char_p, (c_int,)),
    "dsn_last_error": (c_char_p, ()),
    "dsn_clear_error": (None, ()),
    "dsn_set_allocator": (STATUS, (POINTER(dsn_allocator),)),
    "dsn_allocation_count": (c_uint64, ()),
    "dsn_set_threads": (STATUS, (c_int,)),
    "dsn_get_threads": (c_int, ()),
    "dsn_blas_coretype_hint": (c_char_p, ()),
    # options
    "dsn_options_create": (STATUS, (POINTER(Options_p),)),
    "dsn_options_free": (None, (Options_p,)),
    "dsn_options_set": (STATUS, (Options_p, c_char_p, c_char_p)),
    "dsn_options_parse": (STATUS, (Options_p, c_char_p)),
    "dsn_options_load": (STATUS, (Options_p, c_char_p)),
    "dsn_options_get": (c_char_p, (Options_p, c_char_p)),
    "dsn_options_count": (c_size_t, (Options_p,)),
    "dsn_options_key": (c_char_p, (Options_p, c_size_t)),
    # models
    "dsn_model_create": (STATUS, (POINTER(Model_p), c_char_p, Options_p)),
    "dsn_model_free": (None, (Model_p,)),
    "dsn_model_families": (c_char_p, ()),
    "dsn_model_options": (Options_p, (Model_p,)),
    "dsn_model_describe": (STATUS, (Model_p, POINTER(dsn_model_info))),
    "dsn_model_part": (STATUS, (Model_p, POINTER(dsn_part_info), c_int)),
    "dsn_model_save": (STATUS, (Model_p, Optimizer_p, c_char_p)),
    "dsn_model_load": (STATUS, (POINTER(Model_p), c_char_p)),
    # timbre banks
    "dsn_model_bank_add": (STATUS, (Model_p, c_char_p, f32_p, c_size_t, Options_p)),
    "dsn_model_bank_remove": (STATUS, (Model_p, c_char_p)),
    "dsn_model_bank_count": (c_size_t, (Model_p,)),
    "dsn_model_bank_name": (c_char_p, (Model_p, c_size_t)),
    "dsn_model_bank_find": (STATUS, (Model_p, size_p, c_char_p)),
    "dsn_model_bank_get": (STATUS, (Model_p, f32_p, c_size_t, c_size_t)),
    "dsn_model_bank_audio": (Options_p, (Model_p,)),
    # a model's audio front end
    "dsn_model_audio": (Options_p, (Model_p,)),
    "dsn_model_set_audio": (STATUS, (Model_p, Options_p)),
    # streaming
    "dsn_stream_create": (STATUS, (POINTER(Stream_p), Model_p, c_int, c_size_t, f32_p, c_size_t, Options_p)),
    "dsn_stream_free": (None, (Stream_p,)),
    "dsn_stream_process": (STATUS, (Stream_p, f32_p, f32_p, c_size_t)),
    "dsn_stream_latency": (c_size_t, (Stream_p,)),
    "dsn_stream_max_block": (c_size_t, (Stream_p,)),
    "dsn_stream_reset": (None, (Stream_p,)),
    "dsn_stream_set_target": (STATUS, (Stream_p, f32_p, c_size_t)),
    "dsn_stream_set_timbre": (STATUS, (Stream_p, c_size_t, c_size_t, c_float)),
    "dsn_stream_set_mix": (STATUS, (Stream_p, c_float)),
    "dsn_stream_counter": (c_uint64, (Stream_p, c_char_p)),
    # optimizers
    "dsn_optimizer_create": (STATUS, (POINTER(Optimizer_p), Model_p, c_char_p, Options_p)),
    "dsn_optimizer_load": (STATUS, (POINTER(Optimizer_p), Model_p, c_char_p)),
    "dsn_optimizer_free": (None, (Optimizer_p,)),
    "dsn_optimizer_set_lr": (STATUS, (Optimizer_p, c_float)),
    "dsn_optimizer_steps": (c_int64, (Optimizer_p,)),
    # training
    "dsn_train_step": (STATUS, (Model_p, Optimizer_p, f32_p, f32_p, c_size_t, POINTER(dsn_batch_args))),
    "dsn_train_terms": (c_int, (Model_p, POINTER(c_char_p), f32_p, c_int)),
    # sessions and encodings
    "dsn_session_create": (STATUS, (POINTER(Session_p), Model_p, c_size_t)),
    "dsn_session_free": (None, (Session_p,)),
    "dsn_encoding_create": (STATUS, (POINTER(Encoding_p), Model_p, c_size_t)),
    "dsn_encoding_free": (None, (Encoding_p,)),
    "dsn_encoding_groups": (STATUS, (Encoding_p, i32_p, c_size_t, size_p, size_p)),
    "dsn_encode": (STATUS, (Session_p, Encoding_p, f32_p, c_size_t, POINTER(dsn_batch_args))),
    "dsn_decode": (STATUS, (Session_p, f32_p, c_size_t, Encoding_p)),
    "dsn_swap": (STATUS, (Encoding_p, Encoding_p, c_char_p)),
    "dsn_encoding_copy_item": (STATUS, (Encoding_p, c_size_t, Encoding_p, c_size_t, c_char_p)),
    "dsn_encoding_prepare": (STATUS, (Encoding_p, c_size_t, i32_p)),
    "dsn_sample": (STATUS, (Session_p, Encoding_p, c_char_p, c_uint64)),
    "dsn_encoding_get": (STATUS, (Encoding_p, f32_p, c_size_t, size_p, size_p, c_char_p, c_char_p)),
    "dsn_encoding_set": (STATUS, (Encoding_p, c_char_p, c_char_p, f32_p, c_size_t)),
    # datasets
    "dsn_dataset_from_memory": (STATUS, (POINTER(Dataset_p), f32_p, c_size_t, size_p, c_int, i32_p, f32_p)),
    "dsn_dataset_from_idx": (STATUS, (POINTER(Dataset_p), c_char_p, c_char_p)),
    "dsn_dataset_from_mnist": (STATUS, (POINTER(Dataset_p), c_char_p, c_int)),
    "dsn_dataset_from_npy": (STATUS, (POINTER(Dataset_p), c_char_p, c_char_p)),
    "dsn_dataset_from_audio": (STATUS, (POINTER(Dataset_p), c_char_p, Options_p)),
    "dsn_dataset_load_audio": (STATUS, (POINTER(Dataset_p), c_char_p, c_char_p)),
    "dsn_dataset_audio": (Options_p, (Dataset_p,)),
    "dsn_dataset_counter": (c_uint64, (Dataset_p, c_char_p)),
    "dsn_dataset_split": (STATUS, (Dataset_p, POINTER(Dataset_p), POINTER(Dataset_p), c_double, c_uint64, c_int)),
    "dsn_dataset_select_labels": (STATUS, (Dataset_p, POINTER(Dataset_p), POINTER(Dataset_p), i32_p, c_size_t)),
    "dsn_dataset_shard": (STATUS, (Dataset_p, POINTER(Dataset_p), Model_p, Options_p, c_int, c_int)),
    "dsn_dataset_from_npy_shard": (STATUS, (POINTER(Dataset_p), POINTER(Dataset_p), c_char_p, c_char_p, Model_p, Options_p, c_int, c_int, c_void_p)),
    "dsn_dataset_from_mnist_shard": (STATUS, (POINTER(Dataset_p), POINTER(Dataset_p), c_char_p, c_int, Model_p, Options_p, c_int, c_int, c_void_p)),
    "dsn_dataset_shard_size": (c_size_t, (Dataset_p, Model_p, Options_p, c_int, c_int)),
    "dsn_dataset_mark_shard": (STATUS, (Dataset_p, c_int, c_int, c_size_t, c_size_t, c_int)),
    "dsn_dataset_total": (c_size_t, (Dataset_p, size_p)),
    "dsn_dataset_free": (None, (Dataset_p,)),
    "dsn_dataset_describe": (STATUS, (Dataset_p, POINTER(dsn_dataset_info))),
    "dsn_option_count": (STATUS, (size_p, c_char_p)),
    "dsn_option_describe": (STATUS, (POINTER(dsn_option_info), c_char_p, c_size_t)),
    "dsn_dataset_get": (STATUS, (Dataset_p, f32_p, c_size_t, i32_p, c_size_t)),
    # the training loop
    "dsn_fit": (STATUS, (Model_p, Optimizer_p, Dataset_p, Dataset_p, Options_p, PROGRESS_FN, c_void_p)),
    # evaluation: classifiers, metrics, pitch
    "dsn_classifier_create": (STATUS, (POINTER(Classifier_p), c_char_p, Options_p)),
    "dsn_classifier_free": (None, (Classifier_p,)),
    "dsn_classifier_fit": (STATUS, (Classifier_p, f32_p, c_size_t, c_size_t, i32_p)),
    "dsn_classifier_predict": (STATUS, (Classifier_p, i32_p, f32_p, c_size_t, c_size_t)),
    "dsn_classifier_scores": (STATUS, (Classifier_p, f32_p, c_size_t, f32_p, c_size_t, c_size_t)),
    "dsn_classifier_classes": (c_size_t, (Classifier_p, i32_p, c_size_t)),
    "dsn_classifier_report": (STATUS, (Classifier_p, int_p, int_p, double_p)),
    "dsn_accuracy": (STATUS, (double_p, i32_p, i32_p, c_size_t)),
    "dsn_macro_f1": (STATUS, (double_p, i32_p, i32_p, c_size_t)),
    "dsn_confusion_matrix": (STATUS, (u64_p, c_size_t, i32_p, i32_p, c_size_t, c_int32)),
    "dsn_factor_metrics": (STATUS, (double_p, c_size_t, c_char_p, f32_p, c_size_t, c_size_t, f32_p, c_size_t,
                                    Options_p)),
    "dsn_raw_pitch_accuracy": (STATUS, (double_p, double_p, size_p, f32_p, f32_p, c_size_t, c_int, c_double)),
    "dsn_pitch_track": (STATUS, (f32_p, c_size_t, size_p, f32_p, c_size_t, c_int, Options_p)),
    "dsn_fit_defaults": (c_char_p, (Model_p,)),
    "dsn_eval_swaps": (STATUS, (POINTER(dsn_swap_eval), Model_p, c_char_p, Options_p)),
    # .npy files and PNG images (the library's own readers and writers)
    "dsn_npy_read": (STATUS, (c_void_p, c_size_t, size_p, c_size_t, int_p, int_p, c_char_p, c_int)),
    "dsn_npy_write": (STATUS, (c_char_p, c_void_p, size_p, c_int, c_int)),
    "dsn_image_save_png": (STATUS, (c_char_p, POINTER(ctypes.c_uint8), c_size_t, c_size_t, c_int)),
    # audio for hosts
    "dsn_audio_read": (STATUS, (POINTER(f32_p), size_p, int_p, c_char_p, c_int)),
    "dsn_audio_free": (None, (f32_p,)),
    "dsn_audio_write": (STATUS, (c_char_p, f32_p, c_size_t, c_int, Options_p)),
    "dsn_audio_read_channels": (STATUS, (POINTER(f32_p), size_p, int_p, int_p, c_char_p, c_int)),
    "dsn_audio_write_channels": (STATUS, (c_char_p, f32_p, c_size_t, c_int, c_int, Options_p)),
    "dsn_audio_features": (STATUS, (f32_p, c_size_t, size_p, size_p, f32_p, c_size_t, c_int, Options_p)),
    "dsn_mel_to_audio": (STATUS, (f32_p, c_size_t, size_p, f32_p, c_size_t, c_size_t, Options_p)),
    "dsn_mel_inverter_create": (STATUS, (POINTER(MelInverter_p), c_size_t, c_size_t, Options_p)),
    "dsn_mel_inverter_run": (STATUS, (MelInverter_p, f32_p, c_size_t, size_p, f32_p, c_size_t)),
    "dsn_mel_inverter_free": (None, (MelInverter_p,)),
    # stages, options after creation, statistics, codes
    "dsn_model_set_stage": (STATUS, (Model_p, c_char_p)),
    "dsn_model_set_option": (STATUS, (Model_p, c_char_p, c_char_p)),
    "dsn_model_stats": (STATUS, (Model_p, POINTER(c_char_p), double_p, c_size_t, POINTER(c_size_t), Dataset_p)),
    "dsn_encoding_get_codes": (STATUS, (Encoding_p, i32_p, c_size_t, size_p, c_char_p)),
    "dsn_encoding_set_codes": (STATUS, (Encoding_p, c_char_p, i32_p, c_size_t)),
}


# ---- finding the library -----------------------------------------------------
_NAMES = ("libdisent.so.%d" % VERSION_MAJOR, "libdisent.so", "libdisent.dylib", "disent.dll")


def _repo_build_dirs(root=None):
    """Build folders of the source tree this package sits in (if it does), or
    of root: ``build`` first, then other ``build*`` folders, newest first
    (sanitizer builds are skipped: they cannot be loaded into a plain Python)."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = root or os.path.dirname(os.path.dirname(os.path.dirname(here)))
    if not os.path.isfile(os.path.join(root, "include", "disent.h")):
        return []
    dirs = [os.path.join(root, "build")]
    try:
        others = [os.path.join(root, d) for d in os.listdir(root)
                  if d.startswith("build") and d != "build" and "san" not in d]
    except OSError:
        others = []
    others = [d for d in others if os.path.isdir(d)]
    # one level down too (build-check/gcc: a folder of builds)
    for d in list(others):
        try:
            others += [os.path.join(d, s) for s in os.listdir(d) if "san" not in s and
                       os.path.isfile(os.path.join(d, s, _NAMES[0]))]
        except OSError:
            pass
    others.sort(key=lambda d: os.path.getmtime(d), reverse=True)
    return dirs + others


def _installed_dirs():
    """For an installed package (pip install): the library folders of
    $DISENT_PREFIX, the build folders of the source tree it was built from,
    and those of DISENT_PREFIX as it was when built - the places `make
    install PREFIX=` and `make lib` put libdisent."""
    try:
        from . import _build_info as b
    except ImportError:
        b = None
    def prefix_dirs(prefix, where):
        subs = ("lib", "lib64", os.path.join("lib", "x86_64-linux-gnu"))
        return [(where % prefix, os.path.join(prefix, sub)) for sub in subs] if prefix else []

    out = prefix_dirs(os.environ.get("DISENT_PREFIX"), "DISENT_PREFIX %s")
    root = getattr(b, "SOURCE_ROOT", None)
    if root and os.path.isfile(os.path.join(root, "include", "disent.h")):
        out += [("build folder of the source tree", d) for d in _repo_build_dirs(root)]
    return out + prefix_dirs(getattr(b, "PREFIX", None), "prefix %s (DISENT_PREFIX when built)")


def _candidates():
    """(where, path-or-name) pairs in lookup order, after DISENT_LIBRARY."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = [("package folder", os.path.join(here, n)) for n in _NAMES]
    for d in _repo_build_dirs():
        out += [("build folder", os.path.join(d, n)) for n in _NAMES[:2]]
    for where, d in _installed_dirs():
        out += [(where, os.path.join(d, n)) for n in _NAMES[:2]]
    found = ctypes.util.find_library("disent")
    if found and found != _NAMES[0]:
        out.append(("system loader (find_library)", found))
    out.append(("system loader", _NAMES[0]))
    return out


def _load():
    tried = []
    env = os.environ.get("DISENT_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise errors.LibraryNotFoundError(
                "cannot load libdisent from DISENT_LIBRARY=%r: %s" % (env, e)) from None
    for where, path in _candidates():
        is_file = os.sep in path
        if is_file and not os.path.exists(path):
            tried.append("  %s: %s (no such file)" % (where, path))
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("  %s: %s (%s)" % (where, path, e))
    raise errors.LibraryNotFoundError(
        "cannot find libdisent; tried DISENT_LIBRARY (unset) and:\n" + "\n".join(tried) +
        "\nBuild it with `make lib` (then it is found in build/), install it with `make install` "
        "(PREFIX outside the loader's path: set DISENT_PREFIX), or set DISENT_LIBRARY to the path of libdisent.so.")


def _check_status(result, func, args):
    if result != errors.OK:
        msg = C.dsn_last_error()
        msg = msg.decode("utf-8", "replace") if msg else ""
        if not msg:
            msg = "%s: %s" % (func.__name__, C.dsn_status_string(result).decode())
        raise errors.error_for(result, msg, func.__name__)
    return result


def _missing_stub(name, path):
    def stub(*args, **kwargs):
        raise errors.UnsupportedError("%s is not exported by %s (a library older than the bindings?)"
                                      % (name, path), errors.E_UNSUPPORTED, name)
    stub.__name__ = name
    return stub


class _Namespace:
    """The bound C functions as attributes: C.dsn_model_create(...)."""


C: Any = _Namespace()  # the bound functions are set by bind(): typed as Any for checkers
MISSING = []  # names in FUNCTIONS the loaded library does not export


def bind(table, cdll, path):
    """Declare restype/argtypes for every entry of table and put it on C."""
    for name, (restype, argtypes) in table.items():
        try:
            f = getattr(cdll, name)
        except AttributeError:
            MISSING.append(name)
            setattr(C, name, _missing_stub(name, path))
            continue
        if restype == STATUS:
            f.restype = c_int
            f.errcheck = _check_status
        else:
            f.restype = restype
        f.argtypes = list(argtypes)
        setattr(C, name, f)


def _check_version(cdll, path):
    try:
        vn = cdll.dsn_version_number
    except AttributeError:
        raise errors.VersionMismatchError("%s has no dsn_version_number: not libdisent?" % path) from None
    vn.restype = c_int
    vn.argtypes = []
    n = vn()
    major, minor = n // 10000, n // 100 % 100
    ok = major == VERSION_MAJOR and (minor == VERSION_MINOR if major == 0 else minor >= VERSION_MINOR)
    if not ok:
        raise errors.VersionMismatchError(
            "%s is libdisent %d.%d.%d; these bindings were written for %d.%d (set DISENT_LIBRARY to a "
            "matching build)" % (path, major, minor, n % 100, VERSION_MAJOR, VERSION_MINOR))


LIB, LIBRARY_PATH = _load()
_check_version(LIB, LIBRARY_PATH)
bind(FUNCTIONS, LIB, LIBRARY_PATH)


def last_error():
    """dsn_last_error() as a str."""
    return C.dsn_last_error().decode("utf-8", "replace")


def enc(s):
    """A str/bytes/PathLike as bytes for a const char * argument (None stays None)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8")
    return os.fsencode(s)


def dec(b):
    return None if b is None else b.decode("utf-8", "replace")


__all__ = ["C", "FUNCTIONS", "STATUS", "LIBRARY_PATH", "bind", "enc", "dec", "last_error"]
