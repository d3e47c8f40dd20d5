"""Local-first emulated cloud sandbox."""
