"""One error type for everything the user can fix: the CLI prints its message on one line."""


class SandboxError(Exception):
    """A problem with a one-line explanation and the fix; never shown as a stack trace."""

    def __init__(self, message: str, fix: str | None = None):
        self.fix = fix
        super().__init__(f"{message} (fix: {fix})" if fix else message)
