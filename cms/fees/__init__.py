"""Fee standards (收费标准): structured fee rules and the pure-Python engine that prices them.

Other apps use only ``cms.fees.api`` (see its docstring); the engine itself (``engine.py``)
imports nothing from Django."""
