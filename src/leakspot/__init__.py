"""leakspot: a static-analysis linter for leak-prone code in Python and C."""

__version__ = "0.2.16"
