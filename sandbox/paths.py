"""Where the project lives (settings and the overlay renderer both need it, neither the other)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
