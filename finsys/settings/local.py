"""Development: everything works on one laptop with no configuration."""

from finsys.settings.base import *
