"""Seeding torch without side effects on the caller.

``torch.manual_seed(seed)`` inside a library call would reset torch's *global* generator:
the caller's own stream (and ``torch.initial_seed()``) would silently change whenever
they fit a model. Layers (``nn.Linear``, ``nn.Embedding``) and ``torch.randn_like``
draw from that global generator, so the models here seed it, but only inside a fork whose
state is put back on exit: the same seed gives the same numbers as before and the caller's
stream is left as it was. torch is imported inside the helpers (the package imports light).
"""

from __future__ import annotations

import functools
import inspect
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

__all__ = ["restore_global_rngs", "seeds_torch", "torch_seed"]

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def torch_seed(seed: int) -> Iterator[None]:
    """Run the block with torch's global generator seeded from ``seed``, then restore it.

    Examples
    --------
    >>> import torch
    >>> from perturbkit._seeding import torch_seed
    >>> before = torch.get_rng_state()
    >>> with torch_seed(3):
    ...     a = torch.randn(2)
    >>> with torch_seed(3):
    ...     b = torch.randn(2)
    >>> bool(torch.equal(a, b)), bool(torch.equal(before, torch.get_rng_state()))
    (True, True)
    """
    import torch

    # devices=[]: the models here run on CPU; forking CUDA generators would only warn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def seeds_torch(func: F) -> F:
    """Decorator: call ``func`` inside :func:`torch_seed` with its own ``seed`` argument.

    Examples
    --------
    >>> import torch
    >>> from perturbkit._seeding import seeds_torch
    >>> @seeds_torch
    ... def draw(n, *, seed=0):
    ...     return torch.randn(n)
    >>> bool(torch.equal(draw(3, seed=1), draw(3, seed=1))), bool(torch.equal(draw(3), draw(3, seed=1)))
    (True, False)
    """
    signature = inspect.signature(func)
    if "seed" not in signature.parameters:
        raise TypeError(f"{func.__qualname__} has no 'seed' parameter to seed torch from")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        with torch_seed(bound.arguments["seed"]):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def restore_global_rngs() -> Iterator[None]:
    """Put Python's, numpy's and torch's global generators back as they were on exit.

    For libraries that seed all three themselves (``pyro.set_rng_seed``).

    Examples
    --------
    >>> import numpy as np
    >>> from perturbkit._seeding import restore_global_rngs
    >>> state = np.random.get_state()[1].copy()
    >>> with restore_global_rngs():
    ...     np.random.seed(5)
    >>> bool((np.random.get_state()[1] == state).all())
    True
    """
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002 - saving, not drawing
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002 - restoring the caller's state
