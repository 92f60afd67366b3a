"""Pythonic classes over the C API: Options, Model, Session, Encoding,
Optimizer, Dataset and fit().

Array shapes in the docstrings: n observations (items) of obs_shape
(e.g. (T, n_mels) for sequence models, (C, H, W) for images); a latent part
is (rows, dim) with rows set by its Scope. Every handle class is a context
manager (`with Model(...) as m:` closes it) and has close()."""
from __future__ import annotations

import collections
import ctypes
import enum
import os
import signal
import sys
import threading
import weakref
from ctypes import byref, c_char_p, c_float, c_size_t
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union)

import numpy as np

from . import errors
from ._arrays import as_f32, as_i32, batch, fptr, groups as _groups, iptr, shape_error
from ._lib import (C, PROGRESS_FN, f32_p, Dataset_p, Encoding_p, Model_p, Optimizer_p, Options_p, Session_p, dec,
                   dsn_allocator, ALLOC_FN, FREE_FN, enc, dsn_model_info, dsn_part_info, dsn_dataset_info,
                   dsn_batch_args, dsn_option_info, sized, MAX_DIMS)

_MAX_DIMS = MAX_DIMS  # DSN_MAX_DIMS: observation dims of dsn_model_info / dsn_dataset_info
_MAX_OBS_DIMS = 3  # dims of an observation dsn_dataset_from_memory accepts

#: anything numpy.asarray accepts (arrays are converted to float32 / int32 as needed)
ArrayLike = Any
#: a file name
PathLike = Union[str, "os.PathLike[str]"]
#: options: an Options, a dict, a "key = value, ..." string or None
OptionsLike = Union[None, "Options", Mapping[str, Any], str]


class Scope(enum.IntEnum):
    """How many rows a latent part has for a batch (dsn_scope)."""
    GROUP = 0     # one row per group
    ITEM = 1      # one row per observation
    FRAME = 2     # one row per frame of each observation
    POSITION = 3  # one row per code position of each observation



def _batch_args(groups, mask, part):
    """byref(dsn_batch_args) for the optional per-batch inputs, or None
    (the arrays must stay alive during the call: the callers hold them)."""
    if groups is None and mask is None and part is None:
        return None
    return byref(sized(dsn_batch_args, groups=iptr(groups), mask=fptr(mask), part=enc(part)))

def _scope(v):
    try:
        return Scope(v)
    except ValueError:  # a scope newer than these bindings: keep the number
        return v


Part = collections.namedtuple("Part", "name dim scope")
Part.__doc__ = "A latent part of a model: its name, floats per row and Scope."

Progress = collections.namedtuple("Progress", "epoch step epoch_end terms")
Progress.__doc__ = """What fit() passes to its callback: epoch (0-based during an
epoch, the number of finished epochs at epoch_end), the global step, whether
this is the end-of-epoch report, and a dict of named loss terms."""


# ---- library-wide functions -------------------------------------------------

def version() -> str:
    """Version string of the loaded library ("0.1.0")."""
    return dec(C.dsn_version_string())


def version_number() -> int:
    """MAJOR*10000 + MINOR*100 + PATCH of the loaded library."""
    return C.dsn_version_number()


def model_families() -> List[str]:
    """Names of the model families built into the library (list of str)."""
    return [f.strip() for f in dec(C.dsn_model_families()).split(",") if f.strip()]


def option_info(what: str) -> List[Dict[str, Any]]:
    """The option keys the library reads for `what`: a model family ("ml-vae",
    ...), "fit", "audio" (Dataset.from_audio and the audio front end) or an
    optimizer kind ("adam", ...). A list of dicts with
    key, type, default, min, max, choices (list of str, enums only), doc and
    requires ("key=value" or None), in the order the library reads them."""
    w = enc(what)
    n = c_size_t()
    C.dsn_option_count(byref(n), w)
    out = []
    for i in range(n.value):
        info = sized(dsn_option_info)
        C.dsn_option_describe(byref(info), w, i)
        out.append({"key": dec(info.key), "type": dec(info.type), "default": dec(info.default_value),
                    "min": info.min, "max": info.max,
                    "choices": dec(info.choices).split("|") if info.choices else None,
                    "doc": dec(info.doc), "requires": dec(info.requires) if info.requires else None})
    return out


def status_string(status: int) -> str:
    """Human-readable name of a dsn_status code."""
    return dec(C.dsn_status_string(int(status)))


def last_error() -> str:
    """The calling thread's last error message ('' if none)."""
    return dec(C.dsn_last_error())


def clear_error() -> None:
    """Clear the calling thread's last error message."""
    C.dsn_clear_error()


def allocation_count() -> int:
    """Heap allocations the library has made since the process started."""
    return C.dsn_allocation_count()


def set_threads(n: int) -> None:
    """Threads the library uses for its work (1..64, or 0 for the CPUs); see dsn_set_threads.

    Call it when no other library call is running. Raises InvalidArgumentError for n out of range."""
    C.dsn_set_threads(int(n))


def get_threads() -> int:
    """The library's thread count (>= 1)."""
    return C.dsn_get_threads()


def blas_coretype_hint() -> Optional[str]:
    """The OPENBLAS_CORETYPE this CPU should run with when OpenBLAS does not
    know it ("SkylakeX", "Haswell"), or None (dsn_blas_coretype_hint). OpenBLAS
    reads the variable when it is loaded: set it in the environment of a new
    process."""
    h = C.dsn_blas_coretype_hint()
    return dec(h) if h else None


_allocator_keepalive = None


def set_allocator(alloc: Optional[Callable[[int], int]] = None, free: Optional[Callable[[int], None]] = None) -> None:
    """Route every library allocation through Python callables:
    alloc(size) -> address (int, 16-byte aligned, 0 on failure) and free(address).
    With no arguments, restore malloc/free. Must be called before any object
    is created (memory must be released by the allocator that made it)."""
    global _allocator_keepalive
    if alloc is None and free is None:
        C.dsn_set_allocator(None)
        _allocator_keepalive = None
        return
    if alloc is None or free is None:
        raise errors.InvalidArgumentError("set_allocator: give both alloc and free, or neither",
                                          errors.E_INVALID)

    def _alloc(ctx, size):
        try:
            return alloc(size) or None
        except BaseException:  # never let an exception cross into C
            return None

    def _free(ctx, ptr):
        if ptr:
            try:
                free(ptr)
            except BaseException:
                pass

    a = dsn_allocator(ALLOC_FN(_alloc), FREE_FN(_free), None)
    C.dsn_set_allocator(byref(a))
    _allocator_keepalive = a


# ---- handles ----------------------------------------------------------------

class _Handle:
    """Owns one C handle: close() frees it (idempotent), `with` closes it, and
    the finaliser frees it as a safety net. Using it after close() raises
    ClosedError."""

    _free_fn: Optional[str] = None  # name of the dsn_X_free function
    _ptr: Any = None

    def _adopt(self, ptr):
        self._ptr = ptr
        return self

    @property
    def _h(self):
        p = self._ptr
        if not p:
            raise errors.ClosedError("%s is closed (close() was called, or its model was closed)"
                                     % type(self).__name__, errors.E_STATE)
        return p

    @property
    def closed(self) -> bool:
        """True once close() was called (or the owning model was closed)."""
        return not self._ptr

    def close(self) -> None:
        """Release the C object now. Safe to call twice."""
        p, self._ptr = self._ptr, None
        if p and self._free_fn:
            getattr(C, self._free_fn)(p)

    def __enter__(self):
        self._h
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass


class _Observed(_Handle):
    """A handle whose description (dsn_model_info by dsn_model_describe,
    dsn_dataset_info by dsn_dataset_describe) names the shape of one
    observation."""

    _info_type: Any = None  # the sized struct
    _describe_fn: Optional[str] = None  # the dsn_X_describe function that fills it

    def _info(self):
        info = sized(self._info_type)
        getattr(C, self._describe_fn)(self._h, byref(info))
        return info

    @property
    def obs_size(self) -> int:
        """Floats per observation (the product of obs_shape)."""
        return self._info().obs_size

    @property
    def obs_shape(self) -> Tuple[int, ...]:
        """Shape of one observation, e.g. (T, n_mels) or (C, H, W)."""
        info = self._info()
        return tuple(info.obs_shape[i] for i in range(min(info.obs_ndim, _MAX_DIMS)))


class _Dependent(_Handle):
    """A handle that points into a model (session, encoding, optimizer): it
    keeps the model alive, and is closed first when the model is closed."""

    def _attach(self, model):
        self.model = model
        model._deps.add(self)


def _format_value(key, v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return v
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (list, tuple)):
        return ":".join(_format_value(key, x) for x in v)
    raise TypeError("option %r: cannot pass a %s (use str, int, float, bool or a list of them)"
                    % (key, type(v).__name__))


def _read_options(ptr):
    """A dsn_options (borrowed) as an ordered dict."""
    out = {}
    if not ptr:
        return out
    for i in range(C.dsn_options_count(ptr)):
        k = C.dsn_options_key(ptr, i)
        out[dec(k)] = dec(C.dsn_options_get(ptr, k))
    return out


class Options(_Handle):
    """A dsn_options bag of string key/value pairs, usable like a dict.
    Values given as bool/int/float/list are formatted the way the library
    parses them (lists joined by ':')."""

    _free_fn = "dsn_options_free"

    def __init__(self, items: Optional[Mapping[str, Any]] = None, **kw: Any) -> None:
        p = Options_p()
        C.dsn_options_create(byref(p))
        self._adopt(p)
        for k, v in dict(items or {}, **kw).items():
            self[k] = v

    @classmethod
    def of(cls, items: OptionsLike = None, **kw: Any) -> Optional["Options"]:
        """An Options from an Options (returned as is), a dict, a "k=v, ..."
        string or keywords; None when there is nothing to set."""
        if isinstance(items, Options) and not kw:
            return items
        if isinstance(items, str):
            o = cls(**kw)
            o.parse(items)
            return o
        if items is None and not kw:
            return None
        if isinstance(items, Options):
            items = items.to_dict()
        return cls(items, **kw)

    def set(self, key: str, value: Any) -> None:
        """Set key to value (bool/int/float/list formatted as the library parses them)."""
        C.dsn_options_set(self._h, enc(key), enc(_format_value(key, value)))

    def parse(self, text: str) -> None:
        """Add "key = value" pairs separated by newlines, ';' or ','."""
        C.dsn_options_parse(self._h, enc(text))

    def load(self, path: PathLike) -> None:
        """Add the pairs in a text file (see parse)."""
        C.dsn_options_load(self._h, enc(path))

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """The value of key as a string, or default."""
        v = C.dsn_options_get(self._h, enc(key))
        return default if v is None else dec(v)

    def keys(self) -> List[str]:
        """The keys, in the order they were set."""
        h = self._h
        return [dec(C.dsn_options_key(h, i)) for i in range(C.dsn_options_count(h))]

    def to_dict(self) -> Dict[str, str]:
        """{key: value} of every pair."""
        return _read_options(self._h)

    def items(self) -> Iterable[Tuple[str, str]]:
        """The (key, value) pairs."""
        return self.to_dict().items()

    def __len__(self):
        return C.dsn_options_count(self._h)

    def __iter__(self):
        return iter(self.keys())

    def __contains__(self, key):
        return C.dsn_options_get(self._h, enc(key)) is not None

    def __getitem__(self, key):
        v = C.dsn_options_get(self._h, enc(key))
        if v is None:
            raise KeyError(key)
        return dec(v)

    def __setitem__(self, key, value):
        self.set(key, value)

    def __repr__(self):
        return "Options(closed)" if self.closed else "Options(%r)" % self.to_dict()


def _opts_ptr(o):
    return o._h if o is not None else None


def _front_end_options(options: OptionsLike, kw: Mapping[str, Any], model: Optional["Model"]) -> Optional[Options]:
    """Options.of(options, **kw), with model.audio (the model's front end)
    under them when model is given; a key that contradicts the front end
    raises OptionError (the settings are given once, by the model). Returns
    `options` itself when nothing is merged (the caller closes anything else)."""
    base = model.audio if model is not None else {}
    if not base:
        return Options.of(options, **kw)
    merged = dict(base)
    given = Options.of(options) if options is not None else None
    if given is not None:
        merged.update(given.to_dict())
        if given is not options:
            given.close()
    merged.update(kw)
    for k, v in base.items():
        w = merged[k]
        if isinstance(w, bool) or str(w) == v:
            continue
        try:
            if float(w) == float(v):
                continue
        except (TypeError, ValueError):
            pass
        raise errors.OptionError("option %s = %s differs from the model's audio front end (%s = %s, saved in the "
                                 "model file; leave the key out)" % (k, w, k, v), errors.E_OPTION)
    return Options.of(merged)


class _Opts:
    """Options.of(options, **kw) for one call, as the pointer the C call
    takes; closes what it made (never the caller's own Options). model= puts
    the model's front end under the given keys (a key that contradicts it
    raises OptionError)."""

    def __init__(self, options: OptionsLike, kw: Mapping[str, Any], model: Optional["Model"] = None):
        self.given = options
        self.o = _front_end_options(options, kw, model)

    def __enter__(self):
        return _opts_ptr(self.o)

    def __exit__(self, *exc):
        if self.o is not None and self.o is not self.given:
            self.o.close()
        return False


# ---- models -------------------------------------------------------------------

class Model(_Observed):
    """A model of one family ("ml-vae", ...) with its options and weights.

    Model("ml-vae", input_dim=64, hidden=[128], seed=3) creates one (options
    as keywords, or as a dict/str in `options` for keys that are not Python
    identifiers); Model.load(path) reads a saved one. encode/decode/swap/
    sample run through a session the model keeps (calls from several threads
    take turns); use model.session() for one session per thread to run them
    in parallel.
    """

    _free_fn = "dsn_model_free"
    _info_type, _describe_fn = dsn_model_info, "dsn_model_describe"

    def __init__(self, family: str, options: OptionsLike = None, **kw: Any) -> None:
        self._init_fields()
        p = Model_p()
        with _Opts(options, kw) as o:
            C.dsn_model_create(byref(p), enc(family), o)
        self._adopt(p)

    def _init_fields(self):
        self._deps = weakref.WeakSet()
        self._session = None
        # the internal session is scratch for one call at a time, and ctypes
        # releases the GIL during C calls: serialise the model's own calls
        self._lock = threading.Lock()

    @classmethod
    def for_data(cls, family: str, data: "Dataset", options: OptionsLike = None, **kw: Any) -> "Model":
        """Model(family, options, **kw) shaped for the Dataset it will be
        trained on, as `disent train` does it: pictures (observations (H, W),
        or (C, H, W) with C <= 4; H and W multiples of 4) give image = "HxW"
        ("CxHxW") to a family that reads an image shape (its convolutional
        encoder and image defaults), unless the options choose the network
        (image, encoder or input_dim); an audio set (Dataset.from_audio,
        load_audio) gives frames and n_mels to a family that reads them,
        unless the options set them (tools/disent/cmd_train.c has the same
        rules)."""
        o = Options.of(options, **kw)
        given = o.to_dict() if o is not None else {}
        if o is not None and o is not options:
            o.close()
        try:
            reads = {d["key"] for d in option_info(family)}
        except errors.DisentError:  # an unknown family: Model() below says so
            reads = set()
        shape = data.obs_shape
        extra: Dict[str, Any] = {}
        if data.audio and len(shape) == 2:
            extra = {k: n for k, n in zip(("frames", "n_mels"), shape) if k in reads and k not in given}
        if "image" in reads and not {"image", "encoder", "input_dim"} & set(given):
            c, hw = (1, shape) if len(shape) == 2 else (shape[0], shape[1:]) if len(shape) == 3 else (0, ())
            if 1 <= c <= 4 and len(hw) == 2 and all(d >= 4 and d % 4 == 0 for d in hw):
                extra["image"] = "x".join(str(d) for d in ((c,) if c > 1 else ()) + tuple(hw))
        return cls(family, dict(given, **extra))

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """A model saved with save() (FormatError for damaged files)."""
        p = Model_p()
        C.dsn_model_load(byref(p), enc(path))
        m = cls.__new__(cls)
        m._init_fields()
        return m._adopt(p)

    def save(self, path: PathLike, optimizer: Optional["Optimizer"] = None) -> None:
        """Save family, options and weights atomically; with an optimizer also
        its state and the training counters (exact resume)."""
        if optimizer is not None and optimizer.model is not self:
            raise errors.InvalidArgumentError("save: the optimizer belongs to another model", errors.E_INVALID)
        C.dsn_model_save(self._h, optimizer._h if optimizer is not None else None, enc(path))

    def close(self) -> None:
        """Release the model, after closing its sessions, encodings and optimizers."""
        deps = getattr(self, "_deps", None)
        if deps is not None:
            for d in list(deps):
                d.close()
        self._session = None
        super().close()

    # -- description
    @property
    def family(self) -> str:
        """The family name ("ml-vae", "dsae", "ts-dsae", "vq-vae")."""
        return dec(self._info().family)

    @property
    def epoch(self) -> int:
        """Training epochs completed (saved with the model)."""
        return self._info().epoch

    @property
    def options(self) -> Dict[str, str]:
        """The options the model was created with, as a dict of strings."""
        return _read_options(C.dsn_model_options(self._h))

    @property
    def audio(self) -> Dict[str, str]:
        """The audio front end the model was trained with, as a dict of strings
        (every feature key and "frames"; {} for none: dsn_model_audio). Pass it
        to audio.features / audio.mel_to_audio, or use their model= keyword."""
        return _read_options(C.dsn_model_audio(self._h))

    def set_audio(self, options: OptionsLike = None, **kw: Any) -> None:
        """Set the audio front end (feature keys as in Dataset.from_audio; None
        and no keywords removes it); n_mels and frames must be the model's."""
        with _Opts(options, kw) as o:
            C.dsn_model_set_audio(self._h, o)

    @property
    def num_params(self) -> int:
        """Trainable floats (weights only)."""
        return self._info().num_params

    @property
    def parts(self) -> Tuple[Part, ...]:
        """The latent parts, as a tuple of Part(name, dim, scope)."""
        h, out = self._h, []
        for i in range(self._info().num_parts):
            p = sized(dsn_part_info)
            C.dsn_model_part(h, byref(p), i)
            out.append(Part(dec(p.name), p.dim, _scope(p.scope)))
        return tuple(out)

    @property
    def part_names(self) -> Tuple[str, ...]:
        """The names of the latent parts, in order."""
        return tuple(p.name for p in self.parts)

    def __repr__(self):
        if self.closed:
            return "Model(closed)"
        return "Model(%r, params=%d, obs_shape=%s, parts=%s)" % (
            self.family, self.num_params, self.obs_shape, ", ".join("%s[%d]" % (p.name, p.dim) for p in self.parts))

    # -- inference
    def session(self, max_items: int) -> "Session":
        """A new Session (scratch for up to max_items per call)."""
        return Session(self, max_items)

    def encoding(self, max_items: int) -> "Encoding":
        """A new empty Encoding with room for max_items observations."""
        return Encoding(self, max_items)

    def _sess(self, n):
        s = self._session
        if s is None or s.closed or s.max_items < n:
            if s is not None:
                s.close()
            s = self._session = Session(self, max(int(n), 64))
        return s

    def encode(self, x: ArrayLike, groups: Optional[ArrayLike] = None, out: Optional["Encoding"] = None,
               mask: Optional[ArrayLike] = None, part: Optional[str] = None) -> "Encoding":
        """Encode a batch x of shape (n, *obs_shape) (or (n, obs_size)); items
        with equal group ids share group-scoped parts. mask (sequence models
        only): (n, T) frame validity, 1 valid / 0 padding. part: encode only
        this part (the others read as zeros; faster where the model can skip
        work). groups: int (n,) group ids (default: all distinct). Returns an
        Encoding (`out`, reused, if given) whose part p is (rows, dim)."""
        xa, n = batch(x, self.obs_shape, self.obs_size, "encode: x")
        with self._lock:
            return self._sess(n).encode(xa, groups, out, mask, part)

    def decode(self, encoding: "Encoding", out: Optional[np.ndarray] = None) -> np.ndarray:
        """Observations from an encoding of n items: float32 array of shape
        (n, *obs_shape) (written into out, of that size, if given)."""
        with self._lock:
            return self._sess(max(encoding.num_items, 1)).decode(encoding, out)

    def reconstruct(self, x: ArrayLike, groups: Optional[ArrayLike] = None) -> np.ndarray:
        """decode(encode(x, groups)): x (n, *obs_shape) -> (n, *obs_shape)."""
        with self.encode(x, groups) as e:
            return self.decode(e)

    def swap(self, a: "Encoding", b: "Encoding", part: str) -> None:
        """Exchange `part` between encodings a and b (in place; the part must
        have the same shape (rows, dim) in both)."""
        a.swap(b, part)

    def sample(self, encoding: "Encoding", part: str, seed: int = 0) -> "Encoding":
        """Replace `part` (rows, dim) of encoding by draws from the prior (in
        place); returns the encoding."""
        with self._lock:
            return self._sess(max(encoding.num_items, 1)).sample(encoding, part, seed)

    def sample_prior(self, n: int, groups: Optional[ArrayLike] = None, seed: int = 0) -> "Encoding":
        """A new Encoding of n items with every part drawn from the prior
        (part i with seed + i)."""
        e = Encoding(self, n)
        try:
            e.prepare(n, groups)
            for i, p in enumerate(self.part_names):
                self.sample(e, p, seed + i)
        except BaseException:
            e.close()
            raise
        return e

    # -- stages, options after creation, named statistics
    @property
    def stage(self) -> Optional[str]:
        """Training stage (e.g. "autoencoder"/"prior" for vq-vae,
        "constrained"/"full" for ts-dsae), None for a model without stages."""
        return dec(self._info().stage)

    def set_stage(self, stage: str) -> None:
        """Switch the training stage by name (dsn_model_set_stage); make a new
        Optimizer afterwards when the trainable parameters change."""
        C.dsn_model_set_stage(self._h, enc(stage))

    def set_option(self, key: str, value: Any) -> None:
        """Change an option the family allows to change after creation
        (vq-vae: temperature, top_k); kept in the model's options."""
        C.dsn_model_set_option(self._h, enc(key), enc(_format_value(key, value)))

    def stats(self, dataset: Optional["Dataset"] = None) -> Dict[str, float]:
        """Named figures (dsn_model_stats) as a dict of floats: the training
        tracker (dataset None; vq-vae: "codebook.perplexity", "codebook.dead",
        ...), or measured over a Dataset (mean loss terms, "codebook.used",
        "prior.bits_per_code", ...)."""
        h, d = self._h, dataset._h if dataset is not None else None
        n = c_size_t()
        C.dsn_model_stats(h, None, None, 0, byref(n), d)
        k = max(n.value, 1)
        names = (c_char_p * k)()
        vals = (ctypes.c_double * k)()
        C.dsn_model_stats(h, names, vals, k, byref(n), d)
        return {dec(names[i]): vals[i] for i in range(min(n.value, k))}

    # -- training
    def optimizer(self, kind: str = "adam", options: OptionsLike = None, **kw: Any) -> "Optimizer":
        """Optimizer(self, kind, ...)."""
        return Optimizer(self, kind, options, **kw)

    def train_step(self, optimizer: "Optimizer", x: ArrayLike, groups: Optional[ArrayLike] = None,
                   mask: Optional[ArrayLike] = None) -> float:
        """One update on a batch x (n, *obs_shape) (groups int (n,), mask
        (n, T) for sequences); returns the batch loss."""
        if optimizer.model is not self:
            raise errors.InvalidArgumentError("train_step: the optimizer belongs to another model", errors.E_INVALID)
        xa, n = batch(x, self.obs_shape, self.obs_size, "train_step: x")
        g = _groups(groups, n)
        m = None
        if mask is not None:
            m = as_f32(mask, "train_step: mask")
            T = self.obs_shape[0]
            if m.shape != (n, T):
                raise shape_error("train_step: mask must have shape (n, T) = (%d, %d), got %s" % (n, T, m.shape))
        loss = c_float()
        C.dsn_train_step(self._h, optimizer._h, byref(loss), fptr(xa), n, _batch_args(g, m, None))
        return loss.value

    def train_terms(self) -> Dict[str, float]:
        """Named loss terms of the last training step, as a dict."""
        h = self._h
        k = C.dsn_train_terms(h, None, None, 0)
        names = (c_char_p * max(k, 1))()
        vals = (c_float * max(k, 1))()
        k = min(C.dsn_train_terms(h, names, vals, k), k)
        return {dec(names[i]): vals[i] for i in range(k)}

    def fit(self, train: "Dataset", optimizer: Optional["Optimizer"] = None, valid: Optional["Dataset"] = None,
            callback: Optional[Callable[[Progress], Any]] = None, progress: Optional[bool] = None,
            options: OptionsLike = None, **kw: Any) -> "History":
        """fit(self, optimizer, train, ...); a default Adam optimizer is made
        (and closed afterwards) when none is given. Returns the history."""
        if optimizer is not None:
            return fit(self, optimizer, train, valid, callback, progress, options, **kw)
        with Optimizer(self) as opt:
            return fit(self, opt, train, valid, callback, progress, options, **kw)


class Session(_Dependent):
    """Per-thread scratch for encode / decode / sample of one model. After
    the first call of each kind these do not allocate in C."""

    _free_fn = "dsn_session_free"

    def __init__(self, model: Model, max_items: int) -> None:
        max_items = int(max_items)
        p = Session_p()
        C.dsn_session_create(byref(p), model._h, max_items)
        self._adopt(p)
        self.max_items = max_items
        self._attach(model)

    def encode(self, x: ArrayLike, groups: Optional[ArrayLike] = None, out: Optional["Encoding"] = None,
               mask: Optional[ArrayLike] = None, part: Optional[str] = None) -> "Encoding":
        """As Model.encode: x (n, *obs_shape), n <= max_items."""
        m = self.model
        xa, n = batch(x, m.obs_shape, m.obs_size, "encode: x")
        ma = None
        if mask is not None:
            if len(m.obs_shape) < 2:
                raise shape_error("encode: a frame mask needs a sequence model")
            ma = as_f32(mask, "encode: mask")
            if ma.shape != (n, m.obs_shape[0]):
                raise shape_error("encode: mask has shape %s, expected %s" % (ma.shape, (n, m.obs_shape[0])))
        if n > self.max_items:
            raise shape_error("encode: %d observations, the session holds %d" % (n, self.max_items))
        g = _groups(groups, n)
        e = out if out is not None else Encoding(m, n)
        if e.max_items < n:
            raise shape_error("encode: %d observations, the encoding holds %d" % (n, e.max_items))
        try:
            if part is not None:
                C.dsn_encode(self._h, e._h, fptr(xa), n, _batch_args(g, ma, part))
            elif ma is None:
                C.dsn_encode(self._h, e._h, fptr(xa), n, _batch_args(g, None, None))
            else:
                C.dsn_encode(self._h, e._h, fptr(xa), n, _batch_args(g, ma, None))
        except BaseException:
            if out is None:
                e.close()
            raise
        return e

    def decode(self, encoding: "Encoding", out: Optional[np.ndarray] = None) -> np.ndarray:
        """As Model.decode: float32 (n, *obs_shape)."""
        m = self.model
        n = encoding.num_items
        shape = (n,) + m.obs_shape
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        else:
            if not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous \
                    or not out.flags.writeable:
                raise TypeError("decode: out must be a writeable C-contiguous float32 numpy array")
            if out.size != n * m.obs_size:
                raise shape_error("decode: out has %d floats, %d items need %s" % (out.size, n, shape))
        C.dsn_decode(self._h, fptr(out), out.size, encoding._h)
        return out

    def sample(self, encoding: "Encoding", part: str, seed: int = 0) -> "Encoding":
        """As Model.sample: draws `part` (rows, dim) from the prior, in place."""
        C.dsn_sample(self._h, encoding._h, enc(part), int(seed) & 0xFFFFFFFFFFFFFFFF)
        return encoding


class Encoding(_Dependent):
    """Latent parts of a batch of observations. enc["content"] (or
    enc.get("content", "mean")) copies a part out as a (rows, dim) float32
    array; enc["style"] = array (or set()) writes one."""

    _free_fn = "dsn_encoding_free"

    def __init__(self, model: Model, max_items: int) -> None:
        max_items = int(max_items)
        p = Encoding_p()
        C.dsn_encoding_create(byref(p), model._h, max_items)
        self._adopt(p)
        self.max_items = max_items
        self._attach(model)

    @property
    def num_items(self) -> int:
        """Observations encoded (n)."""
        n = c_size_t()
        C.dsn_encoding_groups(self._h, None, 0, byref(n), None)
        return n.value

    @property
    def num_groups(self) -> int:
        """Distinct groups among the items (rows of a group-scoped part)."""
        g = c_size_t()
        C.dsn_encoding_groups(self._h, None, 0, None, byref(g))
        return g.value

    @property
    def groups(self) -> np.ndarray:
        """Group row of each item: int32 array of shape (num_items,)."""
        out = np.empty(self.num_items, dtype=np.int32)
        C.dsn_encoding_groups(self._h, iptr(out), out.size, None, None)
        return out

    def __len__(self):
        return self.num_items

    @property
    def part_names(self) -> Tuple[str, ...]:
        """The model's part names."""
        return self.model.part_names

    def shape(self, part: str) -> Tuple[int, int]:
        """(rows, dim) of a part as currently held."""
        rows, dim = c_size_t(), c_size_t()
        C.dsn_encoding_get(self._h, None, 0, byref(rows), byref(dim), enc(part), b"value")
        return rows.value, dim.value

    def get(self, part: str, field: str = "value", out: Optional[np.ndarray] = None) -> np.ndarray:
        """Copy a part's field ("value", "mean" or "logvar") into a new (or the
        given) float32 array of shape (rows, dim)."""
        h = self._h
        rows, dim = c_size_t(), c_size_t()
        C.dsn_encoding_get(h, None, 0, byref(rows), byref(dim), enc(part), enc(field))
        shape = (rows.value, dim.value)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous \
                or not out.flags.writeable:
            raise TypeError("get: out must be a writeable C-contiguous float32 numpy array")
        elif out.size != shape[0] * shape[1]:
            raise shape_error("get: out has %d floats, part %r is %s" % (out.size, part, shape))
        C.dsn_encoding_get(h, fptr(out), out.size, None, None, enc(part), enc(field))
        return out

    def set(self, part: str, data: ArrayLike, field: str = "value") -> None:
        """Overwrite a part's field with data of shape (rows, dim) (or rows*dim
        flat); rows must match what the encoding holds."""
        rows, dim = self.shape(part)
        a = as_f32(data, "set: data")
        if a.shape not in ((rows, dim), (rows * dim,)) and not (dim == 1 and a.shape == (rows,)):
            raise shape_error("set: part %r holds shape (%d, %d), got data of shape %s" % (part, rows, dim, a.shape))
        C.dsn_encoding_set(self._h, enc(part), enc(field), fptr(a), rows)

    def __getitem__(self, part):
        return self.get(part)

    def __setitem__(self, part, data):
        self.set(part, data)

    @property
    def parts(self) -> Dict[str, np.ndarray]:
        """{name: value array of shape (rows, dim)} for every part."""
        return {p: self.get(p) for p in self.part_names}

    def get_codes(self, part: str = "codes") -> np.ndarray:
        """A codes part's int32 indices as an array of shape (num_items,
        positions per item)."""
        h = self._h
        rows = c_size_t()
        C.dsn_encoding_get_codes(h, None, 0, byref(rows), enc(part))
        out = np.empty(rows.value, dtype=np.int32)
        C.dsn_encoding_get_codes(h, iptr(out), out.size, None, enc(part))
        n = self.num_items
        return out.reshape(n, -1) if n and out.size % n == 0 else out

    def set_codes(self, codes: ArrayLike, part: str = "codes") -> None:
        """Overwrite a codes part with indices in [0, K) (any shape holding
        the part's rows) and refresh its vectors from the codebook."""
        h = self._h
        rows = c_size_t()
        C.dsn_encoding_get_codes(h, None, 0, byref(rows), enc(part))
        a = as_i32(codes, "set_codes: codes")
        if a.size != rows.value:
            raise shape_error("set_codes: part %r holds %d codes (%d items), got an array of shape %s"
                              % (part, rows.value, self.num_items, a.shape))
        C.dsn_encoding_set_codes(h, enc(part), iptr(a), a.size)

    def swap(self, other: "Encoding", part: str) -> None:
        """Exchange `part` (same (rows, dim) in both) with another encoding of
        the same model (in place)."""
        C.dsn_swap(self._h, other._h, enc(part))

    def copy_item(self, dst_item: int, src: "Encoding", src_item: int, part: str) -> None:
        """Copy item src_item's row(s) of `part` from encoding src into item
        dst_item of this one (a group-scoped part copies the item's group row)."""
        if dst_item < 0 or src_item < 0:
            raise errors.InvalidArgumentError("copy_item: negative item index", errors.E_INVALID)
        C.dsn_encoding_copy_item(self._h, int(dst_item), src._h, int(src_item), enc(part))

    def prepare(self, n_items: int, groups: Optional[ArrayLike] = None) -> "Encoding":
        """Size for n_items (groups int (n_items,) as in encode) and zero every part."""
        n_items = int(n_items)
        if n_items <= 0:
            raise shape_error("prepare: n_items must be positive, got %d" % n_items)
        g = _groups(groups, n_items)
        C.dsn_encoding_prepare(self._h, n_items, iptr(g))
        return self

    def sample(self, part: str, seed: int = 0) -> "Encoding":
        """Draw `part` (rows, dim) from the prior, in place (through the model's session)."""
        return self.model.sample(self, part, seed)

    def __repr__(self):
        if self.closed:
            return "Encoding(closed)"
        return "Encoding(%s items, %s groups, parts=%s)" % (self.num_items, self.num_groups, self.part_names)


# ---- optimizers ----------------------------------------------------------------

class Optimizer(_Dependent):
    """Optimizer state bound to one model: kind "adam" (default), "adamw" or
    "sgd", options as keywords (lr, beta1, clip_norm, schedule, ...)."""

    _free_fn = "dsn_optimizer_free"

    def __init__(self, model: Model, kind: str = "adam", options: OptionsLike = None, **kw: Any) -> None:
        p = Optimizer_p()
        with _Opts(options, kw) as o:
            C.dsn_optimizer_create(byref(p), model._h, enc(kind), o)
        self._adopt(p)
        self.kind: Optional[str] = kind  # None for an optimizer read back with load()
        self._attach(model)

    @classmethod
    def load(cls, model: Model, path: PathLike) -> "Optimizer":
        """The optimizer state saved with model.save(path, optimizer)."""
        p = Optimizer_p()
        C.dsn_optimizer_load(byref(p), model._h, enc(path))
        o = cls.__new__(cls)
        o._adopt(p)
        o.kind = None
        o._attach(model)
        return o

    def set_lr(self, lr: float) -> None:
        """Change the base learning rate (> 0, finite)."""
        C.dsn_optimizer_set_lr(self._h, float(lr))

    @property
    def steps(self) -> int:
        """Updates taken so far."""
        return C.dsn_optimizer_steps(self._h)


# ---- datasets --------------------------------------------------------------------

class Dataset(_Observed):
    """Observations of one shape with optional int labels (also the groups of
    grouped training) and frame masks. Dataset(x, labels, mask) copies numpy
    arrays; the from_* class methods read files."""

    _free_fn = "dsn_dataset_free"
    _info_type, _describe_fn = dsn_dataset_info, "dsn_dataset_describe"

    def __init__(self, x: ArrayLike, labels: Optional[ArrayLike] = None, mask: Optional[ArrayLike] = None) -> None:
        """x (n, *obs_shape) with 1 to 3 dims per observation, labels int (n,)
        (>= 0), mask (n, T) for sequences (1 valid, 0 padding)."""
        a = as_f32(x, "Dataset: x")
        if a.ndim < 2 or a.ndim > _MAX_OBS_DIMS + 1:
            raise shape_error("Dataset: x must have shape (n, d1[, d2[, d3]]) (1 to 3 dims per observation), "
                              "got %s" % (a.shape,))
        n = a.shape[0]
        if n == 0:
            raise shape_error("Dataset: x holds no observations")
        lab = None
        if labels is not None:
            lab = as_i32(labels, "Dataset: labels")
            if lab.shape != (n,):
                raise shape_error("Dataset: labels must have shape (%d,), got %s" % (n, lab.shape))
        m = None
        if mask is not None:
            m = as_f32(mask, "Dataset: mask")
            if m.shape != (n, a.shape[1]):
                raise shape_error("Dataset: mask must have shape (n, T) = (%d, %d), got %s" % (n, a.shape[1], m.shape))
        shape = (c_size_t * (a.ndim - 1))(*a.shape[1:])
        p = Dataset_p()
        C.dsn_dataset_from_memory(byref(p), fptr(a), n, shape, a.ndim - 1, iptr(lab), fptr(m))
        self._adopt(p)

    @classmethod
    def _wrap(cls, p):
        return cls.__new__(cls)._adopt(p)

    @classmethod
    def from_arrays(cls, x: ArrayLike, labels: Optional[ArrayLike] = None,
                    mask: Optional[ArrayLike] = None) -> "Dataset":
        """Dataset(x (n, *obs_shape), labels (n,), mask (n, T))."""
        return cls(x, labels, mask)

    @classmethod
    def from_idx(cls, images: PathLike, labels: Optional[PathLike] = None) -> "Dataset":
        """MNIST-style IDX files: observations (n, 1, H, W), pixels scaled to [0, 1]."""
        p = Dataset_p()
        C.dsn_dataset_from_idx(byref(p), enc(images), enc(labels))
        return cls._wrap(p)

    @classmethod
    def from_mnist(cls, directory: PathLike, test: bool = False) -> "Dataset":
        """The four standard MNIST files in a folder: training (60000) or test
        (10000) set of shape (n, 1, 28, 28), labels 0-9."""
        p = Dataset_p()
        C.dsn_dataset_from_mnist(byref(p), enc(directory), 1 if test else 0)
        return cls._wrap(p)

    @classmethod
    def from_npy(cls, x_path: PathLike, labels_path: Optional[PathLike] = None) -> "Dataset":
        """NumPy .npy files: x of shape (n, ...) float32/float64/uint8, labels (n,)."""
        p = Dataset_p()
        C.dsn_dataset_from_npy(byref(p), enc(x_path), enc(labels_path))
        return cls._wrap(p)

    @classmethod
    def from_audio(cls, source: PathLike, options: OptionsLike = None, model: Optional[Model] = None,
                   **kw: Any) -> "Dataset":
        """Log-mel windows of shape (n, frames, n_mels) of an audio folder or
        CSV manifest, with a frame mask (n, frames); options as in
        dsn_dataset_from_audio (frames, hop, min_tail, cache, threads, label,
        bad_clips and the front-end keys: disent.option_info("audio")). Bad
        input (a missing label column, a single class, silent or clipped
        clips) raises; what was padded, left out or kept is in counter().
        model=: the model's front end (Model.audio, frames included) is the
        default, so an evaluation or encoding set is cut exactly like the
        training set."""
        o = _front_end_options(options, kw, model)
        p = Dataset_p()
        try:
            C.dsn_dataset_from_audio(byref(p), enc(source), _opts_ptr(o))
        finally:
            if o is not None and o is not options:
                o.close()
        return cls._wrap(p)

    @classmethod
    def load_audio(cls, path: PathLike, label_column: Optional[str] = None) -> "Dataset":
        """A dataset file written by the `features` tool: (n, frames, n_mels)."""
        p = Dataset_p()
        C.dsn_dataset_load_audio(byref(p), enc(path), enc(label_column))
        return cls._wrap(p)

    @property
    def audio(self) -> Dict[str, str]:
        """The front end an audio dataset was made with ({} for other datasets)."""
        return _read_options(C.dsn_dataset_audio(self._h))

    def counter(self, name: str) -> int:
        """How an audio dataset was built: "clips", "windows", "short_clips",
        "masked_frames", "dropped_frames", "silent_clips", "clipped_clips",
        "skipped_clips", "computed_clips", "cached_clips" (0 otherwise)."""
        return int(C.dsn_dataset_counter(self._h, enc(name)))

    def split(self, valid_fraction: float, seed: int = 0, stratified: bool = False) -> Tuple["Dataset", "Dataset"]:
        """Random (optionally label-stratified) split: (train, valid), valid
        holding about valid_fraction of the n rows."""
        a, b = Dataset_p(), Dataset_p()
        C.dsn_dataset_split(self._h, byref(a), byref(b), float(valid_fraction), int(seed) & 0xFFFFFFFFFFFFFFFF,
                            1 if stratified else 0)
        return Dataset._wrap(a), Dataset._wrap(b)

    def select_labels(self, labels: ArrayLike) -> Tuple["Dataset", "Dataset"]:
        """(rows whose label is in labels (any int array), the other rows)."""
        lab = as_i32(np.atleast_1d(np.asarray(labels)), "select_labels: labels").ravel()
        a, b = Dataset_p(), Dataset_p()
        C.dsn_dataset_select_labels(self._h, byref(a), byref(b), iptr(lab), lab.size)
        return Dataset._wrap(a), Dataset._wrap(b)

    def __len__(self):
        return self._info().size

    @property
    def num_groups(self) -> int:
        """Distinct labels (0 without labels)."""
        return self._info().num_groups

    def label(self, i: int) -> Optional[int]:
        """Label of item i (None if the dataset has none)."""
        lab = ctypes.c_int32()
        C.dsn_dataset_get(self._h, None, 0, byref(lab), self._index(i))
        return None if lab.value < 0 else lab.value

    def _index(self, i):
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("dataset index %d out of range (%d items)" % (i, n))
        return i

    def get(self, i: int, out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, Optional[int]]:
        """(observation i as a float32 array of shape obs_shape, label or None)."""
        i = self._index(i)
        if out is None:
            out = np.empty(self.obs_shape, dtype=np.float32)
        elif not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous \
                or not out.flags.writeable:
            raise TypeError("get: out must be a writeable C-contiguous float32 numpy array")
        elif out.size != self.obs_size:
            raise shape_error("get: out has %d floats, an observation has %d" % (out.size, self.obs_size))
        lab = ctypes.c_int32()
        C.dsn_dataset_get(self._h, fptr(out), out.size, byref(lab), i)
        return out, (None if lab.value < 0 else lab.value)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.arrays(range(*i.indices(len(self))))
        return self.get(i)

    def __iter__(self):
        for i in range(len(self)):
            yield self.get(i)

    def arrays(self, indices: Optional[Iterable[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(x of shape (k, *obs_shape), labels int32 (k,), -1 where none) for
        the given indices (default all)."""
        idx = range(len(self)) if indices is None else indices
        idx = [self._index(i) for i in idx]
        x = np.empty((len(idx),) + self.obs_shape, dtype=np.float32)
        labels = np.empty(len(idx), dtype=np.int32)
        h, size, lab = self._h, self.obs_size, ctypes.c_int32()
        get, base, stride, plab = C.dsn_dataset_get, x.ctypes.data, size * 4, byref(lab)
        for k, i in enumerate(idx):
            get(h, ctypes.cast(base + k * stride, f32_p), size, plab, i)
            labels[k] = lab.value
        return x, labels

    def __repr__(self):
        if self.closed:
            return "Dataset(closed)"
        return "Dataset(%d items, obs_shape=%s, %d groups)" % (len(self), self.obs_shape, self.num_groups)


# ---- the training loop ---------------------------------------------------------------

def _tqdm():
    try:
        from tqdm import tqdm
        return tqdm
    except ImportError:
        return None


class History(list):
    """fit()'s result: one dict per finished epoch ({"epoch", "step",
    "train_loss", ...}); .steps holds the per-step reports."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: List[Dict[str, Any]] = []


def fit(model: Model, optimizer: Optimizer, train: Dataset, valid: Optional[Dataset] = None,
        callback: Optional[Callable[[Progress], Any]] = None, progress: Optional[bool] = None,
        options: OptionsLike = None, **kw: Any) -> History:
    """Train model with optimizer on the Dataset train (dsn_fit).

    Options as keywords or `options` (epochs, steps_per_epoch, batch_groups,
    group_size, batch_size, patience, keep_best, checkpoint, checkpoint_every,
    log_every, seed, log, log_append). log="run.jsonl" writes the training log
    (every step and epoch; a CSV twin run.csv), which disent.read_log reads and
    disent.plot draws. callback(Progress) is called every log_every steps and
    after each epoch; return True to stop training. An exception raised in the
    callback stops training and is re-raised here. progress: True shows a
    tqdm bar, False none, None one when tqdm is installed and stderr is a
    terminal. Returns a History of the end-of-epoch reports.

    Ctrl-C (SIGINT, in the main thread) stops training after the current step
    and raises KeyboardInterrupt; the model keeps the weights of the last
    finished step (and a checkpoint, if asked for, is written as dsn_fit
    stops). The library reports every step to Python for this (log_every only
    thins out the callback and History.steps).
    """
    o = Options.of(options, **kw)
    run = None
    try:
        opts = o.to_dict() if o is not None else {}
        try:  # only for the progress bar; the library validates the options
            fam = dict(kv.split("=", 1) for kv in
                       (x.strip() for x in C.dsn_fit_defaults(model._h).decode().split(",")) if "=" in kv)
            epochs = int(opts.get("epochs", fam.get("epochs", 10)))
            spe = int(opts.get("steps_per_epoch", fam.get("steps_per_epoch", 0)))
        except ValueError:
            epochs, spe = 10, 0
        try:
            log_every = max(1, int(opts.get("log_every", 10)))
        except ValueError:
            log_every = None  # let the library report the bad value
        if log_every is not None:  # every step reaches Python, so Ctrl-C acts within a step
            run = Options.of(dict(opts, log_every=1))
        show = progress if progress is not None else sys.stderr.isatty()
        tq = _tqdm() if show else None
        history = History()
        state: Dict[str, Any] = {"exc": None, "bar": None, "last": None, "first_epoch": None}

        interrupted: List[int] = []

        def on_progress(user, epoch, step, epoch_end, n, names, values):
            if state["exc"] is not None or interrupted:  # already stopping
                return 1
            if not epoch_end and log_every is not None and step % log_every:
                if tq is not None and state["bar"] is not None:
                    state["bar"].update(max(0, step - state["last"]))
                    state["last"] = step
                return 0
            try:
                terms = {names[i].decode(): values[i] for i in range(n)}
                if state["first_epoch"] is None:
                    state["first_epoch"] = epoch - 1 if epoch_end else epoch
                if epoch_end:
                    history.append(dict(terms, epoch=epoch, step=step))
                else:
                    history.steps.append(dict(terms, epoch=epoch, step=step))
                if tq is not None:
                    bar = state["bar"]
                    if bar is None:
                        bar = state["bar"] = tq(total=None, unit="step", desc="fit", leave=False)
                    if bar.total is None:
                        per = spe if spe else (step - state["start"] if epoch_end else 0)
                        if per > 0:
                            bar.total = per * (epochs - state["first_epoch"])
                            bar.refresh()
                    bar.update(max(0, step - state["last"]))
                    state["last"] = step
                    post = {k: "%.4g" % v for k, v in terms.items() if k in ("loss", "train_loss", "valid_loss")}
                    if post:
                        bar.set_postfix(post, refresh=False)
                if callback is not None and callback(Progress(epoch, step, bool(epoch_end), terms)):
                    return 1
                return 0
            except BaseException as e:  # must not cross into C: stop, re-raise after dsn_fit
                state["exc"] = e
                return 1

        state["start"] = state["last"] = optimizer.steps
        cb = PROGRESS_FN(on_progress)
        # Ctrl-C: Python's own handler would raise KeyboardInterrupt on entry to
        # the ctypes callback, where ctypes prints and drops it; this one only
        # notes it, the callback stops dsn_fit, and it is raised below
        old_handler = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            old_handler = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
        try:
            C.dsn_fit(model._h, optimizer._h, train._h, valid._h if valid is not None else None,
                      _opts_ptr(run if run is not None else o), cb, None)
        except errors.DisentError:
            if state["exc"] is None and not interrupted:
                raise
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
            if state["bar"] is not None:
                state["bar"].close()
        if interrupted:
            raise KeyboardInterrupt
        if state["exc"] is not None:
            raise state["exc"]
        return history
    finally:
        if run is not None:
            run.close()
        if o is not None and o is not options:
            o.close()


__all__ = ["Scope", "Part", "Progress", "History", "Options", "Model", "Session", "Encoding", "Optimizer",
           "Dataset", "fit", "version", "version_number", "status_string", "last_error", "clear_error",
           "allocation_count", "set_allocator", "set_threads", "get_threads"]
