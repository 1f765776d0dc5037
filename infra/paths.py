"""Where the project lives on disk (stack files, the probe image, the per-stack work dirs)."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
