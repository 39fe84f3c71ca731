"""Builds the snkv package from this source tree, offline.

    /usr/bin/python3 -m pip install --no-build-isolation ./python

compiles the C++ store (../src) and the binding (src/) into the extension
snkv._snkv, linked against the system SQLite and libsodium (Debian:
libsqlite3-dev, libsodium-dev, pybind11-dev, python3-dev). The package
lives inside the snkv source tree and is built from it in place.
"""

import glob
import os
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def pkg_config(flag, *packages):
    """Words of `pkg-config flag packages`, or [] without pkg-config."""
    try:
        out = subprocess.run(["pkg-config", flag, *packages], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return out.split()


def pybind11_include():
    try:
        import pybind11  # only if the Python package is installed
        return [pybind11.get_include()]
    except ImportError:
        return []  # Debian's pybind11-dev puts the headers in /usr/include


class ParallelBuildExt(build_ext):
    """Compiles the ~30 sources on every core unless told otherwise."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1


sources = sorted(glob.glob(os.path.join(HERE, "src", "*.cc")))
# Every source of the library: the binding includes the vector store
# (snkv.vector).
sources += sorted(glob.glob(os.path.join(ROOT, "src", "**", "*.cc"),
                            recursive=True))

extension = Extension(
    "snkv._snkv",
    sources=sources,
    include_dirs=[os.path.join(ROOT, "include"), os.path.join(ROOT, "src"),
                  os.path.join(HERE, "src"), *pybind11_include()],
    # -fopenmp-simd: the `omp simd` loops of src/vector/distance.cc (no
    # OpenMP runtime is linked).
    extra_compile_args=["-std=c++20", "-O2", "-fvisibility=hidden",
                        "-fopenmp-simd",
                        *pkg_config("--cflags", "sqlite3", "libsodium")],
    extra_link_args=pkg_config("--libs", "sqlite3", "libsodium")
    or ["-lsqlite3", "-lsodium"],
    language="c++",
)

setup(
    name="snkv",
    version="0.1.0",
    description="Embedded key-value store on SQLite: column families, "
                "ordered iterators, transactions, TTL, encryption",
    packages=["snkv"],
    package_data={"snkv": ["py.typed", "*.pyi"]},
    ext_modules=[extension],
    cmdclass={"build_ext": ParallelBuildExt},
    python_requires=">=3.9",
    zip_safe=False,
)
