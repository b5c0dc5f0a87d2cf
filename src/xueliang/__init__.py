"""xueliang: a city public video network platform (雪亮工程)."""

__version__ = "0.1.0"
