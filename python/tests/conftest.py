"""Shared fixtures for the snkv Python tests.

Run from a CMake build (ctest -R python_tests) or by hand:
    PYTHONPATH=build/python /usr/bin/python3 -m pytest python/tests
"""
import os
import sys

import pytest

import snkv

SOURCE_DIR = os.environ.get(
    "SNKV_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long loops (leak checks); skipped under ASan")
    config.addinivalue_line(
        "markers", "no_asan: fork while threads run; ASan's own allocator "
        "lock can deadlock the child, so skipped under ASan")


@pytest.fixture
def path(tmp_path):
    """A fresh store file name in a per-test directory."""
    return str(tmp_path / "test.db")


@pytest.fixture
def db(path):
    """An open file store, closed after the test."""
    store = snkv.KVStore(path)
    yield store
    store.close()


@pytest.fixture
def mem():
    store = snkv.KVStore()
    yield store
    store.close()
