"""The error trees: every exception a user can see is a ``PipeforgeError`` (the catalog's a ``CatalogError``),
and the registry gives each a status from one table."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import catalog
import generator
from catalog.errors import CatalogError, IdempotencyConflict, NotInCatalogError, RolloutKeyConflict
from generator.depends import DependsSyntaxError, parse_depends
from generator.errors import PipeforgeError, RemoteError, UsageError
from generator.sim.expr import ExpressionError, evaluate_when

#: Modules whose import needs an optional server-side dependency or starts something.
_SKIPPED = {"generator.__main__"}


def _exceptions(package: object) -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):  # type: ignore[attr-defined]
        if info.name in _SKIPPED or ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass) if issubclass(cls, BaseException)
                  and cls.__module__ == info.name and not cls.__name__.startswith("_")]
    return found


@pytest.mark.parametrize("package", [generator, catalog], ids=["generator", "catalog"])
def test_every_public_exception_of_the_library_and_the_catalog_is_in_the_tree(package: object) -> None:
    found = _exceptions(package)
    outside = [f"{cls.__module__}.{cls.__name__}" for cls in found if not issubclass(cls, PipeforgeError)]
    assert len(found) > 5 and outside == []


def test_the_catalog_errors_module_holds_only_catalog_errors() -> None:
    import catalog.errors as module

    classes = [cls for cls in vars(module).values()
               if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == module.__name__]
    assert classes and all(issubclass(cls, CatalogError) for cls in classes)


def test_parse_errors_of_expressions_are_in_the_tree_and_still_value_errors() -> None:
    with pytest.raises(DependsSyntaxError) as depends:
        parse_depends("a && (")
    with pytest.raises(ExpressionError) as when:
        evaluate_when("")
    for error in (depends.value, when.value):
        assert isinstance(error, PipeforgeError) and isinstance(error, ValueError)
        assert error.message == str(error) and error.exit_code == 2


def test_idempotency_conflicts_are_conflicts_with_the_message_the_api_shows() -> None:
    job, rollout = IdempotencyConflict(7), RolloutKeyConflict(9)
    assert job.exit_code == rollout.exit_code == 3 and (job.job_id, rollout.rollout_id) == (7, 9)
    assert job.message == ("this Idempotency-Key already names job 7, for another request; "
                           "use a new key for a new request")
    assert rollout.message.startswith("this Idempotency-Key already names roll-out 9, for another request")


def test_the_registry_maps_errors_to_status_in_one_table() -> None:
    from catalog.errors import CatalogUnavailableError
    from registry_api.problems import status_of

    assert status_of(IdempotencyConflict(1)) == (409, "idempotency-key-reused", "Idempotency-Key reused")
    assert status_of(RolloutKeyConflict(1))[0] == 409
    assert status_of(NotInCatalogError("x")) == (404, "not-found", "Not in the catalog")
    assert status_of(CatalogUnavailableError("x"))[0] == 503
    assert status_of(UsageError("x")) == (400, "bad-request", "Bad request")
    assert status_of(RemoteError("x")) == (400, "bad-request", "Bad request")
