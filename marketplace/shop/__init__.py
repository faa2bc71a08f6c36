"""Forked Oscar apps (``oscar_fork_app``): only what the marketplace changes lives here; every
other class is loaded from Oscar by ``oscar.core.loading.get_class``."""
