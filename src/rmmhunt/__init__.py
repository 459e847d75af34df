"""rmmhunt: hunt remote monitoring and management (RMM) tool abuse in Windows telemetry."""

__version__ = "0.1.0"

__all__ = ["__version__"]
