"""The version, in a module that imports nothing: the core writes it into sessions without
importing the package that imports the core."""

__version__ = "0.1.0"
