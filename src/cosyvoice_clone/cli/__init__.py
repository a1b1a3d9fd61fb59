"""The `cosyvoice-clone` command-line tool: one module per command group."""
