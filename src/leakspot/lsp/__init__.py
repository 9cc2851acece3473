"""Language server (optional extra: ``pip install 'leakspot[lsp]'``); see :mod:`leakspot.lsp.server`."""
