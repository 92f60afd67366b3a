"""Build hooks for `pip install bindings/python` (metadata: pyproject.toml).

Offline: `pip install --no-build-isolation bindings/python` uses the
setuptools and wheel already installed (Debian: python3-setuptools,
python3-wheel), so nothing is downloaded.

1. The package remembers where it was built from: disent/_build_info.py gets
   the source tree (its build folders are searched for libdisent, see
   _lib.py) and the install prefix named by DISENT_PREFIX, if set.
2. DISENT_BUNDLE=/path/to/libdisent.so.0 copies that library into the package.
   The wheel is then tagged for the platform (py3-none-linux_x86_64: ctypes
   needs no particular Python ABI); without a library it is pure Python
   (py3-none-any), which is what it then is.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # no wheel package: pip builds without it
    bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
BUNDLE = os.environ.get("DISENT_BUNDLE")


class BuildPy(build_py):
    def run(self):
        super().run()
        pkg = os.path.join(self.build_lib, "disent")
        root = SOURCE_ROOT if os.path.isfile(os.path.join(SOURCE_ROOT, "include", "disent.h")) else None
        with open(os.path.join(pkg, "_build_info.py"), "w") as f:
            f.write('"""Written by setup.py when the package was built."""\n')
            f.write("SOURCE_ROOT = %r\n" % root)
            f.write("PREFIX = %r\n" % (os.environ.get("DISENT_PREFIX") or None))
            f.write("BUNDLED = %r\n" % (os.path.basename(BUNDLE) if BUNDLE else None))
        if BUNDLE:
            shutil.copy(BUNDLE, os.path.join(pkg, os.path.basename(BUNDLE)))


cmdclass = {"build_py": BuildPy}
if bdist_wheel is not None:
    class BdistWheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = not BUNDLE

        def get_tag(self):
            python, abi, plat = super().get_tag()
            return ("py3", "none", plat) if BUNDLE else ("py3", "none", "any")

    cmdclass["bdist_wheel"] = BdistWheel

setup(cmdclass=cmdclass)
