"""Typed registry errors. Handlers and the CLI map each to one clear message / HTTP code."""


class RegistryError(Exception):
    """Base class for every registry error."""


class ModelNotFoundError(RegistryError):
    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} not found")
        self.model = model


class ModelExistsError(RegistryError):
    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} already exists")
        self.model = model


class VersionNotFoundError(RegistryError):
    def __init__(self, model: str, version: int) -> None:
        super().__init__(f"model {model!r} has no version {version}")
        self.model = model
        self.version = version


class AliasNotSetError(RegistryError):
    def __init__(self, model: str, alias: str) -> None:
        super().__init__(f"model {model!r} has no {alias} version")
        self.model = model
        self.alias = alias


class NotPromotableError(RegistryError):
    """Promoting a rejected or failed version, one without its artifact, or one already in place."""


class ConcurrentUpdateError(RegistryError):
    """A conditional write lost a race (e.g. two promotions at once); nothing was changed."""


class NothingToRollBackError(RegistryError):
    def __init__(self, model: str) -> None:
        super().__init__(f"model {model!r} has no previous production version to roll back to")
        self.model = model


class RunNotFoundError(RegistryError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} not found")
        self.run_id = run_id


class VersionInUseError(RegistryError):
    """Changing the status of a version an alias points to (production or candidate)."""

    def __init__(self, model: str, version: int, alias: str) -> None:
        super().__init__(
            f"version {version} of {model!r} is {alias}; promote another version, roll back "
            "or clear the candidate before changing its status"
        )
        self.model = model
        self.version = version
        self.alias = alias
