"""The chronograph: time-driven work. Filled in by the core work (see tests/marketplace)."""


def start_inprocess_scheduler_if_configured() -> None:
    return None
