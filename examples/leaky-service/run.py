"""Drive a service module: ``python run.py service`` or ``python run.py service_fixed``."""
import importlib
import sys

importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "service").main()
