"""Type stubs of snkv.vector (see vector.py and docs/python.md)."""

import os
from typing import (Any, Callable, Dict, Iterable, List, Literal, NamedTuple,
                    Optional, Sequence, Tuple, Union)

import numpy as np
import numpy.typing as npt

from . import Error

_Bytes = Union[str, bytes, bytearray, memoryview]
_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]", None]
# A vector: a numpy array of real numbers, a sequence of numbers, a typed
# buffer, or raw bytes of native float32 values.
_Vector = Union[npt.ArrayLike, bytes, bytearray, memoryview]
_Metadata = Optional[Dict[str, Any]]
_Filter = Union[Dict[str, Any], Callable[[Dict[str, Any]], object], None]
_Item = Union[Tuple[_Bytes, _Bytes, _Vector],
              Tuple[_Bytes, _Bytes, _Vector, _Metadata]]

class VectorIndexError(Error):
    """The index was dropped, or holds nothing to search."""
    code: int

class VectorMismatchError(VectorIndexError, ValueError):
    """Reopened with another dim, space or dtype."""
    code: int

class SearchResult(NamedTuple):
    key: bytes
    value: bytes
    distance: float
    metadata: Optional[Dict[str, Any]]

class VectorStore:
    def __init__(self, path: _Path, dim: int, *,
                 space: Literal["l2", "cosine", "ip"] = ...,
                 connectivity: int = ..., expansion_add: int = ...,
                 expansion_search: Optional[int] = ...,
                 dtype: Literal["f32", "f16", "i8"] = ...,
                 password: Optional[_Bytes] = ...,
                 journal_mode: int = ..., sync_level: int = ...,
                 cache_size: int = ..., page_size: int = ...,
                 busy_timeout: int = ..., wal_size_limit: int = ...,
                 read_only: int = ...) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def closed(self) -> bool: ...

    def vector_put(self, key: _Bytes, value: _Bytes, vector: _Vector, *,
                   ttl: Optional[float] = ...,
                   metadata: _Metadata = ...) -> None: ...
    def vector_put_batch(self, items: Optional[Iterable[_Item]] = ..., *,
                         ttl: Optional[float] = ...,
                         keys: Optional[Iterable[_Bytes]] = ...,
                         values: Optional[Iterable[_Bytes]] = ...,
                         vectors: Optional[_Vector] = ...,
                         metadata: Optional[Sequence[_Metadata]] = ...
                         ) -> None: ...
    def vector_get(self, key: _Bytes) -> npt.NDArray[np.float32]: ...
    def get(self, key: _Bytes, default: Any = ...) -> Any: ...
    def get_metadata(self, key: _Bytes) -> Optional[Dict[str, Any]]: ...
    def delete(self, key: _Bytes) -> None: ...
    def search(self, query: _Vector, top_k: int = ..., *,
               filter: _Filter = ..., rerank: bool = ...,
               oversample: int = ..., max_distance: Optional[float] = ...,
               expansion_search: Optional[int] = ...
               ) -> List[SearchResult]: ...
    def search_keys(self, query: _Vector, top_k: int = ..., *,
                    filter: _Filter = ...,
                    expansion_search: Optional[int] = ...
                    ) -> List[Tuple[bytes, float]]: ...
    def vector_stats(self) -> Dict[str, Any]: ...
    def vector_info(self) -> Dict[str, Any]: ...
    def vector_purge_expired(self) -> int: ...
    def drop_vector_index(self) -> None: ...
    def close(self) -> None: ...

    def __getitem__(self, key: _Bytes) -> bytes: ...
    def __setitem__(self, key: _Bytes, value: _Bytes) -> None: ...
    def __delitem__(self, key: _Bytes) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> "VectorStore": ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...
