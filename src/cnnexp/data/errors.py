"""The one error type the data layer raises: its message is shown to the user as is."""


class DataUnavailable(RuntimeError):
    """The dataset could not be found, fetched or verified; the message says what to do."""
