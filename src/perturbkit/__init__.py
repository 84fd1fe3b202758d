"""perturbkit: the library under the executable book *Dissecting Perturbations*.

Laid out like scanpy: ``pk.data`` (manifests, verified fetch, loaders, simulators),
``pk.pp`` (preprocessing), ``pk.tl`` (methods: annotate an AnnData or return tidy
tables), ``pk.pl`` (plots), ``pk.get`` (tidy tables out of annotated AnnData),
``pk.dose`` (dose-response models) and ``pk.book`` (chapter helpers).
"""

from importlib.metadata import PackageNotFoundError, version

from . import book, data, dose, get, metrics, pl, pp, tl

try:
    __version__ = version("perturbkit")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["book", "data", "dose", "get", "metrics", "pl", "pp", "tl", "__version__"]
