"""Asterisk configuration templates kept with the code (see ``templates/``)."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).with_name("templates")
